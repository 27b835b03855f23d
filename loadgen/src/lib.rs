//! ringwall-loadgen: the tools that put ringwall under load and stand in for its peers.
//!
//! The binary is a thin CLI over this library so that ringwall's own end-to-end
//! tests, `ringwall demo` and benchmarks can run the same peers in-process,
//! without spawning a process or parsing its output.
//!
//! - [`send`]: the SMTP load generator, closed or open loop, with latency per stage.
//! - [`sink`]: a fast counting SMTP server that plays the upstream mail server.
//! - [`dnsbl`]: a DNSBL/URIBL emulator with set listings, latency and loss.
//!
//! Shared by the tools: [`cpus`] (where shards may be pinned), [`duration`]
//! (how durations are spelled on the command line) and [`signals`] (how
//! SIGINT/SIGTERM reach the shards).

#![warn(missing_docs)]

pub mod cpus;
pub mod dnsbl;
pub mod duration;
pub mod send;
pub mod signals;
pub mod sink;
