//! Before-queue forwarding to the upstream mail server.
//!
//! The promise kept here is invariant 1: the client hears 250 for its message only
//! after the upstream said 250 for it. There is no queue: the upstream transaction
//! opens at the client's first RCPT (so the upstream's own recipient checks answer
//! live through us) and the buffered message is streamed at end of data. Each shard
//! owns a [`Pool`] of upstream connections, reused across client sessions.

mod conn;
mod error;
mod pool;
mod received;

pub use conn::{Announce, ClientIdentity, SendError, UpstreamConn, UpstreamTls};
pub use error::RelayError;
pub use pool::{Lease, Pool, UpstreamSettings};
pub use received::{Trace, received_header, rfc5322_date};
