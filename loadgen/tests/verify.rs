//! `sink --verify-against` through the binary: a sink broken on purpose
//! (`--fail ...:lose,...:duplicate`) is caught, a sound one passes.

mod announce;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

/// Messages sent per run: enough that a 20% fault rate certainly fires.
const MESSAGES: usize = 50;

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ringwall-loadgen-verify-{}-{name}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A sink binary running with `args`, and the address it announced.
struct Sink(announce::Announced);

impl Sink {
    fn start(args: &[&str]) -> Self {
        Self(announce::start(
            ["sink", "--listen", "127.0.0.1:0"].iter().chain(args),
            Stdio::piped(),
        ))
    }

    fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// SIGTERM, then the exit status, the rest of stdout and stderr.
    fn stop(self) -> (ExitStatus, String, String) {
        self.0.terminate()
    }
}

/// One SMTP client in lockstep with the sink.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut client = Self {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        assert!(client.reply().starts_with("220 "));
        assert!(client.say("HELO client.test\r\n").starts_with("250 "));
        client
    }

    fn reply(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line
    }

    fn say(&mut self, line: &str) -> String {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.reply()
    }

    /// Sends one message; true if the sink answered 250 at end of data.
    fn send(&mut self, message_id: &str) -> bool {
        assert!(
            self.say("MAIL FROM:<a@client.test>\r\n")
                .starts_with("250 ")
        );
        assert!(self.say("RCPT TO:<b@sink.test>\r\n").starts_with("250 "));
        assert!(self.say("DATA\r\n").starts_with("354 "));
        let message = format!("Message-ID: {message_id}\r\nSubject: test\r\n\r\nhello\r\n.\r\n");
        self.say(&message).starts_with("250 ")
    }
}

/// Sends [`MESSAGES`] messages with unique Message-IDs, spread over
/// `connections` connections (so several shards may take some); returns
/// the ids the sink answered 250 for.
fn send_all(addr: SocketAddr, connections: usize) -> Vec<String> {
    let per_connection = MESSAGES / connections;
    let mut accepted = Vec::new();
    for connection in 0..connections {
        let mut client = Client::connect(addr);
        let first = connection * per_connection;
        accepted.extend(
            (first..first + per_connection)
                .map(|n| format!("<{n:03}.verify@client.test>"))
                .filter(|id| client.send(id)),
        );
        assert!(client.say("QUIT\r\n").starts_with("221 "));
    }
    accepted
}

/// Writes the sender's result the way `send --json` does.
fn write_result(path: &Path, accepted: &[String]) {
    let result = serde_json::json!({ "sent": MESSAGES, "accepted_message_ids": accepted });
    fs::write(path, result.to_string()).unwrap();
}

/// Each Message-ID of the `--record` file with the number of lines it has.
fn recorded(path: &Path) -> HashMap<String, usize> {
    let mut times = HashMap::new();
    for line in fs::read_to_string(path).unwrap().lines() {
        let id = line.split('\t').next().unwrap().to_owned();
        *times.entry(id).or_default() += 1;
    }
    times
}

/// The ids of the report lines that start with `name `.
fn listed(report: &str, name: &str) -> Vec<String> {
    report
        .lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_sink_that_loses_and_duplicates_is_caught() {
    let dir = scratch("broken");
    let result = dir.join("result.json");
    let record = dir.join("record.tsv");
    let sink = Sink::start(&[
        "--fail",
        "0.2:lose,0.2:duplicate",
        "--seed",
        "7",
        "--verify-against",
        result.to_str().unwrap(),
        "--record",
        record.to_str().unwrap(),
    ]);
    let accepted = send_all(sink.addr(), 1);
    // A lost or duplicated message still got its 250.
    assert_eq!(accepted.len(), MESSAGES);
    write_result(&result, &accepted);
    let (status, out, err) = sink.stop();

    // What the sink actually kept, by its own record of the injected faults.
    let times = recorded(&record);
    let mut lost: Vec<String> = accepted
        .iter()
        .filter(|id| !times.contains_key(*id))
        .cloned()
        .collect();
    let mut duplicated: Vec<String> = times
        .iter()
        .filter(|&(_, &n)| n > 1)
        .map(|(id, _)| id.clone())
        .collect();
    lost.sort();
    duplicated.sort();
    assert!(!lost.is_empty() && !duplicated.is_empty(), "{times:?}");
    assert!(lost.len() <= 20 && duplicated.len() <= 20);
    assert!(times.values().all(|&n| n <= 2));

    assert_eq!(status.code(), Some(1), "{out}\n{err}");
    let verified = MESSAGES - lost.len() - duplicated.len();
    let kept = MESSAGES - lost.len() + duplicated.len();
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "accepted={kept} rejected=0 tempfailed=0 closed=0 timedout=0 sessions=1 bytes={}",
            kept * "Message-ID: <000.verify@client.test>\r\nSubject: test\r\n\r\nhello\r\n".len()
        )
    );
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "verified={verified} lost={} duplicated={} unexpected=0",
            lost.len(),
            duplicated.len()
        )
    );
    assert_eq!(listed(&out, "lost"), lost);
    assert_eq!(listed(&out, "duplicated"), duplicated);
    assert!(listed(&out, "unexpected").is_empty());
    assert_eq!(
        err.trim_end(),
        format!(
            "ringwall-loadgen: exactly-once check failed: {} lost, {} duplicated",
            lost.len(),
            duplicated.len()
        )
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_sound_sink_passes_and_reports_the_unexpected() {
    let dir = scratch("sound");
    let result = dir.join("result.json");
    let sink = Sink::start(&[
        "--shards",
        "2",
        "--no-pin",
        "--json",
        "--verify-against",
        result.to_str().unwrap(),
    ]);
    let accepted = send_all(sink.addr(), 5);
    assert_eq!(accepted.len(), MESSAGES);
    // As if the sender had timed out on the last message after the sink took it.
    write_result(&result, &accepted[..MESSAGES - 1]);
    let (status, out, err) = sink.stop();

    assert!(status.success(), "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let counts: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(counts["accepted"], MESSAGES);
    let report: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(
        report,
        serde_json::json!({
            "lost": [],
            "duplicated": [],
            "unexpected": [accepted[MESSAGES - 1]],
            "verified": MESSAGES - 1,
        })
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unreadable_sender_result_is_an_error() {
    let dir = scratch("missing");
    let sink = Sink::start(&[
        "--verify-against",
        dir.join("never-written.json").to_str().unwrap(),
    ]);
    let (status, _, err) = sink.stop();
    assert_eq!(status.code(), Some(1));
    assert!(
        err.starts_with("ringwall-loadgen: cannot verify: cannot read "),
        "{err}"
    );
    fs::remove_dir_all(dir).unwrap();
}
