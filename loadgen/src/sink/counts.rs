//! What a sink run did, as the numbers a test or benchmark checks.
//!
//! Each shard counts in its own plain integers (no atomics on the message
//! path); the counts are added up once, when the shards have stopped.

use std::fmt;
use std::ops::AddAssign;

use serde::Serialize;

use super::smtp::Outcome;

/// Totals for one sink run (or one shard of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Messages answered 250 at end-of-data.
    pub accepted: u64,
    /// Messages answered 5xx at end-of-data (injected).
    pub rejected: u64,
    /// Messages answered 4xx at end-of-data (injected, or not storable).
    pub tempfailed: u64,
    /// Connections closed instead of answering end-of-data (injected).
    pub closed: u64,
    /// End-of-data left unanswered with the connection held (injected).
    pub timedout: u64,
    /// Connections accepted.
    pub sessions: u64,
    /// Decoded bytes of accepted messages.
    pub bytes: u64,
}

impl Counts {
    /// Counts one message that ended with `outcome`.
    pub(crate) fn message(&mut self, outcome: Outcome, size: u64) {
        match outcome {
            // An injected `lose` is forgotten and `duplicate` kept twice:
            // the counts tell what the (broken) sink holds.
            Outcome::Accept | Outcome::Lose | Outcome::Duplicate => {
                self.accepted += outcome.copies();
                self.bytes += size * outcome.copies();
            }
            Outcome::Tempfail => self.tempfailed += 1,
            Outcome::Reject => self.rejected += 1,
            Outcome::Close => self.closed += 1,
            Outcome::Timeout => self.timedout += 1,
        }
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Self) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.tempfailed += other.tempfailed;
        self.closed += other.closed;
        self.timedout += other.timedout;
        self.sessions += other.sessions;
        self.bytes += other.bytes;
    }
}

/// The `key=value` summary line the CLI prints on exit.
impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted={} rejected={} tempfailed={} closed={} timedout={} sessions={} bytes={}",
            self.accepted,
            self.rejected,
            self.tempfailed,
            self.closed,
            self.timedout,
            self.sessions,
            self.bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_and_prints() {
        let mut total = Counts::default();
        let mut shard = Counts {
            sessions: 2,
            ..Counts::default()
        };
        shard.message(Outcome::Accept, 10);
        shard.message(Outcome::Reject, 99);
        shard.message(Outcome::Lose, 1000);
        total += shard;
        total += shard;
        assert_eq!(
            total.to_string(),
            "accepted=2 rejected=2 tempfailed=0 closed=0 timedout=0 sessions=4 bytes=20"
        );
        assert_eq!(
            serde_json::to_string(&total).unwrap(),
            r#"{"accepted":2,"rejected":2,"tempfailed":0,"closed":0,"timedout":0,"sessions":4,"bytes":20}"#
        );
    }

    #[test]
    fn a_duplicate_counts_twice() {
        let mut counts = Counts::default();
        counts.message(Outcome::Duplicate, 10);
        assert_eq!((counts.accepted, counts.bytes), (2, 20));
    }
}
