//! Keyword rules: literal and regex patterns over the parts of a message,
//! each a named rule with a score, found by one multi-pattern automaton per
//! location so that a thousand rules cost about what ten do.
//!
//! # Rule files
//!
//! ```toml
//! [[rule]]
//! name = "SUBJ_FREE_MONEY"        # A-Z, 0-9 and _, unique in the file
//! score = 2.5                      # what a match adds; negative for signs of ham
//! where = ["subject", "body"]     # any of: subject, headers, body, html, url, attachment_name
//! literal = "free money"          # exactly one of literal and regex
//! # regex = "(?i)viagra|cialis"
//! case = "fold"                    # "fold" (the default) or "exact"
//! description = "Subject promises free money"   # optional
//! ```
//!
//! Loading stops at the first problem and names its file, line, rule, key and
//! fix ([`RuleError`]); unknown keys are refused, so a misspelt key never
//! silently does nothing.
//!
//! # What a scan reports
//!
//! A rule hits a message at most once, however many times and in however
//! many locations it matches; its evidence is its first match, locations
//! visited in the order of [`Location::ALL`]. Hits are listed in file order. A literal matches anywhere in
//! a text, overlapping other rules' matches or not: a set holding both
//! `free` and `free money` finds both in "free money".
//!
//! With `case = "fold"` (the default) the text is lowercased once per
//! location ([`char::to_lowercase`], character by character) and so is the
//! literal, at load. A regex of a folded rule runs over the lowercased text
//! as written: write it in lowercase or start it with `(?i)`; one that needs
//! an uppercase letter is refused at load. `case = "exact"` rules search the
//! text as written, with an automaton of their own that exists only when such
//! rules do.
//!
//! # How
//!
//! Per location and case, every rule literal and every required literal of
//! every regex (see `prefilter.rs`) go into one automaton, each distinct
//! string once. A regex runs only on a text where one of its literals was
//! found, or on every text when it has no usable literal. The automaton's
//! engine is picked per location by the number of its patterns ([`Engine`]).
//!
//! The modules, one job each: `location` and `haystack` (the input), `file`
//! and `error` (loading), `rule` (a checked rule), `fold` (case folding),
//! `prefilter` (regex literals), `engine` and `buckets` (multi-pattern
//! search), `compile` (rules into per-location plans), `set` (the rule set
//! and its scan), `scratch` (reused working memory), `hit` (what a scan
//! reports).

mod buckets;
mod compile;
mod engine;
mod error;
mod file;
mod fold;
mod haystack;
mod hit;
mod location;
mod prefilter;
mod rule;
mod scratch;
mod set;

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use engine::Engine;
pub use error::{Place, RuleError};
pub use haystack::Haystacks;
pub use hit::{EVIDENCE_CHARS, KeywordHit};
pub use location::Location;
pub use rule::{Case, Pattern, Rule};
pub use scratch::Scratch;
pub use set::RuleSet;
