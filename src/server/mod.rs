//! The IO shell on glommio: shards, listeners and the connection driver.
//!
//! One `LocalExecutor` per shard, pinned to a CPU of the process's affinity mask,
//! each with its own SO_REUSEPORT listener per `listen` address, its own
//! connections, upstream pool and session settings (invariant 5: nothing shared
//! on the per-message path). This layer only moves bytes and time between sockets
//! and the pure `smtp::Session`; every protocol decision lives there.

mod connection;
mod connection_rate;
mod content;
mod cpus;
mod deadline;
mod greylisting;
mod link_lists;
mod listener;
pub(crate) mod mesh;
mod proxy_header;
mod registry;
mod reverse_dns;
mod screening;
pub(crate) mod settings;
mod shard;
mod txlog;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use glommio::{LocalExecutorBuilder, Placement};
use thiserror::Error;

use crate::admin::{AdminListener, BayesOwner, MetricsBoard, ReportPage};
use crate::bayes::{Classifier, DbError};
use crate::config::Config;
use crate::quarantine::{Quarantine, QuarantineError};
use crate::tls::Credentials;

/// Why the server could not start or ended badly.
#[derive(Debug, Error)]
pub enum ServerError {
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address from `[server] listen`.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// An executor could not be created (io_uring refused, CPU missing).
    #[error("cannot start shard {shard}: {reason}")]
    Shard {
        /// The shard number.
        shard: usize,
        /// glommio's reason.
        reason: String,
    },
    /// A `[[dnsbl]]` or `[[dnswl]]` entry does not compile (the config
    /// checks refuse it first; this is for configs built in code).
    #[error("cannot use a DNS list zone: {0}")]
    Zone(#[from] crate::rbl::CodeError),
    /// `[content]` rules could not be loaded.
    #[error("cannot load the content rules: {0}")]
    Content(#[from] crate::scan::ScannerError),
    /// `[tls]` files could not be loaded.
    #[error("cannot start TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// `[bayes] database` could not be opened.
    #[error("cannot open [bayes] database: {0}")]
    Bayes(DbError),
    /// The autolearn thread could not be started.
    #[error("cannot start the [bayes] autolearn thread: {0}")]
    Autolearn(std::io::Error),
    /// `[quarantine] directory` could not be opened.
    #[error("cannot open [quarantine] directory: {0}")]
    Quarantine(QuarantineError),
    /// The quarantine's index thread could not be started.
    #[error("cannot start the quarantine index thread: {0}")]
    QuarantineThread(std::io::Error),
    /// `[admin] listen` could not be bound, or its thread not started.
    #[error("cannot start the admin listener on {addr}: {source}")]
    Admin {
        /// The address from `[admin] listen`.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A signal handler could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// A shard thread panicked or failed.
    #[error("shard {shard} failed: {reason}")]
    ShardFailed {
        /// The shard number.
        shard: usize,
        /// What happened.
        reason: String,
    },
}

/// A running proxy: its bound addresses and the means to stop it.
pub struct RunningServer {
    addrs: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    shards: Vec<glommio::ExecutorJoinHandle<()>>,
    credentials: Option<Arc<Credentials>>,
    admin: Option<AdminThread>,
    /// The content rules and the config that names their files, for SIGHUP.
    rules: Option<(Arc<content::RuleSource>, Config)>,
}

impl RunningServer {
    /// The addresses actually bound (port 0 in the config becomes a real port).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Where the admin listener is bound, when `[admin] listen` is set.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|admin| admin.addr)
    }

    /// Where the quarantine's link listener is bound, when `[quarantine]
    /// public_listen` is set.
    pub fn public_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|admin| admin.public)
    }

    /// The flag a signal handler sets to begin a graceful shutdown.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Begins a graceful shutdown: stop accepting, let transactions finish
    /// within `[timeouts] shutdown_grace`, then 421 4.3.2 to the rest.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Re-reads `[tls] certificate` and `private_key` (SIGHUP). New handshakes
    /// use the new pair; sessions already in TLS carry on untouched. On error
    /// the old pair stays in force.
    pub fn reload_tls(&self) -> Result<(), crate::tls::TlsError> {
        match &self.credentials {
            Some(credentials) => credentials.reload(),
            None => Ok(()),
        }
    }

    /// Compiles the content rule files again (SIGHUP): the shards take the
    /// new rules at their next message; on error the rules in force stay.
    /// Returns how many keyword rules are now loaded (`None` without
    /// `[content]`).
    pub fn reload_rules(&self) -> Result<Option<usize>, crate::scan::ScannerError> {
        match &self.rules {
            Some((rules, config)) => rules.reload(config).map(Some),
            None => Ok(None),
        }
    }

    /// Waits until every shard, and then the admin listener, has stopped
    /// (metrics stay readable while the shards drain).
    pub fn wait(self) -> Result<(), ServerError> {
        for (shard, handle) in self.shards.into_iter().enumerate() {
            handle.join().map_err(|e| ServerError::ShardFailed {
                shard,
                reason: e.to_string(),
            })?;
        }
        if let Some(admin) = self.admin {
            let _ = admin.thread.join();
        }
        Ok(())
    }
}

/// How often a shard looks at the stop flag. Not on any per-message path.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Binds every listener, starts the shards and returns at once.
pub fn start(config: &Config) -> Result<RunningServer, ServerError> {
    let cpus = cpus::allowed();
    let shard_count = if config.server.shards == 0 {
        cpus.len().max(1)
    } else {
        config.server.shards
    };
    let tls = crate::tls::TlsMaterial::load(config)?;
    let credentials = tls.credentials.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let zones = settings::zones(config)?;
    let rules = if config.content.enabled {
        Some(Arc::new(content::RuleSource::new(
            crate::scan::Scanner::new(config)?,
        )))
    } else {
        None
    };
    let bayes = match &config.bayes.database {
        Some(path) => Some(Arc::new(
            BayesOwner::open(path, Classifier::default()).map_err(ServerError::Bayes)?,
        )),
        None => None,
    };
    let autolearn = match &bayes {
        Some(owner) if config.bayes.autolearn => {
            Some(owner.start_autolearn().map_err(ServerError::Autolearn)?)
        }
        _ => None,
    };
    let quarantine = match &config.quarantine.directory {
        Some(_) => Some(Arc::new(
            Quarantine::open(config).map_err(ServerError::Quarantine)?,
        )),
        None => None,
    };
    let indexer = match &quarantine {
        Some(q) => Some((
            q.store(),
            q.start_indexer().map_err(ServerError::QuarantineThread)?,
        )),
        None => None,
    };
    let metrics = Arc::new(MetricsBoard::new(
        shard_count,
        zones.iter().map(|zone| zone.rule().to_string()).collect(),
    ));
    let admin = match config.admin.listen {
        Some(addr) => Some(start_admin(
            addr,
            &metrics,
            bayes.clone(),
            Arc::new(ReportPage::new(config)),
            quarantine.clone(),
            &stop,
        )?),
        None => None,
    };
    // Bound last: a client that can connect finds the rules compiled and
    // the classifier's database owned, and the admin listener up.
    let sockets = listener::bind_all(&config.server.listen, shard_count).inspect_err(|_| {
        // The admin thread, started above, stops with the failed start.
        stop.store(true, Ordering::Relaxed);
    })?;
    let addrs = sockets
        .first()
        .map(|s| s.iter().map(|(a, _)| *a).collect())
        .unwrap_or_default();
    let shared = shard::Shared {
        config: config.clone(),
        stop: Arc::clone(&stop),
        shards: shard_count,
        tls,
        count_mesh: registry::mesh(shard_count),
        triage_mesh: mesh::builder(shard_count),
        grey_mesh: mesh::builder(shard_count),
        zones,
        metrics,
        rules: rules.clone(),
        bayes: bayes.as_ref().map(|owner| owner.table()),
        autolearn,
        quarantine: indexer,
    };
    let mut shards = Vec::with_capacity(shard_count);
    for (id, listeners) in sockets.into_iter().enumerate() {
        let placement = if shard_count <= cpus.len() {
            Placement::Fixed(cpus[id])
        } else {
            Placement::Unbound
        };
        let shared = shared.clone();
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("ringwall-shard-{id}"))
            .spawn(move || shard::run(id, listeners, shared))
            .map_err(|e| ServerError::Shard {
                shard: id,
                reason: e.to_string(),
            })?;
        shards.push(handle);
    }
    tracing::info!(shards = shard_count, listen = ?addrs, "ringwall started");
    Ok(RunningServer {
        addrs,
        stop,
        shards,
        credentials,
        admin,
        rules: rules.map(|rules| (rules, config.clone())),
    })
}

/// The admin listener's thread and where it (and the quarantine's link
/// listener) are bound.
struct AdminThread {
    addr: SocketAddr,
    public: Option<SocketAddr>,
    thread: std::thread::JoinHandle<()>,
}

/// Binds `[admin] listen` and starts its thread; it stops with the shards.
fn start_admin(
    addr: SocketAddr,
    metrics: &Arc<MetricsBoard>,
    bayes: Option<Arc<BayesOwner>>,
    report: Arc<ReportPage>,
    quarantine: Option<Arc<Quarantine>>,
    stop: &Arc<AtomicBool>,
) -> Result<AdminThread, ServerError> {
    let error = |source| ServerError::Admin { addr, source };
    let listener = AdminListener::bind(addr).map_err(error)?;
    let bound = listener.local_addr().map_err(error)?;
    let quarantine = match quarantine {
        Some(quarantine) => {
            let public = match quarantine.config().quarantine.public_listen {
                Some(addr) => {
                    let public = AdminListener::bind(addr)
                        .map_err(|source| ServerError::Admin { addr, source })?;
                    let bound = public
                        .local_addr()
                        .map_err(|source| ServerError::Admin { addr, source })?;
                    tracing::info!(listen = %bound, "quarantine link listener started (/r/...)");
                    Some((public, bound))
                }
                None => None,
            };
            Some((quarantine, public))
        }
        None => None,
    };
    let public_addr = quarantine
        .as_ref()
        .and_then(|(_, public)| public.as_ref().map(|(_, bound)| *bound));
    let quarantine = quarantine.map(|(q, public)| (q, public.map(|(listener, _)| listener)));
    let thread = listener
        .serve(
            Arc::clone(metrics),
            bayes,
            report,
            quarantine,
            Arc::clone(stop),
        )
        .map_err(error)?;
    tracing::info!(listen = %bound, "admin listener started (/metrics, /healthz, /report)");
    Ok(AdminThread {
        addr: bound,
        public: public_addr,
        thread,
    })
}

/// Runs the proxy in the foreground until SIGTERM or SIGINT, then shuts down
/// gracefully; SIGHUP re-reads the TLS certificate. This is `ringwall run`.
pub fn run_until_signalled(config: &Config) -> Result<(), ServerError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(ServerError::Signals)?;
    let server = start(config)?;
    let stop = server.stop_flag();
    let credentials = server.credentials.clone();
    let rules = server.rules.clone();
    let handle = signals.handle();
    let watcher = std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal != SIGHUP {
                stop.store(true, Ordering::Relaxed);
                continue;
            }
            match credentials.as_deref().map(Credentials::reload) {
                None => tracing::info!("SIGHUP: no [tls] configured, nothing to reload"),
                Some(Ok(())) => tracing::info!("SIGHUP: TLS certificate reloaded"),
                Some(Err(e)) => tracing::error!(
                    error = %e,
                    "SIGHUP: TLS reload failed; the previous certificate stays in force"
                ),
            }
            match rules.as_ref().map(|(rules, config)| rules.reload(config)) {
                None => {}
                Some(Ok(count)) => tracing::info!(rules = count, "SIGHUP: content rules reloaded"),
                Some(Err(e)) => tracing::error!(
                    error = %e,
                    "SIGHUP: content rules did not load; the previous rules stay in force"
                ),
            }
        }
    });
    let result = server.wait();
    handle.close();
    let _ = watcher.join();
    result?;
    tracing::info!("ringwall stopped");
    Ok(())
}
