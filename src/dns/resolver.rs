//! The per-shard DNS client: [`Resolver::lookup`] asks the configured
//! recursive servers over UDP, moves on to the next server when one fails,
//! and asks again over TCP when an answer comes truncated.
//!
//! Each query in flight has a UDP socket of its own (see `sockets.rs`)
//! rather than sharing a few sockets demultiplexed by ID. That is the model
//! that is simple to make correct: there is no reader task and no table of
//! pending IDs to keep in step with the lookups, and a lookup dropped half
//! way (its caller stopped waiting) just drops its socket. It costs one
//! descriptor per query in flight, which `max_in_flight` bounds.
//!
//! Past `max_in_flight`, a lookup waits for a slot, for at most one
//! `timeout`, then fails with [`DnsError::Busy`]. Waiting is the right side:
//! connections come in bursts and each starts several DNSBL lookups at once,
//! so failing at once would skip those checks exactly when a spammer floods
//! us.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::FutureExt;
use glommio::sync::{Permit, Semaphore};
use glommio::timer::Timer;

use super::error::DnsError;
use super::message::{Answer, EDNS_PAYLOAD, Question, RecordKind, Response, ResponseError};
use super::sockets::SocketPool;
use super::tcp;

/// How a shard's resolver reaches its servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverSettings {
    /// Recursive servers (a local unbound, the ISP's resolvers), tried in
    /// turn.
    pub servers: Vec<SocketAddr>,
    /// How long one attempt waits for its answer (over UDP, and again over
    /// TCP after a truncated one); also the longest wait for an in-flight
    /// slot.
    pub timeout: Duration,
    /// Attempts per lookup, each to the next server (at least one).
    pub attempts: u32,
    /// Lookups in flight at once on this shard (at least one).
    pub max_in_flight: usize,
    /// Idle UDP sockets kept for the next queries.
    pub sockets: usize,
    /// Queries after which a UDP socket is replaced by one on a new random
    /// port (at least one).
    pub rotate_after: u32,
}

/// What a resolver has done so far, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Queries sent, over UDP and TCP.
    pub queries_sent: u64,
    /// Attempts that got no answer in time.
    pub timeouts: u64,
    /// Datagrams ignored as not the answer to our query: forged, late, or
    /// from the wrong address.
    pub spoofed_ignored: u64,
    /// Truncated answers asked for again over TCP.
    pub tcp_fallbacks: u64,
    /// Lookups that found no in-flight slot in time.
    pub busy: u64,
}

/// One shard's DNS client. It lives on one executor (share it there behind
/// an `Rc`): no lock, no atomic.
#[derive(Debug)]
pub struct Resolver {
    /// Servers, timeout and bounds.
    settings: ResolverSettings,
    /// One unit per lookup in flight.
    slots: Semaphore,
    /// UDP sockets between queries.
    sockets: SocketPool,
    /// The server that gave the last answer: lookups start there, so a dead
    /// first server costs one timeout, not one per lookup.
    preferred: Cell<usize>,
    /// Counters.
    stats: Cell<Stats>,
}

impl Resolver {
    /// A resolver for `settings`; sockets are opened by the first lookups
    /// (on the executor that runs them).
    pub fn new(settings: ResolverSettings) -> Self {
        let slots = Semaphore::new(settings.max_in_flight.max(1) as u64);
        let sockets = SocketPool::new(settings.sockets, settings.rotate_after);
        Self {
            settings,
            slots,
            sockets,
            preferred: Cell::new(0),
            stats: Cell::new(Stats::default()),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    /// Asks for the `kind` records of `name` (absolute, with or without its
    /// final dot).
    ///
    /// Each attempt goes to the next server, starting with the one that
    /// answered last. A timeout, a socket error, SERVFAIL or REFUSED moves
    /// on; a real answer, or an error about the query itself (FORMERR...),
    /// ends the lookup. When every attempt failed, the last outcome is
    /// returned: `Ok(Answer::ServFail)`, `Ok(Answer::Refused)` or the error.
    pub async fn lookup(&self, name: &str, kind: RecordKind) -> Result<Answer, DnsError> {
        let question = Question::new(name, kind)?;
        let servers = &self.settings.servers;
        if servers.is_empty() {
            return Err(DnsError::NoServers);
        }
        let _slot = self.slot().await?;
        let mut attempts_left = self.settings.attempts.max(1);
        let mut index = self.preferred.get();
        loop {
            let server = servers[index];
            let outcome = self.attempt(server, &question).await;
            attempts_left -= 1;
            if !worth_another_server(&outcome) {
                self.preferred.set(index);
                return outcome;
            }
            match &outcome {
                Ok(answer) => tracing::debug!(%server, query = name, ?answer, "DNS server failed"),
                Err(error) => tracing::debug!(%server, query = name, %error, "DNS server failed"),
            }
            if attempts_left == 0 {
                return outcome;
            }
            index = (index + 1) % servers.len();
        }
    }

    /// Waits for an in-flight slot, at most one timeout.
    async fn slot(&self) -> Result<Permit<'_>, DnsError> {
        // The semaphore is never closed, so acquiring fails only by timeout.
        let wait = async {
            self.slots
                .acquire_permit(1)
                .await
                .map_err(|_| DnsError::Busy)
        };
        let limit = self.settings.timeout;
        let give_up = async {
            Timer::new(limit).await;
            Err(DnsError::Busy)
        };
        let slot = wait.or(give_up).await;
        if slot.is_err() {
            self.count(|stats| stats.busy += 1);
        }
        slot
    }

    /// One attempt at `server`: over UDP, then over TCP if the answer came
    /// truncated, with a fresh random ID.
    async fn attempt(&self, server: SocketAddr, question: &Question) -> Result<Answer, DnsError> {
        let id = random_id().map_err(DnsError::Random)?;
        if let Response::Answer(answer) = self.over_udp(server, question, id).await? {
            return Ok(answer);
        }
        self.count(|stats| stats.tcp_fallbacks += 1);
        match self.over_tcp(server, question, id).await? {
            Response::Answer(answer) => Ok(answer),
            Response::Truncated => Err(DnsError::Truncated(server)),
        }
    }

    /// Sends the query from a socket of the pool and waits for its answer,
    /// skipping every datagram that is not it.
    async fn over_udp(
        &self,
        server: SocketAddr,
        question: &Question,
        id: u16,
    ) -> Result<Response, DnsError> {
        let pooled = self.sockets.take(server)?;
        let socket = pooled.socket();
        let mut buffer = vec![0; usize::from(EDNS_PAYLOAD)];
        let receive = async {
            let query = question.query(id);
            socket
                .send_to(&query, server)
                .await
                .map_err(io::Error::from)?;
            self.count(|stats| stats.queries_sent += 1);
            loop {
                let (length, from) = socket
                    .recv_from(&mut buffer)
                    .await
                    .map_err(io::Error::from)?;
                if from != server {
                    tracing::debug!(%server, %from, "DNS datagram from another address ignored");
                } else {
                    match question.read(id, &buffer[..length]) {
                        Err(ResponseError::Stray(why)) => {
                            tracing::debug!(%server, %why, "DNS datagram ignored");
                        }
                        other => return Ok(other?),
                    }
                }
                self.count(|stats| stats.spoofed_ignored += 1);
            }
        };
        let result = self.within(receive).await;
        // A socket that broke or whose answer may still come is dropped.
        if !matches!(result, Err(DnsError::Timeout(_) | DnsError::Io(_))) {
            self.sockets.put_back(pooled);
        }
        result
    }

    /// Asks again over a TCP connection to `server`.
    async fn over_tcp(
        &self,
        server: SocketAddr,
        question: &Question,
        id: u16,
    ) -> Result<Response, DnsError> {
        self.count(|stats| stats.queries_sent += 1);
        let exchange = async {
            let answer = tcp::exchange(server, &question.query(id)).await?;
            Ok(question.read(id, &answer)?)
        };
        self.within(exchange).await
    }

    /// Runs `work` for at most one timeout.
    async fn within<T>(
        &self,
        work: impl Future<Output = Result<T, DnsError>>,
    ) -> Result<T, DnsError> {
        let limit = self.settings.timeout;
        let expire = async {
            Timer::new(limit).await;
            Err(DnsError::Timeout(limit))
        };
        let result = work.or(expire).await;
        if matches!(result, Err(DnsError::Timeout(_))) {
            self.count(|stats| stats.timeouts += 1);
        }
        result
    }

    /// Updates the counters.
    fn count(&self, update: impl FnOnce(&mut Stats)) {
        let mut stats = self.stats.get();
        update(&mut stats);
        self.stats.set(stats);
    }
}

/// Whether another server may do better than this outcome: yes when this
/// one gave nothing usable (no answer, a broken socket or TCP answer,
/// SERVFAIL, REFUSED); no for a real answer, or for an error about the
/// query itself, which any server would give too.
fn worth_another_server(outcome: &Result<Answer, DnsError>) -> bool {
    match outcome {
        Ok(answer) => matches!(answer, Answer::ServFail | Answer::Refused),
        Err(DnsError::Response(ResponseError::Rcode(_) | ResponseError::CnameChain)) => false,
        Err(_) => true,
    }
}

/// A query ID from the kernel's random source.
fn random_id() -> Result<u16, getrandom::Error> {
    let mut id = [0; 2];
    getrandom::fill(&mut id)?;
    Ok(u16::from_ne_bytes(id))
}
