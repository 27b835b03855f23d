//! The DNS client on a glommio executor against the project's own DNSBL
//! emulator on loopback: listed, unlisted, SERVFAIL, silence, truncation and
//! forged answers, each as a real server would give them. What the emulator
//! cannot show (an answer from another address, which source ports the
//! queries come from) a small hand-made server on a thread shows.
//!
//! Every lookup is bounded by the resolver's own timeouts, and every test by
//! [`TEST_LIMIT`] on top.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use futures_lite::future::zip;
use glommio::timer::Timer;
use glommio::{LocalExecutorBuilder, Placement};
use ringwall::dns::{
    Answer, DnsError, RecordData, RecordKind, Resolver, ResolverSettings, Stats, reverse_ip,
};
use ringwall_loadgen::dnsbl::{self, DnsblConfig, RunningDnsbl};

/// Per-attempt timeout of the resolvers here: long enough for loopback,
/// short enough that the timeout tests are quick.
const TIMEOUT: Duration = Duration::from_millis(300);

/// No test may run longer than this.
const TEST_LIMIT: Duration = Duration::from_secs(5);

/// The TTL the emulator gives (and its negative TTL).
const TTL: u32 = 120;

/// The TXT of a listed name.
const REASON: &str = "listed: see https://zen.test/lookup?ip=127.0.0.2";

/// Memory glommio registers with io_uring for file IO: none is done here.
const IO_MEMORY: usize = 64 * 1024;

/// The name a DNSBL is asked about for the test address 127.0.0.2, which
/// RFC 5782 lists must list.
fn listed() -> String {
    format!("{}.zen.test", reverse_ip(IpAddr::from([127, 0, 0, 2])))
}

/// An emulator on loopback listing 127.0.0.2 in `zen.test`, shaped further
/// by `config`.
fn emulator(listen: &str, config: DnsblConfig) -> RunningDnsbl {
    dnsbl::start(DnsblConfig {
        listen: listen.parse().unwrap(),
        zones: vec![format!("zen.test:txt={REASON}").parse().unwrap()],
        listings: vec!["zen.test=2.0.0.127=127.0.0.2".parse().unwrap()],
        ttl: TTL,
        ..config
    })
    .unwrap()
}

/// Two attempts of [`TIMEOUT`] across `servers`.
fn settings(servers: Vec<SocketAddr>) -> ResolverSettings {
    ResolverSettings {
        servers,
        timeout: TIMEOUT,
        attempts: 2,
        max_in_flight: 16,
        sockets: 4,
        rotate_after: 100,
    }
}

/// Runs `test` on a glommio executor on this thread, within [`TEST_LIMIT`].
fn run<T>(test: impl Future<Output = T>) -> T {
    let limit = async {
        Timer::new(TEST_LIMIT).await;
        panic!("the test took longer than {TEST_LIMIT:?}");
    };
    LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(IO_MEMORY)
        .make()
        .expect("a glommio executor")
        .run(test.or(limit))
}

/// The records of a listed answer.
fn listing(addresses: &[Ipv4Addr]) -> Answer {
    Answer::Records {
        records: addresses.iter().map(|&a| RecordData::A(a)).collect(),
        ttl: TTL,
    }
}

/// A UDP address that never answers: bound, so nothing says "port
/// unreachable", and never read.
fn silent_server() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

/// A hand-made server for `queries` queries: it turns each query into its
/// own response (NOERROR, no records: NODATA), sends it first from another
/// address when `decoy` is set, then from its own, and returns the address
/// each query came from.
fn mirror(queries: usize, decoy: bool) -> (SocketAddr, JoinHandle<Vec<SocketAddr>>) {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(TEST_LIMIT)).unwrap();
    let addr = server.local_addr().unwrap();
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    let thread = thread::spawn(move || {
        let mut peers = Vec::new();
        let mut buffer = [0; 512];
        for _ in 0..queries {
            let (length, peer) = server.recv_from(&mut buffer).unwrap();
            let response = &mut buffer[..length];
            response[2] |= 0x80;
            if decoy {
                other.send_to(response, peer).unwrap();
                thread::sleep(Duration::from_millis(50));
            }
            server.send_to(response, peer).unwrap();
            peers.push(peer);
        }
        peers
    });
    (addr, thread)
}

#[test]
fn dns_listed_address_and_its_txt() {
    let zen = emulator("127.0.0.1:0", DnsblConfig::default());
    let resolver = Resolver::new(settings(vec![zen.local_addr()]));
    let (a, txt) = run(async {
        let a = resolver.lookup(&listed(), RecordKind::A).await;
        let txt = resolver
            .lookup(&format!("{}.", listed()), RecordKind::Txt)
            .await;
        (a, txt)
    });
    assert_eq!(a.unwrap(), listing(&[Ipv4Addr::new(127, 0, 0, 2)]));
    assert_eq!(
        txt.unwrap(),
        Answer::Records {
            records: vec![RecordData::Txt(REASON.into())],
            ttl: TTL,
        }
    );
    assert_eq!(
        resolver.stats(),
        Stats {
            queries_sent: 2,
            ..Stats::default()
        }
    );
    assert_eq!(zen.counts().zone("zen.test").listed, 2);
}

#[test]
fn dns_unlisted_is_nxdomain_with_the_negative_ttl() {
    let zen = emulator("127.0.0.1:0", DnsblConfig::default());
    let resolver = Resolver::new(settings(vec![zen.local_addr()]));
    let answer = run(resolver.lookup("3.0.0.127.zen.test", RecordKind::A));
    assert_eq!(answer.unwrap(), Answer::NxDomain { negative_ttl: TTL });
    assert_eq!(zen.counts().zone("zen.test").nxdomain, 1);
}

#[test]
fn dns_servfail_moves_to_the_next_server_which_is_kept() {
    let failing = emulator(
        "127.0.0.1:0",
        DnsblConfig {
            servfail: 1.0,
            ..DnsblConfig::default()
        },
    );
    let working = emulator("127.0.0.1:0", DnsblConfig::default());
    let resolver = Resolver::new(settings(vec![failing.local_addr(), working.local_addr()]));
    let (first, second) = run(async {
        let first = resolver.lookup(&listed(), RecordKind::A).await;
        let second = resolver.lookup(&listed(), RecordKind::A).await;
        (first, second)
    });
    assert_eq!(first.unwrap(), listing(&[Ipv4Addr::new(127, 0, 0, 2)]));
    assert_eq!(second.unwrap(), listing(&[Ipv4Addr::new(127, 0, 0, 2)]));
    // The second lookup went straight to the server that answered.
    assert_eq!(failing.counts().all.queries, 1);
    assert_eq!(working.counts().all.queries, 2);

    // When every attempt fails, the caller hears the last failure.
    let alone = Resolver::new(settings(vec![failing.local_addr()]));
    let answer = run(alone.lookup(&listed(), RecordKind::A));
    assert_eq!(answer.unwrap(), Answer::ServFail);
    assert_eq!(failing.counts().all.queries, 3);
}

#[test]
fn dns_timeout_moves_to_the_next_server() {
    let silent = silent_server();
    let zen = emulator("127.0.0.1:0", DnsblConfig::default());
    let resolver = Resolver::new(settings(vec![
        silent.local_addr().unwrap(),
        zen.local_addr(),
    ]));
    let started = Instant::now();
    let answer = run(resolver.lookup(&listed(), RecordKind::A));
    assert!(started.elapsed() >= TIMEOUT);
    assert_eq!(answer.unwrap(), listing(&[Ipv4Addr::new(127, 0, 0, 2)]));
    let stats = resolver.stats();
    assert_eq!((stats.queries_sent, stats.timeouts), (2, 1));
}

#[test]
fn dns_no_answer_from_any_server_is_a_timeout() {
    let silent = silent_server();
    let resolver = Resolver::new(settings(vec![silent.local_addr().unwrap()]));
    let started = Instant::now();
    let answer = run(resolver.lookup(&listed(), RecordKind::A));
    let elapsed = started.elapsed();
    assert!(
        matches!(answer, Err(DnsError::Timeout(limit)) if limit == TIMEOUT),
        "{answer:?}"
    );
    assert!(
        elapsed >= 2 * TIMEOUT && elapsed < TEST_LIMIT,
        "{elapsed:?}"
    );
    assert_eq!(resolver.stats().timeouts, 2);
}

#[test]
fn dns_truncated_answer_is_asked_again_over_tcp() {
    let zen = emulator(
        "127.0.0.1:0",
        DnsblConfig {
            truncate: true,
            ..DnsblConfig::default()
        },
    );
    let resolver = Resolver::new(settings(vec![zen.local_addr()]));
    let answer = run(resolver.lookup(&listed(), RecordKind::Txt));
    assert_eq!(
        answer.unwrap(),
        Answer::Records {
            records: vec![RecordData::Txt(REASON.into())],
            ttl: TTL,
        }
    );
    let stats = resolver.stats();
    assert_eq!((stats.queries_sent, stats.tcp_fallbacks), (2, 1));
    let tally = zen.counts().zone("zen.test");
    assert_eq!((tally.truncated, tally.listed), (1, 1));
}

#[test]
fn dns_forged_id_is_ignored_and_the_real_answer_taken() {
    let zen = emulator(
        "127.0.0.1:0",
        DnsblConfig {
            spoof_id: true,
            latency: Duration::from_millis(50),
            ..DnsblConfig::default()
        },
    );
    let resolver = Resolver::new(settings(vec![zen.local_addr()]));
    let answer = run(resolver.lookup(&listed(), RecordKind::A));
    // Not SPOOFED_CODE, which the forgery carries.
    assert_eq!(answer.unwrap(), listing(&[Ipv4Addr::new(127, 0, 0, 2)]));
    let stats = resolver.stats();
    assert_eq!((stats.spoofed_ignored, stats.timeouts), (1, 0));
}

#[test]
fn dns_answer_from_another_address_is_ignored() {
    let (server, thread) = mirror(1, true);
    let resolver = Resolver::new(settings(vec![server]));
    let answer = run(resolver.lookup("example.test", RecordKind::Mx));
    assert!(matches!(answer, Ok(Answer::NoData { .. })), "{answer:?}");
    assert_eq!(resolver.stats().spoofed_ignored, 1);
    thread.join().unwrap();
}

#[test]
fn dns_sockets_are_reused_then_rotated() {
    let (server, thread) = mirror(4, false);
    let resolver = Resolver::new(ResolverSettings {
        sockets: 1,
        rotate_after: 2,
        ..settings(vec![server])
    });
    run(async {
        for _ in 0..4 {
            resolver
                .lookup("example.test", RecordKind::A)
                .await
                .unwrap();
        }
    });
    let ports: Vec<u16> = thread
        .join()
        .unwrap()
        .iter()
        .map(SocketAddr::port)
        .collect();
    assert_eq!(ports[0], ports[1]);
    assert_eq!(ports[2], ports[3]);
    assert_ne!(ports[1], ports[2]);
}

#[test]
fn dns_lookups_beyond_max_in_flight_wait_for_a_slot() {
    let zen = emulator(
        "127.0.0.1:0",
        DnsblConfig {
            latency: Duration::from_millis(100),
            ..DnsblConfig::default()
        },
    );
    let resolver = Resolver::new(ResolverSettings {
        max_in_flight: 1,
        ..settings(vec![zen.local_addr()])
    });
    let started = Instant::now();
    let (first, second) = run(zip(
        resolver.lookup(&listed(), RecordKind::A),
        resolver.lookup("3.0.0.127.zen.test", RecordKind::A),
    ));
    assert_eq!(first.unwrap(), listing(&[Ipv4Addr::new(127, 0, 0, 2)]));
    assert_eq!(second.unwrap(), Answer::NxDomain { negative_ttl: TTL });
    // One after the other.
    assert!(started.elapsed() >= Duration::from_millis(200));

    // A slot that stays taken for a whole timeout: the waiting lookup gives up.
    let silent = silent_server();
    let stuck = Resolver::new(ResolverSettings {
        max_in_flight: 1,
        ..settings(vec![silent.local_addr().unwrap()])
    });
    let (first, second) = run(zip(
        stuck.lookup(&listed(), RecordKind::A),
        stuck.lookup(&listed(), RecordKind::A),
    ));
    assert!(matches!(first, Err(DnsError::Timeout(_))), "{first:?}");
    assert!(matches!(second, Err(DnsError::Busy)), "{second:?}");
    assert_eq!(stuck.stats().busy, 1);
}

#[test]
fn dns_ipv6_server() {
    let zen = emulator("[::1]:0", DnsblConfig::default());
    let resolver = Resolver::new(settings(vec![zen.local_addr()]));
    let answer = run(resolver.lookup(&listed(), RecordKind::A));
    assert_eq!(answer.unwrap(), listing(&[Ipv4Addr::new(127, 0, 0, 2)]));
}

#[test]
fn dns_bad_names_and_missing_servers_fail_before_sending() {
    let resolver = Resolver::new(settings(vec![]));
    let (bad, none) = run(async {
        let bad = resolver.lookup("a..b.zen.test", RecordKind::A).await;
        let none = resolver.lookup(&listed(), RecordKind::A).await;
        (bad, none)
    });
    assert!(matches!(bad, Err(DnsError::Name(_))), "{bad:?}");
    assert!(matches!(none, Err(DnsError::NoServers)), "{none:?}");
    assert_eq!(resolver.stats(), Stats::default());
}
