//! What a sink is told to do: one plain struct shared by the CLI and by tests.
//!
//! Tests and `ringwall demo` build a [`SinkConfig`] directly (usually from
//! [`SinkConfig::default`] with a few fields changed), and the CLI fills the
//! same struct from its flags, so both run exactly the same sink.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use super::fail::FailPlan;

/// Where the sink listens unless told otherwise: the port ringwall's default
/// config forwards to, on loopback so a workstation run exposes nothing.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 10025));

/// The name in the greeting and EHLO reply unless told otherwise.
pub const DEFAULT_HOSTNAME: &str = "sink.localhost";

/// What the EHLO reply advertises unless told otherwise, comma-separated as
/// on the command line: everything ringwall can pass through, so by default
/// no feature is withheld because of the sink.
pub const DEFAULT_EHLO_EXTENSIONS: &str = "PIPELINING,SIZE 104857600,8BITMIME,\
    ENHANCEDSTATUSCODES,SMTPUTF8,CHUNKING,DSN,XFORWARD NAME ADDR PORT PROTO HELO SOURCE";

/// Everything that shapes one sink run.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkConfig {
    /// Address to listen on; port 0 picks a free port (see
    /// [`RunningSink::local_addr`](super::RunningSink::local_addr)).
    pub listen: SocketAddr,
    /// Number of shards, each a glommio executor with its own
    /// SO_REUSEPORT listener, so the sink scales like the proxy it feeds.
    pub shards: NonZeroUsize,
    /// Pin each shard to one of the CPUs the process may use; off lets the
    /// kernel schedule shards freely (needed when sharing a busy CPU).
    pub pin: bool,
    /// Name in the 220 greeting and the EHLO/HELO reply.
    pub hostname: String,
    /// Append one line per accepted message (Message-ID, envelope, size).
    pub record: Option<PathBuf>,
    /// Write each accepted message and its command transcript here, so tests
    /// can compare what the upstream received byte for byte.
    pub dump_dir: Option<PathBuf>,
    /// Failures to inject, chosen per message or per recipient.
    pub fail: FailPlan,
    /// Seed for the failure dice, so a failing run can be replayed.
    pub seed: u64,
    /// Wait this long before answering end-of-data (a slow upstream).
    pub delay: Duration,
    /// EHLO keywords to advertise, each with its parameters (`SIZE 1000`).
    pub ehlo_extensions: Vec<String>,
    /// Recipient domains answered with 550 5.1.1 at RCPT, to exercise live
    /// recipient validation through the proxy.
    pub reject_rcpt_domains: Vec<String>,
    /// Stop after this much time.
    pub duration: Option<Duration>,
    /// Stop once this many messages have been accepted (across shards; a
    /// few more may land before every shard notices).
    pub count: Option<u64>,
    /// The sender's `--json` result to check exactly-once delivery against
    /// when the sink stops (see
    /// [`RunningSink::wait_and_verify`](super::RunningSink::wait_and_verify));
    /// when set, each shard keeps the Message-IDs it accepted.
    pub verify_against: Option<PathBuf>,
}

impl Default for SinkConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            shards: NonZeroUsize::MIN,
            pin: true,
            hostname: DEFAULT_HOSTNAME.to_owned(),
            record: None,
            dump_dir: None,
            fail: FailPlan::default(),
            seed: 1,
            delay: Duration::ZERO,
            ehlo_extensions: DEFAULT_EHLO_EXTENSIONS
                .split(',')
                .map(str::to_owned)
                .collect(),
            reject_rcpt_domains: Vec::new(),
            duration: None,
            count: None,
            verify_against: None,
        }
    }
}
