//! Why a rule file was refused, on one line each: the file and line, the
//! rule, the key and value, what is wrong, and how to fix it.
//!
//! ```text
//! rules/spam.toml:12: rule SUBJ_FREE_MONEY: where = "bdy": unknown location; fix: use any of subject, headers, body, html, url, attachment_name
//! ```

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::location::{self, Location};

/// Where in a rule file a problem is: the file, the 1-based line, and the
/// rule when its name is known, so the operator lands on it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The rule file's path (or the origin given to `from_toml`).
    pub origin: PathBuf,
    /// The line, counting from 1.
    pub line: usize,
    /// The rule's name, when the problem is inside a rule that has a
    /// readable one.
    pub rule: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.origin.display(), self.line)?;
        match &self.rule {
            Some(rule) => write!(f, ": rule {rule}"),
            None => Ok(()),
        }
    }
}

/// Why a rule file was refused. Loading stops at the first problem; each
/// message says where it is and what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("{}: cannot read the rule file: {source}; fix: check the path and that ringwall may read it", origin.display())]
    Read {
        /// The path given.
        origin: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The file is not valid TOML.
    #[error("{place}: not valid TOML: {message}; fix: correct the syntax on that line")]
    Syntax {
        /// Where the parser stopped.
        place: Place,
        /// The TOML parser's message.
        message: String,
    },
    /// A key that rule files do not have, or a value of the wrong type.
    #[error("{place}: {key}: {message}; fix: {fix}")]
    Schema {
        /// Where the key or value is.
        place: Place,
        /// The key in question.
        key: String,
        /// The decoder's message (it lists the valid keys for an unknown one).
        message: String,
        /// What to write instead.
        fix: &'static str,
    },
    /// A required key is absent from a `[[rule]]`.
    #[error("{place}: {key} is missing; fix: {fix}")]
    Missing {
        /// The rule's `[[rule]]` header.
        place: Place,
        /// `name`, `score` or `where`.
        key: &'static str,
        /// What to add.
        fix: String,
    },
    /// A name with characters other than `A-Z`, `0-9` and `_`.
    #[error(
        "{place}: name = {name:?}: a rule name is made of A-Z, 0-9 and _ only; fix: write name = {suggestion:?}"
    )]
    BadName {
        /// Where the name is.
        place: Place,
        /// The name as written.
        name: String,
        /// The name uppercased with every other character made `_`.
        suggestion: String,
    },
    /// Two rules of one file with the same name.
    #[error(
        "{place}: name = {name:?}: the rule on line {first_line} has this name already; fix: rename one of them (a verdict lists rules by name, so names are unique in a file)"
    )]
    DuplicateName {
        /// Where the second use is.
        place: Place,
        /// The name.
        name: String,
        /// The line of the first rule with it.
        first_line: usize,
    },
    /// A score that is not a finite number (`nan`, `inf`).
    #[error(
        "{place}: score = {score}: not a finite number; fix: write a number such as 2.5, or -1 for a sign of ham"
    )]
    BadScore {
        /// Where the score is.
        place: Place,
        /// The value read.
        score: f64,
    },
    /// A `where` entry that names no location.
    #[error(
        "{place}: where = {value:?}: unknown location; fix: use any of {}",
        location::names()
    )]
    UnknownLocation {
        /// Where the entry is.
        place: Place,
        /// The entry as written.
        value: String,
    },
    /// `where = []`: the rule would look nowhere.
    #[error(
        "{place}: where = []: the rule looks nowhere; fix: list at least one of {}",
        location::names()
    )]
    NoLocation {
        /// Where the list is.
        place: Place,
    },
    /// A `case` other than `fold` or `exact`.
    #[error(
        "{place}: case = {value:?}: unknown; fix: write case = \"fold\" (the default: ignore case) or case = \"exact\""
    )]
    BadCase {
        /// Where the value is.
        place: Place,
        /// The value as written.
        value: String,
    },
    /// Both `literal` and `regex` in one rule.
    #[error(
        "{place}: literal and regex are both set; fix: keep one (a rule has exactly one pattern), and write a second rule for the other"
    )]
    BothPatterns {
        /// The rule's `[[rule]]` header.
        place: Place,
    },
    /// Neither `literal` nor `regex`.
    #[error(
        "{place}: neither literal nor regex is set; fix: add literal = \"...\" for a fixed string or regex = \"...\" for a pattern"
    )]
    NoPattern {
        /// The rule's `[[rule]]` header.
        place: Place,
    },
    /// `literal = ""`, which would match every message.
    #[error(
        "{place}: literal = \"\": an empty literal matches every message; fix: write the text to look for, or remove the rule"
    )]
    EmptyLiteral {
        /// Where the literal is.
        place: Place,
    },
    /// A regex that does not compile, or matches nothing but invalid UTF-8.
    #[error(
        "{place}: regex = {pattern:?}: {message}; fix: correct the pattern (the syntax is the regex crate's: https://docs.rs/regex/latest/regex/#syntax)"
    )]
    BadRegex {
        /// Where the regex is.
        place: Place,
        /// The pattern as written.
        pattern: String,
        /// The regex parser's message.
        message: String,
    },
    /// A regex of a case-folded rule that needs an uppercase letter, which the
    /// lowercased text never has.
    #[error(
        "{place}: regex = {pattern:?}: every match needs an uppercase letter, but with case = \"fold\" the regex runs over lowercased text; fix: write the pattern in lowercase, start it with (?i), or set case = \"exact\""
    )]
    UppercaseUnderFold {
        /// Where the regex is.
        place: Place,
        /// The pattern as written.
        pattern: String,
    },
    /// The automaton of one location could not be built (far past any
    /// sensible number of patterns).
    #[error("{}: the {location} matcher could not be built: {source}; fix: split the rules into fewer or shorter patterns", origin.display())]
    Matcher {
        /// The rule file.
        origin: PathBuf,
        /// The location whose patterns are too many.
        location: Location,
        /// What aho-corasick said.
        source: aho_corasick::BuildError,
    },
}
