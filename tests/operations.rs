//! The `ringwall` binary as an operator runs it: `check-config`, `run` with its
//! transaction log and graceful SIGTERM, upstream failover, and `demo`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use common::binary::{Proxy, RINGWALL};
use common::tls::{TestPki, peer_certificate, tls_session};
use common::{BYE, Client, GREETING, Setup, free_port, loopback_sink, message, queue_id};

/// A greeted client that has said EHLO.
fn session(addr: SocketAddr) -> Client {
    let mut client = Client::connect(addr);
    assert_eq!(client.reply(), GREETING);
    assert!(client.command("EHLO client.example").starts_with("250-"));
    client
}

/// `check-config` prints OK for a good file, and for a bad one every error with
/// file, line, column, key and fix, exiting 1.
#[test]
fn check_config_reports_ok_or_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[server]\nhostname = \"mx.example.net\"\n").unwrap();
    let out = Command::new(RINGWALL)
        .arg("check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\nhostname = \"mx.example.net\"\n\n[limits]\ncommand_line = 100\n",
    )
    .unwrap();
    let out = Command::new(RINGWALL)
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:5:16: [limits] command_line = 100: must be at least 512 bytes",
        bad.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains("fix: raise it to 512 or more"), "{stderr}");
}

/// `run` refuses to start on a bad config, naming the error, with exit status 1.
#[test]
fn run_refuses_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlistn = [\"127.0.0.1:25\"]\n").unwrap();
    let out = Command::new(RINGWALL)
        .args(["run", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:2:1: ", bad.display())),
        "{stderr}"
    );
    assert!(stderr.contains("listn"), "{stderr}");
}

/// SIGTERM while a message is at the upstream: the transaction finishes with the
/// upstream's 250, then the client hears 421 4.3.2; an idle client hears 421 at
/// once; the process exits 0 and its log has one line for the transaction.
#[test]
fn sigterm_lets_the_transaction_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let sink = loopback_sink(Duration::from_millis(1500));
    let proxy = Proxy::start(dir.path(), sink.local_addr(), "");
    let mut idle = session(proxy.addr());
    let mut busy = session(proxy.addr());
    busy.envelope("a@sender.example", &["u@example.net"]);
    busy.send(message("in-flight", "hello\r\n"));
    busy.send(b".\r\n");
    std::thread::sleep(Duration::from_millis(300));
    proxy.signal(libc::SIGTERM);
    assert_eq!(
        idle.reply(),
        "421 4.3.2 Service shutting down; try again later\r\n"
    );
    idle.expect_closed();
    let queued = busy.reply();
    let id = queue_id(&queued);
    assert_eq!(
        busy.reply(),
        "421 4.3.2 Service shutting down; try again later\r\n"
    );
    busy.expect_closed();
    let (status, log) = proxy.wait();
    assert!(status.success(), "exit status {status}; log:\n{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ringwall::transaction"))
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    for field in [
        format!("queue_id={id}"),
        "client=127.0.0.1".into(),
        "helo=client.example".into(),
        "from=<a@sender.example>".into(),
        "to=<u@example.net>".into(),
        "verdict=relayed".into(),
        format!("reply=\"250 2.0.0 Ok: queued as {id}\""),
        "upstream_reply=\"250 2.0.0 Ok".into(),
    ] {
        assert!(
            lines[0].contains(&field),
            "{field} missing from {}",
            lines[0]
        );
    }
    assert!(
        !log.contains("hello"),
        "message content must never be logged"
    );
    sink.stop();
    assert_eq!(sink.wait().unwrap().accepted, 1);
}

/// SIGHUP re-reads the certificate: new sessions get the new one, a session
/// already in TLS carries on and delivers, and a pair that does not load
/// leaves the previous one in force.
#[test]
fn sighup_reloads_the_tls_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let sink = loopback_sink(Duration::ZERO);
    let proxy = Proxy::start(
        dir.path(),
        sink.local_addr(),
        &format!(
            "[tls]\ncertificate = \"{}\"\nprivate_key = \"{}\"\n",
            pki.certificate().display(),
            pki.private_key().display()
        ),
    );
    let mut old = tls_session(proxy.addr(), pki.client_config());
    assert!(peer_certificate(&old).contains("first leaf"));
    old.command("EHLO client.example");

    pki.issue("second leaf");
    proxy.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !peer_certificate(&tls_session(proxy.addr(), pki.client_config())).contains("second leaf")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reload the certificate"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    queue_id(&old.deliver(&["u@example.net"], &message("before-reload", "x\r\n")));

    std::fs::write(pki.certificate(), "not a certificate").unwrap();
    proxy.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        peer_certificate(&tls_session(proxy.addr(), pki.client_config())).contains("second leaf")
    );

    let log = proxy.stop();
    assert!(log.contains("SIGHUP: TLS certificate reloaded"), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("ringwall::transaction"))
        .unwrap_or_else(|| panic!("no transaction line:\n{log}"));
    assert!(line.contains("tls=TLSv1.3/TLS13_"), "{line}");
    assert!(
        log.contains("SIGHUP: TLS reload failed; the previous certificate stays in force"),
        "{log}"
    );
    sink.stop();
    assert_eq!(sink.wait().unwrap().accepted, 1);
}

/// SIGHUP re-reads the content rule files: the next message is judged by
/// the new rules; a file that no longer loads leaves the previous rules in
/// force and says so in the log.
#[test]
fn sighup_reloads_the_content_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("local.toml");
    let rule = |literal: &str| {
        format!(
            "[[rule]]\nname = \"LOCAL_ZEBRA\"\nscore = 20.0\nwhere = [\"body\"]\nliteral = \"{literal}\"\n"
        )
    };
    std::fs::write(&rules, rule("zebra-discount")).unwrap();
    let sink = loopback_sink(Duration::ZERO);
    let proxy = Proxy::start(
        dir.path(),
        sink.local_addr(),
        &format!("[content]\nrules = [\"{}\"]\n", rules.display()),
    );
    let zebra = message("zebra", "okapi-sale today\r\n");
    let mut client = session(proxy.addr());
    queue_id(&client.deliver(&["u@example.net"], &zebra));

    std::fs::write(&rules, rule("okapi-sale")).unwrap();
    proxy.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = client.deliver(&["u@example.net"], &zebra);
        if reply == "550 5.7.1 Message rejected as spam\r\n" {
            break;
        }
        queue_id(&reply);
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reload the rules"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    std::fs::write(&rules, "[[rule]]\nname = \"broken\"\n").unwrap();
    proxy.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        client.deliver(&["u@example.net"], &zebra),
        "550 5.7.1 Message rejected as spam\r\n"
    );
    assert_eq!(client.command("QUIT"), BYE);

    let log = proxy.stop();
    assert!(log.contains("SIGHUP: content rules reloaded"), "{log}");
    assert!(
        log.contains("SIGHUP: content rules did not load; the previous rules stay in force"),
        "{log}"
    );
    sink.stop();
}

/// `[log] format = "json"`: the transaction line is one JSON object.
#[test]
fn json_transaction_log() {
    let dir = tempfile::tempdir().unwrap();
    let sink = loopback_sink(Duration::ZERO);
    let proxy = Proxy::start(dir.path(), sink.local_addr(), "[log]\nformat = \"json\"\n");
    let mut client = session(proxy.addr());
    let id = queue_id(&client.deliver(&["u@example.net"], &message("json", "x\r\n")));
    assert_eq!(client.command("QUIT"), BYE);
    proxy.signal(libc::SIGTERM);
    let (status, log) = proxy.wait();
    assert!(status.success());
    let line = BufReader::new(log.as_bytes())
        .lines()
        .map(Result::unwrap)
        .find(|l| l.contains("ringwall::transaction"))
        .expect("a transaction line");
    assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    assert!(line.contains(&format!("\"queue_id\":\"{id}\"")), "{line}");
    assert!(line.contains("\"verdict\":\"relayed\""), "{line}");
}

/// The rules that scored a client go into its transaction log line, even
/// under the threshold: a zone with weight 1 names 127.0.0.1, which delivers.
/// The pass list is off: the start-up probe's connection would otherwise put
/// the client on it, and a passed client skips its lookups (and their rules).
#[test]
fn triage_rules_are_in_the_transaction_log() {
    let dns = ringwall_loadgen::dnsbl::start(ringwall_loadgen::dnsbl::DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: vec!["zen.test".parse().unwrap()],
        listings: vec!["zen.test=1.0.0.127=127.0.0.2".parse().unwrap()],
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sink = loopback_sink(Duration::ZERO);
    let extra = format!(
        "[dns]\nresolvers = [\"{}\"]\n[rbl]\nskip_loopback = false\npass_ttl = \"0s\"\n[[dnsbl]]\nzone = \"zen.test\"\nweight = 1\n",
        dns.local_addr()
    );
    let proxy = Proxy::start(dir.path(), sink.local_addr(), &extra);
    let mut client = session(proxy.addr());
    queue_id(&client.deliver(&["u@example.net"], &message("rules", "x\r\n")));
    assert_eq!(client.command("QUIT"), BYE);
    proxy.signal(libc::SIGTERM);
    let (status, log) = proxy.wait();
    assert!(status.success());
    let line = log
        .lines()
        .find(|l| l.contains("ringwall::transaction"))
        .expect("a transaction line");
    let rules = line
        .split_once("rules=\"")
        .and_then(|(_, rest)| rest.split('"').next())
        .expect("a rules field");
    assert!(
        rules.split(',').any(|rule| rule == "RBL_ZEN_TEST=1.0"),
        "{line}"
    );
}

/// With the first upstream address down, mail goes to the next one.
#[test]
fn upstream_failover_to_the_next_address() {
    let dead = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let stack = Setup::new()
        .config(|c| c.upstream.address.insert(0, dead))
        .start();
    let mut client = stack.session();
    queue_id(&client.deliver(&["u@example.net"], &message("failover", "x\r\n")));
    assert_eq!(client.command("QUIT"), BYE);
    assert_eq!(stack.finish().accepted, 1);
}

/// `ringwall demo` runs with no setup and shows each outcome: the message
/// layer's four, connection triage's two against its DNS blocklist stub (a
/// listed client refused at the banner, and one the list answers with an
/// error code delivering as if not listed), then the content verdict's four
/// with their explanations (keyword spam refused, a program refused, a
/// phishing link kept in quarantine, GTUBE refused).
#[test]
fn demo_shows_each_outcome() {
    let out = Command::new(RINGWALL).arg("demo").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("S: 250 2.0.0 Ok: queued as ").count(),
        4,
        "{stdout}"
    );
    assert!(
        stdout.contains("| MAIL FROM:<smuggler@evil.example>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("S: 550 5.7.1 Relay access denied"),
        "{stdout}"
    );
    assert!(
        stdout.contains("S: 552 5.3.4 Message size exceeds fixed maximum message size"),
        "{stdout}"
    );
    assert_eq!(
        demo_sample(&stdout, 5),
        concat!(
            "5. A client on the DNS blocklist (127.0.0.66: the stub answers 127.0.0.4, Spamhaus XBL)\n",
            "   S: 554 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN\n",
            "   C: EHLO client.sender.example\n",
            "   S: 503 5.5.1 Service refused; send QUIT\n",
            "   C: QUIT\n",
            "   S: 221 2.0.0 Bye\n",
            "   why: its listing weighs as much as [rbl] reject_threshold, and with\n",
            "        [rbl] action = \"drop\" the banner itself refuses it: every command\n",
            "        but QUIT then gets 503. The lookup started when it connected.\n",
            "   upstream received: nothing\n",
        )
    );
    let errored = demo_sample(&stdout, 6);
    assert!(
        errored.contains("   S: 220 demo.ringwall.test ESMTP ringwall\n"),
        "{errored}"
    );
    assert!(
        errored.contains("   S: 250 2.0.0 Ok: queued as "),
        "{errored}"
    );
    assert!(
        errored.contains("   why: 127.255.255.254 is how Spamhaus says"),
        "{errored}"
    );
    assert!(
        errored.contains("   | Received: from client.sender.example ([127.0.0.77])\n"),
        "{errored}"
    );
    let keywords = demo_sample(&stdout, 7);
    assert!(
        keywords.contains("   verdict: reject (score "),
        "{keywords}"
    );
    assert!(
        keywords.contains("   S: 550 5.7.1 Message rejected as spam\n"),
        "{keywords}"
    );
    assert!(keywords.contains(" SCAM_"), "{keywords}");
    let program = demo_sample(&stdout, 8);
    assert!(
        program.contains("   S: 550 5.7.1 Message rejected as spam\n"),
        "{program}"
    );
    assert!(program.contains(" ATTACH_EXECUTABLE "), "{program}");
    assert!(
        program.contains("   upstream received: nothing\n"),
        "{program}"
    );
    let phishing = demo_sample(&stdout, 9);
    assert!(phishing.contains(" LINK_TEXT_MISMATCH "), "{phishing}");
    assert!(
        phishing.contains("   verdict: quarantine (score "),
        "{phishing}"
    );
    assert!(
        phishing.contains("   upstream received: nothing\n"),
        "{phishing}"
    );
    let gtube = demo_sample(&stdout, 10);
    assert!(
        gtube.contains("   S: 550 5.7.1 Message rejected as spam\n"),
        "{gtube}"
    );
    assert!(gtube.contains("1000.0  GTUBE "), "{gtube}");
    assert!(stdout.contains("upstream totals: accepted=3 "), "{stdout}");
    assert!(
        stdout.contains("quarantine: 1 message(s) held\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"Your account has been suspended\"  score 13.5"),
        "{stdout}"
    );
}

/// Sample `n` of the demo's report: from its numbered title to the blank
/// line after it.
fn demo_sample(report: &str, n: usize) -> &str {
    let from = report
        .find(&format!("\n{n}. "))
        .unwrap_or_else(|| panic!("no sample {n} in {report}"))
        + 1;
    let sample = &report[from..];
    sample.find("\n\n").map_or(sample, |end| &sample[..=end])
}
