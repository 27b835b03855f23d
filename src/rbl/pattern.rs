//! Return-code patterns in postscreen's syntax: `127.0.0.2`, `127.0.0.[2..11]`,
//! `127.0.[0..1].[2;3;4]`.
//!
//! A pattern has four octets; each is a number, or a bracketed list of numbers
//! and `a..b` ranges separated by `;` (Postfix's separator) or `,` (its older
//! one). A DNSBL answers inside 127.0.0.0/8 (RFC 5782 §2.1), so the first octet
//! must be exactly 127: a pattern that could match anything else is refused
//! rather than left to never match.
//!
//! Each octet is kept as a 256-bit set, so matching is four bit tests and the
//! presets can express bitmask lists (URIBL, SURBL) as plain patterns.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The values one octet of a pattern accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct OctetSet([u64; 4]);

impl OctetSet {
    /// No value.
    const EMPTY: OctetSet = OctetSet([0; 4]);

    /// Every value from `low` to `high`, both included.
    pub(super) const fn range(low: u8, high: u8) -> OctetSet {
        let mut set = OctetSet::EMPTY;
        let mut value = low as usize;
        while value <= high as usize {
            set.0[value / 64] |= 1 << (value % 64);
            value += 1;
        }
        set
    }

    /// The one value `value`.
    pub(super) const fn one(value: u8) -> OctetSet {
        OctetSet::range(value, value)
    }

    /// Every value with any bit of `mask` set: a bitmask list's member codes.
    pub(super) const fn any_bit(mask: u8) -> OctetSet {
        let mut set = OctetSet::EMPTY;
        let mut value = 0;
        while value < 256 {
            if value & mask as usize != 0 {
                set.0[value / 64] |= 1 << (value % 64);
            }
            value += 1;
        }
        set
    }

    fn contains(self, value: u8) -> bool {
        self.0[usize::from(value) / 64] & (1 << (value % 64)) != 0
    }

    fn union(self, other: OctetSet) -> OctetSet {
        let mut words = self.0;
        for (word, more) in words.iter_mut().zip(other.0) {
            *word |= more;
        }
        OctetSet(words)
    }

    /// The single value, when the set holds exactly one.
    fn single(self) -> Option<u8> {
        let count: u32 = self.0.iter().map(|word| word.count_ones()).sum();
        if count != 1 {
            return None;
        }
        (0..=255).find(|&value| self.contains(value))
    }

    /// The maximal runs of consecutive values, in order.
    fn runs(self) -> Vec<(u8, u8)> {
        let mut runs: Vec<(u8, u8)> = Vec::new();
        for value in (0..=255).filter(|&value| self.contains(value)) {
            match runs.last_mut() {
                Some((_, high)) if u16::from(*high) + 1 == u16::from(value) => *high = value,
                _ => runs.push((value, value)),
            }
        }
        runs
    }
}

impl fmt::Display for OctetSet {
    /// A number for one value, else brackets of numbers and `a..b` runs, so the
    /// text parses back to the same set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(value) = self.single() {
            return write!(f, "{value}");
        }
        let parts: Vec<String> = self
            .runs()
            .into_iter()
            .map(|(low, high)| match high - low {
                0 => low.to_string(),
                _ => format!("{low}..{high}"),
            })
            .collect();
        write!(f, "[{}]", parts.join(";"))
    }
}

/// A set of DNSBL answers, such as `127.0.0.[2..11]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodePattern([OctetSet; 4]);

impl CodePattern {
    /// Every answer inside 127.0.0.0/8: the listing set of a zone with neither
    /// a preset nor `codes`.
    pub(super) const ANY: CodePattern = CodePattern::loopback(
        OctetSet::range(0, 255),
        OctetSet::range(0, 255),
        OctetSet::range(0, 255),
    );

    /// `127.second.third.fourth`.
    pub(super) const fn loopback(second: OctetSet, third: OctetSet, fourth: OctetSet) -> Self {
        CodePattern([OctetSet::one(127), second, third, fourth])
    }

    /// Whether `answer` is one of the pattern's addresses.
    pub fn matches(&self, answer: Ipv4Addr) -> bool {
        self.0
            .iter()
            .zip(answer.octets())
            .all(|(set, octet)| set.contains(octet))
    }

    /// The one address the pattern matches, when it matches exactly one.
    pub fn single(&self) -> Option<Ipv4Addr> {
        let [a, b, c, d] = self.0;
        Some(Ipv4Addr::new(
            a.single()?,
            b.single()?,
            c.single()?,
            d.single()?,
        ))
    }
}

impl fmt::Display for CodePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// Why a return-code pattern was refused; the text names the octet and what
/// is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Not four dot-separated octets.
    #[error("has {0} octets; a return code has four, e.g. 127.0.0.2")]
    OctetCount(usize),
    /// One octet does not read.
    #[error("octet {position} (`{text}`): {flaw}")]
    Octet {
        /// 1 to 4, left to right.
        position: usize,
        /// The octet as written.
        text: String,
        /// What is wrong with it.
        flaw: OctetFlaw,
    },
    /// The first octet allows something other than 127.
    #[error(
        "the first octet is `{0}`, but DNSBL answers are in 127.0.0.0/8 (RFC 5782 §2.1): \
         it must be 127"
    )]
    NotLoopback(String),
}

/// What is wrong with one octet of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OctetFlaw {
    /// Nothing between two dots (or brackets, or separators).
    #[error("it is empty")]
    Empty,
    /// Not a decimal number.
    #[error("`{0}` is not a number from 0 to 255")]
    NotNumber(String),
    /// A number past 255.
    #[error("{0} is past 255")]
    TooLarge(String),
    /// A number with leading zeros, which some readers take as octal.
    #[error("`{0}` has a leading zero, which some readers take as octal")]
    LeadingZero(String),
    /// `[` without `]`, or the reverse.
    #[error("its brackets do not pair up; write a list as [2;4] or a range as [2..11]")]
    Brackets,
    /// `a..b` with `a` above `b`.
    #[error("the range {0}..{1} runs backwards; write {1}..{0}")]
    Backwards(u8, u8),
}

impl FromStr for CodePattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts = split_octets(text);
        if parts.len() != 4 {
            return Err(PatternError::OctetCount(parts.len()));
        }
        let mut octets = [OctetSet::EMPTY; 4];
        for (position, (octet, part)) in octets.iter_mut().zip(&parts).enumerate() {
            *octet = octet_set(part).map_err(|flaw| PatternError::Octet {
                position: position + 1,
                text: (*part).to_string(),
                flaw,
            })?;
        }
        if octets[0] != OctetSet::one(127) {
            return Err(PatternError::NotLoopback(parts[0].to_string()));
        }
        Ok(CodePattern(octets))
    }
}

/// Splits at the dots outside brackets (a range's `..` is inside them).
fn split_octets(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut start = 0;
    for (at, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// One octet: a number, or `[` elements `]` where an element is a number or
/// `a..b`, separated by `;` or `,`.
fn octet_set(text: &str) -> Result<OctetSet, OctetFlaw> {
    let inner = match text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']').ok_or(OctetFlaw::Brackets)?,
        None => return number(text).map(OctetSet::one),
    };
    if inner.contains(['[', ']']) {
        return Err(OctetFlaw::Brackets);
    }
    inner
        .split([';', ','])
        .try_fold(OctetSet::EMPTY, |set, element| {
            let added = match element.split_once("..") {
                Some((low, high)) => {
                    let (low, high) = (number(low)?, number(high)?);
                    if low > high {
                        return Err(OctetFlaw::Backwards(low, high));
                    }
                    OctetSet::range(low, high)
                }
                None => OctetSet::one(number(element)?),
            };
            Ok(set.union(added))
        })
}

/// A decimal number from 0 to 255, without sign, spaces or leading zeros.
fn number(text: &str) -> Result<u8, OctetFlaw> {
    if text.is_empty() {
        return Err(OctetFlaw::Empty);
    }
    if text.contains(['[', ']']) {
        return Err(OctetFlaw::Brackets);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OctetFlaw::NotNumber(text.to_string()));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(OctetFlaw::LeadingZero(text.to_string()));
    }
    text.parse()
        .map_err(|_| OctetFlaw::TooLarge(text.to_string()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pattern(text: &str) -> CodePattern {
        text.parse().unwrap()
    }

    fn addr(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn postscreen_forms_parse_and_match() {
        let table: &[(&str, &[&str], &[&str])] = &[
            ("127.0.0.2", &["127.0.0.2"], &["127.0.0.3", "127.0.1.2"]),
            (
                "127.0.0.[2..11]",
                &["127.0.0.2", "127.0.0.7", "127.0.0.11"],
                &["127.0.0.1", "127.0.0.12"],
            ),
            (
                "127.0.[0..1].[2;3;4]",
                &["127.0.0.2", "127.0.1.4"],
                &["127.0.2.2", "127.0.0.5"],
            ),
            (
                "127.0.0.[2,4,6..8]",
                &["127.0.0.4", "127.0.0.8"],
                &["127.0.0.5", "127.0.0.9"],
            ),
            (
                "127.[0..255].[0..255].[0..255]",
                &["127.0.0.1", "127.255.255.255"],
                &["128.0.0.2", "10.0.0.2"],
            ),
        ];
        for (text, hits, misses) in table {
            let pattern = pattern(text);
            for hit in *hits {
                assert!(pattern.matches(addr(hit)), "{text} should match {hit}");
            }
            for miss in *misses {
                assert!(
                    !pattern.matches(addr(miss)),
                    "{text} should not match {miss}"
                );
            }
        }
    }

    #[test]
    fn bad_patterns_name_the_octet_and_the_flaw() {
        let table: &[(&str, &str)] = &[
            (
                "127.0.0",
                "has 3 octets; a return code has four, e.g. 127.0.0.2",
            ),
            ("127.0.0.2.1", "has 5 octets"),
            ("", "has 1 octets"),
            ("127.0..2", "octet 3 (``): it is empty"),
            (
                "127.0.0.x",
                "octet 4 (`x`): `x` is not a number from 0 to 255",
            ),
            (
                "127.0.0.[2..x]",
                "octet 4 (`[2..x]`): `x` is not a number from 0 to 255",
            ),
            ("127.0.0.256", "octet 4 (`256`): 256 is past 255"),
            (
                "127.0.0.99999999999",
                "octet 4 (`99999999999`): 99999999999 is past 255",
            ),
            ("127.0.0.02", "octet 4 (`02`): `02` has a leading zero"),
            (
                "127.0.0.[2..11",
                "octet 4 (`[2..11`): its brackets do not pair up",
            ),
            ("127.0.0.2]", "octet 4 (`2]`): its brackets do not pair up"),
            (
                "127.0.0.[[2]]",
                "octet 4 (`[[2]]`): its brackets do not pair up",
            ),
            (
                "127.0.0.[11..2]",
                "octet 4 (`[11..2]`): the range 11..2 runs backwards; write 2..11",
            ),
            ("127.0.0.[]", "octet 4 (`[]`): it is empty"),
            ("127.0.0.[2;]", "octet 4 (`[2;]`): it is empty"),
            (
                "127.0.0.[2...3]",
                "octet 4 (`[2...3]`): `.3` is not a number",
            ),
            ("127.0.0. 2", "octet 4 (` 2`): ` 2` is not a number"),
            ("127.0.0.-2", "octet 4 (`-2`): `-2` is not a number"),
            (
                "10.0.0.2",
                "the first octet is `10`, but DNSBL answers are in 127.0.0.0/8 (RFC 5782 §2.1): it must be 127",
            ),
            ("[126..127].0.0.2", "the first octet is `[126..127]`"),
        ];
        for (text, message) in table {
            let error = text.parse::<CodePattern>().unwrap_err().to_string();
            assert!(error.starts_with(message), "{text:?}: {error}");
        }
    }

    #[test]
    fn patterns_print_in_their_shortest_form() {
        let table: &[(&str, &str)] = &[
            ("127.0.0.2", "127.0.0.2"),
            ("127.0.0.[2..11]", "127.0.0.[2..11]"),
            ("127.0.0.[4;2;3]", "127.0.0.[2..4]"),
            ("127.0.0.[2,4,6..8]", "127.0.0.[2;4;6..8]"),
            ("127.0.0.[7..7]", "127.0.0.7"),
            ("127.[0..255].0.[0;255]", "127.[0..255].0.[0;255]"),
        ];
        for (text, shown) in table {
            assert_eq!(pattern(text).to_string(), *shown);
        }
    }

    #[test]
    fn single_address_patterns_are_recognised() {
        assert_eq!(pattern("127.0.0.1").single(), Some(addr("127.0.0.1")));
        assert_eq!(
            pattern("127.0.[1].[2..2]").single(),
            Some(addr("127.0.1.2"))
        );
        assert_eq!(pattern("127.0.0.[1;2]").single(), None);
    }

    #[test]
    fn bitmask_sets_hold_every_value_with_a_bit_set() {
        let red = CodePattern::loopback(OctetSet::one(0), OctetSet::one(0), OctetSet::any_bit(8));
        for last in [8, 10, 14, 255] {
            assert!(red.matches(Ipv4Addr::new(127, 0, 0, last)), "{last}");
        }
        for last in [0, 2, 4, 6, 16] {
            assert!(!red.matches(Ipv4Addr::new(127, 0, 0, last)), "{last}");
        }
        assert!(CodePattern::ANY.matches(addr("127.1.2.3")));
        assert!(!CodePattern::ANY.matches(addr("126.0.0.2")));
    }

    /// An octet written as a number or a bracketed list of numbers and ranges.
    fn octet_text() -> impl Strategy<Value = String> {
        let element = prop_oneof![
            any::<u8>().prop_map(|n| n.to_string()),
            (any::<u8>(), any::<u8>()).prop_map(|(a, b)| format!("{}..{}", a.min(b), a.max(b))),
        ];
        prop_oneof![
            any::<u8>().prop_map(|n| n.to_string()),
            prop::collection::vec(element, 1..6)
                .prop_map(|elements| format!("[{}]", elements.join(";"))),
        ]
    }

    proptest! {
        /// Printing a parsed pattern gives text that parses to the same set, and
        /// both match exactly the same answers.
        #[test]
        fn printed_patterns_parse_back(
            octets in prop::collection::vec(octet_text(), 3),
            probe in any::<[u8; 3]>(),
        ) {
            let text = format!("127.{}", octets.join("."));
            let parsed: CodePattern = text.parse().unwrap();
            let printed = parsed.to_string();
            let again: CodePattern = printed.parse().unwrap();
            prop_assert_eq!(again, parsed);
            let answer = Ipv4Addr::new(127, probe[0], probe[1], probe[2]);
            prop_assert_eq!(again.matches(answer), parsed.matches(answer));
        }

        /// Any text is either a pattern or an error, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "[0-9.\\[\\];,]{0,24}") {
            let _ = text.parse::<CodePattern>();
        }
    }
}
