//! The zone table: which zone a queried name falls in, and whether the name
//! is listed there.
//!
//! Everything a query's verdict depends on is decided here from the config
//! and the name alone (no dice, no clock), so the same name always gets the
//! same verdict and tests check it without a socket.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::slice;

use super::config::DnsblConfig;
use super::hash::{stable_hash, unit};
use super::spec::{SpecError, ZoneSpec};

/// Why a set of zones, listings and error codes does not make one table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    /// The same zone was given twice with `--zone`.
    #[error("zone {0} is given twice")]
    Duplicate(String),
    /// Two error codes for one zone.
    #[error("zone {0} has more than one error code")]
    TwoErrorCodes(String),
    /// A listing or error code built by hand names a zone that is not a DNS
    /// name.
    #[error(transparent)]
    Spec(#[from] SpecError),
}

/// What a name under a zone gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict<'a> {
    /// Listed, with these codes (one A record each).
    Listed(&'a [Ipv4Addr]),
    /// Not listed: NXDOMAIN.
    NotListed,
    /// The zone answers every query with this error code.
    Error(Ipv4Addr),
}

/// One zone, ready to answer.
#[derive(Debug)]
struct Zone {
    /// How it was configured.
    spec: ZoneSpec,
    /// TXT text of a listed name.
    txt: String,
    /// Explicit listings by key.
    listed: HashMap<String, Vec<Ipv4Addr>>,
    /// The code every query gets, if the zone only returns errors.
    error: Option<Ipv4Addr>,
}

/// All zones of a run.
#[derive(Debug)]
pub(crate) struct Zones {
    /// In order of first mention; a zone's index names it in the counts.
    zones: Vec<Zone>,
}

impl Zones {
    /// Builds the table from the config: `--zone`s first, then zones named
    /// only by a listing or an error code, with rate 0.
    pub(crate) fn new(config: &DnsblConfig) -> Result<Self, ZoneError> {
        let mut table = Self { zones: Vec::new() };
        for spec in &config.zones {
            if table.find_zone(&spec.name).is_some() {
                return Err(ZoneError::Duplicate(spec.name.clone()));
            }
            table.add(spec.clone());
        }
        for listing in &config.listings {
            let zone = table.zone_named(&listing.zone)?;
            zone.listed
                .entry(listing.key.clone())
                .or_default()
                .push(listing.code);
        }
        for error in &config.error_codes {
            let zone = table.zone_named(&error.zone)?;
            if zone.error.replace(error.code).is_some() {
                return Err(ZoneError::TwoErrorCodes(error.zone.clone()));
            }
        }
        Ok(table)
    }

    /// The zones' names, by index.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.zones.iter().map(|zone| zone.spec.name.as_str())
    }

    /// The zone `name` (lowercase, no trailing dot) falls in, by index, and
    /// the part of the name before it (empty at the apex). The longest
    /// matching zone wins, so `dbl.test` can sit inside `test`.
    pub(crate) fn find<'n>(&self, name: &'n str) -> Option<(usize, &'n str)> {
        self.zones
            .iter()
            .enumerate()
            .filter_map(|(index, zone)| {
                let zone = zone.spec.name.as_str();
                let key = if name == zone {
                    ""
                } else {
                    name.strip_suffix(zone)?.strip_suffix('.')?
                };
                Some((index, key, zone.len()))
            })
            .max_by_key(|&(_, _, length)| length)
            .map(|(index, key, _)| (index, key))
    }

    /// Whether `key` is listed in zone `index`: an error code answers
    /// everything; then explicit listings; then the stable hash of zone and
    /// key against the rate, which also picks the code.
    pub(crate) fn verdict(&self, index: usize, key: &str) -> Verdict<'_> {
        let zone = &self.zones[index];
        if let Some(code) = zone.error {
            return Verdict::Error(code);
        }
        if let Some(codes) = zone.listed.get(key) {
            return Verdict::Listed(codes);
        }
        let spec = &zone.spec;
        if key.is_empty() || spec.rate <= 0.0 {
            return Verdict::NotListed;
        }
        let draw = unit(stable_hash(&[spec.name.as_bytes(), key.as_bytes()]));
        if draw >= spec.rate {
            return Verdict::NotListed;
        }
        // Spread the listed names evenly over the codes: draw / rate is
        // itself uniform in [0, 1) among them.
        let last = spec.codes.len() - 1;
        let pick = ((draw / spec.rate) * spec.codes.len() as f64) as usize;
        Verdict::Listed(slice::from_ref(&spec.codes[pick.min(last)]))
    }

    /// The name of zone `index`.
    pub(crate) fn name(&self, index: usize) -> &str {
        &self.zones[index].spec.name
    }

    /// The TXT text of a listed name in zone `index`.
    pub(crate) fn txt(&self, index: usize) -> &str {
        &self.zones[index].txt
    }

    /// Adds a zone, with its default TXT text if it has none.
    fn add(&mut self, spec: ZoneSpec) {
        let txt = spec
            .txt
            .clone()
            .unwrap_or_else(|| format!("listed in {}", spec.name));
        self.zones.push(Zone {
            spec,
            txt,
            listed: HashMap::new(),
            error: None,
        });
    }

    /// The zone exactly named `name`, added with rate 0 if new.
    fn zone_named(&mut self, name: &str) -> Result<&mut Zone, ZoneError> {
        let index = match self.find_zone(name) {
            Some(index) => index,
            None => {
                self.add(ZoneSpec::new(name)?);
                self.zones.len() - 1
            }
        };
        Ok(&mut self.zones[index])
    }

    /// The index of the zone exactly named `name`.
    fn find_zone(&self, name: &str) -> Option<usize> {
        self.zones.iter().position(|zone| zone.spec.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(zones: &[&str], listings: &[&str], errors: &[&str]) -> Zones {
        Zones::new(&DnsblConfig {
            zones: zones.iter().map(|z| z.parse().unwrap()).collect(),
            listings: listings.iter().map(|l| l.parse().unwrap()).collect(),
            error_codes: errors.iter().map(|e| e.parse().unwrap()).collect(),
            ..DnsblConfig::default()
        })
        .unwrap()
    }

    const TWO: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
    const FOUR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);

    #[test]
    fn longest_zone_wins_and_keys_are_what_precedes_it() {
        let zones = table(&["test", "dbl.test"], &[], &[]);
        assert_eq!(zones.find("example.com.dbl.test"), Some((1, "example.com")));
        assert_eq!(zones.find("2.0.0.127.test"), Some((0, "2.0.0.127")));
        assert_eq!(zones.find("dbl.test"), Some((1, "")));
        assert_eq!(zones.find("xdbl.test"), Some((0, "xdbl")));
        assert_eq!(zones.find("example.org"), None);
        assert_eq!(zones.find("atest"), None);
    }

    #[test]
    fn explicit_listings_add_zones_and_stack_codes() {
        let zones = table(
            &[],
            &[
                "zen.test=2.0.0.127=127.0.0.2",
                "zen.test=2.0.0.127=127.0.0.4",
                "dbl.test=example.com=127.0.1.2",
            ],
            &[],
        );
        assert_eq!(zones.names().collect::<Vec<_>>(), ["zen.test", "dbl.test"]);
        assert_eq!(zones.verdict(0, "2.0.0.127"), Verdict::Listed(&[TWO, FOUR]));
        assert_eq!(zones.verdict(0, "3.0.0.127"), Verdict::NotListed);
        assert_eq!(
            zones.verdict(1, "example.com"),
            Verdict::Listed(&[Ipv4Addr::new(127, 0, 1, 2)])
        );
        assert_eq!(zones.txt(1), "listed in dbl.test");
    }

    #[test]
    fn error_codes_answer_everything() {
        let code = Ipv4Addr::new(127, 255, 255, 254);
        let zones = table(&["zen.test:rate=1"], &[], &["zen.test=127.255.255.254"]);
        assert_eq!(zones.verdict(0, "2.0.0.127"), Verdict::Error(code));
        assert_eq!(zones.verdict(0, ""), Verdict::Error(code));
    }

    #[test]
    fn hash_choice_is_stable_and_honours_rate_and_codes() {
        let zones = table(&["zen.test:rate=0.3:codes=127.0.0.2,127.0.0.4"], &[], &[]);
        let keys: Vec<String> = (0..10_000)
            .map(|n| format!("{}.{}.51.198", n % 256, n / 256))
            .collect();
        let verdicts: Vec<Verdict<'_>> = keys.iter().map(|key| zones.verdict(0, key)).collect();
        let again: Vec<Verdict<'_>> = keys.iter().map(|key| zones.verdict(0, key)).collect();
        assert_eq!(verdicts, again);
        let with = |code| {
            verdicts
                .iter()
                .filter(|&&v| v == Verdict::Listed(&[code]))
                .count()
        };
        assert!((1_300..1_700).contains(&with(TWO)), "{}", with(TWO));
        assert!((1_300..1_700).contains(&with(FOUR)), "{}", with(FOUR));
        assert_eq!(zones.verdict(0, ""), Verdict::NotListed);
    }

    #[test]
    fn a_name_listed_in_one_zone_is_not_thereby_listed_in_another() {
        let zones = table(&["a.test:rate=0.5", "b.test:rate=0.5"], &[], &[]);
        let differs = (0..200)
            .map(|n| format!("{n}.0.0.10"))
            .any(|key| zones.verdict(0, &key) != zones.verdict(1, &key));
        assert!(differs);
    }

    #[test]
    fn rate_one_lists_everything_and_zero_nothing() {
        let zones = table(&["all.test:rate=1", "none.test"], &[], &[]);
        for n in 0..100 {
            let key = format!("{n}.0.0.10");
            assert_eq!(zones.verdict(0, &key), Verdict::Listed(&[TWO]));
            assert_eq!(zones.verdict(1, &key), Verdict::NotListed);
        }
    }

    #[test]
    fn conflicts_are_refused() {
        let config = |zones: &[&str], errors: &[&str]| DnsblConfig {
            zones: zones.iter().map(|z| z.parse().unwrap()).collect(),
            error_codes: errors.iter().map(|e| e.parse().unwrap()).collect(),
            ..DnsblConfig::default()
        };
        assert_eq!(
            Zones::new(&config(&["a.test", "A.test."], &[])).unwrap_err(),
            ZoneError::Duplicate("a.test".into())
        );
        assert_eq!(
            Zones::new(&config(
                &[],
                &["a.test=127.255.255.254", "a.test=127.255.255.255"]
            ))
            .unwrap_err(),
            ZoneError::TwoErrorCodes("a.test".into())
        );
    }
}
