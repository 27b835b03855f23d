//! `ringwall report`: what the daemon did, read back from its own log.
//!
//! The daemon keeps no statistics on disk; its transaction log already says
//! everything an operator asks the morning after (how much mail, what became
//! of it, which rules and DNS lists did the work, who sent the most, which
//! quarantined messages were released as false positives). This module reads
//! those lines back: [`line`] splits either `[log] format`, [`entry`] picks
//! out the lines that matter, [`tally`] counts them into a [`Report`], and
//! [`text`] and [`html`] render it (JSON is the [`Report`]'s serde form).
//! All of that is pure; only [`read`] touches files, for the command line
//! and the admin listener alike.

mod entry;
#[cfg(test)]
mod fixtures;
mod html;
mod line;
mod read;
mod tally;
mod text;

use std::time::{Duration, SystemTime};

pub use html::{render_html, unconfigured_page};
pub use read::{LogSource, build};
pub use tally::{Count, DnsLists, DnsblSummary, Hour, ListRate, Released, Report, Tally, Verdicts};
pub use text::render_text;

use crate::config::HumanDuration;

/// How far back a report looks when nobody says: one day of mail.
pub const DEFAULT_SINCE: &str = "24h";

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// `--since` (or `?since=`) is neither a duration nor an instant.
    #[error(
        "since {0:?} is neither a duration (\"24h\", \"7d\") nor an RFC 3339 instant \
         (\"2026-11-27T00:00:00Z\")"
    )]
    Since(String),
    /// A log could not be read.
    #[error("cannot read the log {path}: {source}")]
    Read {
        /// The file (`-` for standard input).
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The start of the window `text` names: a duration before `now` (`24h`,
/// `7d`, in the configuration's duration syntax) or an RFC 3339 instant.
pub fn since(text: &str, now: SystemTime) -> Result<SystemTime, ReportError> {
    let text = text.trim();
    if let Ok(HumanDuration(span)) = text.parse::<HumanDuration>() {
        return Ok(now
            .checked_sub(span)
            .filter(|t| *t >= SystemTime::UNIX_EPOCH)
            .unwrap_or(SystemTime::UNIX_EPOCH));
    }
    humantime::parse_rfc3339_weak(text).map_err(|_| ReportError::Since(text.to_string()))
}

/// `time` as the reports print it: RFC 3339, whole seconds, UTC.
fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time.max(SystemTime::UNIX_EPOCH)).to_string()
}

/// The width of a bar of the hourly chart.
const HOUR: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_stable_keys() {
        let now = humantime::parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
        let mut tally = Tally::new(since("24h", now).unwrap(), now, DnsLists::Guessed);
        tally.line(fixtures::JSON_GTUBE);
        let json = serde_json::to_value(tally.finish()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = [
            "since",
            "until",
            "messages",
            "verdicts",
            "top_rules",
            "top_clients",
            "top_sender_domains",
            "dnsbl",
            "released",
            "hourly",
            "skipped",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(json["verdicts"]["tagged"], 1);
        assert_eq!(json["top_rules"][0]["name"], "GTUBE");
        assert_eq!(json["top_sender_domains"][0]["name"], "spam.example");
        assert_eq!(json["dnsbl"]["judged"], 1);
        assert_eq!(json["released"]["count"], 0);
        assert_eq!(json["hourly"][0]["messages"], 1);
    }

    #[test]
    fn since_takes_a_duration_before_now_or_an_instant() {
        let now = humantime::parse_rfc3339("2026-11-27T10:00:00Z").unwrap();
        assert_eq!(rfc3339(since("24h", now).unwrap()), "2026-11-26T10:00:00Z");
        assert_eq!(rfc3339(since("7d", now).unwrap()), "2026-11-20T10:00:00Z");
        assert_eq!(
            rfc3339(since("2026-11-27T08:30:00Z", now).unwrap()),
            "2026-11-27T08:30:00Z"
        );
        assert_eq!(
            since("yesterday", now).unwrap_err().to_string(),
            "since \"yesterday\" is neither a duration (\"24h\", \"7d\") nor an RFC 3339 instant \
             (\"2026-11-27T00:00:00Z\")"
        );
    }
}
