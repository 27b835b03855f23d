//! `ringwall-loadgen send`: an SMTP load generator that is not the
//! bottleneck, with honest latencies.
//!
//! Sessions run on glommio shards (one executor per core, nothing shared
//! while sending), in a closed loop (each session sends its next message
//! when the last is done) or an open loop (messages are due at a fixed
//! rate and their latency counts from when they were due, so a stalling
//! server cannot hide its stalls). Messages are rendered once before the
//! run; each is stamped with a unique Message-ID so the receiving side can
//! check that every accepted message arrived exactly once.
//!
//! Run one in-process with [`run()`] (or [`start`] to watch its
//! [`Progress`]):
//!
//! ```no_run
//! use ringwall_loadgen::send::{self, SendConfig};
//!
//! let result = send::run(SendConfig {
//!     server: "127.0.0.1:2525".parse().unwrap(),
//!     count: Some(1000),
//!     ..SendConfig::default()
//! })
//! .unwrap();
//! assert_eq!(result.counts.accepted, 1000);
//! println!("{}", send::table(&result));
//! ```

mod clock;
mod config;
mod connect;
mod corpus;
mod envelope;
mod error;
mod link;
mod message_id;
mod messages;
mod plan;
mod reader;
mod reply;
mod report;
mod result;
mod run;
mod schedule;
mod session;
mod shard;
mod size;
mod source_ips;
mod stats;
mod template;
mod tls;

pub use config::{
    ConfigError, DEFAULT_EHLO, DEFAULT_FROM, DEFAULT_SERVER, DEFAULT_SESSIONS, DEFAULT_SIZE,
    DEFAULT_TIMEOUT, DEFAULT_TO, MessageSource, SendConfig, TlsOptions,
};
pub use corpus::CorpusError;
pub use error::SendError;
pub use report::{ProgressMeter, table};
pub use result::{ByStage, RunResult};
pub use run::{Progress, RunningSend, run, start};
pub use size::{SizeError, SizeMix, Weighted, parse_size};
pub use source_ips::{SourceIps, SourceIpsError};
pub use stats::{Counts, LatencySummary};
pub use tls::{AnyCertificate, TlsError, read_ca};
