//! What the quarantine keeps about one message, and the file it lives in:
//! one self-describing file per message, the record (JSON) first and the
//! message after it, so a single write, fsync and rename makes both durable
//! together and the index can always be rebuilt from the files alone.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::policy::{Judgement, RuleClass};
use crate::smtp::address::{parse_forward_path, parse_reverse_path};
use crate::smtp::command::Body;
use crate::smtp::{ForwardPath, MailParams, RcptParams, ReversePath};

/// The first octets of every quarantine file: format and version.
const MAGIC: &[u8] = b"RWQ1 ";

/// The longest record a file may declare (the message itself is bounded by
/// the proxy's `max_message_size`); a larger length is a damaged file.
const MAX_RECORD: usize = 16 * 1024 * 1024;

/// A quarantined message's envelope, verdict and origin: what the index
/// lists, what `show` explains and what `release` replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The quarantine id (the file's name): unique across shards and
    /// restarts.
    pub id: String,
    /// The proxy's queue id, as the client's 250 and the log line carry it.
    pub queue_id: String,
    /// Seconds since the epoch when the message was kept.
    pub received_at: u64,
    /// The envelope sender (MAIL FROM); empty for the null sender.
    pub sender: String,
    /// The envelope recipients, in RCPT order.
    pub recipients: Vec<Recipient>,
    /// MAIL's parameters, replayed on release.
    pub mail: MailOptions,
    /// The `Message-ID` header, when the message had one.
    pub message_id: String,
    /// The `Subject` header (decoded), for the list.
    pub subject: String,
    /// The `From` header, for the list.
    pub from: String,
    /// The total score.
    pub score: f64,
    /// The action the verdict took (`quarantine`).
    pub action: String,
    /// The rules that hit, highest score first.
    pub rules: Vec<Hit>,
    /// The client's real address.
    pub client: IpAddr,
    /// Its port.
    pub client_port: u16,
    /// Its HELO name.
    pub helo: Option<String>,
    /// The message's size in octets as kept (our headers included).
    pub size: u64,
}

/// An envelope to replay: MAIL's path and parameters, the recipients with
/// theirs.
pub type Envelope = (ReversePath, MailParams, Vec<(ForwardPath, RcptParams)>);

/// One recipient and the DSN parameters its RCPT carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The address (`user@example.net`, or `postmaster`).
    pub address: String,
    /// `NOTIFY=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// `ORCPT=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orcpt: Option<String>,
}

/// MAIL's parameters worth replaying.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailOptions {
    /// `BODY=8BITMIME` was given.
    #[serde(default)]
    pub eight_bit: bool,
    /// `SMTPUTF8` was given.
    #[serde(default)]
    pub smtputf8: bool,
    /// `RET=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<String>,
    /// `ENVID=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envid: Option<String>,
}

/// One rule that hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Its name.
    pub rule: String,
    /// Its score.
    pub score: f64,
    /// Its class (`phishing`, `malware`, ...).
    pub class: String,
}

/// The rules of `judgement` as a record keeps them, with their classes.
pub fn hits(judgement: &Judgement) -> Vec<Hit> {
    judgement
        .hits
        .iter()
        .map(|hit| Hit {
            rule: hit.rule.clone(),
            score: hit.score,
            class: hit.class.name().to_string(),
        })
        .collect()
}

/// The header fields a reviewer scans a list by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderSummary {
    /// `Message-ID`, with its angle brackets.
    pub message_id: String,
    /// `Subject`, decoded.
    pub subject: String,
    /// `From`: display name and address.
    pub from: String,
}

impl HeaderSummary {
    /// The summary of `message`'s header section (fields missing: empty).
    pub fn of(message: &[u8]) -> HeaderSummary {
        let Some(parsed) = mail_parser::MessageParser::default().parse_headers(message) else {
            return HeaderSummary::default();
        };
        let from = parsed
            .from()
            .and_then(|from| from.first())
            .map(|addr| match (addr.name(), addr.address()) {
                (Some(name), Some(address)) => format!("{name} <{address}>"),
                (None, Some(address)) => address.to_string(),
                (Some(name), None) => name.to_string(),
                (None, None) => String::new(),
            })
            .unwrap_or_default();
        HeaderSummary {
            message_id: parsed
                .message_id()
                .map(|id| format!("<{id}>"))
                .unwrap_or_default(),
            subject: parsed.subject().unwrap_or_default().to_string(),
            from,
        }
    }
}

impl Record {
    /// True when a rule of one of `classes` hit.
    pub fn has_class(&self, classes: &[RuleClass]) -> bool {
        self.rules
            .iter()
            .any(|hit| classes.iter().any(|c| c.name() == hit.class))
    }

    /// `RULE=score` pairs, as the log and `X-Spam-Status` show them.
    pub fn explanation(&self) -> String {
        let pairs: Vec<String> = self
            .rules
            .iter()
            .map(|hit| format!("{}={}", hit.rule, crate::policy::format_score(hit.score)))
            .collect();
        pairs.join(",")
    }

    /// True when `address` is one of the recipients (compared without case,
    /// as the index keys them).
    pub fn is_recipient(&self, address: &str) -> bool {
        self.recipients
            .iter()
            .any(|r| r.address.eq_ignore_ascii_case(address))
    }

    /// The envelope as the relay sends it: MAIL's path and parameters, and
    /// each recipient of `only` (all when `None`) with its parameters.
    pub fn envelope(&self, only: Option<&[String]>) -> Result<Envelope, RecordError> {
        let (sender, _) = parse_reverse_path(&format!("<{}>", self.sender))
            .map_err(|_| RecordError::Envelope(self.sender.clone()))?;
        let params = MailParams {
            size: Some(self.size),
            body: self.mail.eight_bit.then_some(Body::EightBitMime),
            smtputf8: self.mail.smtputf8,
            ret: self.mail.ret.clone(),
            envid: self.mail.envid.clone(),
        };
        let mut recipients = Vec::new();
        for recipient in &self.recipients {
            let wanted = only.is_none_or(|only| {
                only.iter()
                    .any(|o| o.eq_ignore_ascii_case(&recipient.address))
            });
            if !wanted {
                continue;
            }
            let (path, _) = parse_forward_path(&format!("<{}>", recipient.address))
                .map_err(|_| RecordError::Envelope(recipient.address.clone()))?;
            recipients.push((
                path,
                RcptParams {
                    notify: recipient.notify.clone(),
                    orcpt: recipient.orcpt.clone(),
                },
            ));
        }
        Ok((sender, params, recipients))
    }
}

/// The envelope parts of a record from the transaction that made it.
pub fn envelope_parts(
    sender: &ReversePath,
    params: &MailParams,
    recipients: &[(ForwardPath, RcptParams)],
) -> (String, MailOptions, Vec<Recipient>) {
    let sender = match sender {
        ReversePath::Null => String::new(),
        ReversePath::Mailbox(mailbox) => mailbox.to_string(),
    };
    let options = MailOptions {
        eight_bit: params.body == Some(Body::EightBitMime),
        smtputf8: params.smtputf8,
        ret: params.ret.clone(),
        envid: params.envid.clone(),
    };
    let recipients = recipients
        .iter()
        .map(|(path, rcpt)| Recipient {
            address: match path {
                ForwardPath::Mailbox(mailbox) => mailbox.to_string(),
                ForwardPath::Postmaster(p) => p.clone(),
            },
            notify: rcpt.notify.clone(),
            orcpt: rcpt.orcpt.clone(),
        })
        .collect();
    (sender, options, recipients)
}

/// Why a quarantine file or record is unusable.
#[derive(Debug, Error)]
pub enum RecordError {
    /// The file does not start as a quarantine file does.
    #[error("not a quarantine file (no RWQ1 header)")]
    NotQuarantine,
    /// The record is cut short or its length is out of bounds.
    #[error("the file is truncated or damaged")]
    Truncated,
    /// The record is not valid JSON of the expected shape.
    #[error("damaged record: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored address no longer parses as one.
    #[error("stored address {0:?} is not a valid envelope address")]
    Envelope(String),
}

/// The whole file for `record` and `message`:
/// `RWQ1 <record length>\n<record JSON>\n<message>`.
pub fn encode(record: &Record, message: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(record).expect("a record always serialises");
    let mut out = Vec::with_capacity(json.len() + message.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(json.len().to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&json);
    out.push(b'\n');
    out.extend_from_slice(message);
    out
}

/// The record and the message of a file's contents.
pub fn decode(file: &[u8]) -> Result<(Record, &[u8]), RecordError> {
    let rest = file.strip_prefix(MAGIC).ok_or(RecordError::NotQuarantine)?;
    let newline =
        memchr::memchr(b'\n', &rest[..rest.len().min(20)]).ok_or(RecordError::Truncated)?;
    let length: usize = std::str::from_utf8(&rest[..newline])
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n <= MAX_RECORD)
        .ok_or(RecordError::Truncated)?;
    let json_start = newline + 1;
    let json_end = json_start + length;
    if rest.len() <= json_end || rest[json_end] != b'\n' {
        return Err(RecordError::Truncated);
    }
    let record: Record = serde_json::from_slice(&rest[json_start..json_end])?;
    Ok((record, &rest[json_end + 1..]))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A record as a test would keep it.
    pub(crate) fn sample(id: &str) -> Record {
        Record {
            id: id.to_string(),
            queue_id: "6745A1B2000000001".into(),
            received_at: 1_795_000_000,
            sender: "bulk@sender.example".into(),
            recipients: vec![
                Recipient {
                    address: "alice@example.net".into(),
                    notify: Some("FAILURE".into()),
                    orcpt: None,
                },
                Recipient {
                    address: "bob@example.net".into(),
                    notify: None,
                    orcpt: None,
                },
            ],
            mail: MailOptions {
                eight_bit: true,
                ..MailOptions::default()
            },
            message_id: "<m1@sender.example>".into(),
            subject: "You won".into(),
            from: "Lottery <bulk@sender.example>".into(),
            score: 9.5,
            action: "quarantine".into(),
            rules: vec![Hit {
                rule: "PHISH_LOGIN".into(),
                score: 9.5,
                class: "phishing".into(),
            }],
            client: "192.0.2.7".parse().unwrap(),
            client_port: 40_000,
            helo: Some("mx.sender.example".into()),
            size: 20,
        }
    }

    #[test]
    fn a_file_round_trips_record_and_message_exactly() {
        let record = sample("a1");
        let message = b"Subject: x\r\n\r\nRWQ1 5\n{}\r\n".to_vec();
        let file = encode(&record, &message);
        let (back, body) = decode(&file).unwrap();
        assert_eq!(back, record);
        assert_eq!(body, &message[..]);
    }

    #[test]
    fn damaged_files_are_named_not_misread() {
        let file = encode(&sample("a1"), b"body");
        assert!(matches!(decode(b"From x"), Err(RecordError::NotQuarantine)));
        for cut in [5, 8, file.len() - 5] {
            assert!(decode(&file[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(
            decode(b"RWQ1 99999999999\n{}"),
            Err(RecordError::Truncated)
        ));
    }

    #[test]
    fn the_envelope_replays_all_or_only_the_named_recipients() {
        let record = sample("a1");
        let (sender, params, all) = record.envelope(None).unwrap();
        assert_eq!(sender.to_string(), "<bulk@sender.example>");
        assert_eq!(params.body, Some(Body::EightBitMime));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1.notify.as_deref(), Some("FAILURE"));
        let only = record
            .envelope(Some(&["BOB@example.net".to_string()]))
            .unwrap()
            .2;
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].0.to_string(), "<bob@example.net>");
    }

    #[test]
    fn the_null_sender_round_trips() {
        let mut record = sample("a1");
        record.sender = String::new();
        assert_eq!(record.envelope(None).unwrap().0, ReversePath::Null);
    }
}
