//! `send` against real listeners on loopback: the counting sink for
//! delivery and accounting, and a small test server of our own where the
//! sink cannot tell (client addresses, STARTTLS).

mod announce;

mod support;

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use ringwall_loadgen::send::{self, MessageSource, SendConfig, SendError, TlsOptions};
use ringwall_loadgen::sink::{self, SinkConfig};
use support::{TestServer, tls_server};

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ringwall-loadgen-send-{}-{name}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A sink on a free loopback port, unpinned (tests share the CPUs).
fn sink_with(config: SinkConfig) -> sink::RunningSink {
    sink::start(SinkConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        pin: false,
        ..config
    })
    .unwrap()
}

/// A send config for `server`: unpinned, bounded by `count`, with a short
/// reply timeout so a broken test fails fast.
fn config(server: SocketAddr, count: u64) -> SendConfig {
    SendConfig {
        server,
        pin: false,
        count: Some(count),
        sessions: NonZeroUsize::new(4).unwrap(),
        timeout: Duration::from_secs(10),
        ..SendConfig::default()
    }
}

/// The Message-IDs of the sink's record file, one per accepted message.
fn recorded_ids(record: &PathBuf) -> Vec<String> {
    fs::read_to_string(record)
        .unwrap()
        .lines()
        .map(|line| line.split('\t').next().unwrap().to_owned())
        .collect()
}

#[test]
fn pipelined_run_is_delivered_exactly_once() {
    let dir = scratch("pipelined");
    let record = dir.join("record.tsv");
    let sink = sink_with(SinkConfig {
        record: Some(record.clone()),
        ..SinkConfig::default()
    });
    let result = send::run(SendConfig {
        messages_per_session: 10,
        shards: NonZeroUsize::new(2).unwrap(),
        ..config(sink.local_addr(), 300)
    })
    .unwrap();

    let counts = result.counts;
    assert_eq!(
        (counts.attempted, counts.accepted, counts.errors),
        (300, 300, 0)
    );
    let ids: HashSet<&String> = result.accepted_message_ids.iter().collect();
    assert_eq!(ids.len(), 300, "every accepted Message-ID is unique");
    assert!(
        result
            .accepted_message_ids
            .iter()
            .all(|id| id.ends_with("@ringwall-loadgen.invalid>"))
    );
    assert_eq!(result.replies.get("250"), Some(&300));
    assert_eq!(
        result.stage_replies.get("data").unwrap().get("354"),
        Some(&300)
    );
    let message = result.latency_us.get("message").unwrap();
    assert_eq!(message.count, 300);
    assert!(message.p50 > 0 && message.p50 <= message.p99 && message.p99 <= message.max);
    assert!(result.duration_secs > 0.0 && result.rate > 0.0);

    sink.stop();
    let sink_counts = sink.wait().unwrap();
    assert_eq!(sink_counts.accepted, 300);
    assert_eq!(sink_counts.sessions, counts.sessions);
    let recorded: BTreeSet<String> = recorded_ids(&record).into_iter().collect();
    let accepted: BTreeSet<String> = result.accepted_message_ids.iter().cloned().collect();
    assert_eq!(recorded, accepted);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn without_pipelining_one_message_per_session() {
    let sink = sink_with(SinkConfig::default());
    let result = send::run(SendConfig {
        pipelining: false,
        ..config(sink.local_addr(), 40)
    })
    .unwrap();
    assert_eq!((result.counts.accepted, result.counts.sessions), (40, 40));
    assert_eq!(
        result.stage_replies.get("quit").unwrap().get("221"),
        Some(&40)
    );
    sink.stop();
    let sink_counts = sink.wait().unwrap();
    assert_eq!((sink_counts.accepted, sink_counts.sessions), (40, 40));
}

#[test]
fn refusals_are_counted_not_fatal() {
    let sink = sink_with(SinkConfig {
        fail: "1:4xx".parse().unwrap(),
        ..SinkConfig::default()
    });
    let result = send::run(SendConfig {
        messages_per_session: 0,
        ..config(sink.local_addr(), 20)
    })
    .unwrap();
    assert_eq!(
        (result.counts.attempted, result.counts.tempfailed),
        (20, 20)
    );
    assert_eq!(result.replies.get("451"), Some(&20));
    assert!(result.accepted_message_ids.is_empty());

    let rejecting = sink_with(SinkConfig {
        reject_rcpt_domains: vec!["example.net".into()],
        ..SinkConfig::default()
    });
    for pipelining in [true, false] {
        let result = send::run(SendConfig {
            pipelining,
            messages_per_session: 5,
            ..config(rejecting.local_addr(), 10)
        })
        .unwrap();
        assert_eq!(result.counts.rejected, 10, "pipelining {pipelining}");
        assert_eq!(
            result.stage_replies.get("rcpt").unwrap().get("550"),
            Some(&10)
        );
        // A failed transaction is reset before the next one on the session.
        assert!(result.stage_replies.get("rset").is_some());
    }
    sink.stop();
    rejecting.stop();
}

#[test]
fn sessions_come_from_the_source_addresses() {
    let server = TestServer::start(None);
    let result = send::run(SendConfig {
        source_ips: Some("127.0.0.2-127.0.0.4".parse().unwrap()),
        sessions: NonZeroUsize::new(3).unwrap(),
        ..config(server.addr(), 12)
    })
    .unwrap();
    assert_eq!(result.counts.accepted, 12);
    let seen = server.seen();
    let peers: BTreeSet<IpAddr> = seen.peers.iter().copied().collect();
    let expected: BTreeSet<IpAddr> = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        .iter()
        .map(|ip| ip.parse().unwrap())
        .collect();
    assert_eq!(peers, expected);
    assert_eq!(seen.peers.len(), 12);
}

#[test]
fn starttls_with_a_trusted_or_any_certificate() {
    let dir = scratch("starttls");
    let (pem, tls) = tls_server();
    let ca = dir.join("ca.pem");
    fs::write(&ca, pem).unwrap();
    let server = TestServer::start(Some(tls));
    for options in [
        TlsOptions {
            insecure: true,
            ca: None,
            name: None,
        },
        TlsOptions {
            insecure: false,
            ca: Some(ca.clone()),
            name: Some("localhost".into()),
        },
    ] {
        let result = send::run(SendConfig {
            starttls: Some(options),
            ..config(server.addr(), 3)
        })
        .unwrap();
        assert_eq!(result.counts.accepted, 3);
        assert_eq!(result.latency_us.get("starttls").unwrap().count, 3);
        // EHLO before and after the handshake.
        assert_eq!(
            result.stage_replies.get("ehlo").unwrap().get("250"),
            Some(&6)
        );
    }
    assert!(server.seen().messages.iter().all(|(_, secure)| *secure));

    // The web roots do not trust a self-signed certificate: the first
    // session fails, and so does the run.
    let untrusted = send::run(SendConfig {
        starttls: Some(TlsOptions {
            insecure: false,
            ca: None,
            name: None,
        }),
        ..config(server.addr(), 3)
    });
    match untrusted {
        Err(SendError::Setup { reason, .. }) => assert!(
            reason.starts_with("starttls: TLS handshake failed"),
            "{reason}"
        ),
        other => panic!("expected a setup error, got {other:?}"),
    }

    // A server without STARTTLS is a setup error too.
    let plain = TestServer::start(None);
    let refused = send::run(SendConfig {
        starttls: Some(TlsOptions {
            insecure: true,
            ca: None,
            name: None,
        }),
        ..config(plain.addr(), 1)
    });
    assert!(
        matches!(&refused, Err(SendError::Setup { reason, .. }) if reason.contains("does not offer STARTTLS")),
        "{refused:?}"
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn real_messages_are_sent_with_fresh_message_ids() {
    let dir = scratch("corpus");
    let corpus = dir.join("corpus");
    fs::create_dir_all(corpus.join("sub")).unwrap();
    fs::write(
        corpus.join("a.eml"),
        "From: a@x.test\nMessage-ID: <original@x.test>\nSubject: one\n\n.leading dot\nbody\n",
    )
    .unwrap();
    fs::write(corpus.join("sub/b.eml"), "Subject: two\r\n\r\nno id\r\n").unwrap();
    let dumps = dir.join("dump");
    let sink = sink_with(SinkConfig {
        dump_dir: Some(dumps.clone()),
        ..SinkConfig::default()
    });
    let result = send::run(SendConfig {
        messages: MessageSource::Files(corpus),
        sessions: NonZeroUsize::MIN,
        ..config(sink.local_addr(), 4)
    })
    .unwrap();
    assert_eq!(result.counts.accepted, 4);
    sink.stop();
    sink.wait().unwrap();
    let ids = &result.accepted_message_ids;
    let dump = |n: usize| fs::read_to_string(dumps.join(format!("{n}.eml"))).unwrap();
    for n in [1, 3] {
        assert_eq!(
            dump(n),
            format!(
                "From: a@x.test\r\nMessage-ID: {}\r\nSubject: one\r\n\r\n.leading dot\r\nbody\r\n",
                ids[n - 1]
            )
        );
    }
    for n in [2, 4] {
        assert_eq!(
            dump(n),
            format!(
                "Subject: two\r\nMessage-ID: {}\r\n\r\nno id\r\n",
                ids[n - 1]
            )
        );
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn open_loop_keeps_the_schedule_and_warm_up_is_left_out() {
    let sink = sink_with(SinkConfig::default());
    let result = send::run(SendConfig {
        rate: Some(400.0),
        warmup: Duration::from_millis(250),
        messages_per_session: 0,
        ..config(sink.local_addr(), 100)
    })
    .unwrap();
    // 100 measured messages at 400/s take a quarter of a second after the
    // warm-up's hundred or so, which are accepted but not counted.
    assert_eq!(
        (result.counts.attempted, result.counts.accepted),
        (100, 100)
    );
    assert!(
        result.accepted_message_ids.len() > 150,
        "{}",
        result.accepted_message_ids.len()
    );
    assert!(result.duration_secs >= 0.24, "{}", result.duration_secs);
    assert!(result.duration_secs < 2.0, "{}", result.duration_secs);
    assert_eq!(result.latency_us.get("message").unwrap().count, 100);
    sink.stop();
}

#[test]
fn open_loop_latency_counts_from_the_schedule() {
    // One session, a server that takes 40 ms per message, and messages due
    // every 10 ms: the session falls further behind with each message. The
    // server's own time (end of data) stays near 40 ms; the message
    // latency, counted from when each message was due, shows the backlog.
    let sink = sink_with(SinkConfig {
        delay: Duration::from_millis(40),
        ..SinkConfig::default()
    });
    let result = send::run(SendConfig {
        rate: Some(100.0),
        sessions: NonZeroUsize::MIN,
        messages_per_session: 0,
        ..config(sink.local_addr(), 20)
    })
    .unwrap();
    assert_eq!(result.counts.accepted, 20);
    let end_of_data = result.latency_us.get("end_of_data").unwrap();
    let message = result.latency_us.get("message").unwrap();
    assert!(end_of_data.max < 200_000, "{end_of_data:?}");
    // The last message was due at 190 ms and done after 20 x 40 ms.
    assert!(message.max > 500_000, "{message:?}");
    sink.stop();
}

#[test]
fn stop_cuts_waits_short() {
    let sink = sink_with(SinkConfig::default());
    let running = send::start(SendConfig {
        think: Duration::from_secs(60),
        duration: Some(Duration::from_secs(60)),
        count: None,
        sessions: NonZeroUsize::new(2).unwrap(),
        messages_per_session: 0,
        ..config(sink.local_addr(), 1)
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    running.stop();
    let result = running.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(result.counts.accepted, 2);
    assert_eq!(
        result.stage_replies.get("quit").unwrap().get("221"),
        Some(&2)
    );
    sink.stop();
}

#[test]
fn a_source_address_that_is_not_local_is_refused_at_start() {
    let sink = sink_with(SinkConfig::default());
    let result = send::run(SendConfig {
        source_ips: Some("127.0.0.2,192.0.2.1".parse().unwrap()),
        ..config(sink.local_addr(), 1)
    });
    assert!(
        matches!(&result, Err(SendError::SourceIp { ip, .. }) if ip.to_string() == "192.0.2.1"),
        "{result:?}"
    );
    sink.stop();
    assert_eq!(sink.wait().unwrap().sessions, 0);
}

#[test]
fn nothing_listening_is_a_setup_error() {
    // Bind a port and close it again: nothing listens there now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    match send::run(config(addr, 1)) {
        Err(SendError::Setup { reason, .. }) => assert_eq!(reason, "connect: connection refused"),
        other => panic!("expected a setup error, got {other:?}"),
    }
}

#[test]
fn the_binary_writes_json_the_sink_verifies() {
    let dir = scratch("binary");
    let json = dir.join("run.json");
    let sink = announce::start(
        [
            "sink".as_ref(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--no-pin".as_ref(),
            "--verify-against".as_ref(),
            json.as_os_str(),
        ],
        Stdio::inherit(),
    );
    let addr = sink.addr.to_string();

    let send = Command::new(env!("CARGO_BIN_EXE_ringwall-loadgen"))
        .args([
            "send",
            "--no-pin",
            "-n",
            "25",
            "--messages-per-session",
            "5",
            "--json",
        ])
        .arg(&json)
        .arg(&addr)
        .output()
        .unwrap();
    assert!(
        send.status.success(),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    let table = String::from_utf8(send.stdout).unwrap();
    assert!(
        table.contains("messages  attempted 25  accepted 25"),
        "{table}"
    );
    let result: serde_json::Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    assert_eq!(result["tool"], "ringwall-loadgen send");
    assert_eq!(result["config"]["count"], 25);
    assert_eq!(result["accepted_message_ids"].as_array().unwrap().len(), 25);

    let (status, rest, _) = sink.terminate();
    assert!(status.success(), "{rest}");

    let usage = Command::new(env!("CARGO_BIN_EXE_ringwall-loadgen"))
        .args(["send", "--sessions", "1", "--shards", "2", "127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&usage.stderr).contains("--sessions 1 is fewer than --shards 2")
    );
    let bad_flag = Command::new(env!("CARGO_BIN_EXE_ringwall-loadgen"))
        .args(["send", "--size", "1k", "127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(bad_flag.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_flag.stderr).contains("use B, KiB, MiB, GiB"));
    fs::remove_dir_all(dir).unwrap();
}
