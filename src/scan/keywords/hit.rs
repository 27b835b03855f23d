//! What a scan reports: a rule that hit, where, and the text that made it.

use std::ops::Range;

use super::fold::{self, Folded};
use super::location::Location;

/// Longest evidence kept, in characters: enough to recognise the match in a
/// verdict's explanation, bounded so a regex matching a whole body does not
/// copy it.
pub const EVIDENCE_CHARS: usize = 80;

/// A rule that hit a message: one per rule, however many times and in however
/// many locations it matched, with its first match as evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordHit<'r> {
    /// The rule's name, as a verdict lists it.
    pub name: &'r str,
    /// The rule's index in [`super::RuleSet::rules`], where its description
    /// and line are; hits are listed in this order (file order).
    pub rule: usize,
    /// What it adds to the message's score.
    pub score: f64,
    /// Where its first match was.
    pub location: Location,
    /// The text of its first match as written in the message (case as
    /// written, even for a case-folded rule), at most [`EVIDENCE_CHARS`]
    /// characters.
    pub evidence: String,
}

/// A text as one side of a location searches it: as written, or lowercased.
#[derive(Clone, Copy)]
pub(super) struct View<'t> {
    /// The text as written.
    pub(super) original: &'t str,
    /// What the automaton and the regexes search.
    pub(super) searched: &'t [u8],
    /// The lowercased form, when `searched` is it.
    pub(super) folded: Option<&'t Folded>,
}

impl<'t> View<'t> {
    /// The text searched as written.
    pub(super) fn exact(original: &'t str) -> View<'t> {
        View {
            original,
            searched: original.as_bytes(),
            folded: None,
        }
    }

    /// The text searched lowercased (`folded` filled from `original`).
    pub(super) fn folded(original: &'t str, folded: &'t Folded) -> View<'t> {
        View {
            original,
            searched: folded.bytes(),
            folded: Some(folded),
        }
    }

    /// The evidence for a match at `range` of the searched text.
    pub(super) fn evidence(&self, range: Range<usize>) -> String {
        let range = match self.folded {
            Some(folded) => folded.original_range(self.original, range),
            None => fold::whole_characters(self.original, range),
        };
        let text = &self.original[range];
        if text.len() <= EVIDENCE_CHARS {
            return text.to_owned();
        }
        match text.char_indices().nth(EVIDENCE_CHARS) {
            Some((end, _)) => text[..end].to_owned(),
            None => text.to_owned(),
        }
    }
}
