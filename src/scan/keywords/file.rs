//! Reading a rule file: TOML through serde, unknown keys refused, then every
//! rule checked, each problem reported with its line, rule, key and fix.
//!
//! serde's own errors (an unknown key, a value of the wrong type) carry a
//! byte span; the same text parsed as a plain spanned TOML tree says which
//! `[[rule]]` and key that span falls in, so they read like the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;

use super::error::{Place, RuleError};
use super::location::{self, Location};
use super::prefilter::{self, Requirement};
use super::rule::{Case, Pattern, Rule};

/// A rule file as written: only `[[rule]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

/// One `[[rule]]` as written; required keys are optional here so that a
/// missing one gets its own message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<Spanned<String>>,
    score: Option<Spanned<f64>>,
    #[serde(rename = "where")]
    locations: Option<Spanned<Vec<Spanned<String>>>>,
    literal: Option<Spanned<String>>,
    regex: Option<Spanned<String>>,
    case: Option<Spanned<String>>,
    description: Option<String>,
}

/// Reads the rules of `text`, in file order; `origin` names the file in
/// errors.
pub(super) fn parse(text: &str, origin: &Path) -> Result<Vec<Rule>, RuleError> {
    let source = Source {
        origin,
        newlines: memchr::memchr_iter(b'\n', text.as_bytes()).collect(),
    };
    let file: RawFile = toml::from_str(text).map_err(|e| source.decode_error(text, &e))?;
    let mut first_lines = HashMap::new();
    file.rule
        .into_iter()
        .map(|raw| source.check(raw, &mut first_lines))
        .collect()
}

/// The file being read: its name and where its lines start.
struct Source<'a> {
    origin: &'a Path,
    /// Offset of every `\n`.
    newlines: Vec<usize>,
}

impl Source<'_> {
    /// The 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < offset) + 1
    }

    /// The place of a byte offset, inside `rule` if known.
    fn place(&self, offset: usize, rule: Option<&str>) -> Place {
        Place {
            origin: PathBuf::from(self.origin),
            line: self.line(offset),
            rule: rule.map(str::to_owned),
        }
    }

    /// Checks one rule; `first_lines` holds the line of every name so far.
    fn check(
        &self,
        raw: Spanned<RawRule>,
        first_lines: &mut HashMap<String, usize>,
    ) -> Result<Rule, RuleError> {
        let header = raw.span().start;
        let raw = raw.into_inner();
        let Some(name) = raw.name else {
            return Err(RuleError::Missing {
                place: self.place(header, None),
                key: "name",
                fix: "add name = \"...\" of A-Z, 0-9 and _, unique in the file".into(),
            });
        };
        let name = self.name(name, first_lines)?;
        let at = |offset: usize| self.place(offset, Some(&name));
        let Some(score) = raw.score else {
            return Err(RuleError::Missing {
                place: at(header),
                key: "score",
                fix: "add score = 2.5 (what a match adds; negative for a sign of ham)".into(),
            });
        };
        if !score.get_ref().is_finite() {
            return Err(RuleError::BadScore {
                place: at(score.span().start),
                score: *score.get_ref(),
            });
        }
        let Some(locations) = raw.locations else {
            return Err(RuleError::Missing {
                place: at(header),
                key: "where",
                fix: format!("add where = [\"body\"] with any of {}", location::names()),
            });
        };
        let locations = self.locations(locations, &name)?;
        let case = match raw.case {
            None => Case::Fold,
            Some(case) => match case.get_ref().as_str() {
                "fold" => Case::Fold,
                "exact" => Case::Exact,
                other => {
                    return Err(RuleError::BadCase {
                        place: at(case.span().start),
                        value: other.to_owned(),
                    });
                }
            },
        };
        let pattern = match (raw.literal, raw.regex) {
            (Some(_), Some(_)) => return Err(RuleError::BothPatterns { place: at(header) }),
            (None, None) => return Err(RuleError::NoPattern { place: at(header) }),
            (Some(literal), None) if literal.get_ref().is_empty() => {
                return Err(RuleError::EmptyLiteral {
                    place: at(literal.span().start),
                });
            }
            (Some(literal), None) => Pattern::Literal(literal.into_inner()),
            (None, Some(regex)) => {
                let place = at(regex.span().start);
                Pattern::Regex(compile_regex(regex.into_inner(), case, place)?)
            }
        };
        Ok(Rule {
            name,
            score: score.into_inner(),
            locations,
            pattern,
            case,
            description: raw.description,
            line: self.line(header),
        })
    }

    /// A checked, unique name.
    fn name(
        &self,
        name: Spanned<String>,
        first_lines: &mut HashMap<String, usize>,
    ) -> Result<String, RuleError> {
        let line = self.line(name.span().start);
        let place = self.place(name.span().start, None);
        let name = name.into_inner();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| matches!(b, b'A'..=b'Z' | b'0'..=b'9' | b'_'))
        {
            let suggestion: String = name
                .chars()
                .map(|c| match c.to_ascii_uppercase() {
                    u @ ('A'..='Z' | '0'..='9') => u,
                    _ => '_',
                })
                .collect();
            return Err(RuleError::BadName {
                place,
                suggestion: if suggestion.is_empty() {
                    "MY_RULE".into()
                } else {
                    suggestion
                },
                name,
            });
        }
        if let Some(&first_line) = first_lines.get(&name) {
            return Err(RuleError::DuplicateName {
                place,
                name,
                first_line,
            });
        }
        first_lines.insert(name.clone(), line);
        Ok(name)
    }

    /// The locations of `where`, each once, in scan order.
    fn locations(
        &self,
        written: Spanned<Vec<Spanned<String>>>,
        rule: &str,
    ) -> Result<Vec<Location>, RuleError> {
        if written.get_ref().is_empty() {
            return Err(RuleError::NoLocation {
                place: self.place(written.span().start, Some(rule)),
            });
        }
        let mut locations = Vec::new();
        for entry in written.into_inner() {
            let Some(location) = Location::from_name(entry.get_ref()) else {
                return Err(RuleError::UnknownLocation {
                    place: self.place(entry.span().start, Some(rule)),
                    value: entry.into_inner(),
                });
            };
            locations.push(location);
        }
        locations.sort_unstable();
        locations.dedup();
        Ok(locations)
    }

    /// A decoding error made to name its line, rule and key.
    fn decode_error(&self, text: &str, error: &toml::de::Error) -> RuleError {
        let offset = error.span().map_or(0, |span| span.start);
        let message = error.message().trim_end().to_owned();
        let Ok(document) = DeTable::parse(text) else {
            return RuleError::Syntax {
                place: self.place(offset, None),
                message,
            };
        };
        let (rule, key) = locate(document.get_ref(), offset);
        RuleError::Schema {
            place: self.place(offset, rule.as_deref()),
            fix: fix_for(&key),
            key,
            message,
        }
    }
}

/// The rule (its name, if it has a readable one) and the key that byte
/// `offset` of a well-formed file falls in.
fn locate(document: &DeTable<'_>, offset: usize) -> (Option<String>, String) {
    for (key, value) in document.iter() {
        if key.span().contains(&offset) {
            return (None, key.get_ref().to_string());
        }
        if key.get_ref() == "rule"
            && let Some(rules) = value.get_ref().as_array()
            && let Some(rule) = rules.iter().rev().find(|r| r.span().start <= offset)
            && let Some(table) = rule.get_ref().as_table()
        {
            let name = table
                .iter()
                .find(|(k, _)| k.get_ref() == "name")
                .and_then(|(_, v)| v.get_ref().as_str().map(str::to_owned));
            let key = table
                .iter()
                .find(|(k, v)| k.span().contains(&offset) || v.span().contains(&offset))
                .map_or_else(|| "rule".to_owned(), |(k, _)| k.get_ref().to_string());
            return (name, key);
        }
        if value.span().contains(&offset) {
            return (None, key.get_ref().to_string());
        }
    }
    (None, "rule".to_owned())
}

/// What to write for a key whose value has the wrong type, or instead of a
/// key rule files do not have.
fn fix_for(key: &str) -> &'static str {
    match key {
        "name" => "write a quoted name of A-Z, 0-9 and _, such as name = \"SUBJ_FREE_MONEY\"",
        "score" => "write a number, such as score = 2.5 (negative for a sign of ham)",
        "where" => "write a list of quoted locations, such as where = [\"subject\", \"body\"]",
        "literal" | "regex" | "description" => "write a quoted string",
        "case" => "write case = \"fold\" or case = \"exact\"",
        "rule" => "write each rule as a [[rule]] table",
        _ => {
            "remove the key or correct its spelling: a rule file holds only [[rule]] tables, \
             with the keys name, score, where, literal, regex, case and description"
        }
    }
}

/// Compiles a rule's regex, refusing one that matches nothing but invalid
/// UTF-8 (the scanned text is always UTF-8) or that a case-folded rule can
/// never match.
fn compile_regex(
    pattern: String,
    case: Case,
    place: Place,
) -> Result<regex::bytes::Regex, RuleError> {
    let bad = |message: String| RuleError::BadRegex {
        place: place.clone(),
        pattern: pattern.clone(),
        message,
    };
    regex_syntax::parse(&pattern).map_err(|e| bad(syntax_message(&e)))?;
    let regex = regex::bytes::Regex::new(&pattern)
        .map_err(|e| bad(e.to_string().trim_end_matches('.').to_owned()))?;
    if case == Case::Fold && prefilter::requirement(&pattern, case) == Requirement::Impossible {
        return Err(RuleError::UppercaseUnderFold { place, pattern });
    }
    Ok(regex)
}

/// A regex syntax error on one line: what is wrong and at which character of
/// the pattern (the parser's own text spans several lines).
fn syntax_message(error: &regex_syntax::Error) -> String {
    let (kind, column) = match error {
        regex_syntax::Error::Parse(e) => (e.kind().to_string(), e.span().start.column),
        regex_syntax::Error::Translate(e) => (e.kind().to_string(), e.span().start.column),
        other => return other.to_string().replace('\n', " "),
    };
    format!("{kind} (at character {column} of the pattern)")
}
