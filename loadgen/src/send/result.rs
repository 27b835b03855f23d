//! The result of a run: what the JSON file holds and the table is printed
//! from.
//!
//! The shape is a contract: benchmark scripts read `rate` and `latency_us`,
//! and the sink's `--verify-against` reads `accepted_message_ids` to check
//! that every accepted message arrived exactly once.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::config::SendConfig;
use super::stats::{Counts, LatencySummary, Stage, Stats};

/// Entries keyed by stage name, kept in conversation order (a map would
/// sort them alphabetically).
#[derive(Debug, Clone, PartialEq)]
pub struct ByStage<T>(Vec<(&'static str, T)>);

impl<T> ByStage<T> {
    /// The entry of stage `name` (`connect`, `mail`, `message`...).
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0
            .iter()
            .find(|(stage, _)| *stage == name)
            .map(|(_, value)| value)
    }

    /// Every entry, in conversation order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &T)> {
        self.0.iter().map(|(stage, value)| (*stage, value))
    }
}

/// Serialized as a JSON object in conversation order.
impl<T: Serialize> Serialize for ByStage<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (stage, value) in &self.0 {
            map.serialize_entry(stage, value)?;
        }
        map.end()
    }
}

/// Everything a run measured, with the config that produced it.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// `ringwall-loadgen send`.
    pub tool: &'static str,
    /// The loadgen version.
    pub version: &'static str,
    /// The configuration, resolved.
    pub config: SendConfig,
    /// The random part of every Message-ID of this run.
    pub run_id: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The measured window, warm-up excluded: from its start to the end of
    /// the last message.
    pub duration_secs: f64,
    /// Message fates and sessions in the measured window.
    pub counts: Counts,
    /// Accepted messages per second over the measured window.
    pub rate: f64,
    /// End-of-data reply codes and their counts.
    pub replies: BTreeMap<String, u64>,
    /// Reply codes per stage, for the stages that had replies.
    pub stage_replies: ByStage<BTreeMap<String, u64>>,
    /// Latency percentiles per stage, in microseconds.
    pub latency_us: ByStage<LatencySummary>,
    /// What ended the messages counted in `counts.errors`, by
    /// `stage: description`.
    pub error_kinds: BTreeMap<String, u64>,
    /// Every Message-ID answered 250 at end of data, warm-up included.
    pub accepted_message_ids: Vec<String>,
}

impl RunResult {
    /// The result of merged `stats` over a window of `duration_secs`.
    pub(crate) fn new(
        config: SendConfig,
        run_id: String,
        started_at: String,
        duration_secs: f64,
        stats: &Stats,
        accepted_message_ids: Vec<String>,
    ) -> Self {
        let rate = if duration_secs > 0.0 {
            stats.counts.accepted as f64 / duration_secs
        } else {
            0.0
        };
        Self {
            tool: "ringwall-loadgen send",
            version: env!("CARGO_PKG_VERSION"),
            config,
            run_id,
            started_at,
            duration_secs,
            counts: stats.counts,
            rate,
            replies: stats.replies(Stage::EndOfData).to_map(),
            stage_replies: ByStage(
                Stage::ALL
                    .iter()
                    .filter(|stage| !stats.replies(**stage).is_empty())
                    .map(|stage| (stage.name(), stats.replies(*stage).to_map()))
                    .collect(),
            ),
            latency_us: ByStage(
                Stage::ALL
                    .iter()
                    .filter(|stage| stage.timed())
                    .map(|stage| (stage.name(), stats.summary(*stage)))
                    .collect(),
            ),
            error_kinds: stats.errors().clone(),
            accepted_message_ids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::stats::Fate;
    use std::time::Duration;

    #[test]
    fn json_has_the_contract_keys_in_order() {
        let mut stats = Stats::default();
        stats.fate(Fate::Accepted);
        stats.reply(Stage::EndOfData, 250);
        stats.reply(Stage::Connect, 220);
        stats.latency(Stage::Message, Duration::from_micros(1500));
        let result = RunResult::new(
            SendConfig::default(),
            "0123456789ab".into(),
            "2026-11-26T09:05:00Z".into(),
            2.0,
            &stats,
            vec!["<0-0.0123456789ab@ringwall-loadgen.invalid>".into()],
        );
        let json = serde_json::to_value(&result).unwrap();
        for key in [
            "tool",
            "version",
            "config",
            "started_at",
            "duration_secs",
            "counts",
            "rate",
            "replies",
            "stage_replies",
            "latency_us",
            "accepted_message_ids",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["tool"], "ringwall-loadgen send");
        assert_eq!(json["rate"], 0.5);
        assert_eq!(json["replies"]["250"], 1);
        assert_eq!(json["stage_replies"]["connect"]["220"], 1);
        assert_eq!(json["latency_us"]["message"]["count"], 1);
        let stages: Vec<&str> = result.latency_us.iter().map(|(name, _)| name).collect();
        assert_eq!(
            stages,
            [
                "connect",
                "ehlo",
                "starttls",
                "mail",
                "rcpt",
                "data",
                "end_of_data",
                "message"
            ]
        );
        let text = serde_json::to_string(&result.latency_us).unwrap();
        assert!(text.starts_with("{\"connect\":"));
        assert_eq!(result.stage_replies.get("connect").unwrap()["220"], 1);
    }
}
