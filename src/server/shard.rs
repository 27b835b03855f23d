//! One shard: its listeners, connections, upstream pool and counters. Everything
//! here is owned by one executor thread; `Cell`/`RefCell`, never a lock.

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_lite::FutureExt;
use glommio::net::TcpListener;
use glommio::sync::Semaphore;
use glommio::timer::sleep;

use super::STOP_POLL;
use super::connection;
use super::connection_rate::RateLimit;
use super::content::{ContentJudge, RuleSource};
use super::greylisting::{GreyMesh, Greylisting};
use super::registry::{Admission, ClientRegistry, CountMesh};
use super::settings::{
    greylist_settings, resolver_settings, session_config, triage_settings, upstream_settings,
};
use crate::admin::Autolearner;
use crate::admin::{MetricsBoard, ShardMetrics};
use crate::bayes::Snapshot;
use crate::config::Config;
use crate::dns::Resolver;
use crate::policy::{HeloLiteralCheck, Hooks, PolicySet, RecipientDomains, StageHook};
use crate::published::Published;
use crate::quarantine::service::Indexer;
use crate::quarantine::{Keeper, Store};
use crate::rbl::{Triage, TriageMesh, Zone};
use crate::relay::Pool;
use crate::relay::UpstreamTls;
use crate::smtp::SessionConfig;
use crate::tls::{ShardTls, TlsMaterial};

/// The read buffer all of a shard's connections share: a read is copied into the
/// session at once, so no connection holds a buffer while it waits.
const SCRATCH_SIZE: usize = 64 * 1024;

/// How often idle upstream connections past their time are closed.
const PRUNE_EVERY: Duration = Duration::from_secs(5);

/// How often the shard copies its counters to the metrics board: how stale
/// `/metrics` may be.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// Connections from one client network: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// One IPv4 address.
    V4(u32),
    /// The upper 64 bits of an IPv6 address (v4-mapped ones count as IPv4).
    V6(u64),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.into()),
                None => ClientKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// A shard's state, shared by its tasks through an `Rc`.
pub struct Shard {
    /// Shard number, part of every queue id.
    pub id: usize,
    /// The configuration this shard runs.
    pub config: Config,
    /// Stage verdicts.
    pub hooks: Hooks,
    /// Upstream connections.
    pub pool: Rc<Pool>,
    /// Shared read buffer (see [`SCRATCH_SIZE`]).
    pub scratch: RefCell<Box<[u8]>>,
    /// Message octets buffered by all sessions of this shard.
    pub buffered: Cell<usize>,
    /// Closed when the shard stops: every waiting connection wakes up.
    pub stopping: Semaphore,
    /// STARTTLS, when `[tls]` is configured.
    pub tls: Option<ShardTls>,
    /// DNSBL/DNSWL triage, when zones are configured.
    pub triage: Option<Rc<Triage>>,
    /// The resolver clients' reverse DNS is looked up through, when
    /// `[dns] reverse_lookup` and the content verdict that reads it are on.
    pub reverse_dns: Option<Rc<Resolver>>,
    /// The shard's resolver (DNS lists and reverse DNS share it), for its
    /// counters.
    resolver: Option<Rc<Resolver>>,
    /// Greylisting, when `[greylist] enabled`.
    pub greylist: Option<Rc<Greylisting>>,
    /// Which thresholds and actions judge each recipient's mail.
    pub policies: PolicySet,
    /// The content verdict, when `[content] enabled`.
    pub content: Option<ContentJudge>,
    /// Where quarantined messages are kept, with `[quarantine] directory`.
    pub quarantine: Option<Rc<Keeper>>,
    session_config: RefCell<(u64, Rc<SessionConfig>)>,
    connections: Cell<u32>,
    /// What this shard counted, published to `board` every [`PUBLISH_EVERY`].
    metrics: RefCell<ShardMetrics>,
    board: Arc<MetricsBoard>,
    clients: Rc<ClientRegistry>,
    queue_counter: Cell<u32>,
    started: u32,
}

impl Shard {
    /// Session settings, refreshed when the upstream's capabilities changed.
    pub fn session_config(&self) -> Rc<SessionConfig> {
        let (caps, generation) = self.pool.capabilities();
        let mut cached = self.session_config.borrow_mut();
        if cached.0 != generation {
            *cached = (
                generation,
                Rc::new(session_config(&self.config, caps.as_ref())),
            );
        }
        Rc::clone(&cached.1)
    }

    /// Counts a new connection from `ip`; `Err` with which bound it crosses.
    pub async fn admit(self: &Rc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Overload> {
        if self.connections.get() >= self.config.server.max_connections_per_shard {
            return Err(Overload::Shard);
        }
        // Counted before the await, so concurrent accepts cannot overshoot.
        self.connections.set(self.connections.get() + 1);
        let key = ClientKey::from(ip);
        let refused = match self.clients.acquire(key).await {
            Admission::Counted => None,
            Admission::TooMany => Some(Overload::Client),
            Admission::TooFast => Some(Overload::ClientRate),
        };
        if let Some(overload) = refused {
            self.connections.set(self.connections.get() - 1);
            return Err(overload);
        }
        Ok(ConnectionSlot {
            shard: Rc::clone(self),
            key: Some(key),
        })
    }

    /// Counts something for the metrics: a plain integer of this shard's.
    pub fn count(&self, update: impl FnOnce(&mut ShardMetrics)) {
        update(&mut self.metrics.borrow_mut());
    }

    /// Copies the counters and the gauges read now to the metrics board.
    fn publish(&self) {
        let mut snapshot = self.metrics.borrow().clone();
        let (open, opened, reused) = self.pool.stats();
        snapshot.connections_open = self.connections.get();
        snapshot.upstream_open = open;
        snapshot.upstream_opened = opened;
        snapshot.upstream_reused = reused;
        snapshot.triage = self.triage.as_ref().map(|triage| triage.stats());
        snapshot.dns = self.resolver.as_ref().map(|resolver| resolver.stats());
        self.board.publish(self.id, snapshot);
    }

    /// True when connections passed the stress threshold: idle bounds shrink.
    pub fn under_stress(&self) -> bool {
        let max = f64::from(self.config.server.max_connections_per_shard);
        f64::from(self.connections.get()) >= max * self.config.timeouts.stress_threshold
    }

    /// A new queue id: unique across shards and restarts (start second, shard,
    /// counter), short enough for every log line.
    pub fn next_queue_id(&self) -> String {
        let n = self.queue_counter.get().wrapping_add(1);
        self.queue_counter.set(n);
        format!(
            "{:08X}{:02X}{:06X}",
            self.started,
            self.id & 0xff,
            n & 0xff_ffff
        )
    }
}

/// Which connection bound a new client crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overload {
    /// `max_connections_per_shard`.
    Shard,
    /// `max_connections_per_ip`.
    Client,
    /// `max_connection_rate_per_ip`.
    ClientRate,
}

/// A counted connection. [`ConnectionSlot::release`] uncounts it; so does
/// dropping it, the per-client count then catching up in the background.
pub struct ConnectionSlot {
    shard: Rc<Shard>,
    /// `None` once released.
    key: Option<ClientKey>,
}

impl ConnectionSlot {
    /// Uncounts the connection and returns once every shard sees it gone.
    pub async fn release(mut self) {
        if let Some(key) = self.key.take() {
            self.shard.connections.set(self.shard.connections.get() - 1);
            self.shard.clients.release(key).await;
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shard.connections.set(self.shard.connections.get() - 1);
            self.shard.clients.release_later(key);
        }
    }
}

/// What every shard is started with beside its own listeners.
#[derive(Clone)]
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// Set when the server stops.
    pub stop: Arc<AtomicBool>,
    /// How many shards there are.
    pub shards: usize,
    /// Certificates.
    pub tls: TlsMaterial,
    /// The per-client connection counts' mesh.
    pub count_mesh: Option<CountMesh>,
    /// The RBL cache's mesh.
    pub triage_mesh: Option<TriageMesh>,
    /// Greylisting's mesh.
    pub grey_mesh: Option<GreyMesh>,
    /// `[[dnsbl]]` and `[[dnswl]]`, compiled once.
    pub zones: Vec<Zone>,
    /// Where the shards publish their metrics.
    pub metrics: Arc<MetricsBoard>,
    /// The compiled content rules, when `[content] enabled`.
    pub rules: Option<Arc<RuleSource>>,
    /// The classifier's table, when `[bayes] database` is set.
    pub bayes: Option<Arc<Published<Snapshot>>>,
    /// Where clear-cut messages go to be learned, with `[bayes] autolearn`.
    pub autolearn: Option<Autolearner>,
    /// The quarantine's store and the index thread's inbox, with
    /// `[quarantine] directory`.
    pub quarantine: Option<(Arc<Store>, Indexer)>,
}

/// The shard's main task: accept until the stop flag is set, then drain.
pub async fn run(id: usize, listeners: Vec<(std::net::SocketAddr, OwnedFd)>, shared: Shared) {
    let Shared {
        config,
        stop,
        shards,
        tls,
        count_mesh,
        triage_mesh,
        grey_mesh,
        zones,
        metrics,
        rules,
        bayes,
        autolearn,
        quarantine,
    } = shared;
    let server = &config.server;
    let rate = (server.max_connection_rate_per_ip > 0).then_some(RateLimit {
        connections: server.max_connection_rate_per_ip,
        window: server.connection_rate_window.0,
    });
    let clients =
        ClientRegistry::join(id, shards, server.max_connections_per_ip, rate, count_mesh).await;
    let greylist = if config.greylist.enabled {
        Some(Greylisting::join(id, shards, greylist_settings(&config), grey_mesh).await)
    } else {
        None
    };
    let reverse_wanted =
        config.dns.reverse_lookup && config.content.enabled && !config.dns.resolvers.is_empty();
    let resolver = (!zones.is_empty() || reverse_wanted)
        .then(|| Rc::new(Resolver::new(resolver_settings(&config))));
    let reverse_dns = resolver.clone().filter(|_| reverse_wanted);
    let triage = match resolver.clone() {
        Some(resolver) if !zones.is_empty() => Some(
            Triage::join(
                id,
                shards,
                zones.into(),
                resolver,
                triage_settings(&config),
                triage_mesh,
            )
            .await,
        ),
        _ => None,
    };
    let domains = RecipientDomains::new(
        config.domains.accept.iter().map(String::as_str),
        config.domains.allow_routing_characters,
    );
    let upstream_tls = UpstreamTls {
        mode: config.upstream.tls,
        connector: tls.upstream.connector(),
    };
    let pool = Pool::new(upstream_settings(&config), upstream_tls);
    let policies = PolicySet::new(&config.scoring, &config.policy);
    let content = rules.map(|rules| ContentJudge::new(&config, rules, bayes, autolearn));
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    let shard = Rc::new(Shard {
        id,
        hooks: {
            let mut hooks: Vec<Box<dyn StageHook>> = vec![Box::new(domains)];
            if config.server.strict_helo_literal {
                hooks.push(Box::new(HeloLiteralCheck));
            }
            Hooks::new(hooks)
        },
        session_config: RefCell::new((0, Rc::new(session_config(&config, None)))),
        config,
        pool,
        scratch: RefCell::new(vec![0u8; SCRATCH_SIZE].into_boxed_slice()),
        buffered: Cell::new(0),
        stopping: Semaphore::new(0),
        tls: tls.credentials.map(ShardTls::new),
        triage,
        reverse_dns,
        resolver,
        greylist,
        policies,
        content,
        quarantine: quarantine.map(|(store, indexer)| Rc::new(Keeper::new(store, indexer))),
        connections: Cell::new(0),
        metrics: RefCell::new(ShardMetrics::default()),
        board: metrics,
        clients,
        queue_counter: Cell::new(0),
        started,
    });
    // Learn what the upstream offers before the first client asks.
    match shard.pool.acquire(None).await {
        Ok(lease) => lease.release(),
        Err(e) => {
            tracing::warn!(shard = id, error = %e, "upstream not reachable at start; advertising conservative extensions")
        }
    }
    let mut tasks = Vec::new();
    for (addr, fd) in listeners {
        // SAFETY: the descriptor is a listening TCP socket we just bound and own.
        let listener = unsafe { TcpListener::from_raw_fd(fd.into_raw_fd()) };
        tasks.push(glommio::spawn_local(accept_loop(
            Rc::clone(&shard),
            listener,
            addr,
        )));
    }
    let pruner = glommio::spawn_local({
        let shard = Rc::clone(&shard);
        async move {
            loop {
                sleep(PRUNE_EVERY).await;
                shard.pool.prune(Instant::now());
            }
        }
    });
    let publisher = glommio::spawn_local({
        let shard = Rc::clone(&shard);
        async move {
            loop {
                shard.publish();
                sleep(PUBLISH_EVERY).await;
            }
        }
    });
    while !stop.load(Ordering::Relaxed) {
        sleep(STOP_POLL).await;
    }
    shard.stopping.close();
    for task in tasks {
        task.await;
    }
    let deadline = Instant::now() + shard.config.timeouts.shutdown_grace.0 + Duration::from_secs(2);
    while shard.connections.get() > 0 && Instant::now() < deadline {
        sleep(Duration::from_millis(20)).await;
    }
    pruner.cancel().await;
    publisher.cancel().await;
    shard.pool.clear();
    shard.publish();
    let (_, opened, reused) = shard.pool.stats();
    tracing::info!(
        shard = id,
        upstream_opened = opened,
        upstream_reused = reused,
        "shard stopped"
    );
    if let Some(triage) = &shard.triage {
        let stats = triage.stats();
        tracing::info!(
            shard = id,
            cache_hits = stats.cache.hits,
            cache_misses = stats.cache.misses,
            cache_evictions = stats.cache.evictions,
            lookups = stats.started,
            joined = stats.joined,
            passed = stats.passed,
            dns_queries = stats.dns.queries_sent,
            dns_timeouts = stats.dns.timeouts,
            dns_forged_ignored = stats.dns.spoofed_ignored,
            zone_errors = ?stats.zone_errors,
            "triage at stop"
        );
    }
}

async fn accept_loop(shard: Rc<Shard>, listener: TcpListener, addr: std::net::SocketAddr) {
    loop {
        let accepted = async { Some(listener.accept().await) };
        let stopped = async {
            let _ = shard.stopping.acquire(1).await;
            None
        };
        match accepted.or(stopped).await {
            None => break,
            Some(Ok(stream)) => {
                glommio::spawn_local(connection::drive(Rc::clone(&shard), stream)).detach();
            }
            Some(Err(e)) => {
                tracing::warn!(shard = shard.id, listen = %addr, error = %e, "accept failed");
                // Out of descriptors or memory: back off rather than spin.
                sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
