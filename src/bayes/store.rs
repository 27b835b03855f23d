//! The mutable token table that training writes: per token the messages of
//! each class it was seen in and the day it was last learned, plus the
//! message counts. It lives in memory; a persistent store loads it with
//! [`TokenStore::from_records`] and writes back what
//! [`TokenStore::take_changes`] hands it, so the database is written by one
//! writer, off the hot path, in batches. Shards never read it: they read a
//! [`Snapshot`](super::Snapshot) built from it.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use super::hash::TokenHashBuilder;

/// A message's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Mail the recipient wants.
    Ham,
    /// Mail the recipient does not want.
    Spam,
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Class::Ham => "ham",
            Class::Spam => "spam",
        })
    }
}

/// A day number (days since 1970-01-01 UTC): the granularity of pruning,
/// which is all a token's age is needed for, in 4 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub u32);

impl Day {
    /// The day `time` falls in (day 0 for times before 1970).
    pub fn of(time: SystemTime) -> Day {
        let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Day(u32::try_from(secs / 86_400).unwrap_or(u32::MAX))
    }

    /// Today, by the system clock.
    pub fn today() -> Day {
        Day::of(SystemTime::now())
    }
}

/// In how many learned messages of each class a token appeared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// Spam messages.
    pub spam: u32,
    /// Ham messages.
    pub ham: u32,
}

impl TokenCounts {
    /// Messages in all.
    pub fn total(self) -> u64 {
        u64::from(self.spam) + u64::from(self.ham)
    }
}

/// What is stored per token: its counts and when it was last learned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenRecord {
    /// The counts the classifier reads.
    pub counts: TokenCounts,
    /// The last day a message with this token was learned (for pruning).
    pub last_seen: Day,
}

/// How many messages of each class were learned: the denominators of the
/// per-class token frequencies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// Spam messages learned.
    pub spam: u32,
    /// Ham messages learned.
    pub ham: u32,
}

/// Which tokens pruning removes: those seen in fewer than `min_messages`
/// messages and not learned for more than `max_idle_days` days. Rare old
/// tokens (typos, ids, one campaign's junk) are most of a database and
/// almost none of its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prune {
    /// Tokens seen in at least this many messages are kept whatever their age.
    pub min_messages: u32,
    /// Tokens learned within this many days are kept whatever their count.
    pub max_idle_days: u32,
}

impl Default for Prune {
    /// Tokens seen once or twice and idle for 90 days go.
    fn default() -> Self {
        Prune {
            min_messages: 3,
            max_idle_days: 90,
        }
    }
}

/// A token whose record changed since the last [`TokenStore::take_changes`]:
/// its new record, or None when it was removed. What a persistent store
/// writes in one transaction.
pub type Change = (u64, Option<TokenRecord>);

/// Why a message cannot be unlearned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnlearnError {
    /// No message of that class is counted, so none can be taken back (the
    /// counts would go negative and every frequency with them).
    #[error("no {0} message has been learned, so none can be unlearned")]
    NothingLearned(Class),
}

/// The mutable token table. Memory: one hash-map entry of a `u64` key and
/// a 12-byte record (24 bytes with padding), a control byte, and the map's
/// spare capacity: 25 to 57 bytes per token (see the corpus test for the
/// measured figure).
#[derive(Debug, Clone, Default)]
pub struct TokenStore {
    tokens: HashMap<u64, TokenRecord, TokenHashBuilder>,
    messages: MessageCounts,
    changed: HashSet<u64, TokenHashBuilder>,
}

impl TokenStore {
    /// An empty table: nothing learned.
    pub fn new() -> TokenStore {
        TokenStore::default()
    }

    /// A table loaded from stored records (nothing marked changed).
    pub fn from_records(
        messages: MessageCounts,
        records: impl IntoIterator<Item = (u64, TokenRecord)>,
    ) -> TokenStore {
        TokenStore {
            tokens: records.into_iter().collect(),
            messages,
            changed: HashSet::default(),
        }
    }

    /// Learns a message's distinct `tokens` as `class`, on `day`.
    pub fn learn(&mut self, tokens: &[u64], class: Class, day: Day) {
        let messages = match class {
            Class::Ham => &mut self.messages.ham,
            Class::Spam => &mut self.messages.spam,
        };
        *messages = messages.saturating_add(1);
        for &token in tokens {
            let record = self.tokens.entry(token).or_default();
            let count = match class {
                Class::Ham => &mut record.counts.ham,
                Class::Spam => &mut record.counts.spam,
            };
            *count = count.saturating_add(1);
            record.last_seen = record.last_seen.max(day);
            self.changed.insert(token);
        }
    }

    /// Takes back a message learned as `class` (to relearn it as the other
    /// after a mistake). Counts stop at zero; a token left at zero in both
    /// classes is removed.
    pub fn unlearn(&mut self, tokens: &[u64], class: Class) -> Result<(), UnlearnError> {
        let messages = match class {
            Class::Ham => &mut self.messages.ham,
            Class::Spam => &mut self.messages.spam,
        };
        *messages = messages
            .checked_sub(1)
            .ok_or(UnlearnError::NothingLearned(class))?;
        for token in tokens {
            let Some(record) = self.tokens.get_mut(token) else {
                continue;
            };
            let count = match class {
                Class::Ham => &mut record.counts.ham,
                Class::Spam => &mut record.counts.spam,
            };
            *count = count.saturating_sub(1);
            if record.counts.total() == 0 {
                self.tokens.remove(token);
            }
            self.changed.insert(*token);
        }
        Ok(())
    }

    /// Removes the rare, idle tokens `policy` names, as of `today`;
    /// returns how many went.
    pub fn prune(&mut self, today: Day, policy: Prune) -> usize {
        let before = self.tokens.len();
        let changed = &mut self.changed;
        self.tokens.retain(|&token, record| {
            let idle = today.0.saturating_sub(record.last_seen.0);
            let keep = record.counts.total() >= u64::from(policy.min_messages)
                || idle <= policy.max_idle_days;
            if !keep {
                changed.insert(token);
            }
            keep
        });
        before - self.tokens.len()
    }

    /// The messages learned per class.
    pub fn messages(&self) -> MessageCounts {
        self.messages
    }

    /// One token's record.
    pub fn get(&self, token: u64) -> Option<TokenRecord> {
        self.tokens.get(&token).copied()
    }

    /// Distinct tokens held.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Bytes of heap the token map holds, estimated from its capacity as
    /// the std map (hashbrown) lays it out: buckets (a power of two, at most
    /// 7/8 full) of one entry and one control byte each.
    pub fn heap_bytes_estimate(&self) -> usize {
        let buckets = (self.tokens.capacity() * 8 / 7).next_power_of_two();
        buckets * (size_of::<(u64, TokenRecord)>() + 1)
    }

    /// Every token and its record, in no order (to build a snapshot, or to
    /// write the whole table).
    pub fn records(&self) -> impl Iterator<Item = (u64, TokenRecord)> + '_ {
        self.tokens.iter().map(|(&k, &v)| (k, v))
    }

    /// The tokens changed since the last call, for a persistent store to
    /// write (with [`TokenStore::messages`]) in one transaction.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .map(|token| (token, self.get(token)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(store: &TokenStore, token: u64) -> (u32, u32) {
        store
            .get(token)
            .map_or((0, 0), |r| (r.counts.spam, r.counts.ham))
    }

    #[test]
    fn learning_counts_messages_and_tokens() {
        let mut store = TokenStore::new();
        store.learn(&[1, 2], Class::Spam, Day(10));
        store.learn(&[2, 3], Class::Ham, Day(12));
        assert_eq!(store.messages(), MessageCounts { spam: 1, ham: 1 });
        assert_eq!(counts(&store, 1), (1, 0));
        assert_eq!(counts(&store, 2), (1, 1));
        assert_eq!(store.get(2).map(|r| r.last_seen), Some(Day(12)));
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn unlearning_undoes_learning() {
        let mut store = TokenStore::new();
        store.learn(&[1, 2], Class::Spam, Day(10));
        store.learn(&[2], Class::Spam, Day(10));
        store.unlearn(&[1, 2], Class::Spam).unwrap();
        assert_eq!(store.messages(), MessageCounts { spam: 1, ham: 0 });
        assert_eq!(store.get(1), None);
        assert_eq!(counts(&store, 2), (1, 0));
        assert_eq!(
            store.unlearn(&[2], Class::Ham),
            Err(UnlearnError::NothingLearned(Class::Ham))
        );
        assert_eq!(
            counts(&store, 2),
            (1, 0),
            "a refused unlearn changes nothing"
        );
    }

    #[test]
    fn pruning_drops_only_rare_idle_tokens() {
        let mut store = TokenStore::new();
        store.learn(&[1, 2], Class::Spam, Day(100));
        store.learn(&[2, 3], Class::Ham, Day(100));
        store.learn(&[2], Class::Ham, Day(100));
        store.learn(&[4], Class::Ham, Day(200));
        store.take_changes();
        let policy = Prune {
            min_messages: 3,
            max_idle_days: 90,
        };
        // Day 200: tokens 1 and 3 are rare and 100 days idle; 2 is common;
        // 4 is fresh.
        assert_eq!(store.prune(Day(200), policy), 2);
        assert_eq!(store.get(1), None);
        assert_eq!(store.get(3), None);
        assert!(store.get(2).is_some() && store.get(4).is_some());
        let mut changes = store.take_changes();
        changes.sort_unstable_by_key(|c| c.0);
        assert_eq!(changes, vec![(1, None), (3, None)]);
    }

    #[test]
    fn changes_are_taken_once_and_reload() {
        let mut store = TokenStore::new();
        store.learn(&[7, 8], Class::Ham, Day(5));
        let mut changes = store.take_changes();
        changes.sort_unstable_by_key(|c| c.0);
        let record = TokenRecord {
            counts: TokenCounts { spam: 0, ham: 1 },
            last_seen: Day(5),
        };
        assert_eq!(changes, vec![(7, Some(record)), (8, Some(record))]);
        assert!(store.take_changes().is_empty());

        let reloaded = TokenStore::from_records(
            store.messages(),
            changes.into_iter().filter_map(|(k, r)| Some((k, r?))),
        );
        assert_eq!(reloaded.get(7), Some(record));
        assert_eq!(reloaded.messages(), store.messages());
    }

    #[test]
    fn days_count_from_the_epoch() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 3 + 5);
        assert_eq!(Day::of(t), Day(3));
        assert_eq!(
            Day::of(UNIX_EPOCH - std::time::Duration::from_secs(1)),
            Day(0)
        );
    }
}
