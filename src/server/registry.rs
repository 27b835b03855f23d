//! Exact per-client connection counts across shards, without a lock.
//!
//! SO_REUSEPORT spreads one client's connections over every shard, so a count
//! kept per shard would let a client hold `shards × max_connections_per_ip`.
//! Instead each client network ([`ClientKey`]) has an owner shard, chosen by
//! hash; only the owner counts it. A shard that accepts a connection from a
//! network it does not own asks the owner over glommio's channel mesh and waits
//! for the answer (a few microseconds, once per connection); releasing is a
//! one-way message. The counts are plain integers owned by one thread.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::rc::Rc;

use futures_lite::StreamExt;
use glommio::channels::channel_mesh::{Full, MeshBuilder, Receivers, Senders};
use glommio::channels::local_channel::{self, LocalSender};

use super::shard::ClientKey;

/// What shards tell each other about client connections.
#[derive(Debug)]
pub enum CountMessage {
    /// Count one more connection from `key` if under the limit; answer `from`.
    Acquire {
        /// The client network.
        key: ClientKey,
        /// The asking shard's handle for the answer.
        ticket: u64,
        /// The asking shard.
        from: usize,
    },
    /// One connection from `key` ended.
    Release {
        /// The client network.
        key: ClientKey,
    },
    /// The owner's answer to an `Acquire`.
    Answer {
        /// The asking shard's handle.
        ticket: u64,
        /// Counted (true) or over the limit (false).
        granted: bool,
    },
}

/// The mesh every shard joins; made once before the shards start.
pub type CountMesh = MeshBuilder<CountMessage, Full>;

/// Room for messages in flight between two shards.
const MESH_CAPACITY: usize = 4096;

/// A mesh for `shards` shards (`None` for one shard: nothing to share).
pub fn mesh(shards: usize) -> Option<CountMesh> {
    (shards > 1).then(|| MeshBuilder::full(shards, MESH_CAPACITY))
}

/// One shard's part of the registry.
pub struct ClientRegistry {
    me: usize,
    shards: usize,
    limit: u32,
    /// Counts for the client networks this shard owns.
    counts: RefCell<HashMap<ClientKey, u32>>,
    senders: Option<Senders<CountMessage>>,
    waiting: RefCell<HashMap<u64, LocalSender<bool>>>,
    next_ticket: Cell<u64>,
}

impl ClientRegistry {
    /// Joins the mesh (when there is one) and starts serving the owner side.
    pub async fn join(
        me: usize,
        shards: usize,
        limit: u32,
        mesh: Option<CountMesh>,
    ) -> Rc<ClientRegistry> {
        let (senders, receivers) = match mesh {
            Some(mesh) => match mesh.join().await {
                Ok((s, r)) => (Some(s), Some(r)),
                Err(e) => {
                    tracing::warn!(shard = me, error = %e, "cannot join the shard mesh; counting client connections per shard");
                    (None, None)
                }
            },
            None => (None, None),
        };
        let registry = Rc::new(ClientRegistry {
            me,
            shards: if senders.is_some() { shards } else { 1 },
            limit,
            counts: RefCell::new(HashMap::new()),
            senders,
            waiting: RefCell::new(HashMap::new()),
            next_ticket: Cell::new(0),
        });
        if let Some(receivers) = receivers {
            serve(Rc::clone(&registry), receivers);
        }
        registry
    }

    /// Counts a connection from `key`; false when that would pass the limit.
    pub async fn acquire(&self, key: ClientKey) -> bool {
        let owner = self.owner(key);
        let Some(senders) = self.senders.as_ref().filter(|_| owner != self.me) else {
            return self.count(key);
        };
        let ticket = self.next_ticket.get();
        self.next_ticket.set(ticket + 1);
        let (answer, reply) = local_channel::new_bounded(1);
        self.waiting.borrow_mut().insert(ticket, answer);
        if senders
            .send_to(
                owner,
                CountMessage::Acquire {
                    key,
                    ticket,
                    from: self.me,
                },
            )
            .await
            .is_err()
        {
            // The owner is gone (shutdown): nothing left to protect.
            self.waiting.borrow_mut().remove(&ticket);
            return true;
        }
        reply.recv().await.unwrap_or(true)
    }

    /// Uncounts a connection from `key`.
    pub fn release(self: &Rc<Self>, key: ClientKey) {
        let owner = self.owner(key);
        if self.senders.is_none() || owner == self.me {
            self.uncount(key);
            return;
        }
        let registry = Rc::clone(self);
        glommio::spawn_local(async move {
            if let Some(senders) = &registry.senders {
                let _ = senders.send_to(owner, CountMessage::Release { key }).await;
            }
        })
        .detach();
    }

    fn owner(&self, key: ClientKey) -> usize {
        // A fixed hasher: every shard must pick the same owner for a key.
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        (hash % self.shards as u64) as usize
    }

    fn count(&self, key: ClientKey) -> bool {
        let mut counts = self.counts.borrow_mut();
        let count = counts.entry(key).or_insert(0);
        if *count >= self.limit {
            if *count == 0 {
                counts.remove(&key);
            }
            return false;
        }
        *count += 1;
        true
    }

    fn uncount(&self, key: ClientKey) {
        let mut counts = self.counts.borrow_mut();
        if let Some(count) = counts.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&key);
            }
        }
    }

    async fn handle(&self, message: CountMessage) {
        match message {
            CountMessage::Acquire { key, ticket, from } => {
                let granted = self.count(key);
                if let Some(senders) = &self.senders {
                    let _ = senders
                        .send_to(from, CountMessage::Answer { ticket, granted })
                        .await;
                }
            }
            CountMessage::Release { key } => self.uncount(key),
            CountMessage::Answer { ticket, granted } => {
                if let Some(answer) = self.waiting.borrow_mut().remove(&ticket) {
                    let _ = answer.try_send(granted);
                }
            }
        }
    }
}

/// One task per peer: act on what it sends.
fn serve(registry: Rc<ClientRegistry>, mut receivers: Receivers<CountMessage>) {
    for (_, mut stream) in receivers.streams() {
        let registry = Rc::clone(&registry);
        glommio::spawn_local(async move {
            while let Some(message) = stream.next().await {
                registry.handle(message).await;
            }
        })
        .detach();
    }
}
