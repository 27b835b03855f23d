//! Starting and stopping the emulator: one executor serving UDP and TCP on
//! the same port, bound before [`start`] returns.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use glommio::net::{TcpListener, UdpSocket};
use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

use super::answer::Responder;
use super::config::DnsblConfig;
use super::counts::{Counters, Counts};
use super::service::Service;
use super::zones::{ZoneError, Zones};
use super::{tcp, udp};

/// Memory glommio registers with io_uring for file IO; the emulator does
/// none, so it takes the minimum.
const IO_MEMORY: usize = 64 * 1024;

/// How often the executor looks at the stop flag and the deadline.
const TICK: Duration = Duration::from_millis(10);

/// With port 0, how many free UDP ports to try before giving up on finding
/// one whose TCP twin is free too.
const BIND_ATTEMPTS: usize = 16;

/// Why the emulator could not start or did not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum DnsblError {
    /// The zones, listings and error codes do not fit together.
    #[error(transparent)]
    Zones(#[from] ZoneError),
    /// `loss` or `servfail` is not a share from 0 to 1.
    #[error("{what} must be from 0 to 1, not {value}")]
    Fraction {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// The address could not be bound for UDP or TCP.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The executor could not be created or died (io_uring unavailable,
    /// the locked-memory limit too low...).
    #[error("cannot run the DNSBL emulator: {0}")]
    Executor(String),
}

/// An emulator that is answering; stop it with [`stop`](Self::stop) (or
/// let the duration or a signal stop it) and collect its counts with
/// [`wait`](Self::wait). Dropping it stops it too.
#[derive(Debug)]
pub struct RunningDnsbl {
    /// The address served over UDP and TCP.
    local_addr: SocketAddr,
    /// The flag the executor watches.
    stop: Arc<AtomicBool>,
    /// Live counts, bumped by the executor.
    counters: Arc<Counters>,
    /// The executor; taken by `wait`.
    executor: Option<ExecutorJoinHandle<()>>,
}

impl RunningDnsbl {
    /// The bound address (UDP and TCP), with the real port when the config
    /// said port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The flag that stops the emulator when set, for signal handlers
    /// (see [`signals::stop_on_signals`](crate::signals::stop_on_signals)).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Asks the emulator to stop; it does within a few milliseconds.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The counts so far, while it runs: a query is counted as soon as it
    /// is received, before any latency.
    pub fn counts(&self) -> Counts {
        self.counters.read()
    }

    /// Waits until the emulator stops and returns its final counts. Without
    /// [`stop`](Self::stop), a duration or a signal, this waits forever.
    pub fn wait(mut self) -> Result<Counts, DnsblError> {
        if let Some(executor) = self.executor.take() {
            executor
                .join()
                .map_err(|error| DnsblError::Executor(error.to_string()))?;
        }
        Ok(self.counters.read())
    }
}

impl Drop for RunningDnsbl {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything the executor is handed.
struct Plan {
    /// Where to bind.
    listen: SocketAddr,
    /// Decides answers.
    responder: Responder,
    /// Where queries are counted.
    counters: Arc<Counters>,
    /// Delay before each answer.
    latency: Duration,
    /// Set to stop.
    stop: Arc<AtomicBool>,
    /// When `duration` runs out.
    deadline: Option<Instant>,
    /// Tells the starter the bound address, or why binding failed.
    bound: mpsc::Sender<io::Result<SocketAddr>>,
}

/// Starts an emulator and returns once it is listening on UDP and TCP.
pub fn start(config: DnsblConfig) -> Result<RunningDnsbl, DnsblError> {
    for (what, value) in [("loss", config.loss), ("servfail", config.servfail)] {
        if !(0.0..=1.0).contains(&value) {
            return Err(DnsblError::Fraction { what, value });
        }
    }
    let zones = Zones::new(&config)?;
    let counters = Arc::new(Counters::new(zones.names()));
    let stop = Arc::new(AtomicBool::new(false));
    let (bound, bind_result) = mpsc::channel();
    let plan = Plan {
        listen: config.listen,
        responder: Responder::new(&config, zones),
        counters: Arc::clone(&counters),
        latency: config.latency,
        stop: Arc::clone(&stop),
        deadline: config.duration.map(|duration| Instant::now() + duration),
        bound,
    };
    let executor = LocalExecutorBuilder::new(Placement::Unbound)
        .name("dnsbl")
        .io_memory(IO_MEMORY)
        .spawn(move || run(plan))
        .map_err(|error| DnsblError::Executor(error.to_string()))?;
    let local_addr = match bind_result.recv() {
        Ok(Ok(addr)) => addr,
        Ok(Err(source)) => {
            return Err(DnsblError::Bind {
                addr: config.listen,
                source,
            });
        }
        // The executor died before binding: its join handle holds why.
        Err(mpsc::RecvError) => {
            let reason = match executor.join() {
                Err(error) => error.to_string(),
                Ok(()) => "the executor ended before binding".to_owned(),
            };
            return Err(DnsblError::Executor(reason));
        }
    };
    Ok(RunningDnsbl {
        local_addr,
        stop,
        counters,
        executor: Some(executor),
    })
}

/// The executor's task: bind, report, serve until told to stop.
async fn run(plan: Plan) {
    let (socket, listener) = match bind(plan.listen) {
        Ok(bound) => bound,
        Err(error) => {
            let _ = plan.bound.send(Err(error));
            return;
        }
    };
    let _ = plan
        .bound
        .send(socket.local_addr().map_err(io::Error::from));
    let service = Rc::new(Service::new(plan.responder, plan.counters, plan.latency));
    // Each server loop is a task of its own, polled only when its socket has
    // something. Raced with each other and the watch's tick, a pending
    // receive or accept was polled on every wake of the others, and glommio,
    // which registers a waiter on every poll, panicked ("Waker invariant
    // broken") after about 32,000 of them.
    let udp = glommio::spawn_local(udp::serve(socket, Rc::clone(&service)));
    let tcp = glommio::spawn_local(tcp::serve(listener, service));
    watch(&plan.stop, plan.deadline).await;
    udp.cancel().await;
    tcp.cancel().await;
}

/// Binds UDP and TCP on the same address. With port 0 the UDP socket picks
/// the port; if TCP cannot have it too, another port is tried.
fn bind(listen: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let socket = UdpSocket::bind(listen)?;
        let addr = socket.local_addr()?;
        match TcpListener::bind(addr) {
            Ok(listener) => return Ok((socket, listener)),
            Err(_) if listen.port() == 0 && attempts < BIND_ATTEMPTS => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// Returns when the stop flag is set or the deadline has passed.
async fn watch(stop: &AtomicBool, deadline: Option<Instant>) {
    loop {
        glommio::timer::sleep(TICK).await;
        let expired = deadline.is_some_and(|deadline| Instant::now() >= deadline);
        if stop.load(Ordering::Relaxed) || expired {
            return;
        }
    }
}
