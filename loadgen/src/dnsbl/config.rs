//! What a DNSBL emulator is told to do: one plain struct shared by the CLI
//! and by tests.
//!
//! Tests, `ringwall demo` and benchmarks build a [`DnsblConfig`] directly
//! (usually from [`DnsblConfig::default`] with a few fields changed), and
//! the CLI fills the same struct from its flags.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use super::spec::{ErrorCode, Listing, ZoneSpec};

/// Where the emulator listens unless told otherwise: loopback, on the
/// unprivileged port local DNS test servers traditionally use.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5353));

/// TTL of every answer unless told otherwise: what public DNSBLs commonly
/// give, so a resolver's cache behaves as in production.
pub const DEFAULT_TTL: u32 = 300;

/// Everything that shapes one emulator run.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsblConfig {
    /// Address for both UDP and TCP; port 0 picks a free port (see
    /// [`RunningDnsbl::local_addr`](super::RunningDnsbl::local_addr)).
    pub listen: SocketAddr,
    /// Zones with their listing rate, codes and TXT.
    pub zones: Vec<ZoneSpec>,
    /// Names listed whatever the rate; a zone named only here is answered
    /// with rate 0.
    pub listings: Vec<Listing>,
    /// Zones whose every query gets one (error) code; a zone named only here
    /// is answered too.
    pub error_codes: Vec<ErrorCode>,
    /// TTL of answers, and the negative-caching TTL of NXDOMAIN (the SOA
    /// minimum), in seconds.
    pub ttl: u32,
    /// Delay before every answer: a slow or distant list.
    pub latency: Duration,
    /// Share of queries never answered (from 0 to 1), picked by `seed`.
    pub loss: f64,
    /// Share of queries answered SERVFAIL (from 0 to 1), picked by `seed`.
    pub servfail: f64,
    /// Answer every UDP query with TC=1 and no records, so the resolver must
    /// ask again over TCP, where the full answer is given.
    pub truncate: bool,
    /// Before each UDP answer, send a forged one with the wrong query ID
    /// (see [`SPOOFED_CODE`](super::SPOOFED_CODE)), which a resolver must
    /// ignore.
    pub spoof_id: bool,
    /// Seed for which queries are lost or SERVFAILed, so a run replays.
    pub seed: u64,
    /// Stop after this much time.
    pub duration: Option<Duration>,
}

impl Default for DnsblConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            zones: Vec::new(),
            listings: Vec::new(),
            error_codes: Vec::new(),
            ttl: DEFAULT_TTL,
            latency: Duration::ZERO,
            loss: 0.0,
            servfail: 0.0,
            truncate: false,
            spoof_id: false,
            seed: 1,
            duration: None,
        }
    }
}
