//! Exact per-client connection counts across shards, without a lock.
//!
//! SO_REUSEPORT spreads one client's connections over every shard, so a count
//! kept per shard would let a client hold `shards × max_connections_per_ip`.
//! Instead each client network ([`ClientKey`]) has an owner shard, chosen by
//! hash; only the owner counts it. A shard that accepts a connection from a
//! network it does not own asks the owner over glommio's channel mesh and waits
//! for the answer (a few microseconds, once per connection); releasing waits for
//! the owner's answer too, before the connection's last reply goes out, so a
//! client that saw its connection end is never refused for it. The counts are
//! plain integers owned by one thread; the owner also keeps the client's
//! connection rate ([`ConnectionRate`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use super::connection_rate::{ConnectionRate, RateLimit};
use super::mesh::{self, Mesh};
use super::shard::ClientKey;

/// What a shard asks the owner of a client network.
#[derive(Debug)]
pub enum CountQuery {
    /// Count one more connection from the network if under the limit.
    Acquire(ClientKey),
    /// One connection from the network ended.
    Release(ClientKey),
}

/// The owner's answer to [`CountQuery::Acquire`] (a release is answered
/// [`Admission::Counted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted: the connection may go on.
    Counted,
    /// The client holds `max_connections_per_ip` connections already.
    TooMany,
    /// The client opened `max_connection_rate_per_ip` connections in the
    /// current window already.
    TooFast,
}

/// The mesh every shard joins.
pub type CountMesh = mesh::Builder<CountQuery, Admission>;

/// A mesh for `shards` shards (`None` for one shard: nothing to share).
pub fn mesh(shards: usize) -> Option<CountMesh> {
    mesh::builder(shards)
}

/// The counts for the client networks one shard owns: plain integers.
struct Counts {
    limit: u32,
    by_key: RefCell<HashMap<ClientKey, u32>>,
    /// `None` when no rate limit is configured.
    rate: Option<RefCell<ConnectionRate>>,
}

impl Counts {
    fn count(&self, key: ClientKey) -> Admission {
        let mut counts = self.by_key.borrow_mut();
        if counts.get(&key).is_some_and(|count| *count >= self.limit) {
            return Admission::TooMany;
        }
        if let Some(rate) = &self.rate
            && !rate.borrow_mut().admit(key, Instant::now())
        {
            return Admission::TooFast;
        }
        *counts.entry(key).or_insert(0) += 1;
        Admission::Counted
    }

    fn uncount(&self, key: ClientKey) {
        let mut counts = self.by_key.borrow_mut();
        if let Some(count) = counts.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&key);
            }
        }
    }

    /// Acts on a peer's question at once, in arrival order (the answer's
    /// future is ready), so an acquire and a release never swap places.
    fn apply(&self, query: CountQuery) -> Admission {
        match query {
            CountQuery::Acquire(key) => self.count(key),
            CountQuery::Release(key) => {
                self.uncount(key);
                Admission::Counted
            }
        }
    }
}

/// One shard's part of the registry.
pub struct ClientRegistry {
    counts: Rc<Counts>,
    mesh: Rc<Mesh<CountQuery, Admission>>,
}

impl ClientRegistry {
    /// Joins the mesh (when there is one) and starts serving the owner side:
    /// at most `limit` concurrent connections per client network, and at
    /// most `rate` new ones per window when a rate is set.
    pub async fn join(
        me: usize,
        shards: usize,
        limit: u32,
        rate: Option<RateLimit>,
        mesh: Option<CountMesh>,
    ) -> Rc<ClientRegistry> {
        let counts = Rc::new(Counts {
            limit,
            by_key: RefCell::new(HashMap::new()),
            rate: rate.map(|rate| RefCell::new(ConnectionRate::new(rate))),
        });
        let owner_side = Rc::clone(&counts);
        let handler: mesh::Handler<CountQuery, Admission> = Rc::new(move |query| {
            let answer = owner_side.apply(query);
            Box::pin(async move { answer })
        });
        let mesh = Mesh::join(me, shards, mesh, handler).await;
        Rc::new(ClientRegistry { counts, mesh })
    }

    /// Counts a connection from `key`, unless that would pass a limit.
    pub async fn acquire(&self, key: ClientKey) -> Admission {
        if self.mesh.owns(&key) {
            return self.counts.count(key);
        }
        // The owner is gone (shutdown): nothing left to protect.
        let owner = self.mesh.owner(&key);
        self.mesh
            .ask(owner, CountQuery::Acquire(key))
            .await
            .unwrap_or(Admission::Counted)
    }

    /// Uncounts a connection from `key` and returns once its owner has, so a
    /// client that saw that connection end may connect again at once, through
    /// any shard.
    pub async fn release(&self, key: ClientKey) {
        if self.mesh.owns(&key) {
            return self.counts.uncount(key);
        }
        // The owner is gone (shutdown): nothing left to uncount.
        let owner = self.mesh.owner(&key);
        let _ = self.mesh.ask(owner, CountQuery::Release(key)).await;
    }

    /// Uncounts a connection from `key` in the background (a connection
    /// dropped without [`ClientRegistry::release`]).
    pub fn release_later(self: &Rc<Self>, key: ClientKey) {
        if self.mesh.owns(&key) {
            return self.counts.uncount(key);
        }
        let registry = Rc::clone(self);
        glommio::spawn_local(async move { registry.release(key).await }).detach();
    }
}
