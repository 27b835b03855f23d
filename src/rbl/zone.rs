//! One DNSBL or DNSWL zone, compiled from its `[[dnsbl]]`/`[[dnswl]]` entry:
//! the name a lookup asks, and what the answer means.
//!
//! Scoring follows postscreen: a zone's listing filters are its `codes`
//! patterns, each with its own weight (or, without `codes`, one filter, the
//! preset's listing codes or any answer in 127.0.0.0/8, with the zone's
//! weight). Each filter that matches at least one answer adds its weight once,
//! however many answers it matches, as each `site=filter*weight` entry of
//! `postscreen_dnsbl_sites` does. So `zen.spamhaus.org` with weight 3 scores 3
//! for a client in both SBL and PBL, and a `codes` table of
//! `127.0.0.[2..3]` = 3 and `127.0.0.[10..11]` = 1 scores 4 for it.
//!
//! Errors come before listings: an answer outside 127.0.0.0/8, 127.0.0.1
//! (RFC 5782 §2.1 keeps it out of listings; URIBL answers it to refused
//! queries) or one of the preset's error codes makes the whole answer an
//! error, even beside a listing code, because a provider that answers with an
//! error (or a resolver that rewrites answers) is not telling us about the
//! client.

use std::net::{IpAddr, Ipv4Addr};

use super::pattern::{CodePattern, PatternError};
use super::preset::{Group, KeyMode, Preset};
use crate::config::ZoneConfig;
use crate::dns::reverse_ip;

/// Which table a zone comes from: it decides the sign of its default weight
/// and the stem of its derived rule name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `[[dnsbl]]`: a listing adds to the score.
    Block,
    /// `[[dnswl]]`: a listing subtracts (its weights are written negative).
    Allow,
}

/// What a lookup is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKey<'a> {
    /// A client address, for zones keyed by IP.
    Ip(IpAddr),
    /// A domain name, for zones keyed by domain (URIBL, SURBL, DBL).
    Domain(&'a str),
}

/// What one zone's answer says about the key asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Classification {
    /// Listed: the filters that matched, their weights summed.
    Listed {
        /// The summed weights of the filters that matched.
        weight: f64,
        /// The answer that names the hit: the one matched by the heaviest
        /// filter (by absolute weight; the first such filter on a tie).
        code: Ipv4Addr,
        /// The rule name: the zone's stem, with the preset's suffix for
        /// `code` when there is one (`RBL_ZEN_SBL`).
        rule: String,
    },
    /// No answer (NXDOMAIN), or answers that none of the filters take.
    NotListed,
    /// The provider answered with an error code, 127.0.0.1, or an address
    /// outside 127.0.0.0/8: nothing is known about the key.
    Error {
        /// The first such answer.
        code: Ipv4Addr,
    },
}

/// A code pattern in a zone's `codes` table that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("code pattern \"{pattern}\": {error}")]
pub struct CodeError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    #[source]
    pub error: PatternError,
}

/// One listing filter: answers in any of `codes` add `weight` once.
#[derive(Debug, Clone, PartialEq)]
struct Filter {
    codes: Vec<CodePattern>,
    weight: f64,
}

impl Filter {
    /// The first answer taken by the filter, trying its patterns in order (so
    /// a preset's most severe group names the hit).
    fn first_match(&self, answers: &[Ipv4Addr]) -> Option<Ipv4Addr> {
        self.codes.iter().find_map(|codes| {
            answers
                .iter()
                .copied()
                .find(|&answer| codes.matches(answer))
        })
    }
}

/// A zone ready to be asked and to have its answers read.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Lower case, no final dot. Never shown: it may hold a subscription key.
    name: String,
    key: KeyMode,
    display_name: String,
    rule: String,
    fail_open: bool,
    preset: Option<Preset>,
    filters: Vec<Filter>,
}

impl Zone {
    /// Compiles one validated `[[dnsbl]]` (`Block`) or `[[dnswl]]` (`Allow`)
    /// entry. Only the code patterns are read here, so a bad one is the only
    /// failure; the configuration checks report it first, with its position.
    pub fn new(config: &ZoneConfig, list: ListKind) -> Result<Zone, CodeError> {
        let preset = config.preset;
        let filters = match &config.codes {
            Some(codes) => codes
                .iter()
                .map(|(pattern, &weight)| {
                    let parsed = pattern.parse().map_err(|error| CodeError {
                        pattern: pattern.clone(),
                        error,
                    })?;
                    Ok(Filter {
                        codes: vec![parsed],
                        weight,
                    })
                })
                .collect::<Result<_, CodeError>>()?,
            None => {
                let codes = match preset {
                    Some(preset) => preset.groups().iter().map(|group| group.codes).collect(),
                    None => vec![CodePattern::ANY],
                };
                let default = match list {
                    ListKind::Block => 1.0,
                    ListKind::Allow => -1.0,
                };
                vec![Filter {
                    codes,
                    weight: config.weight.unwrap_or(default),
                }]
            }
        };
        let display_name = match (&config.display_name, preset, list) {
            (Some(name), _, _) => name.clone(),
            (None, Some(preset), _) => preset.display_name().to_string(),
            (None, None, ListKind::Block) => "a DNS blocklist".to_string(),
            (None, None, ListKind::Allow) => "a DNS allowlist".to_string(),
        };
        let rule = match (&config.rule, preset) {
            (Some(rule), _) => rule.clone(),
            (None, Some(preset)) => preset.rule().to_string(),
            (None, None) => derived_rule(&config.zone, list),
        };
        Ok(Zone {
            name: normalise(&config.zone),
            key: config
                .key
                .or(preset.map(Preset::key))
                .unwrap_or(KeyMode::Ip),
            display_name,
            rule,
            fail_open: config.fail_open,
            preset,
            filters,
        })
    }

    /// What a reply may call the list: never the zone, which may hold a key.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The rule-name stem of this zone's hits and failures, e.g. `RBL_ZEN`.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// Whether the zone is asked about addresses or domains.
    pub fn key(&self) -> KeyMode {
        self.key
    }

    /// Whether a failed lookup counts as not listed (true) or leaves the
    /// client's score unknown (false), see [`super::TriageScore::decide`].
    pub fn fail_open(&self) -> bool {
        self.fail_open
    }

    /// The DNS name to ask for `key`: `2.0.0.127.zone` for 127.0.0.2, 32
    /// reversed nibbles for an IPv6 address, `domain.zone` for a domain
    /// (lower case, final dot dropped). An IPv4-mapped IPv6 address is asked
    /// as the IPv4 address it carries.
    ///
    /// `None` when the zone does not take this kind of key (an address for a
    /// domain list or the reverse), or when the domain is not a usable name:
    /// empty, an empty or over-long label, characters other than letters,
    /// digits, `-` and `_`, or a query name past DNS's 253 characters.
    pub fn query_name(&self, key: &LookupKey<'_>) -> Option<String> {
        let prefix = match (key, self.key) {
            (LookupKey::Ip(ip), KeyMode::Ip) => reverse_ip(*ip),
            (LookupKey::Domain(domain), KeyMode::Domain) => query_domain(domain)?,
            _ => return None,
        };
        let name = format!("{prefix}.{}", self.name);
        (name.len() <= 253).then_some(name)
    }

    /// Reads the A records a lookup returned (empty for NXDOMAIN or no data).
    pub fn classify(&self, answers: &[Ipv4Addr]) -> Classification {
        if let Some(&code) = answers.iter().find(|&&answer| self.is_error(answer)) {
            return Classification::Error { code };
        }
        let mut weight = 0.0;
        let mut named: Option<(f64, Ipv4Addr)> = None;
        for filter in &self.filters {
            let Some(code) = filter.first_match(answers) else {
                continue;
            };
            weight += filter.weight;
            if named.is_none_or(|(heaviest, _)| filter.weight.abs() > heaviest) {
                named = Some((filter.weight.abs(), code));
            }
        }
        match named {
            Some((_, code)) => Classification::Listed {
                weight,
                code,
                rule: self.rule_for(code),
            },
            None => Classification::NotListed,
        }
    }

    /// The lowest and highest weight one answer can add: what a lookup that
    /// failed leaves unknown.
    pub(super) fn weight_range(&self) -> (f64, f64) {
        self.filters.iter().fold((0.0, 0.0), |(low, high), filter| {
            (low + filter.weight.min(0.0), high + filter.weight.max(0.0))
        })
    }

    fn is_error(&self, answer: Ipv4Addr) -> bool {
        answer.octets()[0] != 127
            || answer == Ipv4Addr::new(127, 0, 0, 1)
            || self
                .preset
                .is_some_and(|preset| preset.errors().iter().any(|error| error.matches(answer)))
    }

    /// `RBL_ZEN_SBL` for an SBL code, the bare stem for a code no preset
    /// group names.
    fn rule_for(&self, code: Ipv4Addr) -> String {
        let group = self
            .preset
            .map(Preset::groups)
            .unwrap_or_default()
            .iter()
            .find(|group: &&Group| group.codes.matches(code));
        match group {
            Some(group) => format!("{}_{}", self.rule, group.suffix),
            None => self.rule.clone(),
        }
    }
}

/// A zone name as queried: lower case, without a final dot.
fn normalise(zone: &str) -> String {
    zone.trim_end_matches('.').to_ascii_lowercase()
}

/// The rule stem of a zone without preset or `rule`: `RBL_` (or `RWL_` for an
/// allowlist) and the zone's labels in upper case, `-` as `_`. The first label
/// is left out of a zone of three labels or more, because that is where a
/// subscription key goes (`KEY.zen.dq.spamhaus.net`): `bl.spamcop.net` gives
/// `RBL_SPAMCOP_NET`.
fn derived_rule(zone: &str, list: ListKind) -> String {
    let zone = normalise(zone);
    let labels: Vec<&str> = zone.split('.').collect();
    let kept = if labels.len() >= 3 {
        &labels[1..]
    } else {
        &labels[..]
    };
    let stem = match list {
        ListKind::Block => "RBL",
        ListKind::Allow => "RWL",
    };
    let tail = kept.join("_").to_ascii_uppercase().replace('-', "_");
    format!("{stem}_{tail}")
}

/// A domain as it goes in front of the zone, or `None` when it is not a
/// usable DNS name (see [`Zone::query_name`]).
fn query_domain(domain: &str) -> Option<String> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let usable = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (!domain.is_empty() && domain.split('.').all(usable)).then(|| domain.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::Ipv6Addr;

    use proptest::prelude::*;

    use super::*;

    fn config(zone: &str) -> ZoneConfig {
        ZoneConfig {
            zone: zone.to_string(),
            ..ZoneConfig::default()
        }
    }

    fn with_preset(zone: &str, preset: Preset) -> ZoneConfig {
        ZoneConfig {
            preset: Some(preset),
            ..config(zone)
        }
    }

    fn block(config: &ZoneConfig) -> Zone {
        Zone::new(config, ListKind::Block).unwrap()
    }

    fn addrs(list: &[&str]) -> Vec<Ipv4Addr> {
        list.iter().map(|text| text.parse().unwrap()).collect()
    }

    fn listed(weight: f64, code: &str, rule: &str) -> Classification {
        Classification::Listed {
            weight,
            code: code.parse().unwrap(),
            rule: rule.to_string(),
        }
    }

    fn error(code: &str) -> Classification {
        Classification::Error {
            code: code.parse().unwrap(),
        }
    }

    fn ip(text: &str) -> LookupKey<'static> {
        LookupKey::Ip(text.parse().unwrap())
    }

    #[test]
    fn ipv4_queries_reverse_the_octets() {
        let zone = block(&config("zen.spamhaus.org"));
        assert_eq!(
            zone.query_name(&ip("192.0.2.99")).unwrap(),
            "99.2.0.192.zen.spamhaus.org"
        );
        assert_eq!(
            zone.query_name(&ip("::ffff:192.0.2.99")).unwrap(),
            "99.2.0.192.zen.spamhaus.org",
            "an IPv4-mapped address is asked as IPv4"
        );
    }

    #[test]
    fn ipv6_queries_use_32_reversed_nibbles() {
        // RFC 5782 §2.4's example.
        let zone = block(&config("bad.example.com"));
        assert_eq!(
            zone.query_name(&ip("2001:db8:1:2:3:4:567:89ab")).unwrap(),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bad.example.com"
        );
    }

    #[test]
    fn domain_queries_are_lower_case_without_the_final_dot() {
        let zone = block(&with_preset("DBL.Spamhaus.org.", Preset::SpamhausDbl));
        let ask = |domain: &str| zone.query_name(&LookupKey::Domain(domain));
        assert_eq!(ask("Example.COM.").unwrap(), "example.com.dbl.spamhaus.org");
        assert_eq!(
            ask("_dmarc.example").unwrap(),
            "_dmarc.example.dbl.spamhaus.org"
        );
        for unusable in [
            "",
            ".",
            "a..b",
            ".example",
            "exa mple.com",
            "bücher.example",
            "a/b",
        ] {
            assert_eq!(ask(unusable), None, "{unusable:?}");
        }
        assert_eq!(ask(&format!("{}.com", "a".repeat(64))), None);
        let long = vec!["a".repeat(60); 4].join(".");
        assert_eq!(ask(&long), None, "past 253 characters with the zone");
    }

    #[test]
    fn keys_of_the_wrong_kind_are_not_asked() {
        let ip_zone = block(&config("zen.spamhaus.org"));
        assert_eq!(ip_zone.query_name(&LookupKey::Domain("example.com")), None);
        let domain_zone = block(&with_preset("multi.uribl.com", Preset::Uribl));
        assert_eq!(domain_zone.key(), KeyMode::Domain);
        assert_eq!(domain_zone.query_name(&ip("192.0.2.1")), None);
        let explicit = block(&ZoneConfig {
            key: Some(KeyMode::Domain),
            ..config("rhsbl.example.net")
        });
        assert_eq!(
            explicit
                .query_name(&LookupKey::Domain("spam.example"))
                .unwrap(),
            "spam.example.rhsbl.example.net"
        );
    }

    #[test]
    fn zen_codes_name_their_lists() {
        let zone = block(&ZoneConfig {
            weight: Some(3.0),
            ..with_preset("zen.spamhaus.org", Preset::SpamhausZen)
        });
        let table = [
            (&["127.0.0.2"][..], listed(3.0, "127.0.0.2", "RBL_ZEN_SBL")),
            (&["127.0.0.3"], listed(3.0, "127.0.0.3", "RBL_ZEN_CSS")),
            (&["127.0.0.4"], listed(3.0, "127.0.0.4", "RBL_ZEN_XBL")),
            (&["127.0.0.7"], listed(3.0, "127.0.0.7", "RBL_ZEN_XBL")),
            (&["127.0.0.11"], listed(3.0, "127.0.0.11", "RBL_ZEN_PBL")),
            (&["127.0.0.30"], listed(3.0, "127.0.0.30", "RBL_ZEN_BCL")),
            // DROP comes with SBL; the weight counts once, the most severe names it.
            (
                &["127.0.0.2", "127.0.0.9"],
                listed(3.0, "127.0.0.9", "RBL_ZEN_DROP"),
            ),
            (
                &["127.0.0.10", "127.0.0.4"],
                listed(3.0, "127.0.0.4", "RBL_ZEN_XBL"),
            ),
            (&[], Classification::NotListed),
            (&["127.0.0.8"], Classification::NotListed),
            (&["127.0.0.12"], Classification::NotListed),
            (&["127.255.255.252"], error("127.255.255.252")),
            (&["127.255.255.254"], error("127.255.255.254")),
            (&["127.255.255.255"], error("127.255.255.255")),
            (&["127.0.0.1"], error("127.0.0.1")),
            (&["192.0.2.1"], error("192.0.2.1")),
            // An error beside a listing: the error wins.
            (&["127.0.0.2", "127.255.255.254"], error("127.255.255.254")),
            (&["127.0.0.4", "10.0.0.1"], error("10.0.0.1")),
        ];
        for (answers, expected) in table {
            assert_eq!(zone.classify(&addrs(answers)), expected, "{answers:?}");
        }
        assert_eq!(zone.display_name(), "Spamhaus ZEN");
        assert_eq!(zone.rule(), "RBL_ZEN");
    }

    #[test]
    fn dbl_codes_and_errors() {
        let zone = block(&with_preset("dbl.spamhaus.org", Preset::SpamhausDbl));
        let table = [
            ("127.0.1.2", listed(1.0, "127.0.1.2", "RBL_DBL_SPAM")),
            ("127.0.1.4", listed(1.0, "127.0.1.4", "RBL_DBL_PHISH")),
            ("127.0.1.5", listed(1.0, "127.0.1.5", "RBL_DBL_MALWARE")),
            ("127.0.1.6", listed(1.0, "127.0.1.6", "RBL_DBL_BOTNET")),
            (
                "127.0.1.102",
                listed(1.0, "127.0.1.102", "RBL_DBL_ABUSED_SPAM"),
            ),
            (
                "127.0.1.103",
                listed(1.0, "127.0.1.103", "RBL_DBL_ABUSED_REDIRECTOR"),
            ),
            (
                "127.0.1.104",
                listed(1.0, "127.0.1.104", "RBL_DBL_ABUSED_PHISH"),
            ),
            (
                "127.0.1.105",
                listed(1.0, "127.0.1.105", "RBL_DBL_ABUSED_MALWARE"),
            ),
            (
                "127.0.1.106",
                listed(1.0, "127.0.1.106", "RBL_DBL_ABUSED_BOTNET"),
            ),
            ("127.0.1.3", Classification::NotListed),
            ("127.0.0.2", Classification::NotListed),
            ("127.0.1.255", error("127.0.1.255")),
            ("127.255.255.254", error("127.255.255.254")),
        ];
        for (answer, expected) in table {
            assert_eq!(zone.classify(&addrs(&[answer])), expected, "{answer}");
        }
    }

    #[test]
    fn uribl_reads_its_bitmask_and_127_0_0_1_is_refusal() {
        let zone = block(&with_preset("multi.uribl.com", Preset::Uribl));
        let table = [
            ("127.0.0.2", listed(1.0, "127.0.0.2", "URIBL_BLACK")),
            ("127.0.0.4", listed(1.0, "127.0.0.4", "URIBL_GREY")),
            ("127.0.0.8", listed(1.0, "127.0.0.8", "URIBL_RED")),
            ("127.0.0.14", listed(1.0, "127.0.0.14", "URIBL_BLACK")),
            ("127.0.0.12", listed(1.0, "127.0.0.12", "URIBL_RED")),
            ("127.0.0.1", error("127.0.0.1")),
            ("127.0.0.16", Classification::NotListed),
            ("127.0.1.2", Classification::NotListed),
        ];
        for (answer, expected) in table {
            assert_eq!(zone.classify(&addrs(&[answer])), expected, "{answer}");
        }
        assert_eq!(zone.display_name(), "URIBL");
    }

    #[test]
    fn surbl_reads_its_bitmask_ignoring_the_middle_octets() {
        let zone = block(&with_preset("multi.surbl.org", Preset::Surbl));
        let table = [
            ("127.0.0.8", listed(1.0, "127.0.0.8", "SURBL_PH")),
            ("127.0.0.16", listed(1.0, "127.0.0.16", "SURBL_MW")),
            ("127.0.0.64", listed(1.0, "127.0.0.64", "SURBL_ABUSE")),
            ("127.0.0.128", listed(1.0, "127.0.0.128", "SURBL_CR")),
            ("127.0.0.80", listed(1.0, "127.0.0.80", "SURBL_MW")),
            ("127.1.2.24", listed(1.0, "127.1.2.24", "SURBL_PH")),
            ("127.0.0.4", Classification::NotListed),
            ("127.0.0.32", Classification::NotListed),
            ("127.0.0.1", error("127.0.0.1")),
        ];
        for (answer, expected) in table {
            assert_eq!(zone.classify(&addrs(&[answer])), expected, "{answer}");
        }
    }

    #[test]
    fn dnswl_trust_levels_subtract() {
        let zone = Zone::new(
            &ZoneConfig {
                weight: Some(-5.0),
                ..with_preset("list.dnswl.org", Preset::Dnswl)
            },
            ListKind::Allow,
        )
        .unwrap();
        let table = [
            ("127.0.15.3", listed(-5.0, "127.0.15.3", "DNSWL_HI")),
            ("127.0.2.2", listed(-5.0, "127.0.2.2", "DNSWL_MED")),
            ("127.0.9.1", listed(-5.0, "127.0.9.1", "DNSWL_LOW")),
            ("127.0.10.0", listed(-5.0, "127.0.10.0", "DNSWL_NONE")),
            ("127.0.0.255", error("127.0.0.255")),
            ("127.0.3.4", Classification::NotListed),
        ];
        for (answer, expected) in table {
            assert_eq!(zone.classify(&addrs(&[answer])), expected, "{answer}");
        }
        assert_eq!(zone.display_name(), "DNSWL.org");
        assert_eq!(zone.weight_range(), (-5.0, 0.0));
    }

    #[test]
    fn each_matching_code_filter_adds_its_weight_once() {
        let codes = BTreeMap::from([
            ("127.0.0.[2..3]".to_string(), 3.0),
            ("127.0.0.[10..11]".to_string(), 1.0),
            ("127.0.0.[4..7]".to_string(), 2.5),
        ]);
        let zone = block(&ZoneConfig {
            codes: Some(codes),
            ..with_preset("zen.spamhaus.org", Preset::SpamhausZen)
        });
        let table = [
            (&["127.0.0.2"][..], listed(3.0, "127.0.0.2", "RBL_ZEN_SBL")),
            (
                &["127.0.0.2", "127.0.0.3"],
                listed(3.0, "127.0.0.2", "RBL_ZEN_SBL"),
            ),
            (
                &["127.0.0.10", "127.0.0.2"],
                listed(4.0, "127.0.0.2", "RBL_ZEN_SBL"),
            ),
            (
                &["127.0.0.11", "127.0.0.4"],
                listed(3.5, "127.0.0.4", "RBL_ZEN_XBL"),
            ),
            (&["127.0.0.9"], Classification::NotListed),
        ];
        for (answers, expected) in table {
            assert_eq!(zone.classify(&addrs(answers)), expected, "{answers:?}");
        }
        assert_eq!(zone.weight_range(), (0.0, 6.5));
    }

    #[test]
    fn a_zone_without_preset_takes_any_loopback_answer_but_127_0_0_1() {
        let zone = block(&ZoneConfig {
            weight: Some(2.0),
            ..config("bl.spamcop.net")
        });
        assert_eq!(zone.rule(), "RBL_SPAMCOP_NET");
        assert_eq!(zone.display_name(), "a DNS blocklist");
        assert_eq!(
            zone.classify(&addrs(&["127.0.0.2"])),
            listed(2.0, "127.0.0.2", "RBL_SPAMCOP_NET")
        );
        assert_eq!(
            zone.classify(&addrs(&["127.255.255.254"])),
            listed(2.0, "127.255.255.254", "RBL_SPAMCOP_NET"),
            "without a preset no other code is known to be an error"
        );
        assert_eq!(zone.classify(&addrs(&["127.0.0.1"])), error("127.0.0.1"));
        assert_eq!(zone.classify(&addrs(&["0.0.0.0"])), error("0.0.0.0"));
        assert_eq!(zone.weight_range(), (0.0, 2.0));
    }

    #[test]
    fn names_defaults_and_overrides() {
        let allow = Zone::new(&config("wl.mailspike.net"), ListKind::Allow).unwrap();
        assert_eq!(allow.rule(), "RWL_MAILSPIKE_NET");
        assert_eq!(allow.display_name(), "a DNS allowlist");
        assert_eq!(
            allow.weight_range(),
            (-1.0, 0.0),
            "an allowlist's default weight is -1"
        );
        assert!(allow.fail_open());
        let dqs = block(&with_preset(
            "abcdefghijklmnopqrstuvwxyz.zen.dq.spamhaus.net",
            Preset::SpamhausZen,
        ));
        assert_eq!(
            dqs.query_name(&ip("192.0.2.1")).unwrap(),
            "1.2.0.192.abcdefghijklmnopqrstuvwxyz.zen.dq.spamhaus.net"
        );
        assert!(!dqs.display_name().contains("abcdefghij"));
        assert!(!dqs.rule().contains("ABCDEFGHIJ"));
        let keyed = block(&config("abcdefghijklmnopqrstuvwxyz.zen.dq.spamhaus.net"));
        assert_eq!(
            keyed.rule(),
            "RBL_ZEN_DQ_SPAMHAUS_NET",
            "the key label is left out"
        );
        let short = block(&config("my-rbl.test"));
        assert_eq!(short.rule(), "RBL_MY_RBL_TEST");
        let named = block(&ZoneConfig {
            display_name: Some("Spamhaus (subscription)".into()),
            rule: Some("ZEN".into()),
            fail_open: false,
            ..with_preset("key.zen.dq.spamhaus.net", Preset::SpamhausZen)
        });
        assert_eq!(named.display_name(), "Spamhaus (subscription)");
        assert_eq!(
            named.classify(&addrs(&["127.0.0.10"])),
            listed(1.0, "127.0.0.10", "ZEN_PBL")
        );
        assert!(!named.fail_open());
    }

    #[test]
    fn a_bad_code_pattern_is_the_one_failure() {
        let bad = ZoneConfig {
            codes: Some(BTreeMap::from([("127.0.0.[2..x]".to_string(), 1.0)])),
            ..config("bl.example.net")
        };
        assert_eq!(
            Zone::new(&bad, ListKind::Block).unwrap_err().to_string(),
            "code pattern \"127.0.0.[2..x]\": octet 4 (`[2..x]`): `x` is not a number from 0 to 255"
        );
    }

    /// The address a reversed-nibble query name stands for.
    fn from_nibbles(name: &str) -> Option<Ipv6Addr> {
        let nibbles: Vec<u8> = name
            .split('.')
            .map(|nibble| u8::from_str_radix(nibble, 16).ok())
            .collect::<Option<_>>()?;
        if nibbles.len() != 32 {
            return None;
        }
        let mut octets = [0u8; 16];
        for (index, pair) in nibbles.rchunks(2).enumerate() {
            octets[index] = (pair[1] << 4) | pair[0];
        }
        Some(Ipv6Addr::from(octets))
    }

    proptest! {
        /// Every IPv6 address (but IPv4-mapped ones) gives 32 one-digit
        /// labels that read back to it.
        #[test]
        fn ipv6_names_round_trip(bits in any::<u128>()) {
            let address = Ipv6Addr::from(bits);
            prop_assume!(address.to_ipv4_mapped().is_none());
            let zone = block(&config("bl.example.net"));
            let name = zone.query_name(&LookupKey::Ip(IpAddr::V6(address))).unwrap();
            let prefix = name.strip_suffix(".bl.example.net").unwrap();
            prop_assert_eq!(prefix.split('.').count(), 32);
            prop_assert_eq!(from_nibbles(prefix), Some(address));
        }

        /// Every IPv4 address reads back from its reversed octets.
        #[test]
        fn ipv4_names_round_trip(bits in any::<u32>()) {
            let address = Ipv4Addr::from(bits);
            let zone = block(&config("bl.example.net"));
            let name = zone.query_name(&LookupKey::Ip(IpAddr::V4(address))).unwrap();
            let mut octets: Vec<&str> = name.split('.').take(4).collect();
            octets.reverse();
            prop_assert_eq!(octets.join(".").parse::<Ipv4Addr>().unwrap(), address);
        }

        /// Classification never panics, and an answer with anything outside
        /// 127.0.0.0/8 in it is always an error.
        #[test]
        fn foreign_answers_are_errors(answers in prop::collection::vec(any::<u32>(), 0..5)) {
            let zone = block(&with_preset("zen.spamhaus.org", Preset::SpamhausZen));
            let answers: Vec<Ipv4Addr> = answers.into_iter().map(Ipv4Addr::from).collect();
            let outcome = zone.classify(&answers);
            if answers.iter().any(|answer| answer.octets()[0] != 127) {
                let error = matches!(outcome, Classification::Error { .. });
                prop_assert!(error, "{:?} gave {:?}", answers, outcome);
            }
        }
    }
}
