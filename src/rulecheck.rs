//! `ringwall rules check`: a rule file linted before it goes live, its rules'
//! own examples run, and, over a labelled corpus, how often each rule hits
//! ham and spam. A keyword rule that hits more than [`MAX_HAM_SHARE`] of the
//! ham is a false-positive generator and fails the check.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::config::Config;
use crate::scan::keywords::RuleSet;
use crate::score::{Judge, ScoreError, labelled_files, read};

/// The share of ham a rule may hit (0.5 %).
pub const MAX_HAM_SHARE: f64 = 0.005;

/// Why the check did not pass.
#[derive(Debug, Error)]
pub enum CheckError {
    /// A rule file does not load (the error names file, line, rule, fix).
    #[error("{0}")]
    Rules(#[from] crate::scan::keywords::RuleError),
    /// An examples file does not load, or its rules miss their examples.
    #[error("{}: {message}", file.display())]
    Examples {
        /// The examples file, or the rule file whose examples failed.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Judging the corpus failed.
    #[error("{0}")]
    Score(#[from] ScoreError),
    /// Rules hit too much ham.
    #[error("{count} rule(s) hit more than {:.1} % of the ham: {names}", MAX_HAM_SHARE * 100.0)]
    TooMuchHam {
        /// How many.
        count: usize,
        /// Their names.
        names: String,
    },
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// One rule's examples: a whole message it must hit and one, as close as
/// can be, it must not. They live beside a rule file, `NAME.toml` having
/// `NAME.examples.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The rule.
    pub rule: String,
    /// A message the rule must hit.
    pub hit: String,
    /// A near miss the rule must not hit.
    pub miss: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleFile {
    example: Vec<Example>,
}

/// The examples file of `rules` (`x.toml` → `x.examples.toml`), when it has
/// one.
pub fn examples_of(rules: &Path) -> Option<PathBuf> {
    let stem = rules.file_stem()?.to_str()?;
    let path = rules.with_file_name(format!("{stem}.examples.toml"));
    path.is_file().then_some(path)
}

/// Reads an examples file.
pub fn read_examples(text: &str, origin: &Path) -> Result<Vec<Example>, CheckError> {
    toml::from_str::<ExampleFile>(text)
        .map(|file| file.example)
        .map_err(|e| CheckError::Examples {
            file: origin.to_path_buf(),
            message: e.to_string(),
        })
}

/// Runs `examples` through `judge`: the rule must hit each `hit` and miss
/// each `miss`; returns what went wrong, one line each.
pub fn run_examples(judge: &mut Judge, examples: &[Example]) -> Vec<String> {
    let mut failures = Vec::new();
    for example in examples {
        let fires = |judge: &mut Judge, text: &str| {
            let message = text.replace("\r\n", "\n").replace('\n', "\r\n");
            judge
                .judge(message.as_bytes())
                .hits
                .iter()
                .any(|hit| hit.rule == example.rule)
        };
        if !fires(judge, &example.hit) {
            failures.push(format!("{}: does not hit its example", example.rule));
        }
        if fires(judge, &example.miss) {
            failures.push(format!("{}: hits its near miss", example.rule));
        }
    }
    failures
}

/// Checks `files` (each must load on its own, and pass its examples), then,
/// with `corpus`, judges its `ham/` and `spam/` with `config`'s rules plus
/// `files` and prints each rule's hits.
pub fn check(
    config: &Config,
    files: &[PathBuf],
    corpus: Option<&Path>,
    out: &mut impl Write,
) -> Result<(), CheckError> {
    let mut config = config.clone();
    config.content.rules.extend(files.iter().cloned());
    let mut judge = Judge::new(&config)?;
    for file in files {
        let set = RuleSet::load(file)?;
        let examples = match examples_of(file) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ScoreError::Read {
                    path: path.clone(),
                    source,
                })?;
                read_examples(&text, &path)?
            }
            None => Vec::new(),
        };
        let failures = run_examples(&mut judge, &examples);
        writeln!(
            out,
            "{}: {} rules, {} examples, {} failing",
            file.display(),
            set.rules().len(),
            examples.len(),
            failures.len()
        )?;
        if !failures.is_empty() {
            return Err(CheckError::Examples {
                file: file.clone(),
                message: failures.join("; "),
            });
        }
    }
    let Some(corpus) = corpus else {
        return Ok(());
    };
    let keyword_rules: std::collections::HashSet<String> = judge
        .scanner()
        .rules()
        .rules()
        .iter()
        .map(|rule| rule.name.clone())
        .collect();
    let mut hits: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut totals = (0u64, 0u64);
    for (path, spam) in labelled_files(corpus)? {
        let judgement = judge.judge(&read(&path)?);
        if spam {
            totals.1 += 1;
        } else {
            totals.0 += 1;
        }
        for hit in judgement.hits {
            let entry = hits.entry(hit.rule).or_default();
            if spam {
                entry.1 += 1;
            } else {
                entry.0 += 1;
            }
        }
    }
    let share = |count: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        }
    };
    writeln!(
        out,
        "{:<32} {:>6} {:>8} {:>6} {:>8}  ({} ham, {} spam)",
        "rule", "ham", "ham %", "spam", "spam %", totals.0, totals.1
    )?;
    let mut failing = Vec::new();
    let mut rows: Vec<_> = hits.into_iter().collect();
    rows.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
    for (rule, (ham, spam)) in &rows {
        let ham_share = share(*ham, totals.0);
        // Only rules from files are held to the bound: the built-in tests
        // (a missing Date, a bulk header) are weak signs by design and
        // scored so.
        let flag = if ham_share > MAX_HAM_SHARE && keyword_rules.contains(rule) {
            failing.push(rule.clone());
            "  FAIL: too much ham"
        } else {
            ""
        };
        writeln!(
            out,
            "{rule:<32} {ham:>6} {:>7.2}% {spam:>6} {:>7.2}%{flag}",
            ham_share * 100.0,
            share(*spam, totals.1) * 100.0
        )?;
    }
    if failing.is_empty() {
        Ok(())
    } else {
        Err(CheckError::TooMuchHam {
            count: failing.len(),
            names: failing.join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::BUILTIN_PACK;

    /// Every rule of the built-in pack hits its example and misses its near
    /// miss, and every rule has examples.
    #[test]
    fn the_built_in_pack_passes_its_examples() {
        let mut judge = Judge::new(&Config::default()).unwrap();
        let mut failures = Vec::new();
        for file in BUILTIN_PACK {
            let origin = PathBuf::from(format!("rules/{}.examples.toml", file.name));
            let examples = read_examples(file.examples, &origin).unwrap();
            let rules = RuleSet::from_toml(file.rules, Path::new(file.name)).unwrap();
            for rule in rules.rules() {
                if !examples.iter().any(|e| e.rule == rule.name) {
                    failures.push(format!("{}: no example", rule.name));
                }
            }
            failures.extend(run_examples(&mut judge, &examples));
        }
        assert_eq!(failures, Vec::<String>::new());
    }
}
