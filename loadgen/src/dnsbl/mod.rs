//! `ringwall-loadgen dnsbl`: a DNSBL/URIBL emulator on loopback, for tests,
//! the demo and benchmarks.
//!
//! It answers A and TXT queries under configured zones the way RFC 5782
//! lists do: a listed name gets A records in 127.0.0.0/8 (and its TXT), the
//! rest NXDOMAIN. Which names are listed follows explicit listings and a
//! rate applied by a stable hash, so runs are reproducible; latency, loss,
//! SERVFAIL, truncation to TCP, error codes and forged answers are there
//! to exercise a resolver's every unhappy path.
//!
//! Start one in-process with [`start`], point a resolver at
//! [`RunningDnsbl::local_addr`], read [`RunningDnsbl::counts`] at any time,
//! then [`RunningDnsbl::stop`] and [`RunningDnsbl::wait`]:
//!
//! ```no_run
//! use ringwall_loadgen::dnsbl::{self, DnsblConfig};
//!
//! let dnsbl = dnsbl::start(DnsblConfig {
//!     listen: "127.0.0.1:0".parse().unwrap(),
//!     zones: vec!["zen.test:rate=0.1:codes=127.0.0.2,127.0.0.4".parse().unwrap()],
//!     listings: vec!["zen.test=2.0.0.127=127.0.0.2".parse().unwrap()],
//!     ..DnsblConfig::default()
//! })
//! .unwrap();
//! println!("DNSBL at {}", dnsbl.local_addr());
//! // ... run the proxy against it ...
//! assert_eq!(dnsbl.counts().zone("zen.test").queries, 1);
//! dnsbl.stop();
//! let counts = dnsbl.wait().unwrap();
//! ```

mod answer;
mod config;
mod counts;
mod hash;
mod message;
mod server;
mod service;
mod spec;
mod tcp;
mod udp;
mod zones;

pub use config::{DEFAULT_LISTEN, DEFAULT_TTL, DnsblConfig};
pub use counts::{Counts, Tally};
pub use message::SPOOFED_CODE;
pub use server::{DnsblError, RunningDnsbl, start};
pub use spec::{DEFAULT_CODE, ErrorCode, Listing, SpecError, ZoneSpec, fraction};
pub use zones::ZoneError;
