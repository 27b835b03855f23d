//! A shard's way into the store. Sessions hand their message to the
//! keeper and wait; the keeper commits whatever has queued up as one group
//! on glommio's blocking pool (so fsync never stalls the shard's reactor),
//! answers each session, and passes the kept records to the daemon's index
//! thread. While one group is on disk the next one gathers: under load a
//! single directory fsync serves many messages.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use glommio::channels::local_channel::{self, LocalSender};

use super::record::Record;
use super::service::Indexer;
use super::store::{Store, StoreError};

/// One message waiting for the next group commit.
struct Waiting {
    record: Record,
    message: Vec<u8>,
    answer: LocalSender<Result<(), StoreError>>,
}

/// A shard's quarantine writer.
pub struct Keeper {
    store: Arc<Store>,
    indexer: Indexer,
    queue: RefCell<Vec<Waiting>>,
    committing: Cell<bool>,
    salt: u32,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("store", &self.store.root())
            .field("waiting", &self.queue.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Keeper {
    /// A keeper writing to `store` and telling `indexer` what it kept.
    pub fn new(store: Arc<Store>, indexer: Indexer) -> Keeper {
        let mut salt = [0u8; 4];
        // Ids stay unique without it (queue ids are), except across two
        // starts within one second; a failed draw only loses that margin.
        let _ = getrandom::fill(&mut salt);
        Keeper {
            store,
            indexer,
            queue: RefCell::new(Vec::new()),
            committing: Cell::new(false),
            salt: u32::from_le_bytes(salt),
        }
    }

    /// The quarantine id of the message with `queue_id`: unique across
    /// shards (the queue id carries the shard) and restarts (the salt).
    pub fn id_for(&self, queue_id: &str) -> String {
        format!("{queue_id}{:08X}", self.salt)
    }

    /// Keeps `message` under `record` durably; returns once it is on stable
    /// storage (or why it could not be).
    pub async fn keep(self: &Rc<Self>, record: Record, message: Vec<u8>) -> Result<(), StoreError> {
        let (answer, outcome) = local_channel::new_bounded(1);
        self.queue.borrow_mut().push(Waiting {
            record,
            message,
            answer,
        });
        if !self.committing.replace(true) {
            // A task of its own: no session waits for groups after its own.
            let keeper = Rc::clone(self);
            glommio::spawn_local(async move {
                keeper.commit_until_empty().await;
                keeper.committing.set(false);
            })
            .detach();
        }
        outcome.recv().await.unwrap_or_else(|| {
            Err(StoreError::Io {
                path: self.store.root().to_path_buf(),
                source: std::io::Error::other("quarantine writer stopped"),
            })
        })
    }

    /// Commits groups until no message waits.
    async fn commit_until_empty(&self) {
        loop {
            let group = std::mem::take(&mut *self.queue.borrow_mut());
            if group.is_empty() {
                return;
            }
            let (kept, answers): (Vec<(Record, Vec<u8>)>, Vec<_>) = group
                .into_iter()
                .map(|w| ((w.record, w.message), w.answer))
                .unzip();
            let store = Arc::clone(&self.store);
            let (kept, outcomes) = glommio::executor()
                .spawn_blocking(move || {
                    let batch: Vec<(&Record, &[u8])> =
                        kept.iter().map(|(r, m)| (r, m.as_slice())).collect();
                    let outcomes = store.commit(&batch);
                    (kept, outcomes)
                })
                .await;
            for (((record, _), answer), outcome) in kept.into_iter().zip(answers).zip(outcomes) {
                if outcome.is_ok() {
                    self.indexer.offer(record);
                }
                let _ = answer.try_send(outcome);
            }
        }
    }
}
