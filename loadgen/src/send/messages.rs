//! The run's messages, rendered once and shared read-only by the shards,
//! and the per-shard choice of which one goes next.
//!
//! The choice is a smooth weighted round-robin rather than dice: over every
//! cycle of `total weight` messages each size (or file) is sent exactly its
//! weight times, interleaved, so even a short run has the asked-for mix.

use super::size::SizeMix;
use super::template::{Headers, Template};

/// The templates and how often each is sent.
#[derive(Debug)]
pub(crate) struct Messages {
    /// One per distinct generated size, or one per file.
    templates: Vec<Template>,
    /// Relative frequency of each template.
    weights: Vec<u32>,
}

impl Messages {
    /// Generated messages: one template per entry of the mix.
    pub(crate) fn generated(mix: &SizeMix, headers: &Headers<'_>) -> Self {
        Self {
            templates: mix
                .entries()
                .iter()
                .map(|entry| Template::generated(entry.size, headers))
                .collect(),
            weights: mix.entries().iter().map(|entry| entry.weight).collect(),
        }
    }

    /// Real messages, sent round-robin.
    pub(crate) fn from_raw(raw: &[Vec<u8>]) -> Self {
        Self {
            templates: raw.iter().map(|m| Template::from_message(m)).collect(),
            weights: vec![1; raw.len()],
        }
    }

    /// The template at `index` (as returned by [`Picker::next`]).
    pub(crate) fn get(&self, index: usize) -> &Template {
        &self.templates[index]
    }

    /// The order of shard `shard`: the same cycle, started `shard` steps in,
    /// so shards sending a corpus do not all send the same file at once.
    pub(crate) fn picker(&self, shard: usize) -> Picker {
        let mut picker = Picker {
            weights: self.weights.iter().map(|&w| i64::from(w)).collect(),
            current: vec![0; self.weights.len()],
            total: self.weights.iter().map(|&w| i64::from(w)).sum(),
        };
        for _ in 0..shard % self.weights.len().max(1) {
            picker.next();
        }
        picker
    }
}

/// Smooth weighted round-robin state of one shard.
#[derive(Debug)]
pub(crate) struct Picker {
    weights: Vec<i64>,
    current: Vec<i64>,
    total: i64,
}

impl Picker {
    /// The index of the next template to send: every entry gains its
    /// weight, the one now furthest ahead is sent and pays the total back.
    pub(crate) fn next(&mut self) -> usize {
        let (mut best, mut best_value) = (0, i64::MIN);
        for (i, (current, weight)) in self.current.iter_mut().zip(&self.weights).enumerate() {
            *current += weight;
            if *current > best_value {
                (best, best_value) = (i, *current);
            }
        }
        self.current[best] -= self.total;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks(weights: &[u32], shard: usize, n: usize) -> Vec<usize> {
        let messages = Messages {
            templates: Vec::new(),
            weights: weights.to_vec(),
        };
        let mut picker = messages.picker(shard);
        (0..n).map(|_| picker.next()).collect()
    }

    #[test]
    fn weights_are_met_exactly_and_interleaved() {
        let order = picks(&[5, 1, 1], 0, 7);
        assert_eq!(order, [0, 0, 1, 0, 2, 0, 0]);
        let order = picks(&[70, 25, 5], 0, 100);
        let count = |i| order.iter().filter(|&&x| x == i).count();
        assert_eq!((count(0), count(1), count(2)), (70, 25, 5));
    }

    #[test]
    fn equal_weights_go_round_robin_from_the_shard_offset() {
        assert_eq!(picks(&[1, 1, 1], 0, 4), [0, 1, 2, 0]);
        assert_eq!(picks(&[1, 1, 1], 1, 4), [1, 2, 0, 1]);
        assert_eq!(picks(&[1], 3, 2), [0, 0]);
    }
}
