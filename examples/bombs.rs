//! The four bombs of the content-analysis acceptance criteria, written out
//! or analysed one per process, so `/usr/bin/time -v` measures each alone.
//!
//! ```sh
//! cargo run --release --example bombs -- write /tmp/bombs      # four .eml files
//! cargo build --release --example bombs
//! for f in /tmp/bombs/*.eml; do
//!     /usr/bin/time -v target/release/examples/bombs analyse "$f"
//! done
//! ```
//!
//! `analyse` reads one message, runs `scan::message::analyse` with the
//! default limits, and prints the time analyse took, the findings and the
//! input size. The peak RSS `/usr/bin/time -v` reports ("Maximum resident
//! set size") includes the message itself, read into memory first, as the
//! proxy holds it.

use std::path::Path;
use std::time::Instant;

use ringwall::scan::message::{ScanLimits, analyse, fixtures};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("write") if args.len() == 2 => write(Path::new(&args[1])),
        Some("analyse") if args.len() >= 2 => {
            for file in &args[1..] {
                run(Path::new(file));
            }
        }
        _ => {
            eprintln!("usage: bombs write DIR | bombs analyse FILE...");
            std::process::exit(2);
        }
    }
}

fn write(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the output directory");
    for (name, message) in fixtures::acceptance() {
        let path = dir.join(name);
        std::fs::write(&path, &message).expect("write a bomb");
        println!("{} ({} octets)", path.display(), message.len());
    }
}

fn run(file: &Path) {
    let raw = std::fs::read(file).expect("read the message");
    let started = Instant::now();
    let analysis = analyse(&raw, &ScanLimits::default());
    let took = started.elapsed();
    println!(
        "{}: {} octets analysed in {:.1} ms",
        file.display(),
        raw.len(),
        took.as_secs_f64() * 1e3
    );
    for finding in &analysis.findings {
        println!(
            "  {} ({:?}): {}",
            finding.rule, finding.class, finding.evidence
        );
    }
}
