//! Case folding: a location's text lowercased once per scan, patterns once at
//! load, both by the same per-character rule so that `fold(pattern)` occurs in
//! `fold(text)` exactly when the rule should match.
//!
//! The rule is [`char::to_lowercase`], character by character: ASCII through
//! a copy and `make_ascii_lowercase` over whole runs, anything else one
//! character at a time. It is not context-sensitive (a final capital sigma
//! becomes `σ`, not `ς`), and it is idempotent (checked over every character
//! below), which is what lets a regex's required literals be folded too.
//!
//! A few characters change UTF-8 length when lowercased (`İ` → `i̇`, the
//! Kelvin sign → `k`); the folded text records where, so a match in it maps
//! back to the text as written, for the evidence.

use std::ops::Range;

/// Bytes checked at a time when looking for the end of an ASCII run.
const ASCII_BLOCK: usize = 32;

/// One location's text, lowercased, with what it takes to map offsets back.
///
/// Lives in the caller's scratch and is refilled for every text, so a scan
/// allocates only when a text is longer than any before it.
#[derive(Debug, Default)]
pub(super) struct Folded {
    /// The lowercased text (valid UTF-8).
    text: Vec<u8>,
    /// `(folded offset, original offset)` just after each character whose
    /// lowercase has a different length; empty for most text.
    shifts: Vec<(usize, usize)>,
}

impl Folded {
    /// Replaces the content with `original` lowercased.
    pub(super) fn fill(&mut self, original: &str) {
        self.text.clear();
        self.shifts.clear();
        fold_into(original, &mut self.text, &mut self.shifts);
    }

    /// The lowercased text.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.text
    }

    /// The part of `original` (the text last given to [`Folded::fill`]) that
    /// `folded` covers, widened to whole characters.
    pub(super) fn original_range(&self, original: &str, folded: Range<usize>) -> Range<usize> {
        let start = self.original_offset(folded.start);
        let end = self.original_offset(folded.end);
        whole_characters(original, start..end)
    }

    /// Where a folded offset falls in the original text.
    fn original_offset(&self, folded: usize) -> usize {
        let before = self.shifts.partition_point(|&(f, _)| f <= folded);
        match before.checked_sub(1).map(|i| self.shifts[i]) {
            Some((f, o)) => o + (folded - f),
            None => folded,
        }
    }
}

/// `range` of `text` clamped to it and widened to whole characters, so it
/// can be sliced whatever offsets a search reported.
pub(super) fn whole_characters(text: &str, range: Range<usize>) -> Range<usize> {
    let mut start = range.start.min(text.len());
    let mut end = range.end.clamp(start, text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// `text` lowercased by the same rule as every scanned text: how literals and
/// prefilter literals of case-folded rules are stored.
pub(super) fn fold(text: &str) -> Vec<u8> {
    let mut folded = Vec::with_capacity(text.len());
    fold_into(text, &mut folded, &mut Vec::new());
    folded
}

/// Appends `original` lowercased to `out`, and a shift to `shifts` after each
/// character whose lowercase has another length.
fn fold_into(original: &str, out: &mut Vec<u8>, shifts: &mut Vec<(usize, usize)>) {
    let bytes = original.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let run = ascii_prefix_len(&bytes[at..]);
        let from = out.len();
        out.extend_from_slice(&bytes[at..at + run]);
        out[from..].make_ascii_lowercase();
        at += run;
        let Some(c) = original[at..].chars().next() else {
            break;
        };
        let before = out.len();
        let mut utf8 = [0; 4];
        for lower in c.to_lowercase() {
            out.extend_from_slice(lower.encode_utf8(&mut utf8).as_bytes());
        }
        at += c.len_utf8();
        if out.len() - before != c.len_utf8() {
            shifts.push((out.len(), at));
        }
    }
}

/// How many bytes at the start of `bytes` are ASCII, a block at a time
/// (`is_ascii` reads a word at a time).
fn ascii_prefix_len(bytes: &[u8]) -> usize {
    let mut len = 0;
    for block in bytes.chunks(ASCII_BLOCK) {
        if block.is_ascii() {
            len += block.len();
        } else {
            return len + block.iter().take_while(|b| b.is_ascii()).count();
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_ascii_and_unicode() {
        assert_eq!(
            fold("Free MONEY, École, ΣΑΣ"),
            "free money, école, σασ".as_bytes()
        );
        assert_eq!(fold(""), b"");
        let long = "AbC".repeat(40) + "É" + &"XyZ".repeat(40);
        assert_eq!(fold(&long), long.to_lowercase().as_bytes());
    }

    #[test]
    fn lowercase_is_idempotent_for_every_character() {
        for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
            for lower in c.to_lowercase() {
                assert!(
                    lower.to_lowercase().eq([lower]),
                    "{c:?} lowercases to {lower:?}, which lowercases further"
                );
            }
        }
    }

    #[test]
    fn offsets_map_back_across_length_changes() {
        // The Kelvin sign is 3 bytes and lowercases to the 1-byte `k`; `İ` is
        // 2 bytes and lowercases to 3 (`i` and a combining dot above).
        let original = "\u{212A}ELVIN and İSTANBUL for FREE";
        let mut folded = Folded::default();
        folded.fill(original);
        let text = std::str::from_utf8(folded.bytes()).expect("folded text is UTF-8");
        assert_eq!(text, "kelvin and i\u{307}stanbul for free");
        for word in ["kelvin", "i\u{307}stanbul", "free", "and"] {
            let at = text.find(word).expect("word in folded text");
            let range = folded.original_range(original, at..at + word.len());
            assert_eq!(fold(&original[range]), word.as_bytes());
        }
    }

    #[test]
    fn offsets_inside_an_expansion_widen_to_whole_characters() {
        let original = "xİy";
        let mut folded = Folded::default();
        folded.fill(original);
        // Folded: x, i, U+0307 (2 bytes), y. The combining dot alone maps to
        // the whole `İ` or past it, never into the middle of it.
        let range = folded.original_range(original, 2..4);
        assert!(original.is_char_boundary(range.start) && original.is_char_boundary(range.end));
        assert_eq!(folded.original_range(original, 0..1), 0..1);
        assert_eq!(folded.original_range(original, 4..5), 3..4);
    }
}
