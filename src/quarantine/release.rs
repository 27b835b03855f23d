//! Sending kept mail on: a released message to the upstream with its
//! original envelope (and the original client's identity, as XFORWARD or
//! XCLIENT tell it), a digest to a recipient. The relay's own connection
//! code does it (same STARTTLS, pipelining, BDAT and dot-stuffing as live
//! traffic), on a short-lived glommio executor of its own: releases come
//! from the admin thread or the CLI, never from a shard.

use glommio::{LocalExecutorBuilder, Placement};
use thiserror::Error;

use crate::config::Config;
use crate::relay::{Announce, ClientIdentity, Pool, RelayError, UpstreamTls};
use crate::server::settings::upstream_settings;
use crate::smtp::{ForwardPath, MailParams, RcptParams, ReversePath};
use crate::tls::UpstreamTrust;

/// One message to hand to the upstream.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Who the upstream is told the client was; `None`: ringwall itself
    /// (a digest), announced as nothing.
    pub identity: Option<ClientIdentity>,
    /// MAIL FROM.
    pub sender: ReversePath,
    /// MAIL's parameters.
    pub params: MailParams,
    /// The recipients, each with its RCPT parameters.
    pub recipients: Vec<(ForwardPath, RcptParams)>,
    /// The message, exactly as it goes out.
    pub message: Vec<u8>,
}

/// Why a delivery failed; the message stays where it was.
#[derive(Debug, Error)]
pub enum DeliveryError {
    /// `[upstream] tls_ca` could not be read.
    #[error("{0}")]
    Tls(String),
    /// The sending executor could not start.
    #[error("cannot start the sending thread: {0}")]
    Executor(String),
    /// The upstream could not be reached or broke off.
    #[error("{0}")]
    Relay(#[from] RelayError),
    /// The upstream refused the envelope or the message.
    #[error("upstream refused {stage}: {reply}")]
    Refused {
        /// MAIL, RCPT or DATA.
        stage: &'static str,
        /// Its reply.
        reply: String,
    },
    /// No recipient is left to deliver to.
    #[error("no recipient to deliver to")]
    NoRecipient,
}

/// Delivers each of `deliveries` in turn over the upstream of `config`;
/// each one's outcome (the upstream's final reply on success), in order.
pub fn deliver_all(
    config: &Config,
    deliveries: Vec<Delivery>,
) -> Vec<Result<String, DeliveryError>> {
    let count = deliveries.len();
    let trust = match UpstreamTrust::load(config.upstream.tls_ca.as_deref()) {
        Ok(trust) => trust,
        Err(e) => return failed_all(count, || DeliveryError::Tls(e.to_string())),
    };
    let settings = upstream_settings(config);
    let mode = config.upstream.tls;
    let data_timeout = config.upstream.data_timeout.0;
    let spawned = LocalExecutorBuilder::new(Placement::Unbound)
        .name("ringwall-release")
        .spawn(move || async move {
            let tls = UpstreamTls {
                mode,
                connector: trust.connector(),
            };
            let pool = Pool::new(settings, tls);
            let mut outcomes = Vec::with_capacity(deliveries.len());
            for delivery in deliveries {
                outcomes.push(deliver(&pool, &delivery, data_timeout).await);
            }
            outcomes
        });
    match spawned.map(|handle| handle.join()) {
        Ok(Ok(outcomes)) => outcomes,
        Ok(Err(e)) => failed_all(count, || DeliveryError::Executor(e.to_string())),
        Err(e) => failed_all(count, || DeliveryError::Executor(e.to_string())),
    }
}

async fn deliver(
    pool: &std::rc::Rc<Pool>,
    delivery: &Delivery,
    data_timeout: std::time::Duration,
) -> Result<String, DeliveryError> {
    if delivery.recipients.is_empty() {
        return Err(DeliveryError::NoRecipient);
    }
    let (announce, identity) = match &delivery.identity {
        Some(identity) => (pool.settings().announce, identity.clone()),
        None => (
            Announce::Nothing,
            ClientIdentity {
                addr: ([127, 0, 0, 1], 0).into(),
                helo: None,
                protocol: "ESMTP",
            },
        ),
    };
    let mut lease = pool.acquire(Some(&identity)).await?;
    let recipients: Vec<(&ForwardPath, &RcptParams)> =
        delivery.recipients.iter().map(|(p, r)| (p, r)).collect();
    let (mail, rcpts) = lease
        .conn()
        .begin(
            announce,
            &identity,
            &delivery.sender,
            &delivery.params,
            &recipients,
        )
        .await?;
    let refusal = if !mail.is_positive() {
        Some(("MAIL", mail))
    } else {
        rcpts
            .into_iter()
            .find(|r| !r.is_positive())
            .map(|r| ("RCPT", r))
    };
    if let Some((stage, reply)) = refusal {
        // All or nothing: a release never reaches only some recipients.
        if lease.conn().rset().await.is_ok() {
            lease.release();
        }
        return Err(DeliveryError::Refused {
            stage,
            reply: format!("{} {}", reply.code, reply.lines.join(" ")),
        });
    }
    let reply = lease
        .conn()
        .send_message(b"", &delivery.message, data_timeout)
        .await
        .map_err(|e| DeliveryError::Relay(e.into_inner()))?;
    let text = format!("{} {}", reply.code, reply.lines.join(" "));
    if reply.is_positive() {
        lease.release();
        Ok(text)
    } else {
        Err(DeliveryError::Refused {
            stage: "DATA",
            reply: text,
        })
    }
}

fn failed_all(
    count: usize,
    error: impl Fn() -> DeliveryError,
) -> Vec<Result<String, DeliveryError>> {
    (0..count).map(|_| Err(error())).collect()
}
