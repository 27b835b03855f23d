//! A client's triage score: the sum of its zones' hits, the lookups that told
//! nothing, and the decision against `[rbl] reject_threshold`.
//!
//! A failed lookup (an error answer, a timeout, SERVFAIL) of a zone with
//! `fail_open = true` counts as not listed. One with `fail_open = false`
//! leaves the zone's part of the score unknown, somewhere in the range its
//! filters allow; the client is refused only if the score reaches the
//! threshold whatever that part is, passes only if it stays under the
//! threshold whatever it is, and is deferred (4xx, try again later) otherwise.

use std::fmt;
use std::net::Ipv4Addr;

use super::zone::{Classification, Zone};

/// One zone's listing as the verdict explanation shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// `RBL_ZEN_SBL`, `DNSWL_HI`, ...
    pub rule: String,
    /// What it adds (negative for allowlists).
    pub weight: f64,
    /// The zone's `display_name`, for the reply to a refused client (the
    /// zone itself may hold a subscription key).
    pub display_name: String,
}

/// Why a zone's lookup told nothing about the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The answer was an error code, 127.0.0.1 or outside 127.0.0.0/8.
    Code(Ipv4Addr),
    /// No usable answer: timeout, SERVFAIL, or past the triage budget.
    NoAnswer,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Code(code) => write!(f, "error answer {code}"),
            Failure::NoAnswer => f.write_str("no answer"),
        }
    }
}

/// A zone whose lookup failed, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFailure {
    /// The zone's rule stem (its name may hold a key, so it is not used).
    pub rule: String,
    /// What went wrong.
    pub failure: Failure,
    /// Whether the failure counted as not listed.
    pub fail_open: bool,
}

impl fmt::Display for ZoneFailure {
    /// `RBL_ZEN: error answer 127.255.255.254 (fail-open)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.fail_open {
            "fail-open"
        } else {
            "fail-closed"
        };
        write!(f, "{}: {} ({mode})", self.rule, self.failure)
    }
}

/// What triage concluded about a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Under the threshold: go on.
    Pass,
    /// At or over the threshold: refuse, as `[rbl] action` says.
    Reject,
    /// A fail-closed zone failed and its part could decide: 4xx, try later.
    Defer,
}

/// The hits and failures of one client's lookups, summed as they come in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriageScore {
    /// Heaviest first (by absolute weight), then by rule name.
    hits: Vec<Hit>,
    failures: Vec<ZoneFailure>,
    /// The lowest and highest sum the fail-closed zones that failed could add.
    unknown: (f64, f64),
}

impl TriageScore {
    /// Adds one zone's classified answer.
    pub fn record(&mut self, zone: &Zone, classification: Classification) {
        match classification {
            Classification::Listed { weight, rule, .. } => {
                let hit = Hit {
                    rule,
                    weight,
                    display_name: zone.display_name().to_string(),
                };
                let at = self
                    .hits
                    .partition_point(|other| heavier_first(other, &hit).is_lt());
                self.hits.insert(at, hit);
            }
            Classification::NotListed => {}
            Classification::Error { code } => self.fail(zone, Failure::Code(code)),
        }
    }

    /// Adds a zone whose lookup brought no usable answer.
    pub fn record_no_answer(&mut self, zone: &Zone) {
        self.fail(zone, Failure::NoAnswer);
    }

    /// The sum of the hits' weights, added in a fixed order so the same hits
    /// always give the same total, whatever order their answers came in.
    pub fn total(&self) -> f64 {
        self.hits.iter().map(|hit| hit.weight).sum()
    }

    /// The hits, heaviest first.
    pub fn hits(&self) -> &[Hit] {
        &self.hits
    }

    /// The failed lookups, in the order they were recorded.
    pub fn failures(&self) -> &[ZoneFailure] {
        &self.failures
    }

    /// The hits for the verdict explanation, heaviest first:
    /// `RBL_ZEN_SBL=3.0, DNSWL_HI=-5.0` (empty when nothing hit).
    pub fn explanation(&self) -> String {
        let parts: Vec<String> = self
            .hits
            .iter()
            .map(|hit| format!("{}={}", hit.rule, Weight(hit.weight)))
            .collect();
        parts.join(", ")
    }

    /// Refuses at or over `reject_threshold`, as postscreen does; see the
    /// module documentation for fail-closed zones.
    pub fn decide(&self, reject_threshold: f64) -> Decision {
        let total = self.total();
        let (low, high) = self.unknown;
        if total + low >= reject_threshold {
            Decision::Reject
        } else if total + high < reject_threshold {
            Decision::Pass
        } else {
            Decision::Defer
        }
    }

    fn fail(&mut self, zone: &Zone, failure: Failure) {
        if !zone.fail_open() {
            let (low, high) = zone.weight_range();
            self.unknown.0 += low;
            self.unknown.1 += high;
        }
        self.failures.push(ZoneFailure {
            rule: zone.rule().to_string(),
            failure,
            fail_open: zone.fail_open(),
        });
    }
}

/// Heavier (by absolute weight) first, then by rule name.
fn heavier_first(a: &Hit, b: &Hit) -> std::cmp::Ordering {
    b.weight
        .abs()
        .total_cmp(&a.weight.abs())
        .then_with(|| a.rule.cmp(&b.rule))
}

/// A weight with at least one decimal, so `3.0` reads as a score, and
/// otherwise as short as it is exact (`0.25`).
struct Weight(f64);

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.fract() == 0.0 && self.0.abs() < 1e15 {
            write!(f, "{:.1}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::config::ZoneConfig;
    use crate::rbl::{ListKind, Preset};

    fn config(name: &str, preset: Option<Preset>, weight: f64) -> ZoneConfig {
        ZoneConfig {
            zone: name.to_string(),
            preset,
            weight: Some(weight),
            ..ZoneConfig::default()
        }
    }

    fn zone(name: &str, preset: Option<Preset>, weight: f64, list: ListKind) -> Zone {
        Zone::new(&config(name, preset, weight), list).unwrap()
    }

    fn fail_closed(name: &str, weight: f64, list: ListKind) -> Zone {
        let config = ZoneConfig {
            fail_open: false,
            ..config(name, None, weight)
        };
        Zone::new(&config, list).unwrap()
    }

    fn zen() -> Zone {
        zone(
            "zen.spamhaus.org",
            Some(Preset::SpamhausZen),
            3.0,
            ListKind::Block,
        )
    }

    fn dnswl() -> Zone {
        zone("list.dnswl.org", Some(Preset::Dnswl), -5.0, ListKind::Allow)
    }

    fn answer(zone: &Zone, code: &str) -> Classification {
        zone.classify(&[code.parse().unwrap()])
    }

    #[test]
    fn hits_add_up_and_explain_themselves_heaviest_first() {
        let (zen, dnswl) = (zen(), dnswl());
        let spamcop = zone("bl.spamcop.net", None, 0.25, ListKind::Block);
        let mut score = TriageScore::default();
        score.record(&spamcop, answer(&spamcop, "127.0.0.2"));
        score.record(&zen, answer(&zen, "127.0.0.2"));
        score.record(&dnswl, answer(&dnswl, "127.0.10.3"));
        assert_eq!(score.total(), -1.75);
        assert_eq!(
            score.explanation(),
            "DNSWL_HI=-5.0, RBL_ZEN_SBL=3.0, RBL_SPAMCOP_NET=0.25"
        );
        assert_eq!(score.decide(3.0), Decision::Pass);
        assert!(score.failures().is_empty());
    }

    #[test]
    fn the_threshold_itself_rejects() {
        let zen = zen();
        let mut score = TriageScore::default();
        assert_eq!(score.decide(3.0), Decision::Pass);
        assert_eq!(score.explanation(), "");
        score.record(&zen, answer(&zen, "127.0.0.4"));
        assert_eq!(
            score.hits(),
            [Hit {
                rule: "RBL_ZEN_XBL".into(),
                weight: 3.0,
                display_name: "Spamhaus ZEN".into(),
            }]
        );
        assert_eq!(score.decide(3.0), Decision::Reject);
        assert_eq!(score.decide(3.5), Decision::Pass);
        score.record(&zen, Classification::NotListed);
        assert_eq!(score.total(), 3.0);
    }

    #[test]
    fn fail_open_failures_count_as_not_listed_and_are_logged() {
        let zen = zen();
        let mut score = TriageScore::default();
        score.record(&zen, answer(&zen, "127.255.255.254"));
        score.record_no_answer(&zen);
        assert_eq!(score.decide(1.0), Decision::Pass);
        let logged: Vec<String> = score.failures().iter().map(ToString::to_string).collect();
        assert_eq!(
            logged,
            [
                "RBL_ZEN: error answer 127.255.255.254 (fail-open)",
                "RBL_ZEN: no answer (fail-open)"
            ]
        );
    }

    #[test]
    fn a_fail_closed_blocklist_defers_only_when_it_could_decide() {
        let blocklist = fail_closed("bl.example.net", 2.0, ListKind::Block);
        let zen = zen();
        // Alone: 0 to 2 against 3 cannot reach it, so the client passes.
        let mut score = TriageScore::default();
        score.record_no_answer(&blocklist);
        assert_eq!(score.decide(3.0), Decision::Pass);
        assert_eq!(score.decide(2.0), Decision::Defer);
        // With a listing of 3: 3 to 5 is refused whatever it would have said.
        score.record(&zen, answer(&zen, "127.0.0.2"));
        assert_eq!(score.decide(3.0), Decision::Reject);
        assert_eq!(score.decide(4.0), Decision::Defer);
        assert_eq!(score.decide(5.5), Decision::Pass);
        assert_eq!(
            score.failures()[0].to_string(),
            "RBL_EXAMPLE_NET: no answer (fail-closed)"
        );
    }

    #[test]
    fn a_fail_closed_allowlist_defers_a_listed_client() {
        let zen = zen();
        let allowlist_error = |weight: f64| {
            let allowlist = fail_closed("wl.example.net", weight, ListKind::Allow);
            let mut score = TriageScore::default();
            score.record(&zen, answer(&zen, "127.0.0.2"));
            score.record(&allowlist, answer(&allowlist, "127.0.0.1"));
            score
        };
        // 3 - 5 to 3 against 3: the allowlist might have saved it.
        let score = allowlist_error(-5.0);
        assert_eq!(score.decide(3.0), Decision::Defer);
        assert_eq!(score.decide(3.5), Decision::Pass);
        assert_eq!(
            score.failures()[0].to_string(),
            "RWL_EXAMPLE_NET: error answer 127.0.0.1 (fail-closed)"
        );
        // 3 - 1 to 3 against 2: refused whatever it would have said.
        assert_eq!(allowlist_error(-1.0).decide(2.0), Decision::Reject);
    }

    #[test]
    fn multi_code_zones_bound_the_unknown_by_their_filters() {
        let config = ZoneConfig {
            zone: "bl.example.net".into(),
            codes: Some(BTreeMap::from([
                ("127.0.0.2".to_string(), 2.0),
                ("127.0.0.3".to_string(), 1.5),
            ])),
            fail_open: false,
            ..ZoneConfig::default()
        };
        let zone = Zone::new(&config, ListKind::Block).unwrap();
        let mut score = TriageScore::default();
        score.record_no_answer(&zone);
        assert_eq!(score.decide(3.5), Decision::Defer);
        assert_eq!(score.decide(3.6), Decision::Pass);
    }

    #[test]
    fn weights_print_with_one_decimal_at_least() {
        let table = [
            (3.0, "3.0"),
            (-5.0, "-5.0"),
            (0.0, "0.0"),
            (0.25, "0.25"),
            (1.5, "1.5"),
            (1e20, "100000000000000000000"),
        ];
        for (weight, text) in table {
            assert_eq!(Weight(weight).to_string(), text);
        }
    }

    proptest! {
        /// The order answers arrive in changes neither the total nor the
        /// explanation.
        #[test]
        fn order_of_arrival_does_not_matter(
            weights in prop::collection::vec(-8i32..8, 1..6),
            seed in any::<u64>(),
        ) {
            let zones: Vec<Zone> = weights
                .iter()
                .enumerate()
                .map(|(index, &weight)| {
                    let weight = f64::from(weight) / 4.0;
                    let list = if weight < 0.0 { ListKind::Allow } else { ListKind::Block };
                    zone(&format!("z{index}.example.net"), None, weight, list)
                })
                .collect();
            let mut forward = TriageScore::default();
            for zone in &zones {
                forward.record(zone, answer(zone, "127.0.0.2"));
            }
            let mut shuffled: Vec<&Zone> = zones.iter().collect();
            let len = shuffled.len();
            for index in 0..len {
                let other = usize::try_from(seed.rotate_left(index as u32) % len as u64).unwrap();
                shuffled.swap(index, other);
            }
            let mut backward = TriageScore::default();
            for zone in shuffled {
                backward.record(zone, answer(zone, "127.0.0.2"));
            }
            prop_assert_eq!(forward.explanation(), backward.explanation());
            prop_assert_eq!(forward.total().to_bits(), backward.total().to_bits());
        }
    }
}
