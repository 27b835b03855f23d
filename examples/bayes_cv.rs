//! 5-fold cross-validation of the statistical classifier beside the rules,
//! over the corpus' train and dev splits pooled (2,649 hams): the issue's
//! acceptance table (precision, recall, ham false-positive rate per source)
//! and its recall-vs-false-positives curve.
//!
//! Every message is scored by a model that never learned it: the messages
//! are cut into five folds by a hash of their file name, and each fold is
//! classified by a token store learned from the other four. Three methods:
//!
//! - rules: the scanner's summed score under the default policy class,
//!   spam at the tag score (5.0) or when a class action fires (an
//!   executable attachment is refused whatever its score), as `ringwall
//!   score` judges;
//! - classifier: its probability alone, spam at [`CLASSIFIER_CUT`];
//! - both: the rules' score plus the BAYES_* rule's score, judged as rules.
//!
//! With `--dev`, the same three methods are judged the way the issue's
//! table asks and `ringwall train` + `ringwall score --eval` would: one
//! store learned from the train split, the dev split judged by it (no
//! curve is drawn then: the curve is the cross-validation's).
//!
//! The corpus is read in place, never copied. Usage:
//! `cargo run --release --example bayes_cv -- [--corpus ../shared/corpus]
//! [--png benches/bayes_cv.png] [--font FONT.ttf] [--dev]` (the font
//! defaults to Debian's DejaVu Sans, package fonts-dejavu-core).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use ringwall::bayes::{Class, Classifier, Day, Snapshot, TokenStore, Tokens};
use ringwall::config::Config;
use ringwall::policy::{PolicySet, Thresholds, judge};
use ringwall::scan::headers::SessionFacts;
use ringwall::scan::message::{ScanLimits, analyse};
use ringwall::scan::{ScanScratch, Scanner};

type Error = Box<dyn std::error::Error>;

const FOLDS: u64 = 5;

/// The classifier alone is spam at this probability. Its rules never reach
/// the tag score on their own (the strongest, BAYES_999, adds 2.8: an
/// opinion to be confirmed by other rules), so "the default threshold" has
/// to be chosen for it: 0.99 is where the BAYES_99 band starts and
/// bogofilter's default `spam_cutoff`, so this row compares with
/// bogofilter's Spam verdicts.
const CLASSIFIER_CUT: f64 = 0.99;

/// The goal: at most 1 false positive per 1,000 hams.
const FP_PER_HAM_GOAL: f64 = 0.001;

/// The curve's x axis ends here (hams flagged): beyond about 2 % of the
/// hams no operator would run a filter, and the interesting part, near
/// zero, would be squeezed.
const PLOT_MAX_FP: usize = 50;

const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Where a corpus message comes from. All hams are SpamAssassin's; the two
/// spam sources differ in ways a token filter can learn without learning
/// spam (see the corpus README's "Known biases"), so each is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    SpamAssassin,
    PhishingPot,
}

/// One message with everything that does not depend on the fold.
struct Sample {
    /// The path below the corpus, as MANIFEST.tsv names it.
    file: String,
    /// Where it was taken from upstream (names `hard_ham` and the like).
    upstream: String,
    class: Class,
    source: Source,
    /// In the dev split (else train).
    dev: bool,
    fold: u64,
    tokens: Vec<u64>,
    rules: Rules,
}

/// The rules' verdict on a message, kept apart from the threshold so that
/// the classifier's score can be added and the threshold swept.
#[derive(Debug, Clone, Copy)]
struct Rules {
    score: f64,
    /// A class action makes it spam whatever the score.
    forced: bool,
}

/// One sample's out-of-fold classification.
struct Outcome<'a> {
    sample: &'a Sample,
    probability: f64,
    /// The BAYES_* rule's score, 0 when unsure.
    bayes_score: f64,
}

#[derive(Debug, Clone, Copy)]
enum Method {
    Rules,
    Classifier,
    Both,
}

const METHODS: [Method; 3] = [Method::Rules, Method::Classifier, Method::Both];

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Rules => "rules",
            Method::Classifier => "classifier",
            Method::Both => "rules + classifier",
        }
    }

    /// The score this method judges `outcome` by, and whether a class
    /// action makes it spam regardless.
    fn score(self, outcome: &Outcome) -> (f64, bool) {
        let rules = outcome.sample.rules;
        match self {
            Method::Rules => (rules.score, rules.forced),
            Method::Classifier => (outcome.probability, false),
            Method::Both => (rules.score + outcome.bayes_score, rules.forced),
        }
    }

    /// The threshold of the acceptance table.
    fn default_threshold(self, tag: f64) -> f64 {
        match self {
            Method::Classifier => CLASSIFIER_CUT,
            Method::Rules | Method::Both => tag,
        }
    }

    /// Spam at `threshold` or by a class action. At the tag score this is
    /// exactly `judge` giving an action other than accept: the tag is the
    /// default policy's lowest threshold.
    fn flags(self, outcome: &Outcome, threshold: f64) -> bool {
        let (score, forced) = self.score(outcome);
        forced || score >= threshold
    }
}

struct Args {
    corpus: PathBuf,
    png: PathBuf,
    font: PathBuf,
    /// Learn train, judge dev, instead of cross-validating.
    dev: bool,
}

fn main() -> Result<(), Error> {
    let args = arguments()?;
    let config = Config::default();
    let samples = load(&args.corpus, &config)?;
    let outcomes = if args.dev {
        learn_train_judge_dev(&samples)
    } else {
        cross_validate(&samples)
    };
    let tag = config.scoring.tag;
    let hams = outcomes
        .iter()
        .filter(|o| o.sample.class == Class::Ham)
        .count();
    let what = if args.dev {
        "Learned from train, judged on dev"
    } else {
        "5-fold cross-validation over train + dev"
    };
    println!(
        "{what} of {}: {hams} hams, {} spams judged.\n",
        args.corpus.display(),
        outcomes.len() - hams
    );
    print_table(&outcomes, tag);
    print_goal(&outcomes, hams);
    print_false_positives(&outcomes, tag);
    if !args.dev {
        plot(&outcomes, tag, &args)?;
        println!("\nCurve written to {}.", args.png.display());
    }
    Ok(())
}

fn arguments() -> Result<Args, Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        corpus: root.join("../shared/corpus"),
        png: root.join("benches/bayes_cv.png"),
        font: PathBuf::from(DEFAULT_FONT),
        dev: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        if flag == "--dev" {
            args.dev = true;
            continue;
        }
        let value = given.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--corpus" => args.corpus = value.into(),
            "--png" => args.png = value.into(),
            "--font" => args.font = value.into(),
            _ => {
                return Err(format!(
                    "unknown option {flag}; usage: bayes_cv [--corpus DIR] [--png FILE] [--font FILE] [--dev]"
                )
                .into());
            }
        }
    }
    Ok(args)
}

/// Every train and dev message MANIFEST.tsv lists, analysed, tokenised and
/// judged by the rules once (neither depends on the fold).
fn load(corpus: &Path, config: &Config) -> Result<Vec<Sample>, Error> {
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv"))
        .map_err(|e| format!("{}: {e}", corpus.join("MANIFEST.tsv").display()))?;
    let scanner = Scanner::new(config)?;
    let policies = PolicySet::new(&config.scoring, &config.policy);
    let class_actions = &policies.class(0).class_actions;
    let limits = ScanLimits::default();
    let mut scratch = ScanScratch::default();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let mut samples = Vec::new();
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("MANIFEST.tsv has no {name} column"))
    };
    let (split, label, file, repo, upstream) = (
        column("split")?,
        column("label")?,
        column("file")?,
        column("source_repo")?,
        column("source_path")?,
    );
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        if !matches!(fields[split], "train" | "dev") {
            continue;
        }
        let raw = std::fs::read(corpus.join(fields[file]))
            .map_err(|e| format!("{}: {e}", fields[file]))?;
        // No snapshot: the rules alone; the classifier's rule is added per
        // fold, from a store that did not learn this message.
        let report = scanner.scan(&raw, &SessionFacts::default(), now, None, &mut scratch);
        let forced = judge(report.hits.clone(), &Thresholds::NONE, class_actions)
            .action
            .is_spam();
        samples.push(Sample {
            file: fields[file].to_string(),
            upstream: fields[upstream].to_string(),
            class: if fields[label] == "spam" {
                Class::Spam
            } else {
                Class::Ham
            },
            dev: fields[split] == "dev",
            source: if fields[repo].contains("phishing_pot") {
                Source::PhishingPot
            } else {
                Source::SpamAssassin
            },
            fold: fold_of(fields[file]),
            tokens: Tokens::of(&analyse(&raw, &limits)).as_slice().to_vec(),
            rules: Rules {
                score: report.hits.iter().map(|h| h.score).sum(),
                forced,
            },
        });
    }
    Ok(samples)
}

/// The fold of a file: FNV-1a of its name, modulo the folds. A fixed
/// function (std's `DefaultHasher` may change between Rust releases), so
/// every run and machine cuts the same folds; the names are content
/// hashes already, so the folds are as good as random.
fn fold_of(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    hash % FOLDS
}

/// Each sample classified by a store learned from the other folds (every
/// message of them, as `ringwall train` learns a corpus).
fn cross_validate(samples: &[Sample]) -> Vec<Outcome<'_>> {
    let mut outcomes = Vec::with_capacity(samples.len());
    for fold in 0..FOLDS {
        classify_held_out(samples, |s| s.fold == fold, &mut outcomes);
    }
    outcomes
}

/// The dev split classified by a store learned from the train split.
fn learn_train_judge_dev(samples: &[Sample]) -> Vec<Outcome<'_>> {
    let mut outcomes = Vec::new();
    classify_held_out(samples, |s| s.dev, &mut outcomes);
    outcomes
}

/// Classifies the samples `judged` picks by a store learned from all the
/// others.
fn classify_held_out<'a>(
    samples: &'a [Sample],
    judged: impl Fn(&Sample) -> bool,
    outcomes: &mut Vec<Outcome<'a>>,
) {
    let mut store = TokenStore::new();
    for s in samples.iter().filter(|s| !judged(s)) {
        store.learn(&s.tokens, s.class, Day(0));
    }
    let snapshot = Snapshot::of(&store, Classifier::default());
    for sample in samples.iter().filter(|s| judged(s)) {
        let classification = snapshot.classify(&sample.tokens);
        outcomes.push(Outcome {
            sample,
            probability: classification.probability,
            bayes_score: classification.rule.map_or(0.0, |(_, score)| score),
        });
    }
}

/// The exact (Clopper-Pearson) one-sided 95 % upper bound on a rate of
/// which `k` events were seen in `n` trials: the largest `p` under which
/// `k` or fewer events still have a 5 % chance. A count of false positives
/// says little by itself (0 in 2,649 is compatible with 3 per 2,649); the
/// bound says how bad the filter may really be. At `k = 0` it is
/// `1 − 0.05^(1/n)`, about `3/n`, the rule of three.
fn upper_bound(k: usize, n: usize) -> f64 {
    if k >= n {
        return 1.0;
    }
    // P(X ≤ k) falls as p rises: bisect for where it crosses 5 %.
    let (mut low, mut high) = (k as f64 / n as f64, 1.0);
    for _ in 0..100 {
        let mid = (low + high) / 2.0;
        if binomial_cdf(k, n, mid) > 0.05 {
            low = mid;
        } else {
            high = mid;
        }
    }
    high
}

/// `P(X ≤ k)` for `X ~ Binomial(n, p)`, `0 < p < 1`, its terms computed in
/// log space (`(1 − p)^n` alone underflows for thousands of trials).
fn binomial_cdf(k: usize, n: usize, p: f64) -> f64 {
    let (ln_p, ln_q) = (p.ln(), (-p).ln_1p());
    let mut ln_term = n as f64 * ln_q;
    let mut sum = ln_term.exp();
    for i in 0..k {
        ln_term += ((n - i) as f64 / (i + 1) as f64).ln() + ln_p - ln_q;
        sum += ln_term.exp();
    }
    sum
}

/// What one method catches at one threshold, over the spam of `source`
/// (all spam when None) and every ham.
struct Tally {
    caught: usize,
    spams: usize,
    false_positives: usize,
    hams: usize,
}

impl Tally {
    fn of(outcomes: &[Outcome], method: Method, threshold: f64, source: Option<Source>) -> Tally {
        let mut tally = Tally {
            caught: 0,
            spams: 0,
            false_positives: 0,
            hams: 0,
        };
        for outcome in outcomes {
            let flagged = method.flags(outcome, threshold);
            match outcome.sample.class {
                Class::Ham => {
                    tally.hams += 1;
                    tally.false_positives += usize::from(flagged);
                }
                Class::Spam if source.is_none_or(|s| s == outcome.sample.source) => {
                    tally.spams += 1;
                    tally.caught += usize::from(flagged);
                }
                Class::Spam => {}
            }
        }
        tally
    }

    fn recall(&self) -> f64 {
        self.caught as f64 / self.spams.max(1) as f64
    }

    fn precision(&self) -> f64 {
        self.caught as f64 / (self.caught + self.false_positives).max(1) as f64
    }

    fn fpr(&self) -> f64 {
        self.false_positives as f64 / self.hams.max(1) as f64
    }

    /// "3 (≤ 7.8)": the count and its 95 % upper bound, in hams.
    fn false_positives_bounded(&self) -> String {
        let bound = upper_bound(self.false_positives, self.hams) * self.hams as f64;
        format!("{} (≤ {bound:.1})", self.false_positives)
    }
}

/// The acceptance table: each method at its default threshold, over all
/// spam and each source's.
fn print_table(outcomes: &[Outcome], tag: f64) {
    println!(
        "At the default thresholds (rules and both: spam at the tag score, {tag:.1}, or by a \
         class action; classifier alone: spam at p ≥ {CLASSIFIER_CUT}). False positives with \
         their exact one-sided 95 % upper bound (Clopper-Pearson), in hams; every ham is \
         SpamAssassin's, so each source's row has all hams and its precision is that of a \
         mix of those hams with that source's spam only.\n"
    );
    println!(
        "| method | spam | caught | recall | precision | false positives (95 % upper) | ham FPR |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for method in METHODS {
        let threshold = method.default_threshold(tag);
        for (name, source) in [
            ("all", None),
            ("SpamAssassin", Some(Source::SpamAssassin)),
            ("Phishing Pot", Some(Source::PhishingPot)),
        ] {
            let t = Tally::of(outcomes, method, threshold, source);
            println!(
                "| {} | {name} | {}/{} | {:.4} | {:.4} | {} | {:.4} |",
                method.name(),
                t.caught,
                t.spams,
                t.recall(),
                t.precision(),
                t.false_positives_bounded(),
                t.fpr()
            );
        }
    }
}

/// Where each method stands against the goal: its best recall
/// with at most 1 false positive per 1,000 hams, and the threshold that
/// gives it (the lowest that keeps the false positives within). A method
/// whose strictest threshold already flags more hams (scores tied at the
/// top: the classifier's probability saturates at 1) is shown there,
/// marked as over the goal.
fn print_goal(outcomes: &[Outcome], hams: usize) {
    let allowed = (hams as f64 * FP_PER_HAM_GOAL).floor() as usize;
    println!(
        "\nBest recall with at most {allowed} false positives ({} per 1,000 of {hams} hams):\n",
        FP_PER_HAM_GOAL * 1000.0
    );
    println!(
        "| method | threshold | recall (all) | SpamAssassin | Phishing Pot | false positives |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for method in METHODS {
        let points = sweep(outcomes, method);
        let within = points
            .iter()
            .take_while(|point| point.false_positives <= allowed)
            .last();
        let Some(point) = within.or(points.first()) else {
            continue;
        };
        let threshold = point.threshold;
        let at = |source| Tally::of(outcomes, method, threshold, source);
        println!(
            "| {} | {threshold}{} | {:.4} | {:.4} | {:.4} | {} |",
            method.name(),
            if within.is_some() {
                ""
            } else {
                " (strictest, over the goal)"
            },
            at(None).recall(),
            at(Some(Source::SpamAssassin)).recall(),
            at(Some(Source::PhishingPot)).recall(),
            point.false_positives
        );
    }
}

/// Every ham a method flags at its default threshold, by path below the
/// corpus, with what each method made of it.
fn print_false_positives(outcomes: &[Outcome], tag: f64) {
    let flagged_by = |outcome: &Outcome| -> Vec<&str> {
        METHODS
            .iter()
            .filter(|m| m.flags(outcome, m.default_threshold(tag)))
            .map(|m| m.name())
            .collect()
    };
    let mut false_positives: Vec<(&Outcome, Vec<&str>)> = outcomes
        .iter()
        .filter(|o| o.sample.class == Class::Ham)
        .map(|o| (o, flagged_by(o)))
        .filter(|(_, by)| !by.is_empty())
        .collect();
    false_positives.sort_by(|a, b| a.0.sample.file.cmp(&b.0.sample.file));
    println!(
        "\nFalse positives at the default thresholds ({} hams):\n",
        false_positives.len()
    );
    println!("| file | upstream | rules score | p | both score | flagged by |");
    println!("| --- | --- | ---: | ---: | ---: | --- |");
    for (outcome, by) in false_positives {
        let rules = outcome.sample.rules;
        println!(
            "| {} | {} | {:.1}{} | {:.4} | {:.1} | {} |",
            outcome.sample.file,
            upstream_name(&outcome.sample.upstream),
            rules.score,
            if rules.forced { " (class action)" } else { "" },
            outcome.probability,
            rules.score + outcome.bayes_score,
            by.join(", ")
        );
    }
}

/// The upstream folder and file of a message (`hard_ham/00166.3f2f…`),
/// without the copy's leading folders.
fn upstream_name(path: &str) -> String {
    let parts: Vec<&str> = path.rsplitn(3, '/').collect();
    match parts[..] {
        [file, folder, ..] => format!("{folder}/{file}"),
        _ => path.to_string(),
    }
}

/// One point of a method's curve: at `threshold`, this many hams flagged
/// and this share of the spam caught.
#[derive(Debug, Clone, Copy)]
struct Point {
    threshold: f64,
    false_positives: usize,
    recall: f64,
}

/// The method's curve: the threshold lowered from above every score to
/// each distinct score in turn, strictest first. Messages a class action
/// forces are flagged at every threshold.
fn sweep(outcomes: &[Outcome], method: Method) -> Vec<Point> {
    let mut scored: Vec<(f64, Class)> = outcomes
        .iter()
        .map(|o| {
            let (score, forced) = method.score(o);
            (if forced { f64::INFINITY } else { score }, o.sample.class)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let spams = scored.iter().filter(|s| s.1 == Class::Spam).count().max(1);
    let (mut caught, mut false_positives) = (0, 0);
    let mut points = Vec::new();
    for (i, &(score, class)) in scored.iter().enumerate() {
        match class {
            Class::Spam => caught += 1,
            Class::Ham => false_positives += 1,
        }
        let last_of_score = scored.get(i + 1).is_none_or(|next| next.0 != score);
        if last_of_score && score.is_finite() {
            points.push(Point {
                threshold: score,
                false_positives,
                recall: caught as f64 / spams as f64,
            });
        }
    }
    points
}

/// Recall against hams flagged, one curve per method, each method's
/// default threshold circled.
fn plot(outcomes: &[Outcome], tag: f64, args: &Args) -> Result<(), Error> {
    let font = std::fs::read(&args.font).map_err(|e| {
        format!(
            "{}: {e} (apt-get install fonts-dejavu-core)",
            args.font.display()
        )
    })?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| format!("{} is not a usable TrueType font", args.font.display()))?;
    let curves: Vec<(Method, Vec<Point>)> =
        METHODS.iter().map(|&m| (m, sweep(outcomes, m))).collect();
    let root = BitMapBackend::new(&args.png, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let hams = outcomes
        .iter()
        .filter(|o| o.sample.class == Class::Ham)
        .count();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Recall against false positives, 5-fold cross-validation (train + dev)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..PLOT_MAX_FP as f64, 0f64..1.0)?;
    chart
        .configure_mesh()
        .x_desc(format!("hams flagged, of {hams}"))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("recall (all spam)")
        .label_style(("sans-serif", 14))
        .draw()?;
    for ((method, points), color) in curves.iter().zip([BLUE, RED, RGBColor(0, 150, 0)]) {
        let line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.false_positives <= PLOT_MAX_FP)
            .map(|p| (p.false_positives as f64, p.recall))
            .collect();
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))?
            .label(method.name())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        let at = Tally::of(outcomes, *method, method.default_threshold(tag), None);
        chart.draw_series(std::iter::once(Circle::new(
            (at.false_positives as f64, at.recall()),
            6,
            color.stroke_width(2),
        )))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE)
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
