//! The immutable token table the shards classify with. Built from the
//! trainer's [`TokenStore`] after training and swapped in whole (an `Arc`
//! the shards clone per message or per batch), so the hot path reads
//! without a lock and training never waits for the shards nor they for it.
//!
//! Layout: the token hashes sorted in one `Vec<u64>` and their counts in a
//! parallel `Vec<TokenCounts>`, found by binary search: 16 bytes per token
//! and nothing else (a hash map would spend 30–50 with its control bytes
//! and spare capacity), no pointer to chase, and building it is one sort.

use super::classifier::{Classification, Classifier, Lookup};
use super::store::{MessageCounts, TokenCounts, TokenStore};

/// An immutable token table with the classifier that reads it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    keys: Vec<u64>,
    counts: Vec<TokenCounts>,
    messages: MessageCounts,
    classifier: Classifier,
}

impl Snapshot {
    /// A snapshot of nothing learned: every message is unsure and gets no
    /// rule. What the shards start with before a database is loaded.
    pub fn empty(classifier: Classifier) -> Snapshot {
        Snapshot {
            classifier,
            ..Snapshot::default()
        }
    }

    /// A snapshot of `store`'s current counts, classified by `classifier`.
    pub fn of(store: &TokenStore, classifier: Classifier) -> Snapshot {
        let mut records: Vec<(u64, TokenCounts)> =
            store.records().map(|(k, r)| (k, r.counts)).collect();
        records.sort_unstable_by_key(|&(k, _)| k);
        let (keys, counts) = records.into_iter().unzip();
        Snapshot {
            keys,
            counts,
            messages: store.messages(),
            classifier,
        }
    }

    /// Classifies a message's distinct tokens (see
    /// [`Tokens`](super::Tokens)).
    pub fn classify(&self, tokens: &[u64]) -> Classification {
        self.classifier.classify(self, tokens)
    }

    /// The classifier this snapshot classifies with.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Distinct tokens held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The table as bytes, for a CLI that cannot open the database while a
    /// daemon owns it (`GET /bayes/snapshot`): the message counts, then
    /// each token's hash and counts, little-endian, 16 bytes per token.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.keys.len() * 16);
        out.extend_from_slice(&self.messages.spam.to_le_bytes());
        out.extend_from_slice(&self.messages.ham.to_le_bytes());
        for (key, counts) in self.keys.iter().zip(&self.counts) {
            out.extend_from_slice(&key.to_le_bytes());
            out.extend_from_slice(&counts.spam.to_le_bytes());
            out.extend_from_slice(&counts.ham.to_le_bytes());
        }
        out
    }

    /// The table [`Snapshot::to_bytes`] wrote, classified by `classifier`;
    /// `None` when the bytes are not such a table.
    pub fn from_bytes(bytes: &[u8], classifier: Classifier) -> Option<Snapshot> {
        let (head, body) = bytes.split_at_checked(8)?;
        if body.len() % 16 != 0 {
            return None;
        }
        let word = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes"));
        let mut keys = Vec::with_capacity(body.len() / 16);
        let mut counts = Vec::with_capacity(body.len() / 16);
        for record in body.chunks_exact(16) {
            keys.push(u64::from_le_bytes(record[..8].try_into().expect("8 bytes")));
            counts.push(TokenCounts {
                spam: word(&record[8..12]),
                ham: word(&record[12..]),
            });
        }
        // Lookups binary-search the keys.
        keys.is_sorted().then_some(Snapshot {
            keys,
            counts,
            messages: MessageCounts {
                spam: word(&head[..4]),
                ham: word(&head[4..]),
            },
            classifier,
        })
    }

    /// Bytes of heap the table holds (16 per token when built by
    /// [`Snapshot::of`], which allocates exactly).
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity() * size_of::<u64>() + self.counts.capacity() * size_of::<TokenCounts>()
    }
}

impl Lookup for Snapshot {
    fn messages(&self) -> MessageCounts {
        self.messages
    }

    fn counts(&self, token: u64) -> Option<TokenCounts> {
        let i = self.keys.binary_search(&token).ok()?;
        self.counts.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::{Class, Day};
    use super::*;

    #[test]
    fn a_snapshot_reads_what_the_store_learned() {
        let mut store = TokenStore::new();
        for _ in 0..3 {
            store.learn(&[5, 9, 1 << 60], Class::Spam, Day(1));
        }
        store.learn(&[9, 2], Class::Ham, Day(1));
        let snapshot = Snapshot::of(&store, Classifier::default());
        assert_eq!(snapshot.len(), 4);
        assert_eq!(snapshot.heap_bytes(), 4 * 16);
        assert_eq!(snapshot.messages(), MessageCounts { spam: 3, ham: 1 });
        assert_eq!(snapshot.counts(9), Some(TokenCounts { spam: 3, ham: 1 }));
        assert_eq!(
            snapshot.counts(1 << 60),
            Some(TokenCounts { spam: 3, ham: 0 })
        );
        assert_eq!(snapshot.counts(3), None);
        // The same answer as classifying against the store itself.
        let tokens = [2, 5, 9];
        assert_eq!(
            snapshot.classify(&tokens),
            Classifier::default().classify(&store, &tokens)
        );
    }

    #[test]
    fn a_snapshot_travels_as_bytes() {
        let mut store = TokenStore::new();
        store.learn(&[5, 9, 1 << 60], Class::Spam, Day(1));
        store.learn(&[9, 2], Class::Ham, Day(1));
        let snapshot = Snapshot::of(&store, Classifier::default());
        let bytes = snapshot.to_bytes();
        assert_eq!(bytes.len(), 8 + 4 * 16);
        let back = Snapshot::from_bytes(&bytes, Classifier::default()).unwrap();
        assert_eq!(
            (back.keys.clone(), back.counts.clone()),
            (snapshot.keys, snapshot.counts)
        );
        assert_eq!(back.messages(), MessageCounts { spam: 1, ham: 1 });
        assert!(Snapshot::from_bytes(&bytes[..20], Classifier::default()).is_none());
        let mut unsorted = bytes.clone();
        unsorted[8..24].copy_from_slice(&bytes[24..40]);
        unsorted[24..40].copy_from_slice(&bytes[8..24]);
        assert!(Snapshot::from_bytes(&unsorted, Classifier::default()).is_none());
    }

    #[test]
    fn an_empty_snapshot_is_unsure() {
        let c = Snapshot::empty(Classifier::default()).classify(&[1, 2, 3]);
        assert_eq!((c.probability, c.rule), (0.5, None));
    }
}
