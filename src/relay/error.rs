//! What can go wrong between us and the upstream, and what the client hears.

use thiserror::Error;

use crate::smtp::client::ReplyError;
use crate::smtp::reply::{Reply, table};

/// Why a relay step failed.
#[derive(Debug, Error)]
pub enum RelayError {
    /// No upstream address accepted a connection and greeted us.
    #[error("no upstream reachable: {0}")]
    Unreachable(String),
    /// The shard's upstream connections are all in use.
    #[error("all upstream connections of this shard are in use")]
    Busy,
    /// The connection broke mid-conversation.
    #[error("upstream connection lost: {0}")]
    Lost(#[from] std::io::Error),
    /// The upstream did not answer in time.
    #[error("upstream did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// A housekeeping command (RSET, NOOP) was refused: the connection is not
    /// in a state we can reuse.
    #[error("upstream answered {command} with {code}")]
    Refused {
        /// The command.
        command: &'static str,
        /// The upstream's reply code.
        code: u16,
    },
    /// `[upstream] xclient` is on and the upstream did not take the client's
    /// identity: the transaction fails rather than reach it as ringwall's.
    #[error("upstream refused the client identity: {0}")]
    IdentityRefused(String),
    /// The upstream's bytes are not SMTP replies, or it sent unsolicited ones.
    #[error("upstream protocol error: {0}")]
    Protocol(#[from] ReplyError),
}

impl RelayError {
    /// The reply the client gets: always a 4xx, since the client can retry.
    pub fn reply(&self) -> Reply {
        match self {
            RelayError::Unreachable(_) => table::upstream_unreachable(),
            RelayError::Busy => table::upstream_busy(),
            RelayError::Lost(_) | RelayError::Timeout(_) | RelayError::Refused { .. } => {
                table::upstream_lost()
            }
            RelayError::Protocol(_) => table::upstream_protocol(),
            RelayError::IdentityRefused(_) => table::upstream_identity_refused(),
        }
    }
}
