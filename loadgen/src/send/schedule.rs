//! How the load is divided between shards, and when each open-loop message
//! is due.
//!
//! In the open loop a message's latency is counted from the moment it was
//! due, not from when a session got round to it: if the server stalls, the
//! messages that should have gone out meanwhile are late, and their wait is
//! part of what a real client would see (the "coordinated omission"
//! correction). That only works if "due" is fixed in advance, which is what
//! [`Schedule`] does.

use std::time::{Duration, Instant};

/// Shard `index`'s share of `total` among `shards`: equal parts, the
/// first `total % shards` shards one more, so the shares add up exactly.
pub(crate) fn share(total: u64, shards: usize, index: usize) -> u64 {
    let shards = shards as u64;
    total / shards + u64::from((index as u64) < total % shards)
}

/// The due times of one shard's messages in the open loop.
///
/// The run's messages are due every `1 / rate` seconds; shard `index` of
/// `shards` takes every `shards`-th of them, starting with the `index`-th,
/// so the shards' messages interleave evenly instead of arriving in bursts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Schedule {
    start: Instant,
    rate: f64,
    shards: u64,
    index: u64,
}

impl Schedule {
    /// The schedule of shard `index` for `rate` messages per second in all.
    pub(crate) fn new(start: Instant, rate: f64, shards: usize, index: usize) -> Self {
        Self {
            start,
            rate,
            shards: shards as u64,
            index: index as u64,
        }
    }

    /// When this shard's `ticket`-th message (from 0) is due.
    pub(crate) fn due(&self, ticket: u64) -> Instant {
        let slot = ticket * self.shards + self.index;
        self.start + Duration::from_secs_f64(slot as f64 / self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up() {
        assert_eq!(
            (0..3).map(|i| share(10, 3, i)).collect::<Vec<_>>(),
            [4, 3, 3]
        );
        assert_eq!(share(2, 4, 3), 0);
        assert_eq!((0..4).map(|i| share(1001, 4, i)).sum::<u64>(), 1001);
    }

    #[test]
    fn shards_interleave_at_the_run_rate() {
        let start = Instant::now();
        let first = Schedule::new(start, 1000.0, 2, 0);
        let second = Schedule::new(start, 1000.0, 2, 1);
        let offset = |schedule: &Schedule, ticket| schedule.due(ticket) - start;
        assert_eq!(offset(&first, 0), Duration::ZERO);
        assert_eq!(offset(&second, 0), Duration::from_millis(1));
        assert_eq!(offset(&first, 1), Duration::from_millis(2));
        assert_eq!(offset(&second, 1), Duration::from_millis(3));
        // A whole second of one shard's tickets is half the run's rate.
        assert_eq!(offset(&first, 500), Duration::from_secs(1));
    }

    #[test]
    fn due_times_do_not_drift() {
        // 3 per second: every third message lands on a whole second, with
        // no accumulated rounding after a million tickets.
        let start = Instant::now();
        let schedule = Schedule::new(start, 3.0, 1, 0);
        assert_eq!(
            schedule.due(3_000_000) - start,
            Duration::from_secs(1_000_000)
        );
    }
}
