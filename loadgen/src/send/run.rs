//! Starting a run on its shards, watching it, and collecting the result.
//!
//! [`start`] prepares everything (files, addresses, certificates) before
//! any executor exists, so configuration errors come back at once;
//! [`RunningSend::wait`] merges the shards' stats when they are done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

use super::clock::Utc;
use super::config::SendConfig;
use super::error::SendError;
use super::plan::RunPlan;
use super::result::RunResult;
use super::shard::{self, Published, ShardPlan, ShardReport};
use super::stats::{self, Stats};
use crate::cpus;

/// Memory glommio registers with io_uring for file IO, per shard: the
/// sender does none, so the minimum.
const IO_MEMORY: usize = 64 * 1024;

/// A snapshot of a run in progress, for a live progress line.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Since the run started.
    pub elapsed: Duration,
    /// Messages accepted so far, warm-up included.
    pub accepted: u64,
    /// Messages ended by an error so far, warm-up included.
    pub errors: u64,
    /// 99th percentile of the measured message latency so far, if any
    /// message was measured yet.
    pub p99: Option<Duration>,
    /// Every shard has finished.
    pub done: bool,
}

/// A run in progress; [`wait`](Self::wait) for its result. Dropping it
/// stops it.
#[derive(Debug)]
pub struct RunningSend {
    plan: Arc<RunPlan>,
    stop: Arc<AtomicBool>,
    shards: Vec<ExecutorJoinHandle<ShardReport>>,
    published: Vec<Arc<Mutex<Published>>>,
    started: Instant,
}

/// Starts a run on its shards and returns at once.
pub fn start(config: SendConfig) -> Result<RunningSend, SendError> {
    let plan = Arc::new(RunPlan::prepare(config)?);
    let shards = plan.config.shards.get();
    let allowed_cpus = cpus::allowed();
    let pin = plan.config.pin && shards <= allowed_cpus.len();
    let mut running = RunningSend {
        plan: Arc::clone(&plan),
        stop: Arc::new(AtomicBool::new(false)),
        shards: Vec::with_capacity(shards),
        published: (0..shards)
            .map(|_| Arc::new(Mutex::new(Published::default())))
            .collect(),
        started: Instant::now(),
    };
    for index in 0..shards {
        let shard_plan = ShardPlan {
            index,
            run: Arc::clone(&plan),
            stop: running.stop_flag(),
            published: Arc::clone(&running.published[index]),
        };
        let placement = match allowed_cpus.get(index) {
            Some(&cpu) if pin => Placement::Fixed(cpu),
            _ => Placement::Unbound,
        };
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("send-{index}"))
            .io_memory(IO_MEMORY)
            .spawn(move || shard::run(shard_plan))
            .map_err(|error| SendError::Executor {
                shard: index,
                reason: error.to_string(),
            })?;
        running.shards.push(handle);
    }
    Ok(running)
}

/// Runs to the end and returns the result: [`start`], then
/// [`RunningSend::wait`].
pub fn run(config: SendConfig) -> Result<RunResult, SendError> {
    start(config)?.wait()
}

impl RunningSend {
    /// The flag that stops the run when set, for signal handlers: sessions
    /// finish the message in hand, say QUIT and the result is collected.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Asks every shard to stop (see [`stop_flag`](Self::stop_flag)).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The run so far, as the shards last published it (every 100 ms).
    pub fn progress(&self) -> Progress {
        let mut latency = stats::histogram();
        let (mut accepted, mut errors, mut done) = (0, 0, true);
        for shared in &self.published {
            let Ok(published) = shared.lock() else {
                continue;
            };
            accepted += published.accepted;
            errors += published.errors;
            // A shard whose executor is gone (even by a panic) has dropped
            // its handle on `published`: it is done too.
            done &= published.done || Arc::strong_count(shared) == 1;
            let _ = latency.add(&published.latency);
        }
        Progress {
            elapsed: self.started.elapsed(),
            accepted,
            errors,
            p99: (!latency.is_empty())
                .then(|| Duration::from_micros(latency.value_at_quantile(0.99))),
            done,
        }
    }

    /// Waits for every shard and returns the merged result, or the error
    /// that stopped the run at its first session.
    pub fn wait(mut self) -> Result<RunResult, SendError> {
        let mut reports = Vec::with_capacity(self.shards.len());
        for (shard, handle) in std::mem::take(&mut self.shards).into_iter().enumerate() {
            reports.push(handle.join().map_err(|error| SendError::Executor {
                shard,
                reason: error.to_string(),
            })?);
        }
        if let Some(reason) = reports.iter().find_map(|report| report.fatal.clone()) {
            return Err(SendError::Setup {
                server: self.plan.config.server,
                reason,
            });
        }
        let mut stats = Stats::default();
        for report in &reports {
            stats.merge(&report.stats);
        }
        let window_start = reports.iter().map(|r| r.measure_start).min();
        let window_end = reports.iter().map(|r| r.finished).max();
        let duration_secs = match (window_start, window_end) {
            (Some(start), Some(end)) => end.saturating_duration_since(start).as_secs_f64(),
            _ => 0.0,
        };
        let run_id = &self.plan.run_id;
        let ids = reports
            .iter()
            .enumerate()
            .flat_map(|(shard, report)| {
                report
                    .accepted
                    .iter()
                    .map(move |&seq| run_id.id(shard, seq))
            })
            .collect();
        Ok(RunResult::new(
            self.plan.config.clone(),
            run_id.as_str().to_owned(),
            Utc::from(self.plan.started_at).rfc3339(),
            duration_secs,
            &stats,
            ids,
        ))
    }
}

impl Drop for RunningSend {
    fn drop(&mut self) {
        self.stop();
    }
}
