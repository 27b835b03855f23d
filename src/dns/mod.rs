//! DNS for the checks that need it (DNSBL/DNSWL zones, the client's reverse
//! name, sender domains), over glommio sockets with hickory-proto's message
//! codec.
//!
//! Two layers, as in the rest of ringwall: `message` is pure (a question in,
//! query bytes out; a datagram in, an [`Answer`] or why it is not ours out),
//! and [`Resolver`] is the thin glommio shell around it (sockets, timeouts,
//! retries across servers, the TCP fallback). Each shard owns one resolver
//! with its own sockets (invariant 5). There is no cache here: every answer
//! carries its TTL, and caching by it belongs to the callers (`rbl`'s
//! sharded cache). [`reverse_ip`] and [`ptr_name`] spell an address the way
//! DNSBLs and reverse DNS want it.

mod error;
mod message;
mod resolver;
mod reverse;
mod sockets;
mod tcp;

pub use error::DnsError;
pub use message::{Answer, NameError, RecordData, RecordKind, ResponseError, Stray};
pub use resolver::{Resolver, ResolverSettings, Stats};
pub use reverse::{ptr_name, reverse_ip};
