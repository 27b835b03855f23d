//! A loaded rule file, compiled: the rules, one search plan per location, and
//! the scan of a message.

use std::path::{Path, PathBuf};

use super::compile::{self, Plan, Side, Target};
use super::engine::Engine;
use super::error::RuleError;
use super::file;
use super::haystack::Haystacks;
use super::hit::{KeywordHit, View};
use super::location::Location;
use super::rule::Rule;
use super::scratch::{Marks, Scratch};

/// The keyword rules of one file, compiled for scanning.
///
/// Immutable once built, so a reload builds a new one beside the old. Give
/// each shard its own clone: the automata are shared (read-only, behind an
/// `Arc`), and each clone of a regex gets its own pool of search caches, so
/// shards never contend for one.
#[derive(Debug, Clone)]
pub struct RuleSet {
    origin: PathBuf,
    rules: Vec<Rule>,
    /// Each rule's name and score, by index: what a hit copies, packed
    /// densely so that hits of a large set do not each miss the cache on a
    /// whole [`Rule`].
    heads: Vec<(Box<str>, f64)>,
    /// Indexed by [`Location::index`].
    pub(super) plans: Vec<Plan>,
    /// Regex slots in the woken set.
    slots: usize,
}

impl RuleSet {
    /// Reads and compiles the rule file at `path`.
    pub fn load(path: &Path) -> Result<RuleSet, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Read {
            origin: path.to_path_buf(),
            source,
        })?;
        RuleSet::from_toml(&text, path)
    }

    /// Compiles the rules of `text`; `origin` names it in errors (the file's
    /// path, or a label for rules that come from elsewhere).
    pub fn from_toml(text: &str, origin: &Path) -> Result<RuleSet, RuleError> {
        RuleSet::from_rules(file::parse(text, origin)?, origin)
    }

    /// The rules of `text`, read and checked (names, scores, patterns and
    /// regexes, errors naming `origin` and the line) but not compiled into
    /// automata: for checking each of several files that are then compiled
    /// together, without building every file's automata only to drop them.
    pub fn parse(text: &str, origin: &Path) -> Result<Vec<Rule>, RuleError> {
        file::parse(text, origin)
    }

    /// Compiles `rules` already read by [`RuleSet::parse`] (from one file or
    /// several); `origin` names them in errors.
    pub fn from_rules(rules: Vec<Rule>, origin: &Path) -> Result<RuleSet, RuleError> {
        RuleSet::compile(origin.to_path_buf(), rules, Engine::Auto)
    }

    /// The same rules compiled with `engine` on every location, to compare
    /// engines on one rule set.
    pub fn with_engine(&self, engine: Engine) -> Result<RuleSet, RuleError> {
        RuleSet::compile(self.origin.clone(), self.rules.clone(), engine)
    }

    fn compile(origin: PathBuf, rules: Vec<Rule>, engine: Engine) -> Result<RuleSet, RuleError> {
        let (plans, slots) = compile::plans(&rules, engine, &origin)?;
        Ok(RuleSet {
            origin,
            heads: rules
                .iter()
                .map(|rule| (rule.name.as_str().into(), rule.score))
                .collect(),
            rules,
            plans,
            slots,
        })
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Where the rules came from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Scans one message: on return `hits` holds one entry per rule that
    /// matched, in file order, with its first match as evidence.
    ///
    /// Each location's text is lowercased once (into `scratch`) if folded
    /// rules look there, then searched once per side by its automaton; a
    /// regex runs only on a text where one of its required literals was
    /// found, and not at all once its rule has hit.
    pub fn scan<'r>(
        &'r self,
        haystacks: &Haystacks<'_>,
        scratch: &mut Scratch,
        hits: &mut Vec<KeywordHit<'r>>,
    ) {
        hits.clear();
        let Scratch { folded, marks } = scratch;
        marks.seen.clear(self.rules.len());
        for location in Location::ALL {
            let plan = &self.plans[location.index()];
            for &text in haystacks.texts(location) {
                if let Some(side) = &plan.exact {
                    self.search(side, location, View::exact(text), marks, hits);
                }
                if let Some(side) = &plan.fold {
                    folded.fill(text);
                    self.search(side, location, View::folded(text, folded), marks, hits);
                }
            }
        }
        hits.sort_unstable_by_key(|hit| hit.rule);
    }

    /// One side over one text.
    fn search<'r>(
        &'r self,
        side: &Side,
        location: Location,
        view: View<'_>,
        marks: &mut Marks,
        hits: &mut Vec<KeywordHit<'r>>,
    ) {
        let Marks { seen, woken } = marks;
        woken.clear(self.slots);
        if let Some(matcher) = &side.matcher {
            matcher.for_each_match(view.searched, |id, range| {
                for target in side.targets(id) {
                    match target {
                        Target::Rule(rule) => {
                            if seen.insert(rule) {
                                hits.push(self.hit(rule, location, view.evidence(range.clone())));
                            }
                        }
                        Target::Regex(slot) => {
                            woken.insert(slot);
                        }
                    }
                }
            });
        }
        for check in &side.regexes {
            if seen.contains(check.rule) || check.slot.is_some_and(|slot| !woken.contains(slot)) {
                continue;
            }
            if let Some(found) = check.regex.find(view.searched) {
                seen.insert(check.rule);
                hits.push(self.hit(check.rule, location, view.evidence(found.range())));
            }
        }
    }

    fn hit(&self, rule: usize, location: Location, evidence: String) -> KeywordHit<'_> {
        let (name, score) = &self.heads[rule];
        KeywordHit {
            name,
            rule,
            score: *score,
            location,
            evidence,
        }
    }
}
