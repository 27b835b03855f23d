//! One shard's slice of the RBL cache: answers kept for their DNS TTL, held
//! between a floor and a cap, in a bounded number of entries.
//!
//! Pure: the shell passes `now`. Written here rather than taken from a cache
//! crate because what it needs is small and particular: TTL per entry clamped
//! to `[min_ttl, max_ttl]`, a hard entry cap, no lock and no atomics (a shard
//! owns its slice), and counters for the metrics. Eviction is first in, first
//! out among live entries: a DNSBL answer is worth the same until its TTL
//! runs out, so age is the fairest thing to evict by, and FIFO costs one
//! queue slot per entry where LRU would need a list update on every hit.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How long entries live and how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Shortest time an answer is kept, whatever its TTL: a zero or tiny TTL
    /// would otherwise send a query for every connection.
    pub min_ttl: Duration,
    /// Longest time an answer is kept, whatever its TTL: a listing that ends
    /// should stop counting within this bound.
    pub max_ttl: Duration,
    /// Entries at most; the oldest live one makes room for a new one.
    pub entries: usize,
}

/// What the cache has done, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that found nothing live.
    pub misses: u64,
    /// Live entries dropped to make room.
    pub evictions: u64,
    /// Entries dropped because their time was up.
    pub expirations: u64,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    expires: Instant,
    /// Which insertion of this key the queue entry refers to.
    generation: u64,
}

/// A bounded TTL cache.
#[derive(Debug)]
pub struct Cache<K, V> {
    limits: CacheLimits,
    slots: HashMap<K, Slot<V>>,
    /// Keys in insertion order; an element whose generation no longer
    /// matches its slot's is stale and skipped.
    order: VecDeque<(K, u64)>,
    next_generation: u64,
    stats: CacheStats,
}

impl<K: Eq + Hash + Clone, V> Cache<K, V> {
    /// An empty cache.
    pub fn new(limits: CacheLimits) -> Self {
        Cache {
            limits,
            slots: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            stats: CacheStats::default(),
        }
    }

    /// The live value for `key`, counting a hit or a miss.
    pub fn get(&mut self, key: &K, now: Instant) -> Option<&V> {
        let expired = match self.slots.get(key) {
            None => {
                self.stats.misses += 1;
                return None;
            }
            Some(slot) => slot.expires <= now,
        };
        if expired {
            self.slots.remove(key);
            self.stats.expirations += 1;
            self.stats.misses += 1;
            return None;
        }
        self.stats.hits += 1;
        self.slots.get(key).map(|slot| &slot.value)
    }

    /// Keeps `value` for `ttl` clamped to the limits, replacing what `key`
    /// held; makes room first when the cache is full.
    pub fn insert(&mut self, key: K, value: V, ttl: Duration, now: Instant) {
        if self.limits.entries == 0 {
            return;
        }
        let ttl = ttl.clamp(
            self.limits.min_ttl,
            self.limits.max_ttl.max(self.limits.min_ttl),
        );
        if !self.slots.contains_key(&key) {
            while self.slots.len() >= self.limits.entries {
                self.evict_oldest(now);
            }
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.order.push_back((key.clone(), generation));
        let slot = Slot {
            value,
            expires: now + ttl,
            generation,
        };
        self.slots.insert(key, slot);
        self.compact();
    }

    /// Entries held now (expired ones not yet noticed included).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Drops the oldest entry still held: an expired one counts as an
    /// expiration, a live one as an eviction.
    fn evict_oldest(&mut self, now: Instant) {
        while let Some((key, generation)) = self.order.pop_front() {
            let current = self
                .slots
                .get(&key)
                .is_some_and(|slot| slot.generation == generation);
            if !current {
                continue;
            }
            let slot = self.slots.remove(&key).expect("checked above");
            if slot.expires <= now {
                self.stats.expirations += 1;
            } else {
                self.stats.evictions += 1;
            }
            return;
        }
    }

    /// Keeps the queue within twice the live entries: replaced and expired
    /// keys leave stale queue elements behind, which would otherwise grow
    /// without bound under a steady stream of refreshes.
    fn compact(&mut self) {
        if self.order.len() <= 2 * self.slots.len() + 16 {
            return;
        }
        let slots = &self.slots;
        self.order.retain(|(key, generation)| {
            slots
                .get(key)
                .is_some_and(|slot| slot.generation == *generation)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: CacheLimits = CacheLimits {
        min_ttl: Duration::from_secs(10),
        max_ttl: Duration::from_secs(100),
        entries: 3,
    };

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn ttl_is_clamped_to_the_floor_and_the_cap() {
        let t0 = Instant::now();
        let mut cache = Cache::new(LIMITS);
        cache.insert("zero", 0, secs(0), t0);
        cache.insert("long", 1, secs(86_400), t0);
        cache.insert("mid", 2, secs(50), t0);
        assert_eq!(cache.get(&"zero", t0 + secs(9)), Some(&0), "floor");
        assert_eq!(cache.get(&"zero", t0 + secs(10)), None);
        assert_eq!(cache.get(&"mid", t0 + secs(49)), Some(&2));
        assert_eq!(cache.get(&"mid", t0 + secs(50)), None);
        assert_eq!(cache.get(&"long", t0 + secs(99)), Some(&1));
        assert_eq!(cache.get(&"long", t0 + secs(100)), None, "cap");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.expirations), (3, 3, 3));
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_evicts_the_oldest_live_entry() {
        let t0 = Instant::now();
        let mut cache = Cache::new(LIMITS);
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            cache.insert(key, i, secs(60), t0);
        }
        cache.insert("d", 3, secs(60), t0);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&"a", t0), None);
        assert_eq!(cache.get(&"d", t0), Some(&3));
        assert_eq!(cache.stats().evictions, 1);
        // Replacing a key neither grows the cache nor evicts, and renews the
        // key's place in the queue.
        cache.insert("b", 10, secs(60), t0);
        assert_eq!((cache.len(), cache.stats().evictions), (3, 1));
        cache.insert("e", 4, secs(60), t0);
        assert_eq!(cache.get(&"c", t0), None, "c is now the oldest");
        assert_eq!(cache.get(&"b", t0), Some(&10));
    }

    #[test]
    fn an_expired_entry_makes_room_as_an_expiration() {
        let t0 = Instant::now();
        let mut cache = Cache::new(LIMITS);
        cache.insert("a", 0, secs(10), t0);
        cache.insert("b", 1, secs(60), t0);
        cache.insert("c", 2, secs(60), t0);
        cache.insert("d", 3, secs(60), t0 + secs(20));
        let stats = cache.stats();
        assert_eq!((stats.evictions, stats.expirations), (0, 1));
    }

    #[test]
    fn refreshing_one_key_forever_keeps_the_queue_bounded() {
        let t0 = Instant::now();
        let mut cache = Cache::new(LIMITS);
        for i in 0..10_000 {
            cache.insert("hot", i, secs(60), t0);
        }
        assert_eq!(cache.len(), 1);
        assert!(cache.order.len() <= 2 * cache.len() + 17);
    }

    #[test]
    fn a_cache_of_no_entries_keeps_nothing() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits {
            entries: 0,
            ..LIMITS
        });
        cache.insert("a", 0, secs(60), t0);
        assert_eq!(cache.get(&"a", t0), None);
    }
}
