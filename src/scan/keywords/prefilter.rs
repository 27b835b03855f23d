//! Which texts a regex needs to run on: the literals one of which every match
//! contains, pulled out of the regex with regex-syntax's extractor, join the
//! location's automaton, and the regex runs only on a text where one was
//! found. Most regexes then never run on most messages.
//!
//! The extractor gives the possible prefixes (or suffixes) of a match; when
//! that set is finite and has no empty member, every match starts (or ends)
//! with one of them, so a text without any cannot match. Both sets are tried
//! and the one with the longer shortest literal kept (`\w+@example\.com` has
//! no finite prefix set but the suffix `@example.com`). Anything else (an
//! infinite set, an empty literal, literals too short to be selective) leaves
//! the regex to run on every text: never a missed match.
//!
//! Under `case = "fold"` the regex runs over lowercased text, in which no
//! character that lowercasing changes ever occurs (lowercasing is
//! idempotent). A literal with such a character cannot be found, so it is
//! dropped: `(?i)viagra` needs `viagra` alone, not its 64 spellings; and a
//! regex all of whose literals are dropped can never match at all.

use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::rule::Case;

/// Shortest literal worth a place in the automaton: a one- or two-byte
/// literal occurs in nearly every text, so it would wake the regex anyway,
/// and it would slow the automaton for every rule of the location.
const MIN_LITERAL_LEN: usize = 3;

/// What the automaton can tell about whether a regex may match a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Requirement {
    /// Every match contains one of these (in the form the text is searched
    /// in): the regex runs only on a text where one was found.
    AnyOf(Vec<Vec<u8>>),
    /// Nothing useful is known: the regex runs on every text.
    Nothing,
    /// Under fold, every match needs a character lowercased text never has.
    Impossible,
}

/// What must occur in a text for `pattern`, run with `case`, to match in it.
pub(super) fn requirement(pattern: &str, case: Case) -> Requirement {
    let Ok(hir) = regex_syntax::parse(pattern) else {
        return Requirement::Nothing;
    };
    let mut best: Option<Vec<Vec<u8>>> = None;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let Some(literals) = seq.literals().filter(|l| !l.is_empty()) else {
            continue;
        };
        let mut usable: Vec<Vec<u8>> = match case {
            Case::Exact => literals.iter().map(|l| l.as_bytes().to_vec()).collect(),
            Case::Fold => {
                let findable: Vec<Vec<u8>> = literals
                    .iter()
                    .map(|l| whole_characters(l.as_bytes()))
                    .filter(|text| is_lowercase_stable(text))
                    .map(|text| text.as_bytes().to_vec())
                    .collect();
                if findable.is_empty() {
                    return Requirement::Impossible;
                }
                findable
            }
        };
        if usable.iter().any(|l| l.len() < MIN_LITERAL_LEN) {
            continue;
        }
        usable.sort_unstable();
        usable.dedup();
        if best.as_ref().is_none_or(|b| better(&usable, b)) {
            best = Some(usable);
        }
    }
    best.map_or(Requirement::Nothing, Requirement::AnyOf)
}

/// Whether literal set `a` is a better prefilter than `b`: a longer shortest
/// literal (fewer false wake-ups), then fewer literals.
fn better(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    let shortest = |set: &[Vec<u8>]| set.iter().map(Vec::len).min().unwrap_or(0);
    (shortest(a), std::cmp::Reverse(a.len())) > (shortest(b), std::cmp::Reverse(b.len()))
}

/// The whole characters of a literal the extractor may have cut inside a
/// character (it shortens long literals byte-wise): still a substring every
/// match contains.
fn whole_characters(bytes: &[u8]) -> &str {
    let from = bytes
        .iter()
        .take_while(|&&b| (0x80..0xC0).contains(&b))
        .count();
    bytes[from..]
        .utf8_chunks()
        .next()
        .map_or("", |chunk| chunk.valid())
}

/// Whether lowercasing leaves `text` as it is, so it can occur in folded text.
fn is_lowercase_stable(text: &str) -> bool {
    text.chars().all(|c| c.to_lowercase().eq([c]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_of(literals: &[&str]) -> Requirement {
        Requirement::AnyOf(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
    }

    #[test]
    fn a_plain_literal_is_required() {
        assert_eq!(
            requirement("free money", Case::Fold),
            any_of(&["free money"])
        );
        assert_eq!(requirement(r"\bcialis\b", Case::Exact), any_of(&["cialis"]));
    }

    #[test]
    fn alternations_need_any_branch() {
        assert_eq!(
            requirement("viagra|cialis", Case::Fold),
            any_of(&["cialis", "viagra"])
        );
    }

    #[test]
    fn case_insensitive_spellings_collapse_under_fold() {
        assert_eq!(requirement("(?i)viagra", Case::Fold), any_of(&["viagra"]));
        assert_eq!(requirement("(?i)école", Case::Fold), any_of(&["école"]));
        match requirement("(?i)viagra", Case::Exact) {
            Requirement::AnyOf(literals) => assert_eq!(literals.len(), 64),
            other => panic!("expected 64 spellings, got {other:?}"),
        }
    }

    #[test]
    fn the_suffix_set_serves_when_prefixes_are_unbounded() {
        assert_eq!(
            requirement(r"\w+@example\.com", Case::Fold),
            any_of(&["@example.com"])
        );
    }

    #[test]
    fn no_usable_literal_means_always_run() {
        for pattern in [r"\d{5}", "a*", "[a-z]+", "ab|x", "(?i)k"] {
            assert_eq!(
                requirement(pattern, Case::Fold),
                Requirement::Nothing,
                "{pattern}"
            );
        }
    }

    #[test]
    fn uppercase_only_literals_are_impossible_under_fold() {
        assert_eq!(requirement("Viagra", Case::Fold), Requirement::Impossible);
        assert_eq!(
            requirement("FREE|MONEY", Case::Fold),
            Requirement::Impossible
        );
        // One findable branch keeps the regex alive, needing that branch.
        assert_eq!(requirement("Viagra|cheap", Case::Fold), any_of(&["cheap"]));
        assert_eq!(requirement("Viagra", Case::Exact), any_of(&["Viagra"]));
    }

    #[test]
    fn literals_cut_inside_a_character_keep_whole_characters() {
        assert_eq!(whole_characters("é".as_bytes()), "é");
        assert_eq!(whole_characters(&"éé".as_bytes()[1..]), "é");
        assert_eq!(whole_characters(&"aé".as_bytes()[..2]), "a");
        assert_eq!(whole_characters(&"é".as_bytes()[..1]), "");
    }
}
