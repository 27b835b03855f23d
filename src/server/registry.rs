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
//! plain integers owned by one thread.

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
    /// One connection from `key` ended; answer `from` once uncounted.
    Release {
        /// The client network.
        key: ClientKey,
        /// The releasing shard's handle for the answer.
        ticket: u64,
        /// The releasing shard.
        from: usize,
    },
    /// The owner's answer to an `Acquire` or a `Release`.
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
        let (ticket, reply) = self.ticket();
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

    /// Uncounts a connection from `key` and returns once its owner has, so a
    /// client that saw that connection end may connect again at once, through
    /// any shard.
    pub async fn release(&self, key: ClientKey) {
        let owner = self.owner(key);
        let Some(senders) = self.senders.as_ref().filter(|_| owner != self.me) else {
            return self.uncount(key);
        };
        let (ticket, reply) = self.ticket();
        let release = CountMessage::Release {
            key,
            ticket,
            from: self.me,
        };
        if senders.send_to(owner, release).await.is_err() {
            // The owner is gone (shutdown): nothing left to uncount.
            self.waiting.borrow_mut().remove(&ticket);
            return;
        }
        let _ = reply.recv().await;
    }

    /// Uncounts a connection from `key` in the background (a connection
    /// dropped without [`ClientRegistry::release`]).
    pub fn release_later(self: &Rc<Self>, key: ClientKey) {
        if self.senders.is_none() || self.owner(key) == self.me {
            return self.uncount(key);
        }
        let registry = Rc::clone(self);
        glommio::spawn_local(async move { registry.release(key).await }).detach();
    }

    /// A handle for an answer from another shard, and where it will arrive.
    fn ticket(&self) -> (u64, local_channel::LocalReceiver<bool>) {
        let ticket = self.next_ticket.get();
        self.next_ticket.set(ticket + 1);
        let (answer, reply) = local_channel::new_bounded(1);
        self.waiting.borrow_mut().insert(ticket, answer);
        (ticket, reply)
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
            CountMessage::Release { key, ticket, from } => {
                self.uncount(key);
                if let Some(senders) = &self.senders {
                    let answer = CountMessage::Answer {
                        ticket,
                        granted: true,
                    };
                    let _ = senders.send_to(from, answer).await;
                }
            }
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
