//! Message analysis (`scan::message::analyse`) over the dev corpus, in
//! messages per second: the MIME walk, decoding, HTML text, links with
//! their public-suffix lookups, and attachment checks, as the content scan
//! runs them once per message. The corpus is read in place from
//! `../shared/corpus/dev` (never copied into the repository); without it
//! the bench has nothing to measure and says so. See benches/README.md.
//!
//! ```sh
//! cargo bench --bench analyse
//! ```

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringwall::scan::message::{ScanLimits, analyse, fixtures};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/dev");

fn corpus(label: &str) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(Path::new(CORPUS).join(label)) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let limits = ScanLimits::default();
    let mut group = c.benchmark_group("analyse");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    for label in ["ham", "spam"] {
        let messages = corpus(label);
        if messages.is_empty() {
            eprintln!("no corpus at {CORPUS}/{label}: nothing to measure");
            continue;
        }
        group.throughput(Throughput::Elements(messages.len() as u64));
        group.bench_function(format!("dev_{label}"), |b| {
            b.iter(|| {
                for message in &messages {
                    black_box(analyse(black_box(message), &limits));
                }
            });
        });
    }
    for (name, bomb) in fixtures::acceptance() {
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter(|| black_box(analyse(black_box(&bomb), &limits)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Plots need fonts the build machines lack; the figures are in the text.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
