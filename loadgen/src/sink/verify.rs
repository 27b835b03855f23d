//! `--verify-against`: did every message the sender saw 250 for arrive at
//! the sink exactly once?
//!
//! ringwall's first promise is that a 250 means the upstream has the
//! message. With the sink as the upstream, that is checkable end to end: the
//! sender lists the Message-IDs it got 250 for, the sink lists the ones it
//! took, and [`reconcile`] compares the two. Each shard keeps its own
//! [`Ledger`] (nothing shared on the message path); the ledgers are joined
//! once the shards have stopped, and only then is the sender's file read,
//! since the sender writes it after the sink started.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::{self, NO_MESSAGE_ID};

/// How many ids of each list the text report shows; the JSON has them all.
const SHOWN: usize = 20;

/// Why the sender's result could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The sender's result file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The file is not a JSON object with an `accepted_message_ids` array of
    /// strings.
    #[error("{} is not a send result with accepted_message_ids: {source}", path.display())]
    Parse {
        /// The sender's result file.
        path: PathBuf,
        /// What the JSON reader said.
        source: serde_json::Error,
    },
}

/// The part of `ringwall-loadgen send --json` output the check reads; the
/// other keys are ignored.
#[derive(Debug, Deserialize)]
struct SendResult {
    /// Every Message-ID, angle brackets included, the sender saw 250 for at
    /// end of data.
    accepted_message_ids: Vec<String>,
}

/// Reads the Message-IDs the sender saw 250 for from its `--json` result.
pub(crate) fn read_sender_ids(path: &Path) -> Result<Vec<String>, VerifyError> {
    let text = fs::read(path).map_err(|source| VerifyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let result: SendResult =
        serde_json::from_slice(&text).map_err(|source| VerifyError::Parse {
            path: path.to_owned(),
            source,
        })?;
    Ok(result.accepted_message_ids)
}

/// The Message-IDs one shard took, in arrival order; a message without one
/// is kept as `<none>`.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// One entry per message kept (twice for an injected `duplicate`).
    ids: Vec<String>,
}

impl Ledger {
    /// Notes one kept message from its captured header section.
    pub(crate) fn remember(&mut self, content: &[u8]) {
        let id = record::message_id(content).map_or_else(
            || NO_MESSAGE_ID.to_owned(),
            |id| String::from_utf8_lossy(&id).into_owned(),
        );
        self.ids.push(id);
    }

    /// Adds another shard's ids.
    pub(crate) fn append(&mut self, other: Self) {
        self.ids.extend(other.ids);
    }

    /// The ids kept, for [`reconcile`].
    pub(crate) fn ids(&self) -> &[String] {
        &self.ids
    }
}

/// The outcome of the exactly-once check; each list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// The sender saw 250, the sink does not have it: mail was lost.
    pub lost: Vec<String>,
    /// The sink has it more than once (listed once each).
    pub duplicated: Vec<String>,
    /// The sink has it but the sender did not see 250 for it (e.g. the
    /// sender timed out after the sink took it); one `<none>` per message
    /// without a Message-ID. Reported, not a failure.
    pub unexpected: Vec<String>,
    /// Messages the sender saw 250 for that are at the sink exactly once.
    pub verified: u64,
}

impl Verification {
    /// True when nothing was lost or duplicated: the run kept the promise.
    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty()
    }
}

/// Compares what the sender saw 250 for with what the sink kept.
///
/// The sender's list is taken as a set (a Message-ID names one message);
/// the sink's is a multiset, since holding a message twice is the fault to
/// find.
pub(crate) fn reconcile(sender: &[String], sink: &[String]) -> Verification {
    let expected: HashSet<&str> = sender.iter().map(String::as_str).collect();
    let mut at_sink: HashMap<&str, u64> = HashMap::new();
    let mut verification = Verification::default();
    for id in sink {
        if id == NO_MESSAGE_ID {
            verification.unexpected.push(id.clone());
        } else {
            *at_sink.entry(id).or_default() += 1;
        }
    }
    for &id in &expected {
        match at_sink.get(id) {
            None => verification.lost.push(id.to_owned()),
            Some(1) => verification.verified += 1,
            Some(_) => {}
        }
    }
    for (&id, &times) in &at_sink {
        if times > 1 {
            verification.duplicated.push(id.to_owned());
        }
        if !expected.contains(id) {
            verification.unexpected.push(id.to_owned());
        }
    }
    verification.lost.sort_unstable();
    verification.duplicated.sort_unstable();
    verification.unexpected.sort_unstable();
    verification
}

/// The text report: a line of counts, then up to 20 ids of each list, one
/// per line as `lost ID`, `duplicated ID` or `unexpected ID`.
impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "verified={} lost={} duplicated={} unexpected={}",
            self.verified,
            self.lost.len(),
            self.duplicated.len(),
            self.unexpected.len()
        )?;
        for (name, ids) in [
            ("lost", &self.lost),
            ("duplicated", &self.duplicated),
            ("unexpected", &self.unexpected),
        ] {
            for id in ids.iter().take(SHOWN) {
                write!(f, "\n{name} {id}")?;
            }
            if ids.len() > SHOWN {
                write!(f, "\n{name} ... and {} more", ids.len() - SHOWN)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|&id| id.to_owned()).collect()
    }

    #[test]
    fn exactly_once_passes() {
        let sent = ids(&["<a@x>", "<b@x>"]);
        let verification = reconcile(&sent, &ids(&["<b@x>", "<a@x>"]));
        assert_eq!(
            verification,
            Verification {
                verified: 2,
                ..Verification::default()
            }
        );
        assert!(verification.passed());
    }

    #[test]
    fn loss_and_duplication_are_named() {
        let sent = ids(&["<a@x>", "<b@x>", "<c@x>", "<d@x>"]);
        let verification = reconcile(&sent, &ids(&["<d@x>", "<a@x>", "<c@x>", "<a@x>"]));
        assert_eq!(verification.lost, ids(&["<b@x>"]));
        assert_eq!(verification.duplicated, ids(&["<a@x>"]));
        assert!(verification.unexpected.is_empty());
        assert_eq!(verification.verified, 2);
        assert!(!verification.passed());
    }

    #[test]
    fn unexpected_is_reported_but_passes() {
        let sent = ids(&["<a@x>"]);
        let verification = reconcile(&sent, &ids(&["<a@x>", "<late@x>", "<none>", "<none>"]));
        assert_eq!(
            verification.unexpected,
            ids(&["<late@x>", "<none>", "<none>"])
        );
        assert!(verification.duplicated.is_empty());
        assert!(verification.passed());
    }

    #[test]
    fn an_unexpected_message_held_twice_is_a_duplicate() {
        let verification = reconcile(&[], &ids(&["<z@x>", "<z@x>"]));
        assert_eq!(verification.duplicated, ids(&["<z@x>"]));
        assert_eq!(verification.unexpected, ids(&["<z@x>"]));
        assert!(!verification.passed());
    }

    #[test]
    fn ledger_keeps_ids_from_headers() {
        let mut ledger = Ledger::default();
        ledger.remember(b"Subject: s\r\nMessage-ID: <1@x>\r\n\r\n");
        let mut other = Ledger::default();
        other.remember(b"Subject: none\r\n\r\n");
        ledger.append(other);
        assert_eq!(ledger.ids(), ids(&["<1@x>", "<none>"]));
    }

    #[test]
    fn report_lists_at_most_twenty_of_each() {
        let sent: Vec<String> = (0..25).map(|n| format!("<{n:02}@x>")).collect();
        let report = reconcile(&sent, &[]).to_string();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines[0], "verified=0 lost=25 duplicated=0 unexpected=0");
        assert_eq!(lines[1], "lost <00@x>");
        assert_eq!(lines[20], "lost <19@x>");
        assert_eq!(lines[21], "lost ... and 5 more");
        assert_eq!(lines.len(), 22);
    }

    #[test]
    fn json_has_the_four_keys() {
        let verification = reconcile(&ids(&["<a@x>"]), &[]);
        assert_eq!(
            serde_json::to_string(&verification).unwrap(),
            r#"{"lost":["<a@x>"],"duplicated":[],"unexpected":[],"verified":0}"#
        );
    }

    #[test]
    fn reads_the_send_result_ignoring_other_keys() {
        let path = std::env::temp_dir().join(format!(
            "ringwall-loadgen-verify-{}.json",
            std::process::id()
        ));
        fs::write(
            &path,
            r#"{"sent":3,"accepted_message_ids":["<a@x>","<b@x>"],"latency":{}}"#,
        )
        .unwrap();
        assert_eq!(read_sender_ids(&path).unwrap(), ids(&["<a@x>", "<b@x>"]));
        fs::write(&path, r#"{"accepted":2}"#).unwrap();
        assert!(matches!(
            read_sender_ids(&path),
            Err(VerifyError::Parse { .. })
        ));
        fs::remove_file(&path).unwrap();
        assert!(matches!(
            read_sender_ids(&path),
            Err(VerifyError::Read { .. })
        ));
    }
}
