//! One shard: a glommio executor with its own listener, sessions and counts.
//!
//! Shards share nothing on the message path. Each binds its own SO_REUSEPORT
//! listener (the kernel spreads connections), counts in plain integers, and
//! looks at the outside world only from a timer: the stop flag, the deadline
//! and, for `--count`, the other shards' published totals.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use glommio::net::TcpListener;

use super::config::SinkConfig;
use super::conn;
use super::counts::Counts;
use super::rng::SplitMix64;
use super::smtp::{Delivery, Outcome, Settings};
use super::store::Store;
use super::verify::Ledger;

/// How often a shard looks at the stop flag, the deadline and the count.
const TICK: Duration = Duration::from_millis(10);

/// Pause after a failed accept (e.g. out of file descriptors) so a
/// persistent error does not spin the core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Everything a shard is handed when its executor starts.
#[derive(Debug)]
pub(crate) struct ShardPlan {
    /// This shard's number, from 0.
    pub(crate) index: usize,
    /// Where to bind (shards after the first get the port shard 0 got).
    pub(crate) listen: SocketAddr,
    /// The run's configuration.
    pub(crate) config: SinkConfig,
    /// This shard's handle on the record file, opened in append mode.
    pub(crate) record: Option<File>,
    /// Set by signals, by [`RunningSink::stop`](super::RunningSink::stop),
    /// or by any shard that sees the deadline or count reached.
    pub(crate) stop: Arc<AtomicBool>,
    /// Accepted messages per shard, published each tick for `--count`.
    pub(crate) progress: Arc<[AtomicU64]>,
    /// When `--duration` runs out.
    pub(crate) deadline: Option<Instant>,
    /// Tells the starter the bound address, or why binding failed.
    pub(crate) bound: Sender<io::Result<SocketAddr>>,
}

/// What a shard's connections share: settings, store, counts.
#[derive(Debug)]
pub(crate) struct ShardState {
    /// Session settings.
    pub(crate) settings: Rc<Settings>,
    /// Pause before answering end-of-data.
    pub(crate) delay: Duration,
    /// This shard's counts.
    counts: Cell<Counts>,
    /// Record file and dump directory.
    store: RefCell<Store>,
    /// The Message-IDs accepted, kept only for `--verify-against`.
    ledger: RefCell<Option<Ledger>>,
}

impl ShardState {
    /// Counts a new connection; returns its number on this shard, from 1.
    fn new_session(&self) -> u64 {
        let mut counts = self.counts.get();
        counts.sessions += 1;
        self.counts.set(counts);
        counts.sessions
    }

    /// Counts one finished message.
    pub(crate) fn count(&self, outcome: Outcome, size: u64) {
        let mut counts = self.counts.get();
        counts.message(outcome, size);
        self.counts.set(counts);
    }

    /// Records, dumps and remembers an accepted message, as configured.
    pub(crate) fn keep(&self, delivery: &Delivery) -> io::Result<()> {
        self.store.borrow_mut().keep(delivery)?;
        if let Some(ledger) = self.ledger.borrow_mut().as_mut() {
            ledger.remember(&delivery.content);
        }
        Ok(())
    }
}

/// Runs a shard until the stop flag is set; returns its counts and, for
/// `--verify-against`, the Message-IDs it accepted.
pub(crate) async fn run(mut plan: ShardPlan) -> (Counts, Option<Ledger>) {
    let listener = match TcpListener::bind(plan.listen) {
        Ok(listener) => listener,
        Err(error) => {
            let _ = plan.bound.send(Err(error.into()));
            return (Counts::default(), None);
        }
    };
    let _ = plan
        .bound
        .send(listener.local_addr().map_err(io::Error::from));
    let shards = plan.progress.len();
    let state = Rc::new(ShardState {
        settings: Rc::new(Settings::new(&plan.config)),
        delay: plan.config.delay,
        counts: Cell::new(Counts::default()),
        store: RefCell::new(Store::new(
            plan.record.take(),
            plan.config.dump_dir.clone(),
            plan.index,
            shards,
        )),
        ledger: RefCell::new(plan.config.verify_against.is_some().then(Ledger::default)),
    });
    // The acceptor is a task of its own, polled only when a connection
    // comes. Raced against the watch's tick instead, the pending accept was
    // polled a hundred times a second and glommio, which registers a waiter
    // on every poll, panicked ("Waker invariant broken") after about 32,000.
    let acceptor = glommio::spawn_local(accept(
        listener,
        plan.index,
        plan.config.seed,
        Rc::clone(&state),
    ));
    watch(&plan, &state).await;
    acceptor.cancel().await;
    (state.counts.get(), state.ledger.take())
}

/// Accepts connections forever, one task per connection.
async fn accept(listener: TcpListener, shard: usize, seed: u64, state: Rc<ShardState>) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                // Each session has its own dice, derived from the seed, the
                // shard and the session number: replayable, independent.
                let stream_id = ((shard as u64) << 40) | state.new_session();
                let dice = SplitMix64::for_stream(seed, stream_id);
                glommio::spawn_local(conn::serve(stream, Rc::clone(&state), dice)).detach();
            }
            Err(error) => {
                eprintln!("ringwall-loadgen sink: shard {shard} cannot accept: {error}");
                glommio::timer::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Returns when the sink should stop, setting the shared flag if this shard
/// is the one that noticed the deadline or the count.
async fn watch(plan: &ShardPlan, state: &ShardState) {
    loop {
        glommio::timer::sleep(TICK).await;
        if plan.stop.load(Ordering::Relaxed) {
            return;
        }
        let expired = plan
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline);
        let enough = plan.config.count.is_some_and(|count| {
            plan.progress[plan.index].store(state.counts.get().accepted, Ordering::Relaxed);
            let total: u64 = plan
                .progress
                .iter()
                .map(|shard| shard.load(Ordering::Relaxed))
                .sum();
            total >= count
        });
        if expired || enough {
            plan.stop.store(true, Ordering::Relaxed);
            return;
        }
    }
}
