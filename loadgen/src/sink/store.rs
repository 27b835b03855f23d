//! Keeping accepted messages for inspection: `--record` and `--dump-dir`.
//!
//! Both are written before the message is acknowledged, so a test that has
//! seen the 250 can read them at once. The writes are plain blocking file
//! writes: they are small, go to the page cache, and only happen in runs that
//! asked for them; the counting-only path never touches a file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;

use super::record;
use super::smtp::Delivery;

/// One shard's handles for keeping messages.
#[derive(Debug)]
pub(crate) struct Store {
    /// The record file, opened for appending; shards share the open file
    /// and each line is one append, so lines never interleave.
    record: Option<File>,
    /// Where `<seq>.eml` and `<seq>.env` go.
    dump_dir: Option<PathBuf>,
    /// The next dump sequence number of this shard.
    next: u64,
    /// Distance between this shard's sequence numbers (the shard count), so
    /// shards number their dumps without talking to each other: with one
    /// shard the dumps are 1, 2, 3...; with two, shard 0 writes 1, 3, 5...
    step: u64,
}

impl Store {
    /// The store of shard `shard` (from 0) out of `shards`.
    pub(crate) fn new(
        record: Option<File>,
        dump_dir: Option<PathBuf>,
        shard: usize,
        shards: usize,
    ) -> Self {
        Self {
            record,
            dump_dir,
            next: shard as u64 + 1,
            step: shards as u64,
        }
    }

    /// Dumps and records an accepted message, as configured.
    pub(crate) fn keep(&mut self, delivery: &Delivery) -> io::Result<()> {
        if let Some(dir) = &self.dump_dir {
            let seq = self.next;
            self.next += self.step;
            fs::write(dir.join(format!("{seq}.eml")), &delivery.content)?;
            fs::write(dir.join(format!("{seq}.env")), &delivery.transcript)?;
        }
        if let Some(file) = &mut self.record {
            file.write_all(&record::line(delivery))?;
        }
        Ok(())
    }
}
