//! `ringwall report` on the log of a real `ringwall run`: the counts are
//! exactly what the daemon did; and the admin listener's `GET /report`
//! page, drawn from `[report] logs`.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::binary::{Proxy, RINGWALL};
use common::{Client, GREETING, free_port, http_get, loopback_sink, message, queue_id};
use ringwall_loadgen::dnsbl::{self, DnsblConfig};

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// The daemon's tables beside those `Proxy` writes: a Spamhaus ZEN
/// look-alike at `dns` asked about every client, GTUBE (1000) tagged
/// rather than refused, the admin listener at `admin`, and `log` as the
/// report's log.
fn tables(dns: SocketAddr, admin: SocketAddr, log: &Path) -> String {
    format!(
        "[dns]\nresolvers = [\"{dns}\"]\nreverse_lookup = false\n\
         [rbl]\nskip_loopback = false\nbudget = \"2s\"\n\
         [[dnsbl]]\nzone = \"zen.test\"\npreset = \"spamhaus-zen\"\nweight = 3.0\n\
         [scoring]\nquarantine = 2000.0\nreject = 3000.0\n\
         [admin]\nlisten = \"{admin}\"\n\
         [report]\nlogs = [\"{}\"]\n",
        log.display()
    )
}

/// A message with a Date, so that only what a test puts in its body scores.
fn dated(id: &str, body: &str) -> Vec<u8> {
    let plain = String::from_utf8(message(id, body)).unwrap();
    format!("Date: Fri, 27 Nov 2026 04:00:00 +0000\r\n{plain}").into_bytes()
}

/// A greeted client from `127.0.0.last` that has said EHLO.
fn client(proxy: &Proxy, last: u8) -> Client {
    let mut client = Client::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), proxy.addr());
    assert_eq!(client.reply(), GREETING);
    assert!(client.command("EHLO client.example").starts_with("250-"));
    client
}

#[test]
fn report_counts_what_the_daemon_logged_and_admin_serves_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let dns = dnsbl::start(DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: vec!["zen.test".parse().unwrap()],
        listings: vec!["zen.test=66.0.0.127=127.0.0.2".parse().unwrap()],
        ..DnsblConfig::default()
    })
    .expect("the emulator starts");
    let sink = loopback_sink(Duration::ZERO);
    let log = dir.path().join("ringwall.log");
    let admin = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let proxy = Proxy::start(
        dir.path(),
        sink.local_addr(),
        &tables(dns.local_addr(), admin, &log),
    );

    let mut clean = client(&proxy, 55);
    clean.envelope("a@sender.example", &["u@example.net"]);
    queue_id(&clean.data(&dated("clean", "See you at lunch.\r\n")));
    clean.envelope("b@Spam.Example", &["u@example.net", "v@example.net"]);
    queue_id(&clean.data(&dated("gtube", &format!("{GTUBE}\r\n"))));
    clean.envelope("", &["u@example.net"]);
    queue_id(&clean.data(&dated("bounce", "Lunch moved to noon.\r\n")));
    let mut listed = client(&proxy, 66);
    assert_eq!(
        listed.command("MAIL FROM:<c@sender.example>"),
        common::SENDER_OK
    );
    assert!(
        listed
            .command("RCPT TO:<u@example.net>")
            .starts_with("550 5.7.1 ")
    );
    drop((clean, listed));
    std::fs::write(&log, proxy.stop()).unwrap();

    // Without --log, the config's [report] logs.
    let out = Command::new(RINGWALL)
        .args(["report", "--since", "1h", "--json", "--config"])
        .arg(dir.path().join("ringwall.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(report["messages"], 3, "{report:#}\n{log_text}");
    assert_eq!(
        report["verdicts"],
        serde_json::json!({"relayed": 2, "tagged": 1, "quarantined": 0, "rejected": 0,
            "tempfail": 0, "discarded": 0, "disconnected": 0})
    );
    assert_eq!(
        report["top_rules"],
        serde_json::json!([{"name": "GTUBE", "count": 1}]),
        "{log_text}"
    );
    assert_eq!(
        report["top_clients"],
        serde_json::json!([{"name": "127.0.0.55", "count": 3}])
    );
    assert_eq!(
        report["top_sender_domains"],
        serde_json::json!([{"name": "(null sender)", "count": 1},
            {"name": "sender.example", "count": 1}, {"name": "spam.example", "count": 1}])
    );
    assert_eq!(
        report["dnsbl"],
        serde_json::json!({"judged": 4, "refused_at_rcpt": 1,
            "lists": [{"rule": "RBL_ZEN", "hits": 1, "rate": 0.25}]})
    );
    assert_eq!(
        report["released"],
        serde_json::json!({"count": 0, "ids": []})
    );
    let hourly = report["hourly"].as_array().unwrap();
    let per_hour: Vec<u64> = hourly
        .iter()
        .map(|h| h["messages"].as_u64().unwrap())
        .collect();
    assert_eq!(per_hour.iter().sum::<u64>(), 3, "{hourly:?}");
    assert_eq!(report["skipped"], 0);

    // The same log through --log, as text: readable, and the same figures.
    let out = Command::new(RINGWALL)
        .args(["report", "--since", "1h", "--log"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\n  tagged        1  33.3 %\n"), "{text}");

    // A daemon whose [report] logs names that log serves it as a page.
    let page_dir = dir.path().join("page");
    std::fs::create_dir(&page_dir).unwrap();
    let admin = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let proxy = Proxy::start(
        &page_dir,
        sink.local_addr(),
        &tables(dns.local_addr(), admin, &log),
    );
    // The admin listener is bound before the SMTP one Proxy waits for.
    let (status, _, page) = http_get(admin, "/report");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(page.contains("<svg"), "{page}");
    assert!(page.contains("spam.example"), "{page}");
    let (status, _, _) = http_get(admin, "/report?since=7d");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let (status, _, body) = http_get(admin, "/report?since=soon");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert!(body.starts_with("since \"soon\" is neither"), "{body}");
    proxy.stop();
}
