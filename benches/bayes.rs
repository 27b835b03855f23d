//! The statistical classifier over the corpus, in messages per second:
//! tokenising an analysed message and classifying it against a snapshot
//! trained on the train split (what a shard adds per message to the
//! analysis it already does), the same from raw octets (analysis included,
//! the figure to set beside bogofilter's), and training: learning the
//! train split's tokens, and from raw octets. The corpus is read in place
//! from `../shared/corpus` (never copied into the repository); without it
//! the bench has nothing to measure and says so.
//!
//! ```sh
//! cargo bench --bench bayes -- --warm-up-time 1
//! ```
//!
//! Measured 2026-11-27 on the 2-core development machine (shared with
//! another engineer's builds: ±10 %), one core, snapshot of 474,977
//! tokens, median of criterion's estimate:
//!
//! | bench | per message | messages/s |
//! | --- | --- | --- |
//! | `tokenise_classify_dev` (1,000 dev messages) | 64 µs | 15,500 |
//! | `analyse_tokenise_classify_dev` | 141 µs | 7,100 |
//! | `learn_train_tokens` (4,046 train messages) | 19 µs | 52,700 |
//! | `analyse_tokenise_learn_train` | 97 µs | 10,300 (4,046 in 0.39 s) |
//! | `snapshot_of_train` (the whole snapshot) | 10.3 ms | |

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringwall::bayes::{Class, Classifier, Day, Snapshot, TokenStore, Tokens};
use ringwall::scan::message::{Analysis, ScanLimits, analyse};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// The raw messages of one split, ham then spam, by file name.
fn corpus(split: &str) -> Vec<(Class, Vec<u8>)> {
    let mut messages = Vec::new();
    for (label, class) in [("ham", Class::Ham), ("spam", Class::Spam)] {
        let Ok(entries) = std::fs::read_dir(Path::new(CORPUS).join(split).join(label)) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        files.sort();
        messages.extend(
            files
                .iter()
                .filter_map(|path| Some((class, std::fs::read(path).ok()?))),
        );
    }
    messages
}

fn bench(c: &mut Criterion) {
    let limits = ScanLimits::default();
    let (train, dev) = (corpus("train"), corpus("dev"));
    if train.is_empty() || dev.is_empty() {
        eprintln!("no corpus at {CORPUS}: nothing to measure");
        return;
    }
    let train_tokens: Vec<(Class, Vec<u64>)> = train
        .iter()
        .map(|(class, raw)| {
            (
                *class,
                Tokens::of(&analyse(raw, &limits)).as_slice().to_vec(),
            )
        })
        .collect();
    let learn = |tokens: &[(Class, Vec<u64>)]| {
        let mut store = TokenStore::new();
        for (class, t) in tokens {
            store.learn(t, *class, Day(0));
        }
        store
    };
    let snapshot = Snapshot::of(&learn(&train_tokens), Classifier::default());
    let analyses: Vec<Analysis> = dev.iter().map(|(_, raw)| analyse(raw, &limits)).collect();

    let mut group = c.benchmark_group("bayes");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(dev.len() as u64));
    group.bench_function("tokenise_classify_dev", |b| {
        let mut tokens = Tokens::new();
        b.iter(|| {
            for analysis in &analyses {
                tokens.fill(analysis);
                black_box(snapshot.classify(tokens.as_slice()));
            }
        });
    });
    group.bench_function("analyse_tokenise_classify_dev", |b| {
        let mut tokens = Tokens::new();
        b.iter(|| {
            for (_, raw) in &dev {
                tokens.fill(&analyse(raw, &limits));
                black_box(snapshot.classify(tokens.as_slice()));
            }
        });
    });
    group.throughput(Throughput::Elements(train.len() as u64));
    group.bench_function("learn_train_tokens", |b| {
        b.iter(|| black_box(learn(&train_tokens)));
    });
    group.bench_function("analyse_tokenise_learn_train", |b| {
        let mut tokens = Tokens::new();
        b.iter(|| {
            let mut store = TokenStore::new();
            for (class, raw) in &train {
                tokens.fill(&analyse(raw, &limits));
                store.learn(tokens.as_slice(), *class, Day(0));
            }
            black_box(store)
        });
    });
    group.bench_function("snapshot_of_train", |b| {
        let store = learn(&train_tokens);
        b.iter(|| black_box(Snapshot::of(&store, Classifier::default())));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Plots need fonts the build machines lack; the figures are in the text.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
