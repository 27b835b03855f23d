//! What a run measured: latency histograms per stage, reply codes per stage,
//! message fates, error kinds.
//!
//! Each shard fills its own [`Stats`] with plain (non-atomic) updates; the
//! shards' stats are merged once at the end, which is exact for histograms
//! (HdrHistogram adds bucket by bucket) as well as for counts.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency a histogram holds exactly, in microseconds (one hour);
/// longer ones are recorded as this.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Significant decimal digits kept: 0.1 % resolution at every magnitude.
const SIGNIFICANT_DIGITS: u8 = 3;

/// A point of the SMTP conversation that has a reply, a latency or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// From starting the TCP connect to the greeting.
    Connect,
    /// EHLO to its reply (twice per session with STARTTLS).
    Ehlo,
    /// STARTTLS to the end of the TLS handshake.
    Starttls,
    /// MAIL FROM to its reply.
    Mail,
    /// RCPT TO to its reply, per recipient.
    Rcpt,
    /// DATA to its reply.
    Data,
    /// The message's last byte to the end-of-data reply.
    EndOfData,
    /// RSET after a failed transaction (replies only).
    Rset,
    /// QUIT (replies only).
    Quit,
    /// The whole message: from when it was due to its end-of-data reply
    /// (latency only).
    Message,
}

impl Stage {
    /// Every stage, in conversation order.
    pub(crate) const ALL: [Stage; 10] = [
        Stage::Connect,
        Stage::Ehlo,
        Stage::Starttls,
        Stage::Mail,
        Stage::Rcpt,
        Stage::Data,
        Stage::EndOfData,
        Stage::Rset,
        Stage::Quit,
        Stage::Message,
    ];

    /// The name used in the JSON result and the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Ehlo => "ehlo",
            Stage::Starttls => "starttls",
            Stage::Mail => "mail",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
            Stage::EndOfData => "end_of_data",
            Stage::Rset => "rset",
            Stage::Quit => "quit",
            Stage::Message => "message",
        }
    }

    /// Whether the stage's latency is measured (RSET and QUIT are
    /// housekeeping, not load).
    pub(crate) fn timed(self) -> bool {
        !matches!(self, Stage::Rset | Stage::Quit)
    }
}

/// How each message ended; every attempted message gets exactly one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Messages started in the measured window.
    pub attempted: u64,
    /// Answered 250 at end of data.
    pub accepted: u64,
    /// Stopped by a 4xx reply (at the greeting, MAIL, RCPT, DATA or end of
    /// data): a real client would retry.
    pub tempfailed: u64,
    /// Stopped by a 5xx reply.
    pub rejected: u64,
    /// Stopped by no reply: connection refused or reset, timeout, a reply
    /// that is not SMTP, a failed TLS handshake.
    pub errors: u64,
    /// Connections that reached the greeting in the measured window.
    pub sessions: u64,
}

/// The end of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// 250 at end of data.
    Accepted,
    /// A 4xx reply stopped it.
    Tempfailed,
    /// A 5xx reply stopped it.
    Rejected,
    /// No reply stopped it.
    Error,
}

impl Fate {
    /// The fate of a message stopped by a reply with `code` (one that was
    /// not what the client needed to go on): 4xx tempfails, anything else
    /// rejects.
    pub(crate) fn of_refusal(code: u16) -> Self {
        if (400..500).contains(&code) {
            Fate::Tempfailed
        } else {
            Fate::Rejected
        }
    }
}

/// Count per reply code, for one stage. A few distinct codes at most, so a
/// small vector scanned linearly beats a map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally(Vec<(u16, u64)>);

impl Tally {
    /// Counts `n` replies with `code`.
    fn add(&mut self, code: u16, n: u64) {
        match self.0.iter_mut().find(|(c, _)| *c == code) {
            Some((_, count)) => *count += n,
            None => self.0.push((code, n)),
        }
    }

    /// Code (as text) to count, sorted by code.
    pub(crate) fn to_map(&self) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .map(|&(code, count)| (code.to_string(), count))
            .collect()
    }

    /// Nothing counted.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Percentiles of one stage's latency, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest sample.
    pub max: u64,
}

impl LatencySummary {
    /// The summary of a histogram (all zero when empty).
    fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        Self {
            count: histogram.len(),
            mean: (histogram.mean() * 10.0).round() / 10.0,
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }
}

/// A fresh histogram with the run's bounds.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

/// Everything one shard (or, merged, the run) measured.
#[derive(Debug)]
pub(crate) struct Stats {
    /// Per stage (indexed like [`Stage::ALL`]); `None` for untimed stages.
    latency: Vec<Option<Histogram<u64>>>,
    /// Per stage (indexed like [`Stage::ALL`]).
    replies: Vec<Tally>,
    /// Message fates and sessions.
    pub(crate) counts: Counts,
    /// Error description to count.
    errors: BTreeMap<String, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            latency: Stage::ALL
                .iter()
                .map(|stage| stage.timed().then(histogram))
                .collect(),
            replies: vec![Tally::default(); Stage::ALL.len()],
            counts: Counts::default(),
            errors: BTreeMap::new(),
        }
    }
}

impl Stats {
    /// Records one latency sample of `stage`.
    pub(crate) fn latency(&mut self, stage: Stage, elapsed: Duration) {
        if let Some(histogram) = &mut self.latency[stage as usize] {
            histogram.saturating_record(elapsed.as_micros().max(1) as u64);
        }
    }

    /// Counts one reply of `stage`.
    pub(crate) fn reply(&mut self, stage: Stage, code: u16) {
        self.replies[stage as usize].add(code, 1);
    }

    /// Counts a finished message.
    pub(crate) fn fate(&mut self, fate: Fate) {
        let counts = &mut self.counts;
        counts.attempted += 1;
        match fate {
            Fate::Accepted => counts.accepted += 1,
            Fate::Tempfailed => counts.tempfailed += 1,
            Fate::Rejected => counts.rejected += 1,
            Fate::Error => counts.errors += 1,
        }
    }

    /// Counts an error by its description (allocates only the first time
    /// a description is seen).
    pub(crate) fn error(&mut self, description: &str) {
        match self.errors.get_mut(description) {
            Some(count) => *count += 1,
            None => {
                self.errors.insert(description.to_owned(), 1);
            }
        }
    }

    /// Adds another shard's stats to these.
    pub(crate) fn merge(&mut self, other: &Stats) {
        for (mine, theirs) in self.latency.iter_mut().zip(&other.latency) {
            if let (Some(mine), Some(theirs)) = (mine, theirs) {
                mine.add(theirs)
                    .expect("histograms with equal bounds always add");
            }
        }
        for (mine, theirs) in self.replies.iter_mut().zip(&other.replies) {
            for &(code, count) in &theirs.0 {
                mine.add(code, count);
            }
        }
        let (mine, theirs) = (&mut self.counts, other.counts);
        mine.attempted += theirs.attempted;
        mine.accepted += theirs.accepted;
        mine.tempfailed += theirs.tempfailed;
        mine.rejected += theirs.rejected;
        mine.errors += theirs.errors;
        mine.sessions += theirs.sessions;
        for (description, count) in &other.errors {
            *self.errors.entry(description.clone()).or_default() += count;
        }
    }

    /// The summary of a timed stage.
    pub(crate) fn summary(&self, stage: Stage) -> LatencySummary {
        self.latency[stage as usize]
            .as_ref()
            .map(LatencySummary::of)
            .unwrap_or_default()
    }

    /// The message latency histogram, for live progress.
    pub(crate) fn message_latency(&self) -> &Histogram<u64> {
        self.latency[Stage::Message as usize]
            .as_ref()
            .expect("the message stage is timed")
    }

    /// The reply codes of a stage.
    pub(crate) fn replies(&self, stage: Stage) -> &Tally {
        &self.replies[stage as usize]
    }

    /// Error descriptions and their counts.
    pub(crate) fn errors(&self) -> &BTreeMap<String, u64> {
        &self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_histograms_tallies_and_counts() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for micros in 1..=100 {
            a.latency(Stage::Message, Duration::from_micros(micros));
            b.latency(Stage::Message, Duration::from_micros(micros + 100));
        }
        a.reply(Stage::EndOfData, 250);
        b.reply(Stage::EndOfData, 250);
        b.reply(Stage::EndOfData, 451);
        a.fate(Fate::Accepted);
        b.fate(Fate::Tempfailed);
        b.error("timed out");
        a.latency(Stage::Rset, Duration::from_micros(5));
        a.merge(&b);

        let message = a.summary(Stage::Message);
        assert_eq!(message.count, 200);
        assert_eq!(message.p50, 100);
        assert_eq!(message.max, 200);
        assert!((message.mean - 100.5).abs() < 0.01);
        assert_eq!(a.summary(Stage::Connect), LatencySummary::default());
        assert_eq!(a.summary(Stage::Rset), LatencySummary::default());
        assert_eq!(
            a.replies(Stage::EndOfData).to_map(),
            BTreeMap::from([("250".to_string(), 2), ("451".to_string(), 1)])
        );
        assert_eq!(
            a.counts,
            Counts {
                attempted: 2,
                accepted: 1,
                tempfailed: 1,
                ..Counts::default()
            }
        );
        assert_eq!(a.errors().get("timed out"), Some(&1));
    }

    #[test]
    fn fates_of_codes() {
        assert_eq!(Fate::of_refusal(451), Fate::Tempfailed);
        assert_eq!(Fate::of_refusal(554), Fate::Rejected);
        assert_eq!(Fate::of_refusal(354), Fate::Rejected);
    }

    #[test]
    fn huge_latencies_saturate() {
        let mut stats = Stats::default();
        stats.latency(Stage::Message, Duration::from_secs(10 * 3600));
        assert!(stats.summary(Stage::Message).max >= MAX_LATENCY_US);
    }
}
