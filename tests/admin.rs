//! The admin listener end to end: `/metrics` counts what clients did, per
//! shard, in the Prometheus text format; `/healthz` answers; a taken port
//! fails the start with its address.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::{Client, GREETING, RECIPIENT_OK, SENDER_OK, Setup, http_get, message, queue_id};
use ringwall::config::{Config, HumanDuration, ZoneConfig};
use ringwall_loadgen::dnsbl::{self, DnsblConfig};

/// The sum over shards of the samples of `series` (the name and any labels
/// but `shard`, e.g. `ringwall_transactions_total{outcome="relayed"}`).
fn total(metrics: &str, series: &str) -> u64 {
    let (name, labels) = series
        .split_once('{')
        .map_or((series, ""), |(n, l)| (n, l.trim_end_matches('}')));
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(sample, _)| {
            sample.split_once('{').is_some_and(|(n, l)| {
                n == name && (labels.is_empty() || l.trim_end_matches('}').ends_with(labels))
            })
        })
        .map(|(_, value)| value.parse::<u64>().expect("an integer sample"))
        .sum()
}

#[test]
fn metrics_count_connections_transactions_and_triage_per_shard() {
    let dns = dnsbl::start(DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: vec!["zen.test".parse().unwrap()],
        listings: vec!["zen.test=66.0.0.127=127.0.0.2".parse().unwrap()],
        ..DnsblConfig::default()
    })
    .expect("the emulator starts");
    let stack = Setup::new()
        .config(|c: &mut Config| {
            c.server.shards = 2;
            c.admin.listen = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
            c.dns.resolvers = vec![dns.local_addr()];
            // Only the triage queries are counted below.
            c.dns.reverse_lookup = false;
            c.rbl.skip_loopback = false;
            c.rbl.budget = HumanDuration(Duration::from_secs(2));
            c.dnsbl = vec![ZoneConfig {
                zone: "zen.test".into(),
                preset: Some(ringwall::rbl::Preset::SpamhausZen),
                weight: Some(3.0),
                ..ZoneConfig::default()
            }];
        })
        .start();
    let admin = stack.admin_addr().expect("the admin listener is bound");
    let from = |last: u8| {
        let mut client =
            Client::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), stack.addr());
        assert_eq!(client.reply(), GREETING);
        client.command("EHLO client.example");
        assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
        client
    };
    let mut clean = from(55);
    assert_eq!(clean.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
    assert_eq!(clean.command("DATA"), common::START_DATA);
    queue_id(&clean.data(&message("metrics", "hello\r\n")));
    let mut listed = from(66);
    assert!(
        listed
            .command("RCPT TO:<u@example.net>")
            .starts_with("550 5.7.1")
    );

    // Each shard publishes once a second: wait for both to have.
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let (status, headers, body) = http_get(admin, "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            headers.contains("content-type: text/plain; version=0.0.4"),
            "{headers}"
        );
        if total(&body, "ringwall_transactions_total{outcome=\"relayed\"}") == 1
            && total(
                &body,
                "ringwall_recipients_refused_total{reason=\"triage\"}",
            ) == 1
        {
            break body;
        }
        assert!(Instant::now() < deadline, "metrics never counted:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(total(&metrics, "ringwall_connections_accepted_total"), 2);
    assert_eq!(total(&metrics, "ringwall_connections_open"), 2, "{metrics}");
    assert_eq!(
        total(
            &metrics,
            "ringwall_transactions_total{outcome=\"rejected\"}"
        ),
        0
    );
    assert_eq!(
        total(&metrics, "ringwall_dns_queries_total"),
        2,
        "{metrics}"
    );
    assert_eq!(
        total(&metrics, "ringwall_rbl_cache_misses_total"),
        2,
        "{metrics}"
    );
    assert_eq!(
        total(&metrics, "ringwall_rbl_zone_healthy{zone=\"RBL_ZEN\"}"),
        2,
        "one healthy zone per shard:\n{metrics}"
    );
    for shard in ["0", "1"] {
        assert!(
            metrics.contains(&format!("ringwall_connections_open{{shard=\"{shard}\"}}")),
            "{metrics}"
        );
    }
    assert!(
        !metrics.contains("zen.test"),
        "zones are named by rule only"
    );

    let (status, _, body) = http_get(admin, "/healthz");
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
    let (status, _, _) = http_get(admin, "/nothing");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

/// A port already taken fails the start, naming the address, rather than
/// running without metrics.
#[test]
fn a_taken_admin_port_fails_the_start() {
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = taken.local_addr().unwrap();
    let mut config = Config::default();
    config.server.listen = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))];
    config.server.shards = 1;
    config.admin.listen = Some(addr);
    let error = ringwall::server::start(&config)
        .err()
        .expect("the start fails");
    assert_eq!(
        error.to_string(),
        format!("cannot start the admin listener on {addr}: Address already in use (os error 98)")
    );
}
