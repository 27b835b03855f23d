//! A value the control plane replaces while the shards run (the compiled
//! rules and the TLS certificate after SIGHUP, the classifier's table after
//! training), picked up by each shard at its next message or handshake.
//!
//! A shard keeps its own `Arc` of the value and the generation it is of;
//! per message it does one atomic load of the generation, which only
//! changes when a new value is published, so the cache line stays shared
//! and uncontended. The lock is taken only to publish and, once per new
//! value, by each shard to fetch it: the hot path never waits on it.

use std::cell::{Ref, RefCell};
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
    held: RefCell<(u64, Arc<T>)>,
}

impl<T> Follower<T> {
    /// Follows `source`, starting from its value now.
    pub fn new(source: Arc<Published<T>>) -> Follower<T> {
        let held = RefCell::new(source.latest());
        Follower { source, held }
    }

    /// The latest value, borrowed from this shard's own `Arc`: one atomic
    /// load when nothing changed. Lent, not cloned: cloning the `Arc` per
    /// message would write its reference count, one cache line every shard
    /// shares, twice a message. While an earlier borrow is still out (a
    /// task of this shard holding it across an await), a new value waits
    /// for the next read.
    pub fn current(&self) -> Ref<'_, T> {
        if self.source.generation() != self.held.borrow().0
            && let Ok(mut held) = self.held.try_borrow_mut()
        {
            *held = self.source.latest();
        }
        Ref::map(self.held.borrow(), |(_, value)| &**value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follower_sees_each_new_value_at_its_next_read() {
        let published = Arc::new(Published::new("first"));
        let follower = Follower::new(Arc::clone(&published));
        assert_eq!(*follower.current(), "first");
        published.publish("second");
        assert_eq!(published.generation(), 1);
        assert_eq!(*follower.current(), "second");
        assert_eq!(*follower.current(), "second");
    }

    #[test]
    fn a_value_still_lent_out_is_replaced_at_the_next_read_after() {
        let published = Arc::new(Published::new(1u32));
        let follower = Follower::new(Arc::clone(&published));
        let lent = follower.current();
        published.publish(2);
        assert_eq!((*lent, *follower.current()), (1, 1));
        drop(lent);
        assert_eq!(*follower.current(), 2);
    }

    #[test]
    fn reading_does_not_touch_the_shared_reference_count() {
        let published = Arc::new(Published::new(7u32));
        let follower = Follower::new(Arc::clone(&published));
        let (_, value) = published.latest();
        // The published slot, the follower's copy and this one.
        assert_eq!(Arc::strong_count(&value), 3);
        for _ in 0..1_000 {
            let current = follower.current();
            assert_eq!(*current, 7);
            assert_eq!(Arc::strong_count(&value), 3);
        }
        // A new value: the follower lets go of the old one at its next read.
        published.publish(8);
        assert_eq!(*follower.current(), 8);
        assert_eq!(Arc::strong_count(&value), 1);
    }
}
