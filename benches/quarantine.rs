//! Quarantine write throughput: messages made durable per second by one
//! shard's group commit (each file written and fsynced, renamed into its
//! hashed directory, each directory fsynced once per group), for groups of
//! 1 (a quiet shard: every message pays its own fsyncs), 8 and 64 (a busy
//! one: messages that arrive while a group is on disk share the next
//! directory fsyncs). 8 KiB messages, on the file system of the target
//! directory (a real disk, never tmpfs).
//!
//! ```sh
//! cargo bench --bench quarantine -- --warm-up-time 1
//! ```
//!
//! Figures: benches/README.md, "Quarantine".

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ringwall::quarantine::Store;
use ringwall::quarantine::record::{Hit, MailOptions, Recipient, Record};

fn record(id: String) -> Record {
    Record {
        id,
        queue_id: "6745A1B2000000001".into(),
        received_at: 1_795_000_000,
        sender: "bulk@sender.example".into(),
        recipients: vec![Recipient {
            address: "alice@example.net".into(),
            notify: None,
            orcpt: None,
        }],
        mail: MailOptions::default(),
        message_id: "<m@sender.example>".into(),
        subject: "You won".into(),
        from: "Lottery <bulk@sender.example>".into(),
        score: 9.5,
        action: "quarantine".into(),
        rules: vec![Hit {
            rule: "PHISH_LOGIN".into(),
            score: 9.5,
            class: "phishing".into(),
        }],
        client: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
        client_port: 40_000,
        helo: Some("mx.sender.example".into()),
        size: 8_192,
    }
}

fn group_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a directory on disk");
    let store = Store::open(dir.path(), 0).expect("the store opens");
    let message = vec![b'x'; 8_192];
    let mut next = 0u64;
    let mut group = c.benchmark_group("quarantine_commit");
    group.measurement_time(Duration::from_secs(8));
    for size in [1usize, 8, 64] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter(|| {
                let records: Vec<Record> = (0..size)
                    .map(|_| {
                        next += 1;
                        record(format!("B{next:020}"))
                    })
                    .collect();
                let batch: Vec<(&Record, &[u8])> =
                    records.iter().map(|r| (r, message.as_slice())).collect();
                let outcomes = store.commit(&batch);
                assert!(outcomes.iter().all(Result::is_ok));
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = group_commit
}
criterion_main!(benches);
