//! Teddy-sized buckets: a large literal set split into groups of at most 64
//! patterns, each searched by aho-corasick's packed (SIMD, Teddy) searcher in
//! a pass of its own over the text.
//!
//! The packed searcher reports leftmost-first matches only, while a rule set
//! needs every pattern that occurs, overlapping or not. Two things give that
//! back. After a match the next search starts one byte after the match's
//! start (not after its end), so matches that overlap it are still seen. And
//! no bucket holds two patterns of which one is a prefix of the other (`free`
//! and `free money`): those are the only patterns that can match at the same
//! start, where leftmost-first would report one and hide the other. Patterns
//! are ranked by how many others are prefixes of them, and each bucket takes
//! patterns of one rank only: two patterns of equal rank are never prefixes
//! of each other, since a prefix of a pattern has a lower rank than it.

use std::ops::Range;

use aho_corasick::packed::{self, MatchKind};
use aho_corasick::{AhoCorasick, BuildError, Span};

use super::engine;

/// Most patterns per bucket: Teddy's own limit (it refuses more).
const BUCKET_SIZE: usize = 64;

/// A literal set as Teddy-sized buckets.
#[derive(Debug, Clone)]
pub(super) struct Buckets {
    /// The buckets Teddy accepted.
    packed: Vec<Bucket>,
    /// Patterns of buckets Teddy refused (many very short patterns), in one
    /// overlapping automaton, with their ids in the whole set.
    rest: Option<(AhoCorasick, Vec<usize>)>,
}

/// One packed searcher and the ids its patterns have in the whole set.
#[derive(Debug, Clone)]
struct Bucket {
    searcher: packed::Searcher,
    ids: Vec<usize>,
}

impl Buckets {
    /// Splits `patterns` (distinct, non-empty) into buckets; a pattern's id is
    /// its index in `patterns`.
    pub(super) fn new(patterns: &[Vec<u8>]) -> Result<Buckets, BuildError> {
        let ranks = prefix_ranks(patterns);
        let mut ids: Vec<usize> = (0..patterns.len()).collect();
        // Same rank together; longest first, so short patterns (which make
        // Teddy compare fewer bytes) share buckets with each other only.
        ids.sort_by(|&a, &b| {
            (ranks[a], patterns[b].len(), &patterns[a]).cmp(&(
                ranks[b],
                patterns[a].len(),
                &patterns[b],
            ))
        });
        let mut packed = Vec::new();
        let mut refused = Vec::new();
        for rank in ids.chunk_by(|&a, &b| ranks[a] == ranks[b]) {
            for chunk in rank.chunks(BUCKET_SIZE) {
                let searcher = packed::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .builder()
                    .extend(chunk.iter().map(|&id| &patterns[id]))
                    .build();
                match searcher {
                    Some(searcher) => packed.push(Bucket {
                        searcher,
                        ids: chunk.to_vec(),
                    }),
                    None => refused.extend_from_slice(chunk),
                }
            }
        }
        let rest = if refused.is_empty() {
            None
        } else {
            let automaton = engine::overlapping(refused.iter().map(|&id| &patterns[id]), None)?;
            Some((automaton, refused))
        };
        Ok(Buckets { packed, rest })
    }

    /// Calls `found` with the id and range of every match in `haystack`
    /// (bucket by bucket, each left to right).
    pub(super) fn for_each_match(
        &self,
        haystack: &[u8],
        found: &mut impl FnMut(usize, Range<usize>),
    ) {
        for bucket in &self.packed {
            let mut at = 0;
            while let Some(m) = bucket
                .searcher
                .find_in(haystack, Span::from(at..haystack.len()))
            {
                found(bucket.ids[m.pattern().as_usize()], m.start()..m.end());
                at = m.start() + 1;
            }
        }
        if let Some((automaton, ids)) = &self.rest {
            for m in automaton.find_overlapping_iter(haystack) {
                found(ids[m.pattern().as_usize()], m.range());
            }
        }
    }
}

/// For each pattern, how many of the others are prefixes of it (duplicates
/// count as prefixes, so they get different ranks too).
fn prefix_ranks(patterns: &[Vec<u8>]) -> Vec<usize> {
    let mut sorted: Vec<usize> = (0..patterns.len()).collect();
    sorted.sort_by(|&a, &b| patterns[a].cmp(&patterns[b]));
    let mut ranks = vec![0; patterns.len()];
    // The patterns that are prefixes of the current one, shortest first: in
    // sorted order, everything between a pattern and a longer one it prefixes
    // starts with it too, so it stays on the chain until a pattern that does
    // not start with it comes.
    let mut chain: Vec<usize> = Vec::new();
    for id in sorted {
        while chain
            .last()
            .is_some_and(|&top| !patterns[id].starts_with(&patterns[top]))
        {
            chain.pop();
        }
        ranks[id] = chain.len();
        chain.push(id);
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn found(buckets: &Buckets, haystack: &str) -> Vec<usize> {
        let mut ids = Vec::new();
        buckets.for_each_match(haystack.as_bytes(), &mut |id, _| ids.push(id));
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    #[test]
    fn ranks_count_prefixes() {
        let set = patterns(&["free money", "free", "fr", "money", "free mo", "fre"]);
        assert_eq!(prefix_ranks(&set), vec![4, 2, 0, 0, 3, 1]);
    }

    #[test]
    fn finds_prefixes_and_overlaps() {
        let set = patterns(&["free", "free money", "money now", "ee mo", "now"]);
        let buckets = Buckets::new(&set).expect("builds");
        assert_eq!(found(&buckets, "get free money now!"), vec![0, 1, 2, 3, 4]);
        assert_eq!(found(&buckets, "free"), vec![0]);
        assert_eq!(found(&buckets, ""), Vec::<usize>::new());
    }

    #[test]
    fn many_patterns_and_short_ones() {
        let mut words: Vec<String> = (0..300).map(|i| format!("word{i:03}")).collect();
        words.extend(["a", "b", "c", "ab"].map(String::from));
        let set: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let buckets = Buckets::new(&set).expect("builds");
        assert!(buckets.packed.len() >= 300 / BUCKET_SIZE);
        let haystack = "x word007 y word299 word123ab c";
        let expected: Vec<usize> = (0..set.len())
            .filter(|&i| haystack.contains(words[i].as_str()))
            .collect();
        assert_eq!(found(&buckets, haystack), expected);
    }
}
