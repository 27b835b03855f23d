//! What the emulator answered, per zone and in all.
//!
//! Tests read the counts while the emulator runs ("exactly one query per
//! zone reached the list"), so the server thread bumps relaxed atomics that
//! any thread can read at once; there is one writer and no contention, and
//! the emulator is not on ringwall's hot path anyway.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// What became of one query; each query counts as exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Listed: A records with codes, or the TXT of a listed name.
    Listed,
    /// Not listed, or a type the zone has no records of: NXDOMAIN.
    NxDomain,
    /// An error code, SERVFAIL, or a refused or malformed query.
    Error,
    /// Never answered (`--loss`).
    Dropped,
    /// Answered over UDP with TC=1 only (`--truncate`).
    Truncated,
}

/// Counts for one zone, or for all queries.
///
/// `queries` is the sum of the others: every query received counts once in
/// `queries` and once in the class of its answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Queries received (over UDP and TCP).
    pub queries: u64,
    /// Answered as listed.
    pub listed: u64,
    /// Answered NXDOMAIN.
    pub nxdomain: u64,
    /// Answered with an error code, SERVFAIL, REFUSED, FORMERR or NOTIMP.
    pub errors: u64,
    /// Dropped on purpose.
    pub dropped: u64,
    /// Answered with TC=1 over UDP.
    pub truncated: u64,
}

/// The `key=value` fields of a tally, shared by both summary line shapes.
impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queries={} listed={} nxdomain={} errors={} dropped={} truncated={}",
            self.queries, self.listed, self.nxdomain, self.errors, self.dropped, self.truncated
        )
    }
}

/// Counts of a run: in all (queries outside every zone included) and per
/// zone, by zone name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Every query received.
    pub all: Tally,
    /// Queries under each configured zone.
    pub zones: BTreeMap<String, Tally>,
}

impl Counts {
    /// The counts of `zone` (zero for a zone that is not configured).
    pub fn zone(&self, zone: &str) -> Tally {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        self.zones.get(&zone).copied().unwrap_or_default()
    }
}

/// The summary the CLI prints at exit: one line for all, then one line per
/// zone starting `zone=NAME`.
impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.all)?;
        for (zone, tally) in &self.zones {
            write!(f, "\nzone={zone} {tally}")?;
        }
        Ok(())
    }
}

/// One tally as counters the server bumps and anyone may read.
#[derive(Debug, Default)]
struct Cells {
    queries: AtomicU64,
    listed: AtomicU64,
    nxdomain: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
    truncated: AtomicU64,
}

impl Cells {
    /// Counts one query of `class`.
    fn add(&self, class: Class) {
        let cell = match class {
            Class::Listed => &self.listed,
            Class::NxDomain => &self.nxdomain,
            Class::Error => &self.errors,
            Class::Dropped => &self.dropped,
            Class::Truncated => &self.truncated,
        };
        self.queries.fetch_add(1, Ordering::Relaxed);
        cell.fetch_add(1, Ordering::Relaxed);
    }

    /// The values now.
    fn read(&self) -> Tally {
        let read = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
        Tally {
            queries: read(&self.queries),
            listed: read(&self.listed),
            nxdomain: read(&self.nxdomain),
            errors: read(&self.errors),
            dropped: read(&self.dropped),
            truncated: read(&self.truncated),
        }
    }
}

/// The live counters of a run.
#[derive(Debug)]
pub(crate) struct Counters {
    /// Every query.
    all: Cells,
    /// Per zone, by zone index, with the zone's name.
    zones: Vec<(String, Cells)>,
}

impl Counters {
    /// Zeroed counters for zones named `names`, in index order.
    pub(crate) fn new<'a>(names: impl Iterator<Item = &'a str>) -> Self {
        Self {
            all: Cells::default(),
            zones: names
                .map(|name| (name.to_owned(), Cells::default()))
                .collect(),
        }
    }

    /// Counts one query of `class`, under zone `zone` if it fell in one.
    pub(crate) fn add(&self, zone: Option<usize>, class: Class) {
        self.all.add(class);
        if let Some((_, cells)) = zone.and_then(|zone| self.zones.get(zone)) {
            cells.add(class);
        }
    }

    /// The counts now.
    pub(crate) fn read(&self) -> Counts {
        Counts {
            all: self.all.read(),
            zones: self
                .zones
                .iter()
                .map(|(name, cells)| (name.clone(), cells.read()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_zone_and_in_all() {
        let counters = Counters::new(["zen.test", "dbl.test"].into_iter());
        counters.add(Some(0), Class::Listed);
        counters.add(Some(0), Class::NxDomain);
        counters.add(Some(1), Class::Dropped);
        counters.add(Some(1), Class::Truncated);
        counters.add(None, Class::Error);
        let counts = counters.read();
        assert_eq!(
            counts.all,
            Tally {
                queries: 5,
                listed: 1,
                nxdomain: 1,
                errors: 1,
                dropped: 1,
                truncated: 1,
            }
        );
        assert_eq!(counts.zone("ZEN.test.").queries, 2);
        assert_eq!(counts.zone("other.test"), Tally::default());
        assert_eq!(
            counts.to_string(),
            "queries=5 listed=1 nxdomain=1 errors=1 dropped=1 truncated=1\n\
             zone=dbl.test queries=2 listed=0 nxdomain=0 errors=0 dropped=1 truncated=1\n\
             zone=zen.test queries=2 listed=1 nxdomain=1 errors=0 dropped=0 truncated=0"
        );
        assert_eq!(
            serde_json::to_string(&counts).unwrap(),
            r#"{"all":{"queries":5,"listed":1,"nxdomain":1,"errors":1,"dropped":1,"truncated":1},"zones":{"dbl.test":{"queries":2,"listed":0,"nxdomain":0,"errors":0,"dropped":1,"truncated":1},"zen.test":{"queries":2,"listed":1,"nxdomain":1,"errors":0,"dropped":0,"truncated":0}}}"#
        );
    }
}
