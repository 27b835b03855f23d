//! Rules into search plans: per location, the case-folded rules and the exact
//! ones each become one side, with one automaton over all their literals
//! (rule literals and the required literals of their regexes, each distinct
//! string once) and the regexes to confirm.

use std::collections::HashMap;
use std::path::Path;

use regex::bytes::Regex;

use super::engine::{Engine, Matcher};
use super::error::RuleError;
use super::fold;
use super::location::Location;
use super::prefilter::{self, Requirement};
use super::rule::{Case, Pattern, Rule};

/// What finding a pattern of a side means.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    /// The literal of the rule at this index: the rule hits.
    Rule(usize),
    /// A required literal of the regex with this slot: the regex must run.
    Regex(usize),
}

/// A [`Target`] in 32 bits (a rule index, or a regex slot with the top bit
/// set), so that the table of a set of 10,000 patterns stays in cache: every
/// match reads it.
#[derive(Debug, Clone, Copy)]
struct Packed(u32);

/// The bit that marks a regex slot.
const REGEX_BIT: u32 = 1 << 31;

impl Packed {
    /// Rule indexes and slots count `[[rule]]` tables of one file, far below
    /// 2^31.
    fn new(target: Target) -> Packed {
        match target {
            Target::Rule(rule) => Packed(rule as u32),
            Target::Regex(slot) => Packed(slot as u32 | REGEX_BIT),
        }
    }

    fn get(self) -> Target {
        match self.0 & REGEX_BIT {
            0 => Target::Rule(self.0 as usize),
            _ => Target::Regex((self.0 & !REGEX_BIT) as usize),
        }
    }
}

/// A regex rule as one side runs it.
#[derive(Debug, Clone)]
pub(super) struct RegexCheck {
    /// The rule's index.
    pub(super) rule: usize,
    /// The compiled pattern.
    pub(super) regex: Regex,
    /// Its slot in the woken set, or `None` if it runs on every text.
    pub(super) slot: Option<usize>,
}

/// The rules of one location that search one form of the text: lowercased
/// (case-folded rules) or as written (exact ones).
#[derive(Debug, Clone)]
pub(super) struct Side {
    /// All literals of the side; `None` if it has only literal-less regexes.
    pub(super) matcher: Option<Matcher>,
    /// Pattern id `p`'s targets are `targets[starts[p]..starts[p + 1]]`.
    starts: Vec<u32>,
    targets: Vec<Packed>,
    /// The regexes, in rule order.
    pub(super) regexes: Vec<RegexCheck>,
}

impl Side {
    /// What finding pattern `id` means.
    pub(super) fn targets(&self, id: usize) -> impl Iterator<Item = Target> {
        let range = self.starts[id] as usize..self.starts[id + 1] as usize;
        self.targets[range].iter().map(|packed| packed.get())
    }
}

/// One location's sides; `None` where no rule needs that form of the text,
/// so a location without exact rules is never searched as written and one
/// without folded rules never lowercased.
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    pub(super) fold: Option<Side>,
    pub(super) exact: Option<Side>,
}

/// The plans of `rules`, indexed by [`Location::index`], and the number of
/// regex slots they use.
pub(super) fn plans(
    rules: &[Rule],
    engine: Engine,
    origin: &Path,
) -> Result<(Vec<Plan>, usize), RuleError> {
    let mut slots = 0;
    let mut plans = Vec::with_capacity(Location::ALL.len());
    for location in Location::ALL {
        let mut sides = [SideBuilder::default(), SideBuilder::default()];
        for (index, rule) in rules.iter().enumerate() {
            if !rule.locations.contains(&location) {
                continue;
            }
            let side = &mut sides[usize::from(rule.case == Case::Exact)];
            match &rule.pattern {
                Pattern::Literal(literal) => {
                    let literal = match rule.case {
                        Case::Fold => fold::fold(literal),
                        Case::Exact => literal.as_bytes().to_vec(),
                    };
                    side.add(literal, Target::Rule(index));
                }
                Pattern::Regex(regex) => match prefilter::requirement(regex.as_str(), rule.case) {
                    Requirement::AnyOf(literals) => {
                        for literal in literals {
                            side.add(literal, Target::Regex(slots));
                        }
                        side.regexes.push(RegexCheck {
                            rule: index,
                            regex: regex.clone(),
                            slot: Some(slots),
                        });
                        slots += 1;
                    }
                    Requirement::Nothing => side.regexes.push(RegexCheck {
                        rule: index,
                        regex: regex.clone(),
                        slot: None,
                    }),
                    Requirement::Impossible => {}
                },
            }
        }
        let [fold, exact] = sides.map(|side| side.build(engine));
        let built = |side: Result<Option<Side>, _>| {
            side.map_err(|source| RuleError::Matcher {
                origin: origin.to_path_buf(),
                location,
                source,
            })
        };
        plans.push(Plan {
            fold: built(fold)?,
            exact: built(exact)?,
        });
    }
    Ok((plans, slots))
}

/// A side being gathered: distinct patterns with their targets.
#[derive(Default)]
struct SideBuilder {
    ids: HashMap<Vec<u8>, usize>,
    patterns: Vec<Vec<u8>>,
    targets: Vec<Vec<Target>>,
    regexes: Vec<RegexCheck>,
}

impl SideBuilder {
    /// Adds `target` to `pattern`, which joins the set if it is new.
    fn add(&mut self, pattern: Vec<u8>, target: Target) {
        let id = *self.ids.entry(pattern).or_insert_with_key(|pattern| {
            self.patterns.push(pattern.clone());
            self.targets.push(Vec::new());
            self.patterns.len() - 1
        });
        self.targets[id].push(target);
    }

    /// The side, or `None` if no rule of this form looks here.
    fn build(self, engine: Engine) -> Result<Option<Side>, aho_corasick::BuildError> {
        if self.patterns.is_empty() && self.regexes.is_empty() {
            return Ok(None);
        }
        let matcher = match self.patterns.is_empty() {
            true => None,
            false => Some(Matcher::new(&self.patterns, engine)?),
        };
        let mut starts = Vec::with_capacity(self.targets.len() + 1);
        let mut start = 0;
        starts.push(start);
        for targets in &self.targets {
            start += targets.len() as u32;
            starts.push(start);
        }
        Ok(Some(Side {
            matcher,
            starts,
            targets: self
                .targets
                .into_iter()
                .flatten()
                .map(Packed::new)
                .collect(),
            regexes: self.regexes,
        }))
    }
}
