//! The multi-pattern search under one location's literals: which engine, and
//! how it reports every pattern that occurs, overlapping or not.
//!
//! Every engine reports all occurrences (aho-corasick's standard semantics
//! with overlapping iteration, or Teddy buckets searched so that overlaps are
//! not lost), because a rule set holding both `free` and `free money` must
//! see both. The choice between them is made per location when a rule set is
//! compiled, by the number of patterns, from what `benches/keywords.rs`
//! measured on the dev corpus (2026-11-27, one run, all engines side by side;
//! see benches/README.md):
//!
//! - Teddy buckets cost one SIMD pass per 64 patterns. With 100 patterns (2
//!   buckets) they ran 1.5 to 1.7 times as fast as a DFA; with 200 (4
//!   buckets) 0.89 to 0.92 times, with 400 0.46, with 1,000 0.2 and with
//!   10,000 0.08: the crossover is near 3 buckets. They are used up to 128
//!   patterns (2 full buckets), which leaves room for the extra buckets that
//!   patterns prefixing each other need.
//! - Above that, an aho-corasick DFA: one table lookup a byte whatever the
//!   set. aho-corasick's own choice for more than 100 patterns, a contiguous
//!   NFA, ran at a third of the DFA's speed at 200 to 1,000 patterns and
//!   two thirds at 10,000. A DFA costs memory (7.1 MiB at 10,000 patterns,
//!   against 0.8 MiB for the NFA; shared by every clone of the rule set);
//!   should one fail to build, the location falls back to aho-corasick's own
//!   choice.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, BuildError, MatchKind};

use super::buckets::Buckets;

/// Largest pattern set searched as Teddy buckets by [`Engine::Auto`] (see
/// the module doc for the measurements).
const TEDDY_BUCKETS_UP_TO: usize = 128;

/// How a location's literal patterns are searched for.
///
/// [`Engine::Auto`] is what production uses; the others pin one engine, so a
/// benchmark (or an operator measuring an unusual rule set) can compare them
/// on the same rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Chosen per location by its number of patterns, as
    /// [`Engine::for_patterns`] says.
    #[default]
    Auto,
    /// aho-corasick's own choice (a DFA up to 100 patterns, else a
    /// contiguous NFA), with its prefilter (Teddy for small sets).
    AhoCorasick,
    /// An aho-corasick DFA whatever the number of patterns: one table lookup
    /// a byte, paid for in memory.
    Dfa,
    /// Buckets of at most 64 patterns, each searched by aho-corasick's packed
    /// (SIMD, Teddy) searcher in a pass of its own.
    TeddyBuckets,
}

impl Engine {
    /// The engine [`Engine::Auto`] picks for a location with `patterns`
    /// distinct literals.
    pub fn for_patterns(patterns: usize) -> Engine {
        if patterns <= TEDDY_BUCKETS_UP_TO {
            Engine::TeddyBuckets
        } else {
            Engine::Dfa
        }
    }
}

/// A compiled literal set that reports every occurrence of every pattern.
#[derive(Debug, Clone)]
pub(super) enum Matcher {
    /// One aho-corasick automaton, searched with overlapping iteration.
    Automaton(AhoCorasick),
    /// Teddy-sized buckets.
    Buckets(Buckets),
}

impl Matcher {
    /// Compiles `patterns` (distinct, non-empty); a pattern's id is its index.
    pub(super) fn new(patterns: &[Vec<u8>], engine: Engine) -> Result<Matcher, BuildError> {
        match engine {
            Engine::Auto => match Engine::for_patterns(patterns.len()) {
                Engine::Dfa => Matcher::new(patterns, Engine::Dfa)
                    .or_else(|_| Matcher::new(patterns, Engine::AhoCorasick)),
                engine => Matcher::new(patterns, engine),
            },
            Engine::AhoCorasick => overlapping(patterns, None).map(Matcher::Automaton),
            Engine::Dfa => {
                overlapping(patterns, Some(AhoCorasickKind::DFA)).map(Matcher::Automaton)
            }
            Engine::TeddyBuckets => Buckets::new(patterns).map(Matcher::Buckets),
        }
    }

    /// Calls `found` with the pattern id and byte range of every occurrence
    /// of every pattern in `haystack`.
    pub(super) fn for_each_match(
        &self,
        haystack: &[u8],
        mut found: impl FnMut(usize, Range<usize>),
    ) {
        match self {
            Matcher::Automaton(automaton) => {
                for m in automaton.find_overlapping_iter(haystack) {
                    found(m.pattern().as_usize(), m.range());
                }
            }
            Matcher::Buckets(buckets) => buckets.for_each_match(haystack, &mut found),
        }
    }
}

/// An automaton with standard match semantics, the only ones that allow
/// overlapping iteration; `kind` `None` lets aho-corasick choose.
pub(super) fn overlapping<I, P>(
    patterns: I,
    kind: Option<AhoCorasickKind>,
) -> Result<AhoCorasick, BuildError>
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .kind(kind)
        .build(patterns)
}
