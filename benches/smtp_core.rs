//! Micro-benchmarks of the sans-IO protocol core on its hot path, in bytes per
//! second so they compare with memchr's raw speed on the same bytes (design §4).
//!
//! The message text is one real message from `../shared/corpus/train/ham/` when
//! that folder is there (read at bench time, never copied into the repository),
//! else generated text; bodies of 1 KiB, 20 KiB and 1 MiB are made by repeating
//! its lines. See benches/README.md for the figures.

use std::hint::black_box;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use memchr::memmem;
use ringwall::smtp::client::dot_stuff;
use ringwall::smtp::command::parse;
use ringwall::smtp::{
    BareLf, BodyDecoder, BodyLimits, Event, Extensions, Framing, Limits, Session, SessionConfig,
    Timeouts, Verdict,
};

/// Message sizes measured: a short notice, a typical mail, a large one.
const SIZES: [(&str, usize); 3] = [("1KiB", 1 << 10), ("20KiB", 20 << 10), ("1MiB", 1 << 20)];

/// What the shell reads from a socket at once (the shard's scratch buffer).
const READ_SIZE: usize = 64 * 1024;

/// Bounds as the embedded default config sets them, so no limit is hit.
const LIMITS: BodyLimits = BodyLimits {
    max_size: 50 << 20,
    max_header: 1 << 20,
    max_line: (64 << 10) - 2,
    max_header_field: 64 << 10,
    bare_lf: BareLf::Normalize,
};

/// The first message of 16 to 64 KiB in the ham corpus (sorted by name, so every
/// run reads the same one: a typical mail, not a big attachment), or `None`
/// without the corpus.
fn corpus_message() -> Option<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/train/ham");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .find(|m| (16 << 10..=64 << 10).contains(&m.len()))
}

/// Plain mail-like text for machines without the corpus.
fn generated_message() -> Vec<u8> {
    let mut text = b"From: Alice <alice@example.org>\nTo: Bob <bob@example.net>\n\
        Subject: Quarterly figures\nMIME-Version: 1.0\n\n"
        .to_vec();
    for i in 0..400 {
        text.extend_from_slice(
            format!("Line {i} of the report: revenue, costs and the outlook for next quarter.\n")
                .as_bytes(),
        );
        if i % 50 == 0 {
            text.extend_from_slice(b".a line a client must dot-stuff\n");
        }
    }
    text
}

/// The message's lines as the decoder would output them: canonical CRLF, no CR
/// or NUL inside a line.
fn message_lines() -> Vec<Vec<u8>> {
    let raw = corpus_message().unwrap_or_else(generated_message);
    raw.split(|&b| b == b'\n')
        .map(|line| {
            let mut line: Vec<u8> = line
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != 0)
                .collect();
            line.extend_from_slice(b"\r\n");
            line
        })
        .collect()
}

/// A body of about `size` octets: the message's lines, repeated, whole lines only.
fn body(lines: &[Vec<u8>], size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size + 1024);
    for line in lines.iter().cycle() {
        if body.len() + line.len() > size {
            break;
        }
        body.extend_from_slice(line);
    }
    body
}

/// The body as a client sends it after DATA: dot-stuffed, then `.` CRLF.
fn wire(body: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    dot_stuff(body, &mut wire);
    wire.extend_from_slice(b".\r\n");
    wire
}

/// (name, body, wire) for each size.
fn inputs() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let lines = message_lines();
    SIZES
        .iter()
        .map(|&(name, size)| {
            let body = body(&lines, size);
            let wire = wire(&body);
            (name, body, wire)
        })
        .collect()
}

fn command_parser(c: &mut Criterion) {
    let batch: &[u8] = b"EHLO client.example.org\r\n\
        MAIL FROM:<alice.sender@example.org> SIZE=20480 BODY=8BITMIME\r\n\
        RCPT TO:<bob@example.net>\r\n\
        RCPT TO:<carol.recipient@example.net>\r\n\
        RCPT TO:<postmaster@example.net>\r\n\
        DATA\r\n\
        QUIT\r\n";
    let mut group = c.benchmark_group("command_parser");
    group.throughput(Throughput::Bytes(batch.len() as u64));
    group.bench_function("pipelined_batch", |b| {
        b.iter(|| {
            for line in black_box(batch).split_inclusive(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r\n").unwrap_or(line);
                black_box(parse(line).is_ok());
            }
        })
    });
    group.finish();
}

fn data_decoder(c: &mut Criterion) {
    let mut group = c.benchmark_group("data_decoder");
    for (name, body, wire) in inputs() {
        group.throughput(Throughput::Bytes(wire.len() as u64));
        let mut out = Vec::with_capacity(body.len());
        group.bench_with_input(BenchmarkId::from_parameter(name), &wire, |b, wire| {
            b.iter(|| {
                out.clear();
                let mut decoder = BodyDecoder::new(LIMITS, Framing::Dot, true);
                let (used, ended) = decoder.decode(black_box(wire), &mut out);
                assert!(ended && used == wire.len() && out.len() == body.len());
            })
        });
    }
    group.finish();
}

/// The yardstick: only finding the terminator, with no line, limit or stuffing
/// work; the decoder cannot go faster than this.
fn memmem_terminator(c: &mut Criterion) {
    let mut group = c.benchmark_group("memmem_terminator");
    for (name, _, wire) in inputs() {
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &wire, |b, wire| {
            b.iter(|| memmem::find_iter(black_box(wire), b"\r\n.\r\n").count())
        });
    }
    group.finish();
}

fn dot_stuffing(c: &mut Criterion) {
    let mut group = c.benchmark_group("dot_stuff");
    for (name, body, wire) in inputs() {
        group.throughput(Throughput::Bytes(body.len() as u64));
        let mut out = Vec::with_capacity(wire.len());
        group.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| {
                out.clear();
                dot_stuff(black_box(body), &mut out);
            })
        });
    }
    group.finish();
}

fn session_config() -> SessionConfig {
    SessionConfig {
        hostname: "mx.example.net".into(),
        extensions: Extensions {
            size: LIMITS.max_size,
            eight_bit_mime: true,
            smtputf8: true,
            chunking: true,
            dsn: true,
            starttls: false,
        },
        limits: Limits {
            command_line: 2048,
            body: LIMITS,
            recipients: 1000,
            errors: 20,
            commands: 10_000,
            tarpit_after: 0,
            min_data_rate: 0,
        },
        timeouts: Timeouts {
            command: Duration::from_secs(300),
            data: Duration::from_secs(300),
            under_stress: Duration::from_secs(10),
            session: Duration::from_secs(3600),
            tarpit_delay: Duration::from_secs(1),
            data_rate_window: Duration::from_secs(30),
        },
    }
}

/// One whole session as the shell runs it: greeting, a pipelined transaction,
/// QUIT; input in socket-sized reads, every event answered `Continue`, output
/// drained. Counts messages per second.
fn session(c: &mut Criterion) {
    let config = Rc::new(session_config());
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Elements(1));
    for (name, body, wire) in inputs() {
        let mut client = format!(
            "EHLO client.example.org\r\nMAIL FROM:<alice@example.org> SIZE={} BODY=8BITMIME\r\n\
             RCPT TO:<bob@example.net>\r\nDATA\r\n",
            body.len()
        )
        .into_bytes();
        client.extend_from_slice(&wire);
        client.extend_from_slice(b"QUIT\r\n");
        group.bench_with_input(BenchmarkId::from_parameter(name), &client, |b, client| {
            b.iter(|| {
                let now = Instant::now();
                let mut session = Session::new(Rc::clone(&config), now);
                let mut delivered = 0;
                drive(&mut session, now, &mut delivered);
                for read in black_box(client).chunks(READ_SIZE) {
                    session.receive(now, read);
                    drive(&mut session, now, &mut delivered);
                }
                assert!(session.is_closed() && delivered == body.len());
            })
        });
    }
    group.finish();
}

/// Answers every event with `Continue` and drains the replies, as the shell does.
fn drive(session: &mut Session, now: Instant, delivered: &mut usize) {
    while let Some(event) = session.poll_event() {
        match event {
            Event::Reset | Event::Close => continue,
            Event::Message(message) => *delivered += message.len(),
            _ => {}
        }
        session.decide(now, Verdict::Continue);
    }
    let n = session.transmit().len();
    session.transmitted(n);
}

criterion_group!(
    benches,
    command_parser,
    data_decoder,
    memmem_terminator,
    dot_stuffing,
    session
);
criterion_main!(benches);
