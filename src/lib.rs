//! ringwall: an anti-spam SMTP proxy appliance.
//!
//! The rooms, each behind its `mod.rs`: `smtp` (the pure protocol core),
//! `config`, `server` (the glommio shell), `relay` (upstream forwarding),
//! `policy` (stage verdicts), `dns` (lookups over glommio sockets). See
//! ARCHITECTURE.md for how data flows between them.

pub mod admin;
pub mod config;
pub mod demo;
pub mod dns;
pub mod policy;
pub mod rbl;
pub mod relay;
pub mod server;
pub mod smtp;
pub mod tls;
