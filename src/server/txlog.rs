//! The transaction log: one line per message, key=value or JSON by `[log]
//! format`, with no message content. In text form, free-text values (the
//! replies) are quoted; tokens (ids, addresses, the verdict) are not.

use std::net::SocketAddr;
use std::time::Duration;

use crate::policy::{Action, Judgement, format_score};
use crate::smtp::client::UpstreamReply;
use crate::smtp::{ForwardPath, RcptParams, ReversePath, Verdict};
use crate::tls::TlsSummary;

/// What one log line says about a transaction.
pub struct TransactionRecord<'a> {
    /// Our queue id (also in the Received header and the client's 250).
    pub queue_id: &'a str,
    /// The client.
    pub client: SocketAddr,
    /// Its HELO name.
    pub helo: Option<&'a str>,
    /// The TLS session the message came over, if any.
    pub tls: Option<&'a TlsSummary>,
    /// MAIL FROM.
    pub sender: &'a ReversePath,
    /// Accepted recipients.
    pub recipients: &'a [(ForwardPath, RcptParams)],
    /// Message size as received (decoded).
    pub size: usize,
    /// What the client was told.
    pub verdict: &'a Verdict,
    /// The upstream's end-of-data reply, when it gave one.
    pub upstream: Option<&'a UpstreamReply>,
    /// From MAIL to the verdict.
    pub duration: Duration,
    /// The named rules that scored the message (the client's list hits
    /// among them), with their scores (`RBL_ZEN_PBL=1.0,BODY_X=2.5`); empty
    /// when none did.
    pub rules: &'a str,
    /// The content verdict, when the message was judged.
    pub judgement: Option<&'a Judgement>,
    /// The verdict was `quarantine` and the message went to the store (a
    /// 250 then means kept, not relayed).
    pub quarantined: bool,
}

/// Emits the line.
pub fn transaction(record: &TransactionRecord<'_>) {
    let recipients: Vec<String> = record
        .recipients
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    let discarded = record
        .judgement
        .is_some_and(|j| j.action == Action::Discard);
    let (outcome, reply) = match record.verdict {
        Verdict::ContinueWith(r) if discarded => ("discarded", r.to_string()),
        Verdict::ContinueWith(r) if record.quarantined => ("quarantined", r.to_string()),
        Verdict::Continue => ("relayed", String::new()),
        Verdict::ContinueWith(r) => ("relayed", r.to_string()),
        Verdict::Refuse(r) if r.is_transient() => ("tempfail", r.to_string()),
        Verdict::Refuse(r) => ("rejected", r.to_string()),
        Verdict::Disconnect(r) => ("disconnected", r.to_string()),
    };
    let upstream_reply = record
        .upstream
        .map(|u| format!("{} {}", u.code, u.lines.first().map_or("", String::as_str)));
    tracing::info!(
        target: "ringwall::transaction",
        queue_id = %record.queue_id,
        client = %record.client.ip(),
        helo = %record.helo.unwrap_or(""),
        tls = %record.tls.map_or_else(|| "none".to_string(), |t| format!("{}/{}", t.version, t.cipher)),
        from = %record.sender,
        to = %recipients.join(","),
        size = record.size,
        verdict = %outcome,
        reply = ?reply,
        upstream_reply = ?upstream_reply.as_deref().unwrap_or(""),
        upstream_id = %record.upstream.and_then(|u| u.queue_id()).unwrap_or(""),
        duration_ms = record.duration.as_millis() as u64,
        score = %record.judgement.map_or_else(String::new, |j| format_score(j.score)),
        action = %record.judgement.map_or("", |j| j.action.name()),
        rules = ?record.rules,
    );
}
