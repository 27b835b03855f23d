//! `ringwall score`: offline verdicts, as `spamassassin -t` gives them, from
//! the same scanner and policy the proxy runs; and `--eval`, the numbers an
//! operator tunes by (precision, recall, false positives, speed) over a
//! labelled corpus laid out as `ham/` and `spam/`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use thiserror::Error;

use crate::admin::{AdminClient, ClientError};
use crate::bayes::{Classifier, Database, DbError, Snapshot};
use crate::config::Config;
use crate::policy::{Judgement, PolicySet, format_score, judge};
use crate::scan::headers::SessionFacts;
use crate::scan::{ScanScratch, Scanner, ScannerError};

/// Why scoring could not run.
#[derive(Debug, Error)]
pub enum ScoreError {
    /// The rules did not load.
    #[error("{0}")]
    Scanner(#[from] ScannerError),
    /// A message or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What was being read.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// `--eval` needs `ham/` and `spam/` below the directory.
    #[error("{0} has no ham/ or no spam/ directory: --eval reads DIR/ham and DIR/spam")]
    NotLabelled(PathBuf),
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// `[bayes] database` could not be read.
    #[error("[bayes] database {0}")]
    Bayes(#[from] DbError),
    /// The daemon that owns `[bayes] database` could not be asked.
    #[error("{0}")]
    Admin(#[from] ClientError),
    /// The manifest given to `--sources` is not a TSV with a header line
    /// naming `file`, `source_repo` and `source_path`.
    #[error("{0}: not a manifest (a TSV whose header names file, source_repo and source_path)")]
    Manifest(PathBuf),
}

/// What to print for each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Each rule's evidence under the verdict line.
    pub explain: bool,
    /// JSON instead of text.
    pub json: bool,
}

/// The scanner and the default policy class `config` describes, ready to
/// judge files.
pub struct Judge {
    scanner: Scanner,
    bayes: Option<Snapshot>,
    policies: PolicySet,
    scratch: ScanScratch,
    now: i64,
}

impl Judge {
    /// Loads the rules of `config`, and the classifier's table when
    /// `[bayes] database` is set.
    pub fn new(config: &Config) -> Result<Judge, ScoreError> {
        Ok(Judge {
            scanner: Scanner::new(config)?,
            bayes: config
                .bayes
                .database
                .as_deref()
                .map(|path| bayes_table(path, config))
                .transpose()?,
            policies: PolicySet::new(&config.scoring, &config.policy),
            scratch: ScanScratch::default(),
            now: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        })
    }

    /// The scanner, for the rules it loaded.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// The verdict on one message, under the default policy class.
    pub fn judge(&mut self, message: &[u8]) -> Judgement {
        let report = self.scanner.scan(
            message,
            &SessionFacts::default(),
            self.now,
            self.bayes.as_ref(),
            &mut self.scratch,
        );
        let class = self.policies.class(0);
        judge(report.hits, &class.thresholds, &class.class_actions)
    }
}

/// The classifier's table from `path`: read from the file, or from the
/// daemon that owns it; a database not trained yet is an empty table.
fn bayes_table(path: &Path, config: &Config) -> Result<Snapshot, ScoreError> {
    if !path.exists() {
        return Ok(Snapshot::empty(Classifier::default()));
    }
    match Database::open(path) {
        Ok(db) => Ok(Snapshot::of(db.store(), Classifier::default())),
        Err(DbError::InUse(_)) => {
            Ok(AdminClient::for_config(config)?.snapshot(Classifier::default())?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Prints a verdict line for each message file under `paths` (files, or
/// directories read recursively in name order).
pub fn score(
    judge: &mut Judge,
    paths: &[PathBuf],
    options: Options,
    out: &mut impl Write,
) -> Result<(), ScoreError> {
    for path in message_files(paths)? {
        let message = read(&path)?;
        let judgement = judge.judge(&message);
        if options.json {
            serde_json::to_writer(&mut *out, &JsonVerdict::new(&path, &judgement))
                .map_err(std::io::Error::other)?;
            writeln!(out)?;
            continue;
        }
        writeln!(
            out,
            "{}: {} score={} required={} tests={}",
            path.display(),
            judgement.action,
            format_score(judgement.score),
            format_score(judgement.required),
            if judgement.hits.is_empty() {
                "none".to_string()
            } else {
                judgement.explanation()
            }
        )?;
        if options.explain {
            for hit in &judgement.hits {
                writeln!(
                    out,
                    "  {:>7} {:<28} {:<10} {}",
                    format_score(hit.score),
                    hit.rule,
                    hit.class.name(),
                    hit.evidence
                )?;
            }
            if let Some(rule) = &judgement.forced_by {
                writeln!(out, "  action forced by {rule}'s class")?;
            }
        }
    }
    Ok(())
}

/// One message's verdict as `--json` prints it.
#[derive(Serialize)]
struct JsonVerdict<'a> {
    file: String,
    action: &'static str,
    score: f64,
    required: f64,
    rules: Vec<JsonRule<'a>>,
}

#[derive(Serialize)]
struct JsonRule<'a> {
    rule: &'a str,
    score: f64,
    class: &'static str,
    evidence: &'a str,
}

impl<'a> JsonVerdict<'a> {
    fn new(path: &Path, judgement: &'a Judgement) -> JsonVerdict<'a> {
        JsonVerdict {
            file: path.display().to_string(),
            action: judgement.action.name(),
            score: round(judgement.score),
            required: round(judgement.required),
            rules: judgement
                .hits
                .iter()
                .map(|hit| JsonRule {
                    rule: &hit.rule,
                    score: hit.score,
                    class: hit.class.name(),
                    evidence: &hit.evidence,
                })
                .collect(),
        }
    }
}

/// The figures of `--eval --json`: exactly these keys (tools read them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    /// Spam judged spam.
    pub tp: u64,
    /// Ham judged spam: false positives.
    pub fp: u64,
    /// Ham judged ham.
    pub tn: u64,
    /// Spam judged ham: missed.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// tp / (tp + fp).
    pub precision: f64,
    /// tp / (tp + fn).
    pub recall: f64,
    /// fp / (fp + tn).
    pub fpr: f64,
    /// Messages judged per second on one core (reading files excluded).
    pub msgs_per_sec: f64,
}

/// Counts of one group of messages while they are judged.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    tp: u64,
    fp: u64,
    tn: u64,
    fn_: u64,
}

impl Tally {
    fn add(&mut self, spam: bool, flagged: bool) {
        match (spam, flagged) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }

    fn evaluation(self, judging: Duration) -> Evaluation {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let total = self.tp + self.fp + self.tn + self.fn_;
        Evaluation {
            tp: self.tp,
            fp: self.fp,
            tn: self.tn,
            fn_: self.fn_,
            precision: ratio(self.tp, self.tp + self.fp),
            recall: ratio(self.tp, self.tp + self.fn_),
            fpr: ratio(self.fp, self.fp + self.tn),
            msgs_per_sec: if judging.is_zero() {
                0.0
            } else {
                total as f64 / judging.as_secs_f64()
            },
        }
    }
}

/// Judges every message under `dir/ham` and `dir/spam` and prints the
/// figures: with `json`, only [`Evaluation`] as one object; else a table,
/// per source when `sources` (a manifest naming each file's source) is
/// given, and every false positive by name.
pub fn evaluate(
    judge: &mut Judge,
    dir: &Path,
    sources: Option<&Path>,
    json: bool,
    out: &mut impl Write,
) -> Result<Evaluation, ScoreError> {
    let files = labelled_files(dir)?;
    let manifest = sources.map(read_manifest).transpose()?;
    let mut all = Tally::default();
    let mut by_source: BTreeMap<String, Tally> = BTreeMap::new();
    let mut false_positives = Vec::new();
    let mut judging = Duration::ZERO;
    for (path, spam) in files {
        let message = read(&path)?;
        let started = Instant::now();
        let judgement = judge.judge(&message);
        judging += started.elapsed();
        let flagged = judgement.action.is_spam();
        all.add(spam, flagged);
        if let Some(manifest) = &manifest {
            let source = source_of(manifest, &path);
            by_source.entry(source).or_default().add(spam, flagged);
        }
        if flagged && !spam {
            false_positives.push((path, judgement));
        }
    }
    let evaluation = all.evaluation(judging);
    if json {
        serde_json::to_writer(&mut *out, &evaluation).map_err(std::io::Error::other)?;
        writeln!(out)?;
        return Ok(evaluation);
    }
    writeln!(
        out,
        "{:<44} {:>5} {:>5} {:>5} {:>5} {:>9} {:>7} {:>7}",
        "set", "tp", "fp", "tn", "fn", "precision", "recall", "fpr"
    )?;
    let row = |out: &mut dyn Write, name: &str, e: &Evaluation| {
        writeln!(
            out,
            "{name:<44} {:>5} {:>5} {:>5} {:>5} {:>9.4} {:>7.4} {:>7.4}",
            e.tp, e.fp, e.tn, e.fn_, e.precision, e.recall, e.fpr
        )
    };
    for (source, tally) in &by_source {
        row(out, source, &tally.evaluation(Duration::ZERO))?;
    }
    row(out, "all", &evaluation)?;
    writeln!(
        out,
        "msgs/s (one core, judging only): {:.0}",
        evaluation.msgs_per_sec
    )?;
    writeln!(out, "false positives: {}", false_positives.len())?;
    for (path, judgement) in &false_positives {
        writeln!(
            out,
            "  {} {} score={} tests={}",
            path.display(),
            judgement.action,
            format_score(judgement.score),
            judgement.explanation()
        )?;
    }
    Ok(evaluation)
}

/// File name (as the manifest writes it, relative) → source.
type Manifest = BTreeMap<String, String>;

/// Reads a TSV whose header names `file`, `source_repo` and `source_path`;
/// a file's source is its repository and the folder it came from.
fn read_manifest(path: &Path) -> Result<Manifest, ScoreError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (Some(file), Some(repo), Some(source_path)) =
        (column("file"), column("source_repo"), column("source_path"))
    else {
        return Err(ScoreError::Manifest(path.to_path_buf()));
    };
    Ok(lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let folder = Path::new(fields.get(source_path)?)
                .parent()
                .and_then(Path::file_name)
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            Some((
                fields.get(file)?.to_string(),
                format!("{}:{folder}", fields.get(repo)?),
            ))
        })
        .collect())
}

/// The source the manifest gives `path` (matched on its trailing
/// components), or `unknown`.
fn source_of(manifest: &Manifest, path: &Path) -> String {
    let text = path.to_string_lossy();
    manifest
        .iter()
        .find(|(file, _)| text.ends_with(file.as_str()))
        .map_or_else(|| "unknown".to_string(), |(_, source)| source.clone())
}

/// The messages of a labelled corpus (`dir/ham`, `dir/spam`), ham first,
/// each with whether it is spam.
pub(crate) fn labelled_files(dir: &Path) -> Result<Vec<(PathBuf, bool)>, ScoreError> {
    let (ham, spam) = (dir.join("ham"), dir.join("spam"));
    if !ham.is_dir() || !spam.is_dir() {
        return Err(ScoreError::NotLabelled(dir.to_path_buf()));
    }
    let mut files: Vec<(PathBuf, bool)> = message_files(&[ham])?
        .into_iter()
        .map(|path| (path, false))
        .collect();
    files.extend(message_files(&[spam])?.into_iter().map(|path| (path, true)));
    Ok(files)
}

/// Every file under `paths`, directories read recursively, in name order.
pub(crate) fn message_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScoreError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    Ok(files)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), ScoreError> {
    let unreadable = |source| ScoreError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(unreadable)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    entries.sort();
    // Hidden files (.gitkeep, an editor's swap file) are not messages.
    entries.retain(|e| {
        !e.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    });
    for entry in entries {
        collect(&entry, files)?;
    }
    Ok(())
}

/// A message file's bytes.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, ScoreError> {
    std::fs::read(path).map_err(|source| ScoreError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// One decimal, as the text output.
fn round(score: f64) -> f64 {
    (score * 10.0).round() / 10.0
}
