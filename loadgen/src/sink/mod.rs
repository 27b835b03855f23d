//! `ringwall-loadgen sink`: a fast counting SMTP server, ringwall's upstream
//! in tests and demos and the ceiling in benchmarks.
//!
//! Start one in-process with [`start`], connect to
//! [`RunningSink::local_addr`], then [`RunningSink::stop`] and
//! [`RunningSink::wait`] for the [`Counts`]:
//!
//! ```no_run
//! use ringwall_loadgen::sink::{self, SinkConfig};
//!
//! let sink = sink::start(SinkConfig {
//!     listen: "127.0.0.1:0".parse().unwrap(),
//!     ..SinkConfig::default()
//! })
//! .unwrap();
//! println!("upstream at {}", sink.local_addr());
//! // ... send mail through the proxy ...
//! sink.stop();
//! let counts = sink.wait().unwrap();
//! assert_eq!(counts.rejected, 0);
//! ```
//!
//! With [`SinkConfig::verify_against`] set, [`RunningSink::wait_and_verify`]
//! also checks that every message the sender saw 250 for arrived exactly
//! once (see [`Verification`]).

mod buffer;
mod config;
mod conn;
mod counts;
mod fail;
mod record;
mod rng;
mod server;
mod shard;
mod smtp;
mod store;
mod verify;

pub use config::{DEFAULT_EHLO_EXTENSIONS, DEFAULT_HOSTNAME, DEFAULT_LISTEN, SinkConfig};
pub use counts::Counts;
pub use fail::{FailPlan, FailSpecError};
pub use server::{RunningSink, SinkError, start};
pub use verify::{Verification, VerifyError};
