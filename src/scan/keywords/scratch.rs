//! What a scan needs besides the rules, kept by the caller between messages.

use super::fold::Folded;

/// The working memory of scans: the lowercased text, which rules already hit
/// in this message, which regexes their literals woke.
///
/// Keep one per shard (or thread) and pass it to every scan: it grows to the
/// longest text seen and is then reused, so a scan allocates nothing but the
/// evidence of its hits. It may serve several rule sets (the old and the new
/// one across a reload).
#[derive(Debug, Default)]
pub struct Scratch {
    pub(super) folded: Folded,
    pub(super) marks: Marks,
}

impl Scratch {
    /// Empty working memory; it grows on first use.
    pub fn new() -> Scratch {
        Scratch::default()
    }
}

/// Per-message and per-text marks.
#[derive(Debug, Default)]
pub(super) struct Marks {
    /// Rules that hit in this message (a rule scores once).
    pub(super) seen: Stamps,
    /// Regex slots whose required literal occurred in this text.
    pub(super) woken: Stamps,
}

/// A set of small integers emptied in O(1): an element is in the set when
/// its stamp is the current round's, so a new round empties it without
/// touching the table (except once every 2^32 rounds).
#[derive(Debug, Default)]
pub(super) struct Stamps {
    stamps: Vec<u32>,
    round: u32,
}

impl Stamps {
    /// Empties the set and makes room for elements `0..len`.
    pub(super) fn clear(&mut self, len: usize) {
        if self.stamps.len() < len {
            self.stamps.resize(len, 0);
        }
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            self.stamps.fill(0);
            self.round = 1;
        }
    }

    /// Adds `i`; false if it was already in.
    pub(super) fn insert(&mut self, i: usize) -> bool {
        let fresh = self.stamps[i] != self.round;
        self.stamps[i] = self.round;
        fresh
    }

    /// Whether `i` is in.
    pub(super) fn contains(&self, i: usize) -> bool {
        self.stamps[i] == self.round
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_empty_the_set() {
        let mut stamps = Stamps::default();
        stamps.clear(4);
        assert!(stamps.insert(2));
        assert!(!stamps.insert(2));
        assert!(stamps.contains(2) && !stamps.contains(1));
        stamps.clear(4);
        assert!(!stamps.contains(2));
    }

    #[test]
    fn wrapping_round_forgets_old_stamps() {
        let mut stamps = Stamps::default();
        stamps.clear(2);
        stamps.insert(0);
        stamps.round = u32::MAX;
        stamps.insert(1);
        stamps.clear(2);
        assert_eq!(stamps.round, 1);
        assert!(!stamps.contains(0) && !stamps.contains(1));
    }
}
