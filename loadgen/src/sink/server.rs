//! Starting and stopping a sink: shards on executors, bound before returning.
//!
//! [`start`] returns only once every shard is listening, so a caller can
//! connect to [`RunningSink::local_addr`] at once. With port 0, shard 0 binds
//! first and the others bind the port it got (SO_REUSEPORT).

use std::fs::{self, OpenOptions};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

use super::config::SinkConfig;
use super::counts::Counts;
use super::shard::{self, ShardPlan};
use super::verify::{self, Ledger, Verification, VerifyError};
use crate::cpus;

/// Memory glommio registers with io_uring for file IO, per shard. The sink
/// does no file IO through glommio, so it takes the minimum and leaves the
/// locked-memory limit to the proxy it is testing.
const IO_MEMORY: usize = 64 * 1024;

/// Why a sink could not start or did not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// `--record` could not be opened for appending.
    #[error("cannot open record file {}: {source}", path.display())]
    Record {
        /// The record file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// `--dump-dir` could not be created.
    #[error("cannot create dump directory {}: {source}", path.display())]
    DumpDir {
        /// The dump directory.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A shard could not bind the listen address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// A shard's executor could not be created (io_uring unavailable, the
    /// locked-memory limit too low, a CPU that does not exist...).
    #[error("cannot start sink shard {shard}: {reason}")]
    Executor {
        /// The shard number.
        shard: usize,
        /// What glommio said.
        reason: String,
    },
    /// The sender's result for `--verify-against` could not be read.
    #[error("cannot verify: {0}")]
    Verify(#[from] VerifyError),
}

/// A sink that is listening; stop it with [`stop`](Self::stop) (or let the
/// count, duration or a signal stop it) and collect its counts with
/// [`wait`](Self::wait). Dropping it stops it too.
#[derive(Debug)]
pub struct RunningSink {
    /// The address every shard listens on.
    local_addr: SocketAddr,
    /// The flag every shard watches.
    stop: Arc<AtomicBool>,
    /// One executor per shard, each returning its counts and, when
    /// verifying, the Message-IDs it accepted.
    shards: Vec<ExecutorJoinHandle<(Counts, Option<Ledger>)>>,
    /// The sender's result to verify against, read once the shards stop.
    verify_against: Option<PathBuf>,
}

impl RunningSink {
    /// The bound address, with the real port when the config said port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The flag that stops the sink when set, for signal handlers
    /// (see [`signals::stop_on_signals`](crate::signals::stop_on_signals)).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Asks every shard to stop; they do within a few milliseconds, dropping
    /// open connections.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits until the sink stops and returns the counts of all shards
    /// added up. Without [`stop`](Self::stop), a count, a duration or a
    /// signal, this waits forever.
    pub fn wait(mut self) -> Result<Counts, SinkError> {
        self.join().map(|(counts, _)| counts)
    }

    /// Like [`wait`](Self::wait), then, if the config named a sender's
    /// result in `verify_against`, reads it and checks that every message
    /// the sender saw 250 for was accepted exactly once.
    pub fn wait_and_verify(mut self) -> Result<(Counts, Option<Verification>), SinkError> {
        let (counts, ledger) = self.join()?;
        let Some(path) = self.verify_against.take() else {
            return Ok((counts, None));
        };
        let sender = verify::read_sender_ids(&path)?;
        Ok((counts, Some(verify::reconcile(&sender, ledger.ids()))))
    }

    /// Waits for every shard; adds up their counts and joins their ledgers.
    fn join(&mut self) -> Result<(Counts, Ledger), SinkError> {
        let mut total = Counts::default();
        let mut joined = Ledger::default();
        for (shard, handle) in std::mem::take(&mut self.shards).into_iter().enumerate() {
            let (counts, ledger) = handle.join().map_err(|error| SinkError::Executor {
                shard,
                reason: error.to_string(),
            })?;
            total += counts;
            joined.append(ledger.unwrap_or_default());
        }
        Ok((total, joined))
    }
}

impl Drop for RunningSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a sink and returns once all its shards are listening.
pub fn start(config: SinkConfig) -> Result<RunningSink, SinkError> {
    let record = match &config.record {
        Some(path) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| SinkError::Record {
                    path: path.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    if let Some(path) = &config.dump_dir {
        fs::create_dir_all(path).map_err(|source| SinkError::DumpDir {
            path: path.clone(),
            source,
        })?;
    }
    let shards = config.shards.get();
    let allowed_cpus = cpus::allowed();
    let pin = config.pin && shards <= allowed_cpus.len();
    let progress: Arc<[AtomicU64]> = (0..shards).map(|_| AtomicU64::new(0)).collect();
    let deadline = config.duration.map(|duration| Instant::now() + duration);
    let mut running = RunningSink {
        local_addr: config.listen,
        stop: Arc::new(AtomicBool::new(false)),
        shards: Vec::with_capacity(shards),
        verify_against: config.verify_against.clone(),
    };
    for index in 0..shards {
        let record = match (&record, &config.record) {
            (Some(file), Some(path)) => {
                Some(file.try_clone().map_err(|source| SinkError::Record {
                    path: path.clone(),
                    source,
                })?)
            }
            _ => None,
        };
        let (bound, bind_result) = mpsc::channel();
        let plan = ShardPlan {
            index,
            listen: running.local_addr,
            config: config.clone(),
            record,
            stop: running.stop_flag(),
            progress: Arc::clone(&progress),
            deadline,
            bound,
        };
        let placement = match allowed_cpus.get(index) {
            Some(&cpu) if pin => Placement::Fixed(cpu),
            _ => Placement::Unbound,
        };
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("sink-{index}"))
            .io_memory(IO_MEMORY)
            .spawn(move || shard::run(plan))
            .map_err(|error| SinkError::Executor {
                shard: index,
                reason: error.to_string(),
            })?;
        match bind_result.recv() {
            Ok(Ok(addr)) => running.local_addr = addr,
            Ok(Err(source)) => {
                return Err(SinkError::Bind {
                    addr: running.local_addr,
                    source,
                });
            }
            // The executor died before running the shard: its join handle
            // holds the reason.
            Err(mpsc::RecvError) => {
                let reason = match handle.join() {
                    Err(error) => error.to_string(),
                    Ok(_) => "the shard ended before binding".to_owned(),
                };
                return Err(SinkError::Executor {
                    shard: index,
                    reason,
                });
            }
        }
        running.shards.push(handle);
    }
    Ok(running)
}
