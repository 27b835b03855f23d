//! Asking the shard that owns a key, over glommio's channel mesh.
//!
//! Shared-nothing state (per-client connection counts, the RBL cache) is split
//! among the shards by key: every shard computes the same owner for a key, and
//! only the owner keeps its state. A shard that needs an answer about a key it
//! does not own sends the question to the owner and awaits the answer; no lock,
//! no shared map. This module is that exchange, once, for every such state: a
//! question carries a ticket, the owner's handler answers it in a task of its
//! own (so a slow answer, such as a DNS lookup, never holds up the next
//! question), and the answer finds its way back to the waiting task by ticket.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hash};
use std::pin::Pin;
use std::rc::Rc;

use futures_lite::StreamExt;
use glommio::channels::channel_mesh::{Full, MeshBuilder, Receivers, Senders};
use glommio::channels::local_channel::{self, LocalSender};

/// What travels between two shards: a question or the answer to one.
#[derive(Debug)]
pub enum Envelope<Q, A> {
    /// A question for the owner; answer `from` under `ticket`.
    Ask {
        /// The question.
        query: Q,
        /// The asking shard's handle for the answer.
        ticket: u64,
        /// The asking shard.
        from: usize,
    },
    /// The owner's answer.
    Answer {
        /// The asking shard's handle.
        ticket: u64,
        /// The answer.
        answer: A,
    },
}

/// A mesh every shard joins, made once before the shards start.
pub type Builder<Q, A> = MeshBuilder<Envelope<Q, A>, Full>;

/// Room for messages in flight between two shards.
const CAPACITY: usize = 4096;

/// A mesh for `shards` shards (`None` for one shard: there is nobody to ask).
pub fn builder<Q: Send + 'static, A: Send + 'static>(shards: usize) -> Option<Builder<Q, A>> {
    (shards > 1).then(|| MeshBuilder::full(shards, CAPACITY))
}

/// How the owner answers a question: a future, so the answer may wait on IO.
pub type Handler<Q, A> = Rc<dyn Fn(Q) -> Pin<Box<dyn Future<Output = A>>>>;

/// One shard's end of a mesh.
pub struct Mesh<Q: Send + 'static, A: Send + 'static> {
    me: usize,
    shards: usize,
    senders: Option<Senders<Envelope<Q, A>>>,
    waiting: RefCell<HashMap<u64, LocalSender<A>>>,
    next_ticket: Cell<u64>,
}

impl<Q: Send + 'static, A: Send + 'static> Mesh<Q, A> {
    /// Joins the mesh (when there is one) and starts answering the questions
    /// peers send with `handler`. Without a mesh, or when joining fails (logged),
    /// this shard owns every key.
    pub async fn join(
        me: usize,
        shards: usize,
        builder: Option<Builder<Q, A>>,
        handler: Handler<Q, A>,
    ) -> Rc<Self> {
        let (senders, receivers) = match builder {
            Some(builder) => match builder.join().await {
                Ok((s, r)) => (Some(s), Some(r)),
                Err(e) => {
                    tracing::warn!(shard = me, error = %e, "cannot join the shard mesh; this shard keeps its own state");
                    (None, None)
                }
            },
            None => (None, None),
        };
        let mesh = Rc::new(Mesh {
            me,
            shards: if senders.is_some() { shards } else { 1 },
            senders,
            waiting: RefCell::new(HashMap::new()),
            next_ticket: Cell::new(0),
        });
        if let Some(receivers) = receivers {
            serve(Rc::clone(&mesh), receivers, handler);
        }
        mesh
    }

    /// The shard that owns `key`: the same on every shard.
    pub fn owner<K: Hash>(&self, key: &K) -> usize {
        // A fixed hasher: every shard must pick the same owner for a key.
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        (hash % self.shards as u64) as usize
    }

    /// True when this shard owns `key` (always, without a mesh).
    pub fn owns<K: Hash>(&self, key: &K) -> bool {
        self.owner(key) == self.me
    }

    /// Asks `owner` (another shard) and waits for its answer; `None` when the
    /// owner is gone (shutdown).
    pub async fn ask(&self, owner: usize, query: Q) -> Option<A> {
        let senders = self.senders.as_ref()?;
        let ticket = self.next_ticket.get();
        self.next_ticket.set(ticket + 1);
        let (answer, reply) = local_channel::new_bounded(1);
        self.waiting.borrow_mut().insert(ticket, answer);
        let ask = Envelope::Ask {
            query,
            ticket,
            from: self.me,
        };
        if senders.send_to(owner, ask).await.is_err() {
            self.waiting.borrow_mut().remove(&ticket);
            return None;
        }
        reply.recv().await
    }

    fn take_waiter(&self, ticket: u64) -> Option<LocalSender<A>> {
        self.waiting.borrow_mut().remove(&ticket)
    }
}

/// One task per peer reads what it sends; each question is answered in a task
/// of its own.
fn serve<Q: Send + 'static, A: Send + 'static>(
    mesh: Rc<Mesh<Q, A>>,
    mut receivers: Receivers<Envelope<Q, A>>,
    handler: Handler<Q, A>,
) {
    for (_, mut stream) in receivers.streams() {
        let mesh = Rc::clone(&mesh);
        let handler = Rc::clone(&handler);
        glommio::spawn_local(async move {
            while let Some(envelope) = stream.next().await {
                match envelope {
                    Envelope::Ask {
                        query,
                        ticket,
                        from,
                    } => {
                        let mesh = Rc::clone(&mesh);
                        let answering = handler(query);
                        glommio::spawn_local(async move {
                            let answer = answering.await;
                            if let Some(senders) = &mesh.senders {
                                let _ = senders
                                    .send_to(from, Envelope::Answer { ticket, answer })
                                    .await;
                            }
                        })
                        .detach();
                    }
                    Envelope::Answer { ticket, answer } => {
                        if let Some(waiter) = mesh.take_waiter(ticket) {
                            let _ = waiter.try_send(answer);
                        }
                    }
                }
            }
        })
        .detach();
    }
}
