//! One keyword rule as loaded and checked: what it looks for, where, and what
//! a match adds to the message's score.

use super::location::Location;

/// One rule of a rule file, checked: its name is valid and unique, its
/// pattern is non-empty and compiles, its score is a finite number.
///
/// Kept by the [`super::RuleSet`] so that tools (`ringwall rules check`, the
/// explanation of a verdict) can show where a rule came from and what it is.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `[A-Z0-9_]+`, unique in its file: what a verdict lists.
    pub name: String,
    /// What a match adds to the message's score; negative for signs of ham.
    pub score: f64,
    /// Where it looks, in scan order, each once.
    pub locations: Vec<Location>,
    /// What it looks for.
    pub pattern: Pattern,
    /// Whether it ignores case.
    pub case: Case,
    /// What the rule is about, for people reading a verdict.
    pub description: Option<String>,
    /// The line of its `[[rule]]` header in its file.
    pub line: usize,
}

/// What a rule looks for.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// A fixed string, found anywhere in the text (not only at word
    /// boundaries: use a regex with `\b` for that).
    Literal(String),
    /// A regular expression (the `regex` crate's syntax), run only on texts
    /// where one of its required literals occurs.
    Regex(regex::bytes::Regex),
}

/// Whether a rule ignores case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// The text is lowercased before matching and so is a literal: `FREE
    /// money` matches `free money`. A regex runs over the lowercased text
    /// as written, so write it in lowercase or start it with `(?i)`.
    Fold,
    /// Byte for byte, for patterns whose case is the signal (a mailer's
    /// exact `X-Mailer` string).
    Exact,
}

impl Case {
    /// The name rule files use in `case`.
    pub fn name(self) -> &'static str {
        match self {
            Case::Fold => "fold",
            Case::Exact => "exact",
        }
    }
}
