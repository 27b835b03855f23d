//! The sink over real loopback sockets: what a client reads back, and what
//! the record file and dump directory hold, byte for byte.

mod announce;

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use ringwall_loadgen::sink::{self, Counts, SinkConfig};

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ringwall-loadgen-test-{}-{name}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sends `script` in one write, as a pipelining client would, and returns
/// everything the server sends until it closes the connection.
fn converse(addr: SocketAddr, script: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(script).unwrap();
    let mut replies = Vec::new();
    stream.read_to_end(&mut replies).unwrap();
    replies
}

/// The sink's EHLO reply with the default extensions.
const EHLO_REPLY: &str = "250-sink.test\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n\
    250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n\
    250-DSN\r\n250 XFORWARD NAME ADDR PORT PROTO HELO SOURCE\r\n";

#[test]
fn two_pipelined_messages_are_answered_recorded_and_dumped() {
    let dir = scratch("pipelined");
    let record = dir.join("record.tsv");
    let dumps = dir.join("dump");
    let sink = sink::start(SinkConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        hostname: "sink.test".into(),
        record: Some(record.clone()),
        dump_dir: Some(dumps.clone()),
        ..SinkConfig::default()
    })
    .unwrap();

    let first_message =
        "Message-ID: <one@client.test>\r\nSubject: first\r\n\r\n.leading dot\r\nend\r\n";
    let second_message = "Subject: second\r\n\r\nchunked body\r\n";
    let (head, tail) = second_message.split_at(10);
    let script = format!(
        "EHLO client.test\r\n\
         XFORWARD ADDR=192.0.2.7 NAME=client.test\r\n\
         MAIL FROM:<alice@client.test> SIZE=80\r\n\
         RCPT TO:<bob@sink.test>\r\n\
         RCPT TO:<carol@sink.test>\r\n\
         DATA\r\n\
         Message-ID: <one@client.test>\r\nSubject: first\r\n\r\n..leading dot\r\nend\r\n.\r\n\
         MAIL FROM:<>\r\n\
         RCPT TO:<dave@sink.test>\r\n\
         BDAT {}\r\n{head}BDAT {} LAST\r\n{tail}\
         QUIT\r\n",
        head.len(),
        tail.len()
    );
    let replies = converse(sink.local_addr(), script.as_bytes());

    let expected = format!(
        "220 sink.test ESMTP ringwall-loadgen sink\r\n{EHLO_REPLY}\
         250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n\
         354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued\r\n\
         250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: chunk received\r\n\
         250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"
    );
    assert_eq!(String::from_utf8_lossy(&replies), expected);

    assert_eq!(
        fs::read_to_string(&record).unwrap(),
        format!(
            "<one@client.test>\talice@client.test\tbob@sink.test,carol@sink.test\t{}\n\
             <none>\t<>\tdave@sink.test\t{}\n",
            first_message.len(),
            second_message.len()
        )
    );
    assert_eq!(
        fs::read(dumps.join("1.eml")).unwrap(),
        first_message.as_bytes()
    );
    assert_eq!(
        fs::read_to_string(dumps.join("1.env")).unwrap(),
        "EHLO client.test\r\n\
         XFORWARD ADDR=192.0.2.7 NAME=client.test\r\n\
         MAIL FROM:<alice@client.test> SIZE=80\r\n\
         RCPT TO:<bob@sink.test>\r\n\
         RCPT TO:<carol@sink.test>\r\n"
    );
    assert_eq!(
        fs::read(dumps.join("2.eml")).unwrap(),
        second_message.as_bytes()
    );
    assert_eq!(
        fs::read_to_string(dumps.join("2.env")).unwrap(),
        "EHLO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<dave@sink.test>\r\n"
    );

    sink.stop();
    assert_eq!(
        sink.wait().unwrap(),
        Counts {
            accepted: 2,
            sessions: 1,
            bytes: (first_message.len() + second_message.len()) as u64,
            ..Counts::default()
        }
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn injected_rejection_is_answered_and_counted_by_the_binary() {
    let sink = announce::start(
        ["sink", "--listen", "127.0.0.1:0", "--fail", "1:5xx"],
        Stdio::inherit(),
    );
    let addr = sink.addr;

    let replies = converse(
        addr,
        b"HELO c\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@s.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
    );
    assert!(
        String::from_utf8_lossy(&replies)
            .ends_with("354 End data with <CR><LF>.<CR><LF>\r\n554 5.6.0 Error: message rejected\r\n221 2.0.0 Bye\r\n"),
        "{replies:?}"
    );

    let (status, rest, _) = sink.terminate();
    assert!(status.success());
    assert_eq!(
        rest,
        "accepted=0 rejected=1 tempfailed=0 closed=0 timedout=0 sessions=1 bytes=0\n"
    );
}

#[test]
fn shards_share_the_port_and_add_up_their_counts() {
    let sink = sink::start(SinkConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        shards: NonZeroUsize::new(2).unwrap(),
        pin: false,
        fail: "1:close".parse().unwrap(),
        ..SinkConfig::default()
    })
    .unwrap();
    for _ in 0..6 {
        // The sink hangs up instead of answering end-of-data.
        let replies = converse(
            sink.local_addr(),
            b"HELO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@s>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
        );
        assert!(replies.ends_with(b"354 End data with <CR><LF>.<CR><LF>\r\n"));
    }
    sink.stop();
    assert_eq!(
        sink.wait().unwrap(),
        Counts {
            closed: 6,
            sessions: 6,
            ..Counts::default()
        }
    );
}

#[test]
fn count_stops_the_sink_by_itself() {
    let sink = sink::start(SinkConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        count: Some(1),
        ..SinkConfig::default()
    })
    .unwrap();
    converse(
        sink.local_addr(),
        b"HELO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@s>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
    );
    let counts = sink.wait().unwrap();
    assert_eq!((counts.accepted, counts.bytes), (1, 4));
}
