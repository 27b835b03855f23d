//! A value the control plane replaces while the shards run (the compiled
//! rules after SIGHUP, the classifier's table after training), picked up by
//! each shard at its next message.
//!
//! A shard keeps its own `Arc` of the value and the generation it is of;
//! per message it does one atomic load of the generation, which only
//! changes when a new value is published, so the cache line stays shared
//! and uncontended. The lock is taken only to publish and, once per new
//! value, by each shard to fetch it: the hot path never waits on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The current value and its generation.
pub struct Published<T> {
    generation: AtomicU64,
    current: Mutex<Arc<T>>,
}

impl<T> Published<T> {
    /// Publishes `value` as generation 0.
    pub fn new(value: T) -> Published<T> {
        Published {
            generation: AtomicU64::new(0),
            current: Mutex::new(Arc::new(value)),
        }
    }

    /// Replaces the value; shards pick it up at their next message.
    pub fn publish(&self, value: T) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(value);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The generation now: compare with the one a shard holds.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The value now, with its generation.
    pub fn latest(&self) -> (u64, Arc<T>) {
        let generation = self.generation();
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        (generation, Arc::clone(&current))
    }
}

/// A shard's view of a [`Published`] value: the value it holds and its
/// generation, refreshed when a newer one is out. Not `Sync`: one per shard.
pub struct Follower<T> {
    source: Arc<Published<T>>,
    held: std::cell::RefCell<(u64, Arc<T>)>,
}

impl<T> Follower<T> {
    /// Follows `source`, starting from its value now.
    pub fn new(source: Arc<Published<T>>) -> Follower<T> {
        let held = std::cell::RefCell::new(source.latest());
        Follower { source, held }
    }

    /// The latest value: one atomic load when nothing changed.
    pub fn current(&self) -> Arc<T> {
        if self.source.generation() != self.held.borrow().0 {
            *self.held.borrow_mut() = self.source.latest();
        }
        Arc::clone(&self.held.borrow().1)
    }
}
