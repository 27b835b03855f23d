//! `ringwall quarantine ...`: the reviewer's command line. With no daemon
//! running it opens the quarantine itself; while a daemon owns the index it
//! asks the daemon's admin API (with the admin token), so both paths list,
//! show, release and delete the same way.

use std::io::Write;

use thiserror::Error;

use super::index::{IndexError, Query};
use super::release::{Delivery, deliver_all};
use super::secrets::Secrets;
use super::service::{ListItem, Quarantine, QuarantineError, Released, now};
use crate::admin::{AdminClient, ClientError};
use crate::bayes::{Class, Database, Day, TrainMode};
use crate::config::Config;
use crate::smtp::address::{parse_forward_path, parse_reverse_path};
use crate::smtp::{MailParams, RcptParams};

/// Why a quarantine command failed.
#[derive(Debug, Error)]
pub enum CliError {
    /// The quarantine itself.
    #[error("{0}")]
    Quarantine(#[from] QuarantineError),
    /// The daemon could not be asked.
    #[error("{0}")]
    Admin(#[from] ClientError),
    /// The daemon's answer is not what it should be.
    #[error("unexpected answer from the daemon: {0}")]
    Answer(String),
    /// A `--since` that is neither a duration nor a date.
    #[error("--since {0:?}: expected a duration (24h, 7d) or an RFC 3339 date")]
    Since(String),
    /// Digests need links, which need the public URL.
    #[error(
        "[quarantine] public_url is not set, so a digest could carry no release links; fix: set public_url (and public_listen) to the user-facing listener"
    )]
    NoPublicUrl,
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// Some of several ids failed (each was reported).
    #[error("{0} of the messages failed")]
    Some(usize),
}

/// Where the commands go.
pub enum Backend {
    /// No daemon runs: the quarantine, opened here.
    Local(Box<Quarantine>),
    /// A daemon owns it: its admin API, with the admin token.
    Daemon(AdminClient),
}

impl Backend {
    /// The quarantine of `config`, or its daemon when one owns it.
    pub fn open(config: &Config) -> Result<Backend, CliError> {
        match Quarantine::open(config) {
            Ok(q) => Ok(Backend::Local(Box::new(q))),
            Err(QuarantineError::Index(IndexError::InUse(_))) => {
                Ok(Backend::Daemon(AdminClient::for_config(config)?))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The messages `query` selects, newest first.
    pub fn list(&self, query: &Query) -> Result<Vec<ListItem>, CliError> {
        match self {
            Backend::Local(q) => Ok(q.list(query)?.iter().map(ListItem::from).collect()),
            Backend::Daemon(client) => Ok(client.quarantine_list(query)?),
        }
    }
}

/// Parses `--since` as `ringwall report` does: a duration back from now
/// (in the configuration's syntax: `24h`, `7d`), or an RFC 3339 instant.
pub fn parse_since(text: &str) -> Result<u64, CliError> {
    crate::report::since(text, std::time::SystemTime::now())
        .map(|t| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
        .map_err(|_| CliError::Since(text.to_string()))
}

/// `list`: one line per message, or with `json` one JSON array.
pub fn list(
    backend: &Backend,
    query: &Query,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let items = backend.list(query)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &items)
            .map_err(|e| CliError::Answer(e.to_string()))?;
        writeln!(out)?;
        return Ok(());
    }
    for item in &items {
        writeln!(
            out,
            "{}  {}  {:>5.1}  from={}  to={}  subject={:?}  rules={}",
            item.id,
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(item.received_at)
            ),
            item.score,
            if item.sender.is_empty() {
                "<>"
            } else {
                &item.sender
            },
            item.recipients.join(","),
            item.subject,
            item.rules,
        )?;
    }
    writeln!(out, "{} message(s)", items.len())?;
    Ok(())
}

/// `show`: the verdict, envelope and a safe text view; with `raw`, the
/// message exactly as kept.
pub fn show(backend: &Backend, id: &str, raw: bool, out: &mut impl Write) -> Result<(), CliError> {
    let who = format!("cli:{}", user());
    let (item, client, view, message) = match backend {
        Backend::Local(q) => {
            let (entry, message, view) = q.show(id, &who)?;
            (
                ListItem::from(&entry),
                entry.record.client.to_string(),
                view,
                message,
            )
        }
        Backend::Daemon(client) => {
            if raw {
                out.write_all(&client.quarantine_call("GET", &format!("/{id}/raw"))?)?;
                return Ok(());
            }
            let body = client.quarantine_call("GET", &format!("/{id}"))?;
            let shown: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| CliError::Answer(e.to_string()))?;
            let item: ListItem = serde_json::from_value(shown["message"].clone())
                .map_err(|e| CliError::Answer(e.to_string()))?;
            let view = serde_json::from_value(shown["view"].clone())
                .map_err(|e| CliError::Answer(e.to_string()))?;
            let addr = shown["client"].as_str().unwrap_or("").to_string();
            (item, addr, view, Vec::new())
        }
    };
    if raw {
        out.write_all(&message)?;
        return Ok(());
    }
    writeln!(out, "id:          {}", item.id)?;
    writeln!(
        out,
        "received:    {}",
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(item.received_at)
        )
    )?;
    writeln!(out, "client:      {client}")?;
    writeln!(
        out,
        "sender:      {}",
        if item.sender.is_empty() {
            "<>"
        } else {
            &item.sender
        }
    )?;
    writeln!(out, "recipients:  {}", item.recipients.join(", "))?;
    if !item.released_to.is_empty() {
        writeln!(out, "released to: {}", item.released_to.join(", "))?;
    }
    writeln!(out, "from:        {}", item.from)?;
    writeln!(out, "subject:     {}", item.subject)?;
    writeln!(out, "message-id:  {}", item.message_id)?;
    writeln!(out, "score:       {:.1}  ({})", item.score, item.rules)?;
    for attachment in &view.attachments {
        writeln!(out, "attachment:  {attachment}")?;
    }
    writeln!(out, "\n--- headers\n{}", view.headers.trim_end())?;
    writeln!(out, "\n--- text\n{}", printable(&view.text))?;
    if !view.links.is_empty() {
        writeln!(out, "\n--- links (not followed)\n{}", view.links.join("\n"))?;
    }
    Ok(())
}

/// Control characters from the message never reach the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|&c| c != '\r')
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// What a reviewer does to each message named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// To the upstream with its original envelope; trained as ham.
    Release,
    /// Removed; trained as spam.
    Delete,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Release => "release",
            Verdict::Delete => "delete",
        }
    }

    fn class(self) -> Class {
        match self {
            Verdict::Release => Class::Ham,
            Verdict::Delete => Class::Spam,
        }
    }
}

/// `release` or `delete`: each id in turn (one line each); with `train`,
/// the classifier learns each message as ham (release) or spam (delete).
pub fn review(
    config: &Config,
    backend: &Backend,
    ids: &[String],
    verdict: Verdict,
    train: bool,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let who = format!("cli:{}", user());
    let released = |r: &Released| {
        format!(
            "released to {} ({})",
            r.recipients.join(","),
            r.upstream_reply
        )
    };
    let mut failed = 0;
    for id in ids {
        let outcome: Result<String, CliError> = match backend {
            Backend::Local(q) => {
                let message = if train { q.message(id).ok() } else { None };
                let done = match verdict {
                    Verdict::Release => q.release(id, None, &who).map(|r| released(&r)),
                    Verdict::Delete => q.delete(id, &who).map(|()| "deleted".to_string()),
                };
                if let (Ok(_), Some(message)) = (&done, message) {
                    learn_locally(config, verdict.class(), &message, out)?;
                }
                done.map_err(CliError::from)
            }
            Backend::Daemon(client) => {
                let path = format!("/{id}/{}?train={}", verdict.name(), u8::from(train));
                let body = client.quarantine_call("POST", &path);
                body.map_err(CliError::from).and_then(|body| match verdict {
                    Verdict::Release => serde_json::from_slice(&body)
                        .map(|r| released(&r))
                        .map_err(|e| CliError::Answer(e.to_string())),
                    Verdict::Delete => Ok("deleted".to_string()),
                })
            }
        };
        match outcome {
            Ok(line) => writeln!(out, "{id}: {line}")?,
            Err(e) => {
                failed += 1;
                writeln!(out, "{id}: {e}")?;
            }
        }
    }
    if failed > 0 {
        Err(CliError::Some(failed))
    } else {
        Ok(())
    }
}

/// `purge`: messages past `[quarantine] retention` removed.
pub fn purge(backend: &Backend, out: &mut impl Write) -> Result<(), CliError> {
    let count = match backend {
        Backend::Local(q) => q.purge(&format!("cli:{}", user()))?,
        Backend::Daemon(client) => {
            let body = client.quarantine_call("POST", "/purge")?;
            let answer: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| CliError::Answer(e.to_string()))?;
            answer["purged"].as_u64().unwrap_or(0) as usize
        }
    };
    writeln!(out, "purged {count} message(s) past retention")?;
    Ok(())
}

/// `digest`: each recipient with messages waiting gets one summary mail
/// (through the upstream) listing them, each with its signed release link.
pub fn digest(
    config: &Config,
    backend: &Backend,
    since: Option<u64>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let base = config
        .quarantine
        .public_url
        .as_deref()
        .ok_or(CliError::NoPublicUrl)?;
    let dir = config
        .quarantine
        .directory
        .as_ref()
        .ok_or(QuarantineError::NotConfigured)?;
    let secrets = Secrets::load(dir, config.admin.token.as_deref()).map_err(|source| {
        QuarantineError::Secrets {
            path: dir.clone(),
            source,
        }
    })?;
    let items = backend.list(&Query {
        since,
        ..Query::default()
    })?;
    let expires = now() + config.quarantine.link_lifetime.0.as_secs();
    let mut by_recipient: std::collections::BTreeMap<String, Vec<&ListItem>> = Default::default();
    for item in &items {
        for recipient in &item.recipients {
            let lower = recipient.to_ascii_lowercase();
            if !item.released_to.contains(&lower) {
                by_recipient.entry(lower).or_default().push(item);
            }
        }
    }
    let from = config
        .quarantine
        .digest_from
        .clone()
        .unwrap_or_else(|| format!("postmaster@{}", config.server.hostname));
    let mut deliveries = Vec::new();
    let mut names = Vec::new();
    for (recipient, waiting) in &by_recipient {
        let (Ok((sender, _)), Ok((path, _))) = (
            parse_reverse_path(&format!("<{from}>")),
            parse_forward_path(&format!("<{recipient}>")),
        ) else {
            writeln!(out, "{recipient}: not a deliverable address; skipped")?;
            continue;
        };
        let message = digest_message(&from, recipient, waiting, |id| {
            super::links::release_link(&secrets, base, id, recipient, expires)
        });
        deliveries.push(Delivery {
            identity: None,
            sender,
            params: MailParams {
                smtputf8: !message.is_ascii(),
                ..MailParams::default()
            },
            recipients: vec![(path, RcptParams::default())],
            message,
        });
        names.push((recipient.clone(), waiting.len()));
    }
    let mut failed = 0;
    for ((recipient, count), outcome) in names.iter().zip(deliveries_outcomes(config, deliveries)) {
        match outcome {
            Ok(reply) => writeln!(
                out,
                "{recipient}: digest of {count} message(s) sent ({reply})"
            )?,
            Err(e) => {
                failed += 1;
                writeln!(out, "{recipient}: digest not sent: {e}")?;
            }
        }
    }
    writeln!(out, "{} digest(s)", names.len())?;
    if failed > 0 {
        Err(CliError::Some(failed))
    } else {
        Ok(())
    }
}

fn deliveries_outcomes(
    config: &Config,
    deliveries: Vec<Delivery>,
) -> Vec<Result<String, super::release::DeliveryError>> {
    if deliveries.is_empty() {
        return Vec::new();
    }
    deliver_all(config, deliveries)
}

/// The digest mail for `recipient`: plain text, one entry per message
/// with its release link.
fn digest_message(
    from: &str,
    recipient: &str,
    waiting: &[&ListItem],
    link: impl Fn(&str) -> String,
) -> Vec<u8> {
    let date = crate::relay::rfc5322_date(std::time::SystemTime::now());
    let mut text = format!(
        "From: Mail quarantine <{from}>\r\nTo: <{recipient}>\r\nSubject: {} message(s) held in quarantine for you\r\n\
         Date: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n\
         These messages to you were held as probable spam. If one is wanted,\r\n\
         open its link and confirm to have it delivered. Links expire.\r\n\r\n",
        waiting.len()
    );
    for item in waiting {
        let subject: String = item
            .subject
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        let sender: String = item
            .from
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        text.push_str(&format!(
            "* {}\r\n  From: {}\r\n  Score: {:.1}\r\n  Release: {}\r\n\r\n",
            subject,
            sender,
            item.score,
            link(&item.id)
        ));
    }
    text.into_bytes()
}

fn learn_locally(
    config: &Config,
    class: Class,
    message: &[u8],
    out: &mut impl Write,
) -> Result<(), CliError> {
    let Some(path) = config.bayes.database.as_deref() else {
        writeln!(out, "(no [bayes] database: not learned)")?;
        return Ok(());
    };
    let learned = Database::open(path).and_then(|mut db| {
        let learned = db.learn_message(message, class, Day::today(), TrainMode::Everything)?;
        db.commit()?;
        Ok(learned)
    });
    match learned {
        Ok(learned) => writeln!(out, "learned as {class}: {}", learned.name())?,
        Err(e) => writeln!(out, "not learned: {e}")?,
    }
    Ok(())
}

fn user() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_a_duration_back_from_now_or_an_instant() {
        let day_ago = parse_since("24h").unwrap();
        assert!(now() - day_ago >= 86_400 && now() - day_ago <= 86_401);
        assert_eq!(parse_since("2026-11-27T00:00:00Z").unwrap(), 1_795_737_600);
        assert!(matches!(parse_since("soon"), Err(CliError::Since(_))));
    }
}
