//! Why a lookup gave no [`Answer`](super::Answer).
//!
//! A DNSBL check treats every one of these as "no verdict from this list";
//! they are told apart for the logs and the metrics.

use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;

use super::message::{NameError, ResponseError};

/// Why a lookup failed.
#[derive(Debug, Error)]
pub enum DnsError {
    /// The name cannot be asked about.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The resolver was given no server.
    #[error("no DNS server is configured")]
    NoServers,
    /// Every in-flight slot of this shard stayed taken for a whole timeout.
    #[error("too many DNS lookups in flight on this shard")]
    Busy,
    /// The last server tried did not answer in time.
    #[error("no DNS answer within {0:?}")]
    Timeout(Duration),
    /// A server answered, but not with anything usable.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// A server truncated its answer even over TCP.
    #[error("{0} truncated its answer even over TCP")]
    Truncated(SocketAddr),
    /// A socket failed (no route to an IPv6 server, a refused TCP
    /// connection...).
    #[error("DNS socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The kernel gave no randomness for a query ID.
    #[error("no random query ID: {0}")]
    Random(getrandom::Error),
}
