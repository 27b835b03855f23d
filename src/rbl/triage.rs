//! The shell of DNS list lookups on one shard: a client address in every
//! IP-keyed zone (connection triage) and a link's domain in every
//! domain-keyed zone (URIBL, SURBL, DBL, for the content verdict), the
//! shard's slice of the RBL cache, and the exchange with the shard that owns
//! a key.
//!
//! Every key has one owner shard (by hash, the same on every shard). Only
//! the owner keeps the key's cached answers (and, for an address, its place
//! on the pass list), and only the owner asks DNS about it: a shard that
//! needs a key it does not own asks the owner over the mesh. N connections
//! from one address at once, or N messages linking one domain, on any
//! shards, cost one query per zone (single flight: later askers wait for the
//! lookup in progress). The
//! lookup runs in a task of its own, so an asker that gives up at its time
//! budget neither cancels it nor leaves its waiters stranded; the answers it
//! brings still fill the cache.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glommio::channels::local_channel::{self, LocalSender};

use super::cache::{Cache, CacheLimits, CacheStats};
use super::{Classification, Decision, KeyMode, LookupKey, TriageScore, Zone};
use crate::dns::{Answer, RecordData, RecordKind, Resolver};
use crate::server::mesh::{self, Mesh};

/// The mesh shards ask each other's slice of the RBL cache over.
pub type TriageMesh = mesh::Builder<Subject, TriageScore>;

/// What the DNS lists are asked about: the key of the cache and of the
/// single flight.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A client address, in the IP-keyed zones.
    Client(IpAddr),
    /// A registrable domain (lower case, no final dot), in the domain-keyed
    /// zones.
    Domain(String),
}

impl Subject {
    /// The zones keyed this way.
    fn key_mode(&self) -> KeyMode {
        match self {
            Subject::Client(_) => KeyMode::Ip,
            Subject::Domain(_) => KeyMode::Domain,
        }
    }

    fn lookup_key(&self) -> LookupKey<'_> {
        match self {
            Subject::Client(ip) => LookupKey::Ip(*ip),
            Subject::Domain(domain) => LookupKey::Domain(domain),
        }
    }
}

/// A mesh for `shards` shards' triage (`None` for one shard: nobody to
/// ask), made once before they start and cloned into each, as the server
/// does. Public so that code starting shards of its own (benches/rbl.rs)
/// can join [`Triage`]s across threads. Glommio numbers a mesh's members
/// in the order their executors were created, and [`Triage::join`]'s `me`
/// must be that number: create shard 0's executor first.
pub fn triage_mesh(shards: usize) -> Option<TriageMesh> {
    mesh::builder(shards)
}

/// What the shell needs besides the zones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TriageSettings {
    /// Bounds of the answer cache (per shard).
    pub cache: CacheLimits,
    /// How long an address that passed skips its lookups (zero: never).
    pub pass_ttl: Duration,
    /// `[rbl] reject_threshold`, to tell a pass.
    pub reject_threshold: f64,
}

/// Counters for the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriageStats {
    /// The answer cache's counters.
    pub cache: CacheStats,
    /// Client addresses answered from the pass list.
    pub passed: u64,
    /// Lookups that joined one already in progress for the same key.
    pub joined: u64,
    /// Lookups started (one DNS query per zone not cached).
    pub started: u64,
    /// Lookups in progress now.
    pub in_flight: usize,
    /// Error answers (error codes, 127.0.0.1, outside 127.0.0.0/8) per zone,
    /// in zone order.
    pub zone_errors: Vec<u64>,
    /// Zones with an error answer within the last [`ERROR_INTERVAL`]: their
    /// answers tell nothing now, and the operator should look.
    pub unhealthy: Vec<bool>,
    /// The shard's resolver: queries, timeouts, forgeries ignored.
    pub dns: crate::dns::Stats,
}

/// How long after its last error answer a zone counts as unhealthy, and how
/// often its errors are logged: a list refusing us says so on every query.
const ERROR_INTERVAL: Duration = Duration::from_secs(60);

/// A zone's error answers, for the log and the metrics.
#[derive(Debug, Clone, Copy, Default)]
struct ZoneHealth {
    errors: u64,
    logged: u64,
    last_error: Option<Instant>,
    last_logged: Option<Instant>,
}

/// The owner side: cache, pass list, lookups in progress.
struct Owner {
    zones: Rc<[Zone]>,
    resolver: Rc<Resolver>,
    settings: TriageSettings,
    answers: RefCell<Cache<(usize, Subject), Classification>>,
    passed: RefCell<Cache<IpAddr, ()>>,
    in_flight: RefCell<HashMap<Subject, Vec<LocalSender<TriageScore>>>>,
    passed_hits: Cell<u64>,
    joined: Cell<u64>,
    started: Cell<u64>,
    health: RefCell<Vec<ZoneHealth>>,
}

/// One shard's DNS list lookups.
pub struct Triage {
    owner: Rc<Owner>,
    mesh: Rc<Mesh<Subject, TriageScore>>,
}

impl Triage {
    /// Joins the mesh (when there is one) and starts answering the peers'
    /// questions about the addresses this shard owns.
    pub async fn join(
        me: usize,
        shards: usize,
        zones: Rc<[Zone]>,
        resolver: Rc<Resolver>,
        settings: TriageSettings,
        mesh: Option<TriageMesh>,
    ) -> Rc<Triage> {
        let pass_limits = CacheLimits {
            min_ttl: settings.pass_ttl,
            max_ttl: settings.pass_ttl,
            entries: if settings.pass_ttl.is_zero() {
                0
            } else {
                settings.cache.entries
            },
        };
        let zones_len = zones.len();
        let owner = Rc::new(Owner {
            zones,
            resolver,
            settings,
            answers: RefCell::new(Cache::new(settings.cache)),
            passed: RefCell::new(Cache::new(pass_limits)),
            in_flight: RefCell::new(HashMap::new()),
            passed_hits: Cell::new(0),
            joined: Cell::new(0),
            started: Cell::new(0),
            health: RefCell::new(vec![ZoneHealth::default(); zones_len]),
        });
        let owner_side = Rc::clone(&owner);
        let handler: mesh::Handler<Subject, TriageScore> =
            Rc::new(move |subject| Box::pin(Rc::clone(&owner_side).score(subject)));
        let mesh = Mesh::join(me, shards, mesh, handler).await;
        Rc::new(Triage { owner, mesh })
    }

    /// The score of `ip` from every IP-keyed zone: from the pass list, the
    /// cache, a lookup in progress or new lookups, on whichever shard owns
    /// the address. A zone whose answer does not come counts as no answer
    /// only when the caller gives up (see [`Triage::unanswered`]).
    pub async fn score(&self, ip: IpAddr) -> TriageScore {
        self.ask(Subject::Client(ip)).await
    }

    /// The score of a registrable domain (lower case) from every
    /// domain-keyed zone, the same way: a link's domain in URIBL, SURBL or
    /// DBL.
    pub async fn domain_score(&self, domain: &str) -> TriageScore {
        self.ask(Subject::Domain(domain.to_string())).await
    }

    async fn ask(&self, subject: Subject) -> TriageScore {
        if !self.mesh.owns(&subject) {
            let owner = self.mesh.owner(&subject);
            if let Some(score) = self.mesh.ask(owner, subject.clone()).await {
                return score;
            }
            // The owner is gone (shutdown): ask here rather than not at all.
        }
        Rc::clone(&self.owner).score(subject).await
    }

    /// Whether any zone is keyed by domain, so link domains are worth
    /// asking about.
    pub fn has_domain_zones(&self) -> bool {
        keyed(&self.owner.zones, KeyMode::Domain).next().is_some()
    }

    /// The score of a key whose answers did not come within the budget:
    /// every zone keyed by `mode` counts as not answering (its `fail_open`
    /// decides).
    pub fn unanswered(&self, mode: KeyMode) -> TriageScore {
        let mut score = TriageScore::default();
        for (_, zone) in keyed(&self.owner.zones, mode) {
            score.record_no_answer(zone);
        }
        score
    }

    /// The counters of this shard's slice.
    pub fn stats(&self) -> TriageStats {
        let owner = &self.owner;
        TriageStats {
            cache: owner.answers.borrow().stats(),
            passed: owner.passed_hits.get(),
            joined: owner.joined.get(),
            started: owner.started.get(),
            in_flight: owner.in_flight.borrow().len(),
            dns: owner.resolver.stats(),
            zone_errors: owner.health.borrow().iter().map(|h| h.errors).collect(),
            unhealthy: owner
                .health
                .borrow()
                .iter()
                .map(|h| h.last_error.is_some_and(|at| at.elapsed() < ERROR_INTERVAL))
                .collect(),
        }
    }
}

impl Owner {
    /// The score of a key this shard owns.
    async fn score(self: Rc<Self>, subject: Subject) -> TriageScore {
        let now = Instant::now();
        if let Subject::Client(ip) = subject
            && self.passed.borrow_mut().get(&ip, now).is_some()
        {
            self.passed_hits.set(self.passed_hits.get() + 1);
            return TriageScore::default();
        }
        if let Some(score) = self.cached(&subject, now) {
            return score;
        }
        let (waiter, answer) = local_channel::new_bounded(1);
        let first = {
            let mut in_flight = self.in_flight.borrow_mut();
            let waiters = in_flight.entry(subject.clone()).or_default();
            waiters.push(waiter);
            waiters.len() == 1
        };
        if first {
            self.started.set(self.started.get() + 1);
            let owner = Rc::clone(&self);
            glommio::spawn_local(async move { owner.look_up(subject).await }).detach();
        } else {
            self.joined.set(self.joined.get() + 1);
        }
        // The lookup task always answers its waiters.
        answer.recv().await.unwrap_or_default()
    }

    /// The score from the cache, when every zone's answer is there.
    fn cached(&self, subject: &Subject, now: Instant) -> Option<TriageScore> {
        let mut answers = self.answers.borrow_mut();
        let mut score = TriageScore::default();
        for (index, zone) in keyed(&self.zones, subject.key_mode()) {
            // The tuple key owns its subject; a clone per zone is the price
            // of one cache for both kinds of key.
            score.record(zone, answers.get(&(index, subject.clone()), now)?.clone());
        }
        Some(score)
    }

    /// Asks every zone of the subject's kind at once, caches what comes
    /// back, and answers everyone waiting for it.
    async fn look_up(self: Rc<Self>, subject: Subject) {
        let asks: Vec<_> = keyed(&self.zones, subject.key_mode())
            .map(|(index, zone)| {
                let name = zone.query_name(&subject.lookup_key());
                let resolver = Rc::clone(&self.resolver);
                let task = glommio::spawn_local(async move {
                    match name {
                        Some(name) => resolver.lookup(&name, RecordKind::A).await.ok(),
                        None => None,
                    }
                });
                (index, task)
            })
            .collect();
        let mut score = TriageScore::default();
        for (index, task) in asks {
            let zone = &self.zones[index];
            match task.await.and_then(|answer| classify(zone, answer)) {
                Some((classification, ttl)) => {
                    if let Classification::Error { code } = classification {
                        self.note_error(index, code);
                    }
                    self.answers.borrow_mut().insert(
                        (index, subject.clone()),
                        classification.clone(),
                        ttl,
                        Instant::now(),
                    );
                    score.record(zone, classification);
                }
                None => score.record_no_answer(zone),
            }
        }
        if let Subject::Client(ip) = subject
            && score.failures().is_empty()
            && score.decide(self.settings.reject_threshold) == Decision::Pass
        {
            self.passed
                .borrow_mut()
                .insert(ip, (), self.settings.pass_ttl, Instant::now());
        }
        let waiters = self
            .in_flight
            .borrow_mut()
            .remove(&subject)
            .unwrap_or_default();
        for waiter in waiters {
            let _ = waiter.try_send(score.clone());
        }
    }
}

impl Owner {
    /// Counts an error answer of zone `index` and logs it, at most once per
    /// [`ERROR_INTERVAL`] per zone, with how many came since the last line.
    fn note_error(&self, index: usize, code: std::net::Ipv4Addr) {
        let mut health = self.health.borrow_mut();
        let zone = &mut health[index];
        zone.errors += 1;
        let now = Instant::now();
        zone.last_error = Some(now);
        if zone
            .last_logged
            .is_some_and(|at| now.duration_since(at) < ERROR_INTERVAL)
        {
            return;
        }
        tracing::warn!(
            zone = self.zones[index].rule(),
            code = %code,
            errors = zone.errors - zone.logged,
            "DNS list answers with an error code, not a listing: the zone is unhealthy (is the resolver a local recursive one?)"
        );
        zone.logged = zone.errors;
        zone.last_logged = Some(now);
    }
}

/// The zones keyed by `mode`, with their place in the list.
fn keyed(zones: &[Zone], mode: KeyMode) -> impl Iterator<Item = (usize, &Zone)> {
    zones
        .iter()
        .enumerate()
        .filter(move |(_, zone)| zone.key() == mode)
}

/// What a DNS answer says in `zone`, and for how long; `None` when it says
/// nothing (SERVFAIL, REFUSED: not cached, the next connection asks again).
fn classify(zone: &Zone, answer: Answer) -> Option<(Classification, Duration)> {
    match answer {
        Answer::Records { records, ttl } => {
            let codes: Vec<_> = records
                .iter()
                .filter_map(|record| match record {
                    RecordData::A(code) => Some(*code),
                    _ => None,
                })
                .collect();
            Some((zone.classify(&codes), Duration::from_secs(ttl.into())))
        }
        Answer::NxDomain { negative_ttl } | Answer::NoData { negative_ttl } => Some((
            Classification::NotListed,
            Duration::from_secs(negative_ttl.into()),
        )),
        Answer::ServFail | Answer::Refused => None,
    }
}
