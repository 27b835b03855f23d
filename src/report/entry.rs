//! The log lines a report counts, read out of their [`Record`]s: a message's
//! transaction line, a recipient refused at RCPT by client triage, and a
//! quarantined message released by an operator.

use std::time::SystemTime;

use super::line::{self, Record};

/// The transaction log's target (`server::txlog`).
const TRANSACTION: &str = "ringwall::transaction";
/// Where client triage logs each recipient it refuses.
const CONNECTION: &str = "ringwall::server::connection";
const TRIAGE_REFUSAL: &str = "recipient refused by client triage";
/// The quarantine's audit log of operator actions.
const AUDIT: &str = "ringwall::audit";

/// What became of a message, one of the report's verdict counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Relayed untagged.
    Relayed,
    /// Relayed with the spam flag (`action=tag`).
    Tagged,
    /// Kept for review (`action=quarantine`).
    Quarantined,
    /// Refused with 5xx.
    Rejected,
    /// Refused with 4xx.
    Tempfail,
    /// Accepted and dropped.
    Discarded,
    /// The session ended instead of a reply.
    Disconnected,
}

impl Outcome {
    /// The outcome of a transaction line's `verdict` and `action`; `None`
    /// for a verdict this version does not know.
    fn of(verdict: &str, action: &str) -> Option<Outcome> {
        Some(match (verdict, action) {
            ("relayed", "tag") => Outcome::Tagged,
            ("relayed", "quarantine") | ("quarantined", _) => Outcome::Quarantined,
            ("relayed", _) => Outcome::Relayed,
            ("rejected", _) => Outcome::Rejected,
            ("tempfail", _) => Outcome::Tempfail,
            ("discarded", _) => Outcome::Discarded,
            ("disconnected", _) => Outcome::Disconnected,
            _ => return None,
        })
    }
}

/// One message's transaction line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Message {
    /// The client's address.
    pub(super) client: String,
    /// The envelope sender as logged: `<a@example.com>` or `<>`.
    pub(super) from: String,
    /// What became of it.
    pub(super) outcome: Outcome,
    /// The names of the rules that scored it.
    pub(super) rules: Vec<String>,
}

/// A line a report counts.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Entry {
    /// A message.
    Message(Message),
    /// A recipient refused at RCPT because the client's DNS list score
    /// reached the threshold: the names of the lists' rules.
    TriageRefusal(Vec<String>),
    /// A quarantined message released by an operator: a false positive.
    Release(String),
}

/// How a line reads.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Line {
    /// A line the report counts, with its time.
    Counted(SystemTime, Entry),
    /// A daemon line of no interest to a report.
    Other,
    /// Not a daemon line, or one of its kind with a field missing.
    Unreadable,
}

/// Reads one line of the daemon's log.
pub(super) fn read(text: &str) -> Line {
    let Some(record) = line::parse(text) else {
        return Line::Unreadable;
    };
    let entry = match record.target.as_str() {
        TRANSACTION => message(&record).map(Entry::Message),
        CONNECTION if record.message == TRIAGE_REFUSAL => Some(Entry::TriageRefusal(rules(
            record.field("rules").unwrap_or(""),
        ))),
        AUDIT if record.field("action") == Some("release") => {
            record.field("id").map(|id| Entry::Release(id.to_string()))
        }
        _ => return Line::Other,
    };
    entry.map_or(Line::Unreadable, |entry| Line::Counted(record.time, entry))
}

fn message(record: &Record) -> Option<Message> {
    Some(Message {
        client: record.field("client")?.to_string(),
        from: record.field("from")?.to_string(),
        outcome: Outcome::of(
            record.field("verdict")?,
            record.field("action").unwrap_or(""),
        )?,
        rules: rules(record.field("rules").unwrap_or("")),
    })
}

/// The rule names of a `rules` value: `RBL_ZEN=1.0,BODY_X=2.5` in the
/// transaction line, `RBL_ZEN_SBL=3, RBL_SPAMCOP_NET=2` in triage's.
fn rules(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|rule| rule.split('=').next().unwrap_or("").trim())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn counted(line: &str) -> Entry {
        match read(line) {
            Line::Counted(_, entry) => entry,
            other => panic!("{other:?} for {line}"),
        }
    }

    #[test]
    fn messages_in_both_formats() {
        let tagged = Entry::Message(Message {
            client: "127.0.0.55".into(),
            from: "<b@Spam.Example>".into(),
            outcome: Outcome::Tagged,
            rules: vec!["GTUBE".into(), "HELO_NOT_FQDN".into()],
        });
        assert_eq!(counted(TEXT_GTUBE), tagged);
        assert_eq!(counted(JSON_GTUBE), tagged);
        let Entry::Message(clean) = counted(JSON_CLEAN) else {
            panic!("a message");
        };
        assert_eq!(clean.outcome, Outcome::Relayed);
        let Entry::Message(bounce) = counted(TEXT_BOUNCE) else {
            panic!("a message");
        };
        assert_eq!(bounce.from, "<>");
    }

    #[test]
    fn refusals_at_rcpt_and_releases() {
        let refused = Entry::TriageRefusal(vec!["RBL_ZEN_SBL".into()]);
        assert_eq!(counted(TEXT_REFUSED), refused);
        assert_eq!(counted(JSON_REFUSED), refused);
        assert_eq!(counted(TEXT_RELEASE), Entry::Release("Q7F3A9".into()));
    }

    #[test]
    fn other_daemon_lines_and_broken_ones() {
        for line in [TEXT_STARTED, TEXT_TRIAGE, JSON_STOPPED] {
            assert_eq!(read(line), Line::Other, "{line}");
        }
        let viewed = TEXT_RELEASE.replace("action=release", "action=view");
        assert_eq!(read(&viewed), Line::Other);
        let unknown_verdict = TEXT_CLEAN.replace("verdict=relayed", "verdict=teleported");
        let no_client = TEXT_CLEAN.replace("client=127.0.0.55 ", "");
        for line in ["garbage", unknown_verdict.as_str(), no_client.as_str()] {
            assert_eq!(read(line), Line::Unreadable, "{line}");
        }
    }

    #[test]
    fn every_verdict_and_action() {
        let cases = [
            ("relayed", "accept", Outcome::Relayed),
            ("relayed", "", Outcome::Relayed),
            ("relayed", "tag", Outcome::Tagged),
            ("relayed", "quarantine", Outcome::Quarantined),
            ("quarantined", "quarantine", Outcome::Quarantined),
            ("rejected", "reject", Outcome::Rejected),
            ("rejected", "tag", Outcome::Rejected),
            ("tempfail", "tempfail", Outcome::Tempfail),
            ("discarded", "discard", Outcome::Discarded),
            ("disconnected", "", Outcome::Disconnected),
        ];
        for (verdict, action, outcome) in cases {
            assert_eq!(
                Outcome::of(verdict, action),
                Some(outcome),
                "{verdict} {action}"
            );
        }
    }
}
