//! One shard: a glommio executor running its share of the sessions.
//!
//! Shards share nothing while they send. Each counts in plain integers,
//! numbers its own messages (the shard is part of the Message-ID, so no
//! shared counter is needed) and looks at the outside world only from a
//! timer: the stop flag, and the progress it publishes for the live line.

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_lite::future;
use futures_rustls::TlsConnector;
use glommio::timer::sleep;
use hdrhistogram::Histogram;
use rustls::pki_types::ServerName;

use super::messages::Picker;
use super::plan::RunPlan;
use super::schedule::{self, Schedule};
use super::session::{Connection, Failure, Setup};
use super::stats::{self, Fate, Stats};

/// How often a shard looks at the stop flag and publishes its progress.
const TICK: Duration = Duration::from_millis(100);

/// Pause after a connection could not be set up, so a dead server costs
/// a few attempts per session per second instead of a spinning core.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// What a shard shows the live progress line, refreshed every tick.
#[derive(Debug)]
pub(crate) struct Published {
    /// Messages accepted so far, warm-up included.
    pub(crate) accepted: u64,
    /// Messages ended by an error so far, warm-up included.
    pub(crate) errors: u64,
    /// Message latency of the measured messages so far.
    pub(crate) latency: Histogram<u64>,
    /// The shard has finished.
    pub(crate) done: bool,
}

impl Default for Published {
    fn default() -> Self {
        Self {
            accepted: 0,
            errors: 0,
            latency: stats::histogram(),
            done: false,
        }
    }
}

/// Everything a shard is handed when its executor starts.
#[derive(Debug)]
pub(crate) struct ShardPlan {
    /// This shard's number, from 0.
    pub(crate) index: usize,
    /// The run.
    pub(crate) run: Arc<RunPlan>,
    /// Set by signals, by [`RunningSend::stop`](super::RunningSend::stop),
    /// or by a shard whose first session failed.
    pub(crate) stop: Arc<AtomicBool>,
    /// Where this shard publishes its progress.
    pub(crate) published: Arc<Mutex<Published>>,
}

/// What a shard measured, handed back when it ends.
#[derive(Debug)]
pub(crate) struct ShardReport {
    /// Its stats.
    pub(crate) stats: Stats,
    /// Sequence numbers of the messages accepted at end of data.
    pub(crate) accepted: Vec<u64>,
    /// When the measured window began.
    pub(crate) measure_start: Instant,
    /// When the last message ended (sessions may have gone on to QUIT).
    pub(crate) finished: Instant,
    /// Why the first session could not be set up, if it could not.
    pub(crate) fatal: Option<String>,
}

/// One message to send.
#[derive(Debug)]
pub(crate) struct Job {
    /// Its number on this shard (part of its Message-ID).
    pub(crate) seq: u64,
    /// Which template.
    pub(crate) template: usize,
    /// When it was due: the open loop's schedule, or when the closed loop
    /// took it. Message latency counts from here.
    pub(crate) due: Instant,
    /// Due after the warm-up: counted and timed.
    pub(crate) measured: bool,
}

/// The state a shard's sessions share.
pub(crate) struct Shard {
    index: usize,
    run: Arc<RunPlan>,
    /// This shard's TLS connector and the server name, when STARTTLS is on.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    stats: RefCell<Stats>,
    accepted: RefCell<Vec<u64>>,
    /// (accepted, errors) including the warm-up, for the live line.
    live: Cell<(u64, u64)>,
    picker: RefCell<Picker>,
    next_seq: Cell<u64>,
    next_source: Cell<usize>,
    /// The open loop's schedule; `None` in the closed loop.
    schedule: Option<Schedule>,
    measure_start: Instant,
    deadline: Option<Instant>,
    /// This shard's share of `--count`.
    count: Option<u64>,
    measured_started: Cell<u64>,
    /// When the last message ended: the end of the measured window.
    last_end: Cell<Instant>,
    /// No more messages: the deadline or the count was reached.
    exhausted: Cell<bool>,
    /// Stopped from outside (signal, [`RunningSend::stop`], a failed
    /// shard): waits are cut short too.
    ///
    /// [`RunningSend::stop`]: super::RunningSend::stop
    interrupted: Cell<bool>,
}

impl Shard {
    /// The state of shard `plan.index`, starting at `start`.
    fn new(plan: &ShardPlan, start: Instant) -> Self {
        let run = Arc::clone(&plan.run);
        let config = &run.config;
        let shards = config.shards.get();
        let measure_start = start + config.warmup;
        Self {
            index: plan.index,
            tls: run.tls.as_ref().map(|tls| (tls.connector(), tls.name())),
            stats: RefCell::new(Stats::default()),
            accepted: RefCell::new(Vec::new()),
            live: Cell::new((0, 0)),
            picker: RefCell::new(run.messages.picker(plan.index)),
            next_seq: Cell::new(0),
            next_source: Cell::new(plan.index),
            schedule: config
                .rate
                .map(|rate| Schedule::new(start, rate, shards, plan.index)),
            measure_start,
            deadline: config.duration.map(|duration| measure_start + duration),
            count: config
                .count
                .map(|count| schedule::share(count, shards, plan.index)),
            measured_started: Cell::new(0),
            last_end: Cell::new(start),
            exhausted: Cell::new(false),
            interrupted: Cell::new(false),
            run,
        }
    }

    /// The run's plan.
    pub(crate) fn plan(&self) -> &RunPlan {
        &self.run
    }

    /// This shard's number.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// The TLS connector and server name, when STARTTLS is on.
    pub(crate) fn tls(&self) -> Option<(&TlsConnector, ServerName<'static>)> {
        self.tls
            .as_ref()
            .map(|(connector, name)| (connector, name.clone()))
    }

    /// Updates the stats if `measured` (warm-up samples are dropped).
    pub(crate) fn record(&self, measured: bool, update: impl FnOnce(&mut Stats)) {
        if measured {
            update(&mut self.stats.borrow_mut());
        }
    }

    /// Notes that message `seq` was accepted (warm-up included: the sink's
    /// check needs every accepted message).
    pub(crate) fn accepted(&self, seq: u64) {
        self.accepted.borrow_mut().push(seq);
    }

    /// Whether it is past the warm-up now.
    fn measuring_now(&self) -> bool {
        Instant::now() >= self.measure_start
    }

    /// The source address of the next connection.
    fn next_source(&self) -> Option<IpAddr> {
        let sources = &self.run.sources;
        if sources.is_empty() {
            return None;
        }
        let next = self.next_source.get();
        self.next_source.set(next + 1);
        Some(sources[next % sources.len()])
    }

    /// The next message, or `None` once the run is over for this shard
    /// (stopped, past the deadline, or its share of the count started).
    fn next_job(&self) -> Option<Job> {
        if self.exhausted.get() || self.interrupted.get() {
            return None;
        }
        let now = Instant::now();
        let seq = self.next_seq.get();
        let due = self.schedule.map_or(now, |schedule| schedule.due(seq));
        let measured = due >= self.measure_start;
        let past_deadline = self
            .deadline
            .is_some_and(|deadline| now >= deadline || due >= deadline);
        let counted_out = measured
            && self
                .count
                .is_some_and(|count| self.measured_started.get() >= count);
        if past_deadline || counted_out {
            self.exhausted.set(true);
            return None;
        }
        if measured {
            self.measured_started.set(self.measured_started.get() + 1);
        }
        self.next_seq.set(seq + 1);
        Some(Job {
            seq,
            template: self.picker.borrow_mut().next(),
            due,
            measured,
        })
    }

    /// Counts the end of `job`.
    fn finish(&self, job: &Job, fate: Fate) {
        self.last_end.set(Instant::now());
        let (accepted, errors) = self.live.get();
        self.live.set(match fate {
            Fate::Accepted => (accepted + 1, errors),
            Fate::Error => (accepted, errors + 1),
            Fate::Tempfailed | Fate::Rejected => (accepted, errors),
        });
        self.record(job.measured, |stats| stats.fate(fate));
    }

    /// Counts `job` as ended by `failure`.
    fn fail(&self, job: &Job, failure: &Failure) {
        self.finish(job, Fate::Error);
        self.record(job.measured, |stats| stats.error(&failure.to_string()));
    }

    /// Sleeps until `until`, waking every tick to see whether the run was
    /// interrupted meanwhile; returns whether it was (a long think time or
    /// a slow schedule must not hold up Ctrl-C).
    async fn sleep_until(&self, until: Instant) -> bool {
        loop {
            if self.interrupted.get() {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            sleep((until - now).min(TICK)).await;
        }
    }

    /// Sleeps for `duration` (see [`sleep_until`](Self::sleep_until)).
    async fn pause(&self, duration: Duration) {
        if !duration.is_zero() {
            self.sleep_until(Instant::now() + duration).await;
        }
    }

    /// Copies the progress to where the reporting thread reads it.
    fn publish(&self, published: &Mutex<Published>, done: bool) {
        let Ok(mut published) = published.lock() else {
            return;
        };
        (published.accepted, published.errors) = self.live.get();
        let _ = published
            .latency
            .set_to(self.stats.borrow().message_latency());
        published.done = done;
    }
}

/// Runs a shard until its sessions are done; returns what it measured.
pub(crate) async fn run(plan: ShardPlan) -> ShardReport {
    let start = Instant::now();
    let shard = Rc::new(Shard::new(&plan, start));
    // The first session is set up alone: if it fails with an error (not a
    // reply), nothing can work and the run stops with that error.
    let mut first = match Connection::open(&shard, shard.next_source(), shard.measuring_now()).await
    {
        Setup::Ready(connection) => Some(connection),
        Setup::Refused(_) => None,
        Setup::Failed(failure) => {
            plan.stop.store(true, Ordering::Relaxed);
            shard.publish(&plan.published, true);
            return report(shard, Some(failure.to_string()));
        }
    };
    let tasks: Vec<_> = (0..session_share(&plan))
        .map(|_| glommio::spawn_local(session(Rc::clone(&shard), first.take())))
        .collect();
    let sessions = async {
        for task in tasks {
            task.await;
        }
    };
    future::or(sessions, watch(&shard, &plan)).await;
    shard.publish(&plan.published, true);
    report(shard, None)
}

/// This shard's share of `--sessions`.
fn session_share(plan: &ShardPlan) -> u64 {
    let config = &plan.run.config;
    schedule::share(
        config.sessions.get() as u64,
        config.shards.get(),
        plan.index,
    )
}

/// The report of a shard whose sessions are done.
fn report(shard: Rc<Shard>, fatal: Option<String>) -> ShardReport {
    ShardReport {
        stats: shard.stats.take(),
        accepted: std::mem::take(&mut shard.accepted.borrow_mut()),
        measure_start: shard.measure_start,
        finished: shard.last_end.get(),
        fatal,
    }
}

/// Every tick: publishes progress and passes on the stop flag. Never
/// returns; the shard stops waiting for it when its sessions are done.
async fn watch(shard: &Shard, plan: &ShardPlan) {
    loop {
        sleep(TICK).await;
        if plan.stop.load(Ordering::Relaxed) {
            shard.interrupted.set(true);
        }
        shard.publish(&plan.published, false);
    }
}

/// One session slot: sends messages while there are jobs, over one
/// connection at a time, reconnecting after `--messages-per-session`
/// messages or a failure.
async fn session(shard: Rc<Shard>, mut connection: Option<Connection>) {
    let config = &shard.plan().config;
    let per_session = config.messages_per_session;
    let think = config.think;
    while let Some(job) = shard.next_job() {
        if shard.sleep_until(job.due).await {
            // Stopped while waiting for the schedule: the message was never
            // attempted.
            break;
        }
        let mut open = match connection.take() {
            Some(open) => open,
            None => match Connection::open(&shard, shard.next_source(), job.measured).await {
                Setup::Ready(open) => open,
                Setup::Refused(code) => {
                    shard.finish(&job, Fate::of_refusal(code));
                    shard.pause(think).await;
                    continue;
                }
                Setup::Failed(failure) => {
                    shard.fail(&job, &failure);
                    shard.pause(think.max(ERROR_BACKOFF)).await;
                    continue;
                }
            },
        };
        let last = per_session != 0 && open.messages() + 1 >= per_session;
        match open.send(&shard, &job).await {
            Ok(fate) => {
                shard.finish(&job, fate);
                if last {
                    open.quit(&shard, job.measured).await;
                } else if open.is_open() {
                    connection = Some(open);
                }
            }
            Err(failure) => shard.fail(&job, &failure),
        }
        shard.pause(think).await;
    }
    if let Some(open) = connection {
        open.quit(&shard, shard.measuring_now()).await;
    }
}
