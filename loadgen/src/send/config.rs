//! What a send run is told to do: one plain struct shared by the CLI and by
//! tests, like the sink's.
//!
//! Tests build a [`SendConfig`] from [`SendConfig::default`] with a few
//! fields changed; the CLI fills the same struct from its flags. The struct
//! is also written, resolved, into the JSON result, so a result file says
//! exactly what produced it.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::size::SizeMix;
use super::source_ips::SourceIps;

/// Where `send` connects unless told otherwise: ringwall's default listen
/// address.
pub const DEFAULT_SERVER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 2525));

/// The envelope sender unless told otherwise.
pub const DEFAULT_FROM: &str = "loadgen@sender.example";

/// The recipient unless told otherwise: a domain ringwall's benchmarks
/// accept.
pub const DEFAULT_TO: &str = "user@example.net";

/// The EHLO name unless told otherwise.
pub const DEFAULT_EHLO: &str = "loadgen.sender.example";

/// Concurrent sessions unless told otherwise: enough to keep a one-core
/// server busy through its reply latency.
pub const DEFAULT_SESSIONS: usize = 32;

/// Longest wait for any one reply (or write) unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Body size of generated messages unless told otherwise.
pub const DEFAULT_SIZE: u64 = 1024;

/// What the messages are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MessageSource {
    /// Generated plain-text messages with these body sizes.
    #[serde(rename = "size_mix")]
    Generated(SizeMix),
    /// Real messages: a directory tree of files, an mbox, or one file.
    #[serde(rename = "messages")]
    Files(PathBuf),
}

/// How STARTTLS checks the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsOptions {
    /// Accept any certificate (a self-signed test certificate).
    pub insecure: bool,
    /// Trust these PEM certificates instead of the bundled web roots.
    pub ca: Option<PathBuf>,
    /// The name to verify and send as SNI; the server's IP when unset.
    pub name: Option<String>,
}

/// Everything that shapes one send run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SendConfig {
    /// The SMTP server to load.
    pub server: SocketAddr,
    /// Executors, each with its share of the sessions and the rate.
    pub shards: NonZeroUsize,
    /// Pin each shard to one of the CPUs the process may use.
    pub pin: bool,
    /// Concurrent sessions in all (at least one per shard).
    pub sessions: NonZeroUsize,
    /// Messages per connection; 0 keeps each connection until the run ends.
    pub messages_per_session: u64,
    /// Closed loop: pause after each message before the session's next.
    #[serde(serialize_with = "seconds")]
    pub think: Duration,
    /// Open loop: messages per second in all, each due at its scheduled
    /// time whether or not earlier ones have finished. `None` is the closed
    /// loop: each session sends its next message when the last is done.
    pub rate: Option<f64>,
    /// Stop starting messages this long after the warm-up.
    #[serde(serialize_with = "optional_seconds")]
    pub duration: Option<Duration>,
    /// Stop after this many messages past the warm-up. With neither this
    /// nor `duration`, the run goes on until stopped.
    pub count: Option<u64>,
    /// Send for this long first without measuring (caches, pools, TCP
    /// windows warm up).
    #[serde(serialize_with = "seconds")]
    pub warmup: Duration,
    /// Generated or real messages.
    #[serde(flatten)]
    pub messages: MessageSource,
    /// MAIL FROM address, also the From: of generated messages.
    pub from: String,
    /// RCPT TO addresses, taken round-robin.
    pub to: Vec<String>,
    /// Recipients per message, at most `to.len()`.
    pub rcpts: NonZeroUsize,
    /// Local addresses to connect from, round-robin per session.
    pub source_ips: Option<SourceIps>,
    /// Upgrade every session with STARTTLS.
    pub starttls: Option<TlsOptions>,
    /// Send MAIL, RCPT and DATA in one write when the server offers
    /// PIPELINING (RFC 2920); off sends one command per reply.
    pub pipelining: bool,
    /// The EHLO name.
    pub ehlo: String,
    /// Longest wait for one reply or one write before the session is
    /// counted as an error and dropped.
    #[serde(serialize_with = "seconds")]
    pub timeout: Duration,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            server: DEFAULT_SERVER,
            shards: NonZeroUsize::MIN,
            pin: true,
            sessions: NonZeroUsize::new(DEFAULT_SESSIONS).unwrap_or(NonZeroUsize::MIN),
            messages_per_session: 1,
            think: Duration::ZERO,
            rate: None,
            duration: None,
            count: None,
            warmup: Duration::ZERO,
            messages: MessageSource::Generated(SizeMix::single(DEFAULT_SIZE)),
            from: DEFAULT_FROM.to_owned(),
            to: vec![DEFAULT_TO.to_owned()],
            rcpts: NonZeroUsize::MIN,
            source_ips: None,
            starttls: None,
            pipelining: true,
            ehlo: DEFAULT_EHLO.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Why a config cannot run, in the words of the command-line flags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Fewer sessions than shards.
    #[error("--sessions {sessions} is fewer than --shards {shards}: every shard needs a session")]
    FewerSessionsThanShards {
        /// Sessions asked for.
        sessions: usize,
        /// Shards asked for.
        shards: usize,
    },
    /// No recipient.
    #[error("no recipient: give --to")]
    NoRecipient,
    /// More recipients per message than addresses.
    #[error("--rcpts {rcpts} needs at least {rcpts} --to addresses, got {given}")]
    TooFewRecipients {
        /// Recipients per message.
        rcpts: usize,
        /// Addresses given.
        given: usize,
    },
    /// A rate that is not a positive number.
    #[error("--rate must be a positive number of messages per second")]
    BadRate,
    /// Think time in the open loop.
    #[error("--think applies to the closed loop; with --rate, messages are sent on schedule")]
    ThinkWithRate,
    /// An address with a line break or angle bracket would break the
    /// command it goes into.
    #[error("`{0}` cannot be an address: no spaces, line breaks or angle brackets")]
    BadAddress(String),
    /// Source addresses of another family than the server.
    #[error("--source-ips {0} is not of the server address's family")]
    SourceFamily(String),
}

impl SendConfig {
    /// Checks what the types cannot: relations between fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sessions < self.shards {
            return Err(ConfigError::FewerSessionsThanShards {
                sessions: self.sessions.get(),
                shards: self.shards.get(),
            });
        }
        if self.to.is_empty() {
            return Err(ConfigError::NoRecipient);
        }
        if self.rcpts.get() > self.to.len() {
            return Err(ConfigError::TooFewRecipients {
                rcpts: self.rcpts.get(),
                given: self.to.len(),
            });
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(ConfigError::BadRate);
            }
            if !self.think.is_zero() {
                return Err(ConfigError::ThinkWithRate);
            }
        }
        for address in std::iter::once(&self.from)
            .chain(&self.to)
            .chain([&self.ehlo])
        {
            if address
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'<' || b == b'>')
            {
                return Err(ConfigError::BadAddress(address.clone()));
            }
        }
        if let Some(ips) = &self.source_ips
            && ips
                .addresses()
                .iter()
                .any(|ip| ip.is_ipv4() != self.server.is_ipv4())
        {
            return Err(ConfigError::SourceFamily(ips.to_string()));
        }
        Ok(())
    }
}

/// A duration as seconds, the unit JSON consumers expect.
fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// An optional duration as seconds or null.
fn optional_seconds<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => seconds(duration, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_serializes_every_option() {
        let config = SendConfig::default();
        config.validate().unwrap();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["server"], "127.0.0.1:2525");
        assert_eq!(json["size_mix"], "1KiB");
        assert_eq!(json["think"], 0.0);
        assert_eq!(json["duration"], serde_json::Value::Null);
        assert_eq!(json["pipelining"], true);
        let files = SendConfig {
            messages: MessageSource::Files("corpus/dev".into()),
            ..SendConfig::default()
        };
        assert_eq!(
            serde_json::to_value(&files).unwrap()["messages"],
            "corpus/dev"
        );
    }

    #[test]
    fn relations_are_checked() {
        let shards = SendConfig {
            shards: NonZeroUsize::new(4).unwrap(),
            sessions: NonZeroUsize::new(2).unwrap(),
            ..SendConfig::default()
        };
        assert!(matches!(
            shards.validate(),
            Err(ConfigError::FewerSessionsThanShards { .. })
        ));
        let rcpts = SendConfig {
            rcpts: NonZeroUsize::new(2).unwrap(),
            ..SendConfig::default()
        };
        assert!(matches!(
            rcpts.validate(),
            Err(ConfigError::TooFewRecipients { .. })
        ));
        let think = SendConfig {
            rate: Some(10.0),
            think: Duration::from_millis(1),
            ..SendConfig::default()
        };
        assert_eq!(think.validate(), Err(ConfigError::ThinkWithRate));
        let rate = SendConfig {
            rate: Some(0.0),
            ..SendConfig::default()
        };
        assert_eq!(rate.validate(), Err(ConfigError::BadRate));
        let from = SendConfig {
            from: "a@b>\r\nRCPT".into(),
            ..SendConfig::default()
        };
        assert!(matches!(from.validate(), Err(ConfigError::BadAddress(_))));
        let family = SendConfig {
            source_ips: Some("::1".parse().unwrap()),
            ..SendConfig::default()
        };
        assert!(matches!(
            family.validate(),
            Err(ConfigError::SourceFamily(_))
        ));
    }
}
