//! The classifier end to end, as an operator runs it: `ringwall train` into
//! the `[bayes] database`, learning again is idempotent, `ringwall score
//! --config` reads the table; with a daemon running, the same commands go
//! through its admin listener (the daemon owns the file), the daemon's
//! shards pick up the new table at once, and its verdicts carry BAYES_*.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::binary::{Proxy, RINGWALL};
use common::{BYE, Client, GREETING, free_port, loopback_sink};
use ringwall_loadgen::sink::RunningSink;

/// Messages of each class learned: past the classifier's 200 per class,
/// under which it gives no rule.
const LEARNED: usize = 220;

/// A held-out spam (dev split) the table calls spam once trained.
const DEV_SPAM: &str = "../shared/corpus/dev/spam";

/// `LEARNED` messages of `label` from the corpus's train split, copied
/// into `dir/label` (tests never keep copies of the corpus).
fn sample(dir: &Path, label: &str) -> PathBuf {
    let into = dir.join(label);
    std::fs::create_dir_all(&into).unwrap();
    let from =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/corpus/train/{label}"));
    let mut names: Vec<PathBuf> = std::fs::read_dir(&from)
        .unwrap_or_else(|e| panic!("{}: {e}", from.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    names.sort();
    for path in names.iter().take(LEARNED) {
        std::fs::copy(path, into.join(path.file_name().unwrap())).unwrap();
    }
    into
}

/// The first dev spam file, by name.
fn held_out_spam() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEV_SPAM);
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    names.sort();
    names.remove(0)
}

/// Runs `ringwall ARGS`; its stdout, asserting it succeeded.
fn ringwall(args: &[&str]) -> String {
    let output = Command::new(RINGWALL)
        .args(args)
        .output()
        .expect("ringwall runs");
    assert!(
        output.status.success(),
        "ringwall {args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn train(config: &Path, ham: &Path, spam: &Path) -> String {
    ringwall(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--ham",
        ham.to_str().unwrap(),
        "--spam",
        spam.to_str().unwrap(),
    ])
}

fn score(config: &Path, file: &Path) -> String {
    ringwall(&[
        "score",
        "--config",
        config.to_str().unwrap(),
        file.to_str().unwrap(),
    ])
}

/// `ringwall run` in `dir` with an admin listener and `database`, more
/// `[bayes]` keys in `bayes_keys`, relaying to a sink; and the admin
/// listener's address.
fn daemon(dir: &Path, database: &Path, bayes_keys: &str) -> (Proxy, RunningSink, SocketAddr) {
    let admin = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let sink = loopback_sink(Duration::ZERO);
    let proxy = Proxy::start(
        dir,
        sink.local_addr(),
        &format!(
            "[admin]\nlisten = \"{admin}\"\n[bayes]\ndatabase = \"{}\"\n{bayes_keys}",
            database.display()
        ),
    );
    (proxy, sink, admin)
}

#[test]
fn train_then_score_without_a_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let (ham, spam) = (sample(dir.path(), "ham"), sample(dir.path(), "spam"));
    let config = dir.path().join("ringwall.toml");
    let database = dir.path().join("bayes.redb");
    std::fs::write(
        &config,
        format!("[bayes]\ndatabase = \"{}\"\n", database.display()),
    )
    .unwrap();

    let first = train(&config, &ham, &spam);
    assert!(
        first.starts_with(&format!("ham new: {LEARNED}\nspam new: {LEARNED}\n")),
        "{first}"
    );
    assert!(
        first.contains(&format!(
            "{LEARNED} spam and {LEARNED} ham messages learned in all"
        )),
        "{first}"
    );
    // The same mail again changes nothing.
    let again = train(&config, &ham, &spam);
    assert!(
        again.starts_with(&format!(
            "ham already: {LEARNED}\nspam already: {LEARNED}\n"
        )),
        "{again}"
    );
    let verdict = score(&config, &held_out_spam());
    assert!(verdict.contains("BAYES_9"), "{verdict}");
}

#[test]
fn with_a_daemon_running_training_and_scoring_go_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ham, spam) = (sample(dir.path(), "ham"), sample(dir.path(), "spam"));
    let database = dir.path().join("bayes.redb");
    let (proxy, sink, _) = daemon(dir.path(), &database, "");
    let config = dir.path().join("ringwall.toml");

    let trained = train(&config, &ham, &spam);
    assert!(trained.contains("daemon: {"), "{trained}");
    assert!(
        trained.contains(&format!("\"spam_messages\":{LEARNED}")),
        "{trained}"
    );
    let verdict = score(&config, &held_out_spam());
    assert!(verdict.contains("BAYES_9"), "{verdict}");

    // The daemon's shards classify with the new table already.
    // As an MTA sends it: CRLF lines (the corpus keeps the bare LF it was
    // stored with).
    let stored = String::from_utf8_lossy(&std::fs::read(held_out_spam()).unwrap()).into_owned();
    let message = stored
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes();
    let mut client = Client::connect(proxy.addr());
    assert_eq!(client.reply(), GREETING);
    client.command("EHLO client.example");
    client.envelope("a@sender.example", &["u@example.net"]);
    let reply = client.data(&message);
    assert_eq!(client.command("QUIT"), BYE);
    let log = proxy.stop();
    let line = log
        .lines()
        .find(|l| l.contains("ringwall::transaction"))
        .unwrap_or_else(|| panic!("no transaction line:\n{log}"));
    assert!(line.contains("BAYES_9"), "{line}\nreply: {reply}");
    assert!(
        log.contains("bayes: new table published to the shards"),
        "{log}"
    );
    sink.stop();
}

/// The daemon's message counts, read from its published table (the first
/// eight bytes of `/bayes/snapshot`: spam, then ham, little-endian).
fn published_counts(admin: SocketAddr) -> (u32, u32) {
    let response = ureq::get(&format!("http://{admin}/bayes/snapshot"))
        .call()
        .expect("the snapshot");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).unwrap();
    let word = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap());
    (word(&bytes[..4]), word(&bytes[4..8]))
}

#[test]
fn autolearn_learns_clear_cut_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("bayes.redb");
    let (proxy, sink, admin) = daemon(dir.path(), &database, "autolearn = true\n");
    let gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
    let clean = "Date: Fri, 27 Nov 2026 04:00:00 +0000\r\nMessage-ID: <a@b.example>\r\nFrom: a@sender.example\r\nTo: u@example.net\r\nSubject: lunch\r\n\r\nSee you at noon.\r\n";
    let unsure = "Subject: no date\r\n\r\nx\r\n";
    for body in [
        format!("Subject: test\r\n\r\n{gtube}\r\n"),
        clean.to_string(),
        unsure.to_string(),
    ] {
        let mut client = Client::connect(proxy.addr());
        assert_eq!(client.reply(), GREETING);
        client.command("EHLO client.example");
        client.envelope("a@sender.example", &["u@example.net"]);
        client.data(body.as_bytes());
        assert_eq!(client.command("QUIT"), BYE);
    }
    // The batch is committed within the autolearn interval (5 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while published_counts(admin) != (1, 1) {
        assert!(
            std::time::Instant::now() < deadline,
            "not learned: {:?}",
            published_counts(admin)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    proxy.stop();
    sink.stop();
}
