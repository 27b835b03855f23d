//! The quarantine end to end: the real binary killed with SIGKILL while
//! messages are being quarantined (every message that heard 250 survives,
//! readable and indexed once), and the review page driven in a real headless
//! Chromium through Selenium (list, open, release, delete).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::binary::Proxy;
use common::quarantine::{KEYWORD, api, list, list_of, write_rules};
use common::{Setup, loopback_sink, message, peer, queue_id, run_peer};
use ringwall::config::{ByteSize, Config};
use ringwall::quarantine::Quarantine;
use ringwall::quarantine::index::Query;

/// The admin token of the review test.
const TOKEN: &str = "review-token-0123456789";

/// xorshift64*: small, deterministic from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One SMTP connection that reports I/O failures instead of panicking: the
/// proxy may die under it at any moment.
struct Sender {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Sender {
    fn connect(addr: SocketAddr) -> std::io::Result<Sender> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let writer = stream.try_clone()?;
        let mut sender = Sender {
            reader: BufReader::new(stream),
            writer,
        };
        sender.expect("220")?;
        sender.command("EHLO client.example", "250")?;
        Ok(sender)
    }

    /// One whole reply; an error when the connection ends first.
    fn reply(&mut self) -> std::io::Result<String> {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 || !line.ends_with("\r\n") {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let last = line.as_bytes().get(3) != Some(&b'-');
            reply.push_str(&line);
            if last {
                return Ok(reply);
            }
        }
    }

    fn expect(&mut self, code: &str) -> std::io::Result<String> {
        let reply = self.reply()?;
        if reply.starts_with(code) {
            Ok(reply)
        } else {
            Err(std::io::Error::other(format!("expected {code}: {reply:?}")))
        }
    }

    fn command(&mut self, line: &str, code: &str) -> std::io::Result<String> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.expect(code)
    }

    /// One transaction carrying `marker`; its queue id once the end of data
    /// was answered 250.
    fn quarantine(&mut self, marker: &str) -> std::io::Result<String> {
        self.command("MAIL FROM:<a@sender.example>", "250")?;
        self.command("RCPT TO:<u@example.net>", "250")?;
        self.command("DATA", "354")?;
        let mut data = message(marker, &format!("{KEYWORD} {marker}\r\n"));
        data.extend_from_slice(b".\r\n");
        self.writer.write_all(&data)?;
        let reply = self.reply()?;
        if reply.starts_with("250 ") {
            Ok(queue_id(&reply))
        } else {
            Err(std::io::Error::other(format!("end of data: {reply:?}")))
        }
    }
}

/// A client thread: sends quarantine-worthy messages as fast as it can
/// until the proxy dies, recording `(marker, queue id)` for every 250.
fn send_until_killed(
    addr: SocketAddr,
    run: u32,
    thread: u32,
    acknowledged: Arc<Mutex<Vec<(String, String)>>>,
    refused: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> u32 {
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut sender) = Sender::connect(addr) else {
            return sent;
        };
        // A few transactions per connection, then a new one: both paths.
        for _ in 0..8 {
            let marker = format!("crash-r{run}-t{thread}-m{sent}");
            sent += 1;
            match sender.quarantine(&marker) {
                Ok(id) => acknowledged.lock().unwrap().push((marker, id)),
                Err(e) => {
                    // A refusal, not the proxy dying: the test is broken.
                    if e.kind() == std::io::ErrorKind::Other {
                        refused.lock().unwrap().push(format!("{marker}: {e}"));
                    }
                    return sent;
                }
            }
        }
        let _ = sender.command("QUIT", "221");
    }
    sent
}

/// Issue 9's acceptance: SIGKILL at random points while messages are being
/// quarantined, 200 times over one quarantine directory; afterwards every
/// message that got 250 is listed, readable and carries its marker, no id is
/// listed twice, and the index matches the files.
#[test]
fn sigkill_while_quarantining_loses_nothing_acknowledged() {
    const KILLS: u32 = 200;
    const THREADS: u32 = 3;
    let seed = std::env::var("RINGWALL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("seed {seed} (rerun with RINGWALL_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let quarantine_dir = dir.path().join("quarantine");
    let rules = write_rules(dir.path());
    // The proxy relays MAIL and RCPT as they come, so an upstream must
    // answer, though quarantined mail never reaches it.
    let sink = loopback_sink(Duration::ZERO);
    let upstream = sink.local_addr();
    let extra = format!(
        "[log]\nlevel = \"warn\"\n\
         [content]\nbuiltin_rules = false\nrules = [{rules:?}]\n\
         [scoring]\ntag = 3.0\nquarantine = 5.0\nreject = 15.0\n\
         [quarantine]\ndirectory = {quarantine_dir:?}\nmin_free_space = \"1MiB\"\n"
    );
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut startup = Duration::ZERO;
    let mut attempted = 0;
    let mut kills_with_acks = 0;
    for run in 0..KILLS {
        let before = Instant::now();
        let proxy = Proxy::start(dir.path(), upstream, &extra);
        startup += before.elapsed();
        let acked_before = acknowledged.lock().unwrap().len();
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (acknowledged, refused) = (Arc::clone(&acknowledged), Arc::clone(&refused));
                let stop = Arc::clone(&stop);
                let addr = proxy.addr();
                std::thread::spawn(move || {
                    send_until_killed(addr, run, thread, acknowledged, refused, stop)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.below(61)));
        proxy.signal(libc::SIGKILL);
        stop.store(true, Ordering::Relaxed);
        let (status, log) = proxy.wait();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "run {run} (seed {seed}): the proxy ended on its own ({status}); log:\n{log}"
        );
        for thread in threads {
            attempted += thread.join().unwrap();
        }
        if acknowledged.lock().unwrap().len() > acked_before {
            kills_with_acks += 1;
        }
    }
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    let looped = started.elapsed();
    let refused = refused.lock().unwrap();
    assert!(
        refused.is_empty(),
        "seed {seed}: the proxy refused {} message(s), e.g. {:?}",
        refused.len(),
        &refused[..refused.len().min(3)]
    );

    let mut config = Config::default();
    config.quarantine.directory = Some(quarantine_dir.clone());
    config.quarantine.min_free_space = ByteSize(1024 * 1024);
    let opening = Instant::now();
    let quarantine = Quarantine::open(&config).expect("the quarantine opens after the kills");
    let opened = opening.elapsed();
    let listed = quarantine.list(&Query::default()).unwrap();
    println!(
        "{KILLS} kills in {looped:?} (binary start-up {startup:?} in all); \
         {attempted} transactions begun, {} acknowledged, {} listed; \
         {kills_with_acks} runs acknowledged something; reopen {opened:?}",
        acknowledged.len(),
        listed.len()
    );
    assert!(
        !acknowledged.is_empty() && kills_with_acks > KILLS / 4,
        "seed {seed}: too few messages acknowledged before the kills to prove anything"
    );

    // No id twice, and the index holds exactly the message files.
    let mut ids = BTreeSet::new();
    for entry in &listed {
        assert!(
            ids.insert(entry.record.id.clone()),
            "seed {seed}: {} listed twice",
            entry.record.id
        );
    }
    let files: BTreeSet<String> = quarantine.store().ids().unwrap().into_iter().collect();
    assert_eq!(ids, files, "seed {seed}: the index and the files differ");

    // Every listed message reads back, carrying one marker no other has.
    let mut by_marker: BTreeMap<String, String> = BTreeMap::new();
    for id in &ids {
        let kept = quarantine
            .message(id)
            .unwrap_or_else(|e| panic!("seed {seed}: {id} does not load: {e}"));
        let text = String::from_utf8_lossy(&kept);
        let marker = text
            .split_once(&format!("{KEYWORD} "))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("seed {seed}: {id} has no marker:\n{text}"))
            .to_string();
        if let Some(other) = by_marker.insert(marker.clone(), id.clone()) {
            panic!("seed {seed}: {marker} kept twice, as {other} and {id}");
        }
    }

    // Every acknowledged message is there, under its queue id.
    for (marker, queue) in &acknowledged {
        let id = by_marker.get(marker).unwrap_or_else(|| {
            panic!("seed {seed}: {marker} got 250 (queued as {queue}) but is not in quarantine")
        });
        assert!(
            id.starts_with(queue.as_str()),
            "seed {seed}: {marker} queued as {queue}, kept as {id}"
        );
    }
    assert!(listed.len() >= acknowledged.len());
    sink.stop();
    let counts = sink.wait().expect("the sink stops cleanly");
    assert_eq!(counts.accepted, 0, "quarantined mail went upstream");
}

/// Where screenshots go: `$RINGWALL_TEST_ARTEFACTS`, else
/// `test-artefacts/` in the target directory.
fn artefacts() -> PathBuf {
    let dir = std::env::var_os("RINGWALL_TEST_ARTEFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .expect("the target directory")
                .join("test-artefacts")
        })
        .join("quarantine-review");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Issue 9's acceptance: the review page in a real headless Chromium. Two
/// messages quarantined; the browser logs in, sees both, releases one and
/// deletes the other. The upstream gets the released one byte for byte as
/// the API showed it, and nothing is left.
#[test]
fn review_page_in_headless_chromium_releases_and_deletes() {
    let python = peer("/usr/bin/python3");
    let chromium = peer("/usr/bin/chromium");
    let chromedriver = peer("/usr/bin/chromedriver");
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let quarantine_dir = dir.path().join("quarantine");
    let stack = Setup::new()
        .config(|c| {
            c.admin.listen = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
            c.admin.token = Some(TOKEN.into());
            c.quarantine.directory = Some(quarantine_dir);
            c.quarantine.min_free_space = ByteSize(1024 * 1024);
            c.content.builtin_rules = false;
            c.content.rules = vec![rules];
            c.scoring.tag = 3.0;
            c.scoring.quarantine = 5.0;
            c.scoring.reject = 15.0;
        })
        .start();
    let admin = stack.admin_addr().expect("the admin listener");

    let mut queued = Vec::new();
    for (subject, body) in [
        ("release-me", "Please release me. quarantine-me\r\n"),
        ("delete-me", "Please delete me. quarantine-me\r\n"),
    ] {
        let mut client = stack.session();
        let reply = client.deliver(&["u@example.net"], &message(subject, body));
        queued.push(queue_id(&reply));
        client.command("QUIT");
    }
    let listed = list_of(admin, TOKEN, 2);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let id_of = |subject: &str| -> String {
        listed
            .iter()
            .find(|m| m["subject"] == subject)
            .and_then(|m| m["id"].as_str())
            .unwrap_or_else(|| panic!("{subject} not listed: {listed:?}"))
            .to_string()
    };
    let (release_id, delete_id) = (id_of("release-me"), id_of("delete-me"));
    assert!(
        release_id.starts_with(&queued[0]),
        "{release_id} {queued:?}"
    );
    assert!(delete_id.starts_with(&queued[1]), "{delete_id} {queued:?}");
    let (status, raw) = api(
        admin,
        TOKEN,
        "GET",
        &format!("/api/quarantine/{release_id}/raw"),
    );
    assert_eq!(status, 200);
    assert!(
        stack.dumps().is_empty(),
        "nothing relayed before the release"
    );

    let screenshots = artefacts();
    let started = Instant::now();
    let output = run_peer(
        Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/peers/quarantine_review.py"
            ))
            .arg(format!("http://{admin}"))
            .arg(&screenshots)
            .args([&release_id, &delete_id])
            .env("REVIEW_TOKEN", TOKEN)
            .env("CHROMIUM", chromium)
            .env("CHROMEDRIVER", chromedriver),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser script failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "browser session {:?}; screenshots in {}",
        started.elapsed(),
        screenshots.display()
    );
    assert_eq!(
        stdout,
        format!(
            "rows 2\nopened {release_id}\ndone Released {release_id}\n\
             opened {delete_id}\ndone Deleted {delete_id}\nrows 0\n"
        )
    );
    for shot in ["list.png", "message.png"] {
        let png = std::fs::read(screenshots.join(shot)).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{shot} is no PNG");
    }

    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1, "exactly the released message went upstream");
    assert!(
        dumps[0].eml == raw,
        "released:\n{}\nkept:\n{}",
        String::from_utf8_lossy(&dumps[0].eml),
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(list(admin, TOKEN), Vec::<serde_json::Value>::new());
}
