//! Why a send run could not start or set up its sessions: each case names
//! the flag or the peer at fault, so the CLI can print it as is and exit 1.

use std::io;
use std::net::{IpAddr, SocketAddr};

use super::config::ConfigError;
use super::corpus::CorpusError;
use super::tls::TlsError;

/// A run that did not happen (or stopped at its first session).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Flags that do not fit together.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `--messages` could not be loaded.
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    /// The TLS settings could not be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A `--source-ips` address is not local.
    #[error(
        "cannot send from {ip}: {source} (is it an address of this host? 127.0.0.0/8 always is)"
    )]
    SourceIp {
        /// The address.
        ip: IpAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The first session of a shard could not be set up: nothing listens,
    /// the TLS handshake failed, STARTTLS is not offered...
    #[error("cannot set up an SMTP session with {server}: {reason}")]
    Setup {
        /// The server.
        server: SocketAddr,
        /// The stage and what went wrong.
        reason: String,
    },
    /// A shard's executor could not be created or died.
    #[error("cannot run send shard {shard}: {reason}")]
    Executor {
        /// The shard number.
        shard: usize,
        /// What glommio said.
        reason: String,
    },
}
