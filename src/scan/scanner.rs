//! The content scan, whole: the message analysed once (MIME, attachments,
//! links), then the keyword rules over its texts and the header rules over
//! its fields, every hit a named rule with its score, class and evidence.
//! The proxy's shards and `ringwall score` run this same code, so an
//! offline verdict is the verdict the proxy would give.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use thiserror::Error;

use super::builtin::builtin;
use super::headers::{self, HeaderHit, SessionFacts};
use super::keywords::{Haystacks, KeywordHit, RuleError, RuleSet, Scratch};
use super::message::{Analysis, FindingClass, ScanLimits, analyse};
use crate::bayes::{Snapshot, Tokens};
use crate::config::Config;
use crate::policy::{RuleClass, RuleHit};

/// One file of the rule pack built into the binary (`rules/` of the
/// source tree): its name, its rules and its examples.
#[derive(Debug, Clone, Copy)]
pub struct PackFile {
    /// The file's stem, `rules/NAME.toml`.
    pub name: &'static str,
    /// The rules (TOML).
    pub rules: &'static str,
    /// The examples each rule must hit and miss (`NAME.examples.toml`).
    pub examples: &'static str,
}

macro_rules! pack {
    ($($name:literal),* $(,)?) => {
        &[$(PackFile {
            name: $name,
            rules: include_str!(concat!("../../rules/", $name, ".toml")),
            examples: include_str!(concat!("../../rules/", $name, ".examples.toml")),
        }),*]
    };
}

/// The rule pack built into the binary, loaded in this order.
pub const BUILTIN_PACK: &[PackFile] = pack![
    "gtube",
    "phishing",
    "scams",
    "casino_crypto",
    "body_pharma",
    "body_adult",
    "body_money",
    "obfuscation",
    "urls",
    "headers",
    "attachments",
    "subject",
    "marketing",
];

/// Why the scanner could not be built: a rule file that does not load.
#[derive(Debug, Error)]
pub enum ScannerError {
    /// A rule file could not be read.
    #[error("cannot read rule file {path}: {source}")]
    Read {
        /// The file from `[content] rules`.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A rule file is not valid (the error names file, line, rule and fix).
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// Two rule files define the same rule name.
    #[error("{}: rule {name} is also defined in {}; fix: rename one of them (a verdict lists rules by name)", second.display(), first.display())]
    DuplicateRule {
        /// The name.
        name: String,
        /// The file that defined it first.
        first: PathBuf,
        /// The file that defined it again.
        second: PathBuf,
    },
}

/// One rule set from several rule files: each is read and checked on its own,
/// so an error names its own file and line; then their rules are compiled
/// together, one automaton per location for all of them (a set per file
/// would search each message once per file).
fn combine(sources: &[(String, PathBuf)]) -> Result<RuleSet, ScannerError> {
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    let mut rules = Vec::new();
    for (text, origin) in sources {
        for rule in RuleSet::parse(text, origin)? {
            if let Some(first) = names.insert(rule.name.clone(), origin.clone()) {
                return Err(ScannerError::DuplicateRule {
                    name: rule.name.clone(),
                    first,
                    second: origin.clone(),
                });
            }
            rules.push(rule);
        }
    }
    let label = match sources {
        [(_, origin)] => origin.clone(),
        _ => PathBuf::from("<all rule files>"),
    };
    Ok(RuleSet::from_rules(rules, &label)?)
}

/// The checks of one scan, in the order they run; a check the time budget
/// did not reach is named in the verdict instead. `[content] fail_closed`
/// names the ones whose skipping defers the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// Keyword and regex rules.
    Keywords,
    /// Header rules.
    Headers,
}

impl Check {
    /// The name in `SCAN_SKIPPED_*` rules.
    pub fn name(self) -> &'static str {
        match self {
            Check::Keywords => "KEYWORDS",
            Check::Headers => "HEADERS",
        }
    }
}

/// What one scan found.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanReport {
    /// Every rule that hit, with its score (overrides applied).
    pub hits: Vec<RuleHit>,
    /// Checks the time budget left out: they add nothing, and the judge
    /// defers the message for those `[content] fail_closed` names.
    pub skipped: Vec<Check>,
    /// The message's distinct link domains (registrable, lower case), in
    /// order of appearance, at most `[content] link_lookups`: what the
    /// domain-keyed DNS lists are asked about.
    pub link_domains: Vec<String>,
}

/// Working memory one shard reuses from message to message.
#[derive(Debug, Default)]
pub struct ScanScratch {
    keywords: Scratch,
    header_hits: Vec<HeaderHit>,
    tokens: Tokens,
}

/// The compiled rules and bounds. Clone it per shard: the automata are
/// shared, but each clone's regexes get their own search caches, so shards
/// never contend for one.
#[derive(Debug, Clone)]
pub struct Scanner {
    rules: RuleSet,
    limits: ScanLimits,
    overrides: Vec<(String, f64)>,
    budget: Duration,
    link_lookups: usize,
}

impl Scanner {
    /// The scanner `config` describes: the built-in pack (unless
    /// `[content] builtin_rules = false`), then each file of `[content]
    /// rules`, with `[scoring.scores]` over every rule's own score.
    pub fn new(config: &Config) -> Result<Scanner, ScannerError> {
        let mut sources: Vec<(String, PathBuf)> = Vec::new();
        if config.content.builtin_rules {
            for file in BUILTIN_PACK {
                sources.push((
                    file.rules.to_string(),
                    PathBuf::from(format!("<built-in>/rules/{}.toml", file.name)),
                ));
            }
        }
        for path in &config.content.rules {
            let text = std::fs::read_to_string(path).map_err(|source| ScannerError::Read {
                path: path.clone(),
                source,
            })?;
            sources.push((text, path.clone()));
        }
        let rules = combine(&sources)?;
        Ok(Scanner {
            rules,
            limits: ScanLimits::default(),
            overrides: config
                .scoring
                .scores
                .iter()
                .map(|(rule, score)| (rule.clone(), *score))
                .collect(),
            budget: config.content.budget.0,
            link_lookups: config.content.link_lookups as usize,
        })
    }

    /// The keyword rules loaded, for `ringwall rules`.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Scans `message` (CRLF or LF lines, as received) at Unix time `now`,
    /// and classifies it with `bayes` when a trained table is given.
    pub fn scan(
        &self,
        message: &[u8],
        session: &SessionFacts,
        now: i64,
        bayes: Option<&Snapshot>,
        scratch: &mut ScanScratch,
    ) -> ScanReport {
        let started = Instant::now();
        let analysis = analyse(message, &self.limits);
        let mut report = ScanReport {
            hits: Vec::new(),
            skipped: Vec::new(),
            link_domains: self.link_domains(&analysis),
        };
        for finding in &analysis.findings {
            self.push(
                &mut report,
                finding.rule,
                finding_class(finding.class),
                finding.evidence.clone(),
            );
        }
        if started.elapsed() < self.budget {
            let mut hits = Vec::new();
            self.keywords(&analysis, &mut scratch.keywords, &mut hits);
            for hit in hits {
                let score = self.score(hit.name, hit.score);
                if score != 0.0 {
                    report.hits.push(RuleHit {
                        rule: hit.name.to_string(),
                        score,
                        class: RuleClass::Keyword,
                        evidence: format!("{}: {}", hit.location.name(), hit.evidence),
                    });
                }
            }
        } else {
            report.skipped.push(Check::Keywords);
        }
        if let Some(bayes) = bayes {
            self.classify(&analysis, bayes, &mut scratch.tokens, &mut report);
        }
        if started.elapsed() < self.budget {
            let fields: Vec<(&str, &str)> = analysis
                .headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.as_str()))
                .collect();
            scratch.header_hits.clear();
            headers::check(&fields, message, session, now, &mut scratch.header_hits);
            for hit in scratch.header_hits.drain(..) {
                let class = builtin(hit.rule).map_or(RuleClass::Header, |b| b.class);
                self.push(&mut report, hit.rule, class, hit.evidence);
            }
        } else {
            report.skipped.push(Check::Headers);
        }
        report
    }

    /// The classifier's band rule, when the message falls in a scored one.
    fn classify(
        &self,
        analysis: &Analysis,
        bayes: &Snapshot,
        tokens: &mut Tokens,
        report: &mut ScanReport,
    ) {
        tokens.fill(analysis);
        let classification = bayes.classify(tokens.as_slice());
        if let Some((rule, own)) = classification.rule {
            let score = self.score(rule, own);
            if score != 0.0 {
                report.hits.push(RuleHit {
                    rule: rule.to_string(),
                    score,
                    class: RuleClass::Bayes,
                    evidence: format!(
                        "spam probability {:.4} from {} tokens",
                        classification.probability, classification.clues
                    ),
                });
            }
        }
    }

    fn keywords<'r>(
        &'r self,
        analysis: &Analysis,
        scratch: &mut Scratch,
        hits: &mut Vec<KeywordHit<'r>>,
    ) {
        let urls: Vec<&str> = analysis.links.iter().map(|l| l.url.as_str()).collect();
        let names: Vec<&str> = analysis
            .attachments
            .iter()
            .filter_map(|a| a.name.as_deref())
            .collect();
        let haystacks = Haystacks {
            subject: &analysis.subject,
            headers: &analysis.raw_headers,
            body: &analysis.body_text,
            html: &analysis.html_text,
            urls: &urls,
            attachment_names: &names,
        };
        self.rules.scan(&haystacks, scratch, hits);
    }

    fn link_domains(&self, analysis: &Analysis) -> Vec<String> {
        let mut domains: Vec<String> = Vec::new();
        for domain in analysis
            .links
            .iter()
            .filter_map(|l| l.registrable.as_deref())
        {
            if domains.len() == self.link_lookups {
                break;
            }
            if !domains.iter().any(|seen| seen == domain) {
                domains.push(domain.to_string());
            }
        }
        domains
    }

    /// Adds a built-in rule's hit with its score; a rule scored 0 is off.
    fn push(
        &self,
        report: &mut ScanReport,
        rule: &'static str,
        class: RuleClass,
        evidence: String,
    ) {
        let default = builtin(rule).map_or(0.0, |b| b.score);
        debug_assert!(builtin(rule).is_some(), "{rule} has no built-in score");
        let score = self.score(rule, default);
        if score != 0.0 && !report.hits.iter().any(|h| h.rule == rule) {
            report.hits.push(RuleHit {
                rule: rule.to_string(),
                score,
                class,
                evidence,
            });
        }
    }

    /// `[scoring.scores]`'s score for `rule`, else its own.
    fn score(&self, rule: &str, own: f64) -> f64 {
        self.overrides
            .iter()
            .find(|(name, _)| name == rule)
            .map_or(own, |(_, score)| *score)
    }
}

/// The policy class of an analysis finding.
fn finding_class(class: FindingClass) -> RuleClass {
    match class {
        FindingClass::Executable => RuleClass::Executable,
        FindingClass::Malware => RuleClass::Malware,
        FindingClass::Archive => RuleClass::Archive,
        FindingClass::Phishing => RuleClass::Phishing,
        FindingClass::Structure => RuleClass::Structure,
        FindingClass::Link => RuleClass::Link,
    }
}
