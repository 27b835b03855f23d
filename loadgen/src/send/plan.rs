//! Everything prepared before the shards start, shared read-only by them.
//!
//! Files are read, messages rendered, addresses and certificates checked on
//! the calling thread, so a bad flag fails before any connection is made,
//! and the shards only read this plan (through one `Arc` each, never
//! cloned per message).

use std::net::IpAddr;
use std::time::SystemTime;

use super::clock::Utc;
use super::config::{MessageSource, SendConfig};
use super::connect;
use super::corpus;
use super::envelope::Envelope;
use super::error::SendError;
use super::message_id::RunId;
use super::messages::Messages;
use super::template::Headers;
use super::tls::TlsPlan;

/// A run, ready to go.
#[derive(Debug)]
pub(crate) struct RunPlan {
    /// The configuration, validated.
    pub(crate) config: SendConfig,
    /// The messages to send.
    pub(crate) messages: Messages,
    /// MAIL and RCPT lines.
    pub(crate) envelope: Envelope,
    /// This run's id, part of every Message-ID.
    pub(crate) run_id: RunId,
    /// How to STARTTLS, if asked.
    pub(crate) tls: Option<TlsPlan>,
    /// Source addresses, round-robin per connection (empty: the kernel's
    /// choice).
    pub(crate) sources: Vec<IpAddr>,
    /// When the run started, for the result and the Date: header.
    pub(crate) started_at: SystemTime,
}

impl RunPlan {
    /// Validates `config` and prepares everything it needs.
    pub(crate) fn prepare(config: SendConfig) -> Result<Self, SendError> {
        config.validate()?;
        let started_at = SystemTime::now();
        let messages = match &config.messages {
            MessageSource::Generated(mix) => Messages::generated(
                mix,
                &Headers {
                    from: &config.from,
                    to: &config.to[0],
                    date: &Utc::from(started_at).rfc5322(),
                },
            ),
            MessageSource::Files(path) => Messages::from_raw(&corpus::load(path)?),
        };
        let sources = config
            .source_ips
            .as_ref()
            .map(|ips| ips.addresses().to_vec())
            .unwrap_or_default();
        for &ip in &sources {
            connect::check_bindable(ip).map_err(|source| SendError::SourceIp { ip, source })?;
        }
        let tls = config
            .starttls
            .as_ref()
            .map(|options| TlsPlan::new(options, config.server.ip()))
            .transpose()?;
        Ok(Self {
            envelope: Envelope::new(&config.from, &config.to, config.rcpts.get()),
            messages,
            run_id: RunId::random(),
            tls,
            sources,
            started_at,
            config,
        })
    }
}
