//! What a person reads: the live progress line and the final table.
//!
//! Kept apart from the CLI so the wording is tested like any other output,
//! and apart from the result so the JSON shape never bends to the layout.

use std::fmt::Write;
use std::time::Duration;

use super::config::MessageSource;
use super::result::RunResult;
use super::run::Progress;

/// Turns successive [`Progress`] snapshots into one-line summaries with
/// the rate since the previous one.
#[derive(Debug, Default)]
pub struct ProgressMeter {
    /// (elapsed, accepted) at the previous line.
    last: Option<(Duration, u64)>,
}

impl ProgressMeter {
    /// A meter that has printed nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `[  12.0s] accepted 123456 (18234/s)  errors 0  p99 1.23ms`: the
    /// rate is over the time since the previous line.
    pub fn line(&mut self, progress: &Progress) -> String {
        let (since, before) = self.last.unwrap_or((Duration::ZERO, 0));
        let interval = progress.elapsed.saturating_sub(since).as_secs_f64();
        let rate = if interval > 0.0 {
            progress.accepted.saturating_sub(before) as f64 / interval
        } else {
            0.0
        };
        self.last = Some((progress.elapsed, progress.accepted));
        let p99 = progress
            .p99
            .map_or_else(|| "-".to_owned(), |p99| micros(p99.as_micros() as f64));
        format!(
            "[{:6.1}s] accepted {} ({rate:.0}/s)  errors {}  p99 {p99}",
            progress.elapsed.as_secs_f64(),
            progress.accepted,
            progress.errors
        )
    }
}

/// A latency in microseconds, in the unit that keeps it readable.
fn micros(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1_000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

/// Replies as `250x1234 451x2`.
fn codes<'a>(tally: impl IntoIterator<Item = (&'a String, &'a u64)>) -> String {
    tally
        .into_iter()
        .map(|(code, count)| format!("{code}x{count}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The final table: what ran, message counts, rate, latency and replies by
/// stage, errors by kind.
pub fn table(result: &RunResult) -> String {
    let config = &result.config;
    let mut out = String::new();
    let shards = config.shards.get();
    let load = match config.rate {
        Some(rate) => format!(
            "open loop at {rate} msg/s, up to {} sessions",
            config.sessions
        ),
        None => format!("closed loop, {} sessions", config.sessions),
    };
    let per_session = match config.messages_per_session {
        0 => "sessions kept to the end".to_owned(),
        n => format!("{n} msg/session"),
    };
    let messages = match &config.messages {
        MessageSource::Generated(mix) => format!("{mix} bodies"),
        MessageSource::Files(path) => format!("messages from {}", path.display()),
    };
    let pipelining = if config.pipelining {
        "pipelining"
    } else {
        "no pipelining"
    };
    let tls = if config.starttls.is_some() {
        ", STARTTLS"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "ringwall-loadgen send {}: {shards} shard{}, {load}, {per_session}, {messages}, {pipelining}{tls}",
        config.server,
        if shards == 1 { "" } else { "s" },
    );
    let _ = writeln!(
        out,
        "measured {:.2}s after {:.1}s of warm-up; started {}; run {}",
        result.duration_secs,
        config.warmup.as_secs_f64(),
        result.started_at,
        result.run_id
    );
    let counts = &result.counts;
    let _ = writeln!(
        out,
        "\nmessages  attempted {}  accepted {}  tempfailed {}  rejected {}  errors {}",
        counts.attempted, counts.accepted, counts.tempfailed, counts.rejected, counts.errors
    );
    let _ = writeln!(out, "sessions  {}", counts.sessions);
    let _ = writeln!(out, "rate      {:.1} accepted/s", result.rate);
    let _ = writeln!(
        out,
        "\n{:<12}{:>9}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}  replies",
        "stage", "count", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    for (stage, latency) in result.latency_us.iter() {
        let replies = result.stage_replies.get(stage);
        if latency.count == 0 && replies.is_none() {
            continue;
        }
        let _ = writeln!(
            out,
            "{stage:<12}{:>9}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}  {}",
            latency.count,
            micros(latency.mean),
            micros(latency.p50 as f64),
            micros(latency.p90 as f64),
            micros(latency.p99 as f64),
            micros(latency.p999 as f64),
            micros(latency.max as f64),
            replies.map(codes).unwrap_or_default()
        );
    }
    for (stage, replies) in result.stage_replies.iter() {
        if result.latency_us.get(stage).is_none() {
            // Blank under count and the six latency columns.
            let _ = writeln!(out, "{stage:<12}{:>69}  {}", "", codes(replies));
        }
    }
    if !result.error_kinds.is_empty() {
        let _ = writeln!(out, "\nerrors");
        for (kind, count) in &result.error_kinds {
            let _ = writeln!(out, "  {count:>9}  {kind}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::SendConfig;
    use crate::send::stats::{Fate, Stage, Stats};

    #[test]
    fn progress_lines_show_the_recent_rate() {
        let mut meter = ProgressMeter::new();
        let mut progress = Progress {
            elapsed: Duration::from_secs(1),
            accepted: 1000,
            errors: 0,
            p99: None,
            done: false,
        };
        assert_eq!(
            meter.line(&progress),
            "[   1.0s] accepted 1000 (1000/s)  errors 0  p99 -"
        );
        progress.elapsed = Duration::from_secs(2);
        progress.accepted = 4000;
        progress.errors = 2;
        progress.p99 = Some(Duration::from_micros(1234));
        assert_eq!(
            meter.line(&progress),
            "[   2.0s] accepted 4000 (3000/s)  errors 2  p99 1.23ms"
        );
    }

    #[test]
    fn table_lists_counts_stages_and_errors() {
        let mut stats = Stats::default();
        stats.fate(Fate::Accepted);
        stats.fate(Fate::Error);
        stats.error("end_of_data: timed out");
        stats.reply(Stage::Connect, 220);
        stats.reply(Stage::EndOfData, 250);
        stats.reply(Stage::Quit, 221);
        stats.latency(Stage::Connect, Duration::from_micros(250));
        stats.latency(Stage::Message, Duration::from_micros(2_500_000));
        let result = RunResult::new(
            SendConfig::default(),
            "0123456789ab".into(),
            "2026-11-26T09:05:00Z".into(),
            1.0,
            &stats,
            Vec::new(),
        );
        let table = table(&result);
        assert!(table.starts_with(
            "ringwall-loadgen send 127.0.0.1:2525: 1 shard, closed loop, 32 sessions, \
             1 msg/session, 1KiB bodies, pipelining\n"
        ));
        assert!(
            table.contains(
                "messages  attempted 2  accepted 1  tempfailed 0  rejected 0  errors 1\n"
            )
        );
        assert!(table.contains("rate      1.0 accepted/s\n"));
        assert!(table.contains("\nconnect             1     250us     250us"));
        assert!(table.contains("220x1\n"));
        assert!(table.contains("\nmessage             1     2.50s"));
        assert!(table.contains("\nend_of_data         0"));
        let column = |prefix: &str, codes: &str| {
            let line = table.lines().find(|line| line.starts_with(prefix)).unwrap();
            line.find(codes).unwrap()
        };
        assert_eq!(column("connect", "220x1"), column("quit", "221x1"));
        assert_eq!(column("connect", "220x1"), column("stage", "replies"));
        assert!(table.ends_with("\nerrors\n          1  end_of_data: timed out\n"));
        assert!(!table.contains("starttls"));
    }
}
