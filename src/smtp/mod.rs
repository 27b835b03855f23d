//! The SMTP protocol core, sans IO: bytes and time in, replies and events out.
//!
//! Nothing here owns a socket, reads a clock or awaits; the shell (`server/`,
//! `relay/`) moves bytes and time and asks the session what to do next. That is
//! what lets the parsers be fuzzed and the session be tested byte for byte with a
//! fake clock.
//!
//! Written by us rather than taken from a crate: this code *is* the product's
//! security boundary (smuggling, injection, bounds) and its hot path. The crates
//! available either parse leniently in ways that matter here (end of data, bare
//! CR/LF), allocate per command, or bring their own IO model; owning the few
//! thousand lines lets every rule of RFC 5321 we enforce be stated and tested here.

pub mod address;
pub mod client;
pub mod command;
pub mod data;
pub mod proxy;
pub mod reply;
pub mod session;
#[cfg(test)]
mod session_tests;

pub use address::{ForwardPath, Mailbox, ReversePath};
pub use command::{Command, CommandError, MailParams, RcptParams};
pub use data::{BareLf, BodyDecoder, BodyLimits, Defect, Framing};
pub use reply::{Reply, Status, UpstreamStage};
pub use session::{
    Event, Extensions, Limits, MAX_TARPIT, Session, SessionConfig, Timeouts, Transaction, Verdict,
};
