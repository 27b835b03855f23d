//! The keyword matcher's throughput (issue 7), in bytes per second beside
//! aho-corasick's raw speed and `regex::RegexSet` on the same patterns and
//! bytes, at 100, 1,000 and 10,000 literal rules.
//!
//! The text is the dev corpus (`../shared/corpus/dev`, ham then spam, by file
//! name), read at bench time and never copied into the repository: each
//! message without its mbox `From ` line, as lossy UTF-8, up to 16 MiB in
//! all, scanned message by message as the body of a message would be.
//!
//! The patterns come from the train corpus, so that they match the text about
//! as often as real keywords would: the words (runs of 4 to 20 ASCII letters,
//! lowercased) and the two-word phrases (two runs of 3 to 20 letters with one
//! space between them) of every train message, each ranked by the number of
//! messages it occurs in (most first, then alphabetically), those in fewer
//! than two messages dropped. Past the 100 commonest of each list (`from`,
//! `with`, `this is`: words every message has), a set of N takes N/2 words
//! and N/2 phrases at evenly spaced ranks, so it spans common and rare terms
//! alike. See benches/README.md for the figures.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use regex::bytes::{RegexSet, RegexSetBuilder};
use ringwall::scan::keywords::{Engine, Haystacks, RuleSet, Scratch};

/// Rule-set sizes measured: the three, and two between the first
/// two, where Teddy buckets stop paying (the crossover `Engine::Auto` uses).
const SIZES: [usize; 5] = [100, 200, 400, 1_000, 10_000];

/// Most corpus text scanned per iteration.
const TEXT_CAP: usize = 16 << 20;

/// The commonest words and phrases left out of every pattern set.
const SKIP_COMMONEST: usize = 100;

/// Fewest train messages a term must occur in to be a pattern.
const MIN_MESSAGES: u32 = 2;

/// `RegexSet`'s program and lazy DFA cache limits (see `contenders`).
const REGEX_SET_LIMIT: usize = 1 << 30;

/// The engines our rule set is measured with, pinned, beside `Auto`.
const ENGINES: [(&str, Engine); 3] = [
    ("ruleset_aho_corasick", Engine::AhoCorasick),
    ("ruleset_dfa", Engine::Dfa),
    ("ruleset_teddy_buckets", Engine::TeddyBuckets),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// The messages under `dir/ham` then `dir/spam`, by name, as text without
/// the mbox `From ` line, until `cap` bytes.
fn messages(dir: &Path, cap: usize) -> Vec<String> {
    let mut texts = Vec::new();
    let mut total = 0;
    for label in ["ham", "spam"] {
        let Ok(entries) = std::fs::read_dir(dir.join(label)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let body = match bytes.strip_prefix(b"From ") {
                Some(rest) => rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(&[][..], |nl| &rest[nl + 1..]),
                None => &bytes[..],
            };
            let text = String::from_utf8_lossy(body).into_owned();
            if total + text.len() > cap {
                return texts;
            }
            total += text.len();
            texts.push(text);
        }
    }
    texts
}

/// Each distinct word and phrase of a (lowercased) message.
fn terms(text: &str, words: &mut HashSet<String>, phrases: &mut HashSet<String>) {
    let bytes = text.as_bytes();
    let mut previous: Option<(usize, usize)> = None;
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii_alphabetic() {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && bytes[at].is_ascii_alphabetic() {
            at += 1;
        }
        let len = at - start;
        if !(3..=20).contains(&len) {
            previous = None;
            continue;
        }
        if len >= 4 {
            words.insert(text[start..at].to_owned());
        }
        if let Some((p_start, p_end)) = previous
            && p_end + 1 == start
            && bytes[p_end] == b' '
        {
            phrases.insert(text[p_start..at].to_owned());
        }
        previous = Some((start, at));
    }
}

/// The words and phrases of the train corpus, ranked as the module doc says.
fn ranked_terms() -> (Vec<String>, Vec<String>) {
    let mut word_counts: HashMap<String, u32> = HashMap::new();
    let mut phrase_counts: HashMap<String, u32> = HashMap::new();
    let (mut words, mut phrases) = (HashSet::new(), HashSet::new());
    for message in messages(&corpus().join("train"), usize::MAX) {
        terms(&message.to_ascii_lowercase(), &mut words, &mut phrases);
        for word in words.drain() {
            *word_counts.entry(word).or_default() += 1;
        }
        for phrase in phrases.drain() {
            *phrase_counts.entry(phrase).or_default() += 1;
        }
    }
    let rank = |counts: HashMap<String, u32>| {
        let mut ranked: Vec<(String, u32)> = counts
            .into_iter()
            .filter(|&(_, n)| n >= MIN_MESSAGES)
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.into_iter().map(|(term, _)| term).collect::<Vec<_>>()
    };
    (rank(word_counts), rank(phrase_counts))
}

/// `n` terms at evenly spaced ranks past the commonest.
fn spread(ranked: &[String], n: usize) -> impl Iterator<Item = &String> {
    let pool = &ranked[SKIP_COMMONEST.min(ranked.len())..];
    assert!(
        pool.len() >= n,
        "only {} terms to pick {n} from",
        pool.len()
    );
    (0..n).map(move |i| &pool[i * pool.len() / n])
}

/// A rule file of one folded body rule per pattern.
fn rule_file(patterns: &[String]) -> String {
    patterns
        .iter()
        .enumerate()
        .map(|(i, p)| format!("[[rule]]\nname = \"KW{i:05}\"\nscore = 1\nwhere = [\"body\"]\nliteral = \"{p}\"\n\n"))
        .collect()
}

/// One pattern set with everything measured on it.
struct Contenders {
    ruleset: RuleSet,
    bare_default: AhoCorasick,
    bare_dfa: AhoCorasick,
    regex_set: RegexSet,
}

fn contenders(patterns: &[String]) -> Contenders {
    let started = Instant::now();
    let ruleset = RuleSet::from_toml(&rule_file(patterns), Path::new("bench.toml")).expect("rules");
    let ruleset_time = started.elapsed();
    let bare = |kind| {
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(patterns)
            .expect("automaton")
    };
    let bare_default = bare(None);
    let bare_dfa = bare(Some(AhoCorasickKind::DFA));
    let escaped: Vec<String> = patterns.iter().map(|p| regex::escape(p)).collect();
    let started = Instant::now();
    // At the default limits (10 MiB of program, 2 MiB of lazy DFA cache) the
    // set's lazy DFA gives up on 1,000 patterns and more and its slow
    // fallback engine runs instead: 1.3 MB/s at 1,000 patterns, 0.018 MB/s
    // at 10,000 on this corpus (one pass, 2026-11-27). Raised limits keep it
    // on the lazy DFA, so it is measured at its best.
    let regex_set = RegexSetBuilder::new(&escaped)
        .size_limit(REGEX_SET_LIMIT)
        .dfa_size_limit(REGEX_SET_LIMIT)
        .build()
        .expect("RegexSet");
    eprintln!(
        "  {} patterns: rule set loaded and compiled in {:.0?} (Auto: {:?}); aho-corasick default is {:?} ({:.1} MiB), its DFA {:.1} MiB; RegexSet built in {:.0?}",
        patterns.len(),
        ruleset_time,
        Engine::for_patterns(patterns.len()),
        bare_default.kind(),
        bare_default.memory_usage() as f64 / (1 << 20) as f64,
        bare_dfa.memory_usage() as f64 / (1 << 20) as f64,
        started.elapsed()
    );
    Contenders {
        ruleset,
        bare_default,
        bare_dfa,
        regex_set,
    }
}

/// Rule hits in every message: what every contender must agree on.
fn hits(ruleset: &RuleSet, texts: &[String]) -> usize {
    let mut scratch = Scratch::new();
    let mut hits = Vec::new();
    texts
        .iter()
        .map(|text| {
            let haystacks = Haystacks {
                body: text,
                ..Haystacks::default()
            };
            ruleset.scan(&haystacks, &mut scratch, &mut hits);
            hits.len()
        })
        .sum()
}

/// Matches the bare automaton reports (the floor: no per-rule work).
fn bare_matches(automaton: &AhoCorasick, folded: &[String]) -> usize {
    folded
        .iter()
        .map(|text| automaton.find_overlapping_iter(text).count())
        .sum()
}

/// Distinct patterns per message, from the bare automaton: the check on
/// the rule set's hits.
fn distinct_patterns(automaton: &AhoCorasick, folded: &[String]) -> usize {
    folded
        .iter()
        .map(|text| {
            let found: HashSet<_> = automaton
                .find_overlapping_iter(text)
                .map(|m| m.pattern())
                .collect();
            found.len()
        })
        .sum()
}

/// Patterns found per message by the regex set.
fn regex_set_hits(set: &RegexSet, folded: &[String]) -> usize {
    folded
        .iter()
        .map(|text| set.matches(text.as_bytes()).iter().count())
        .sum()
}

/// Passes of each side in [`paired_ratio`].
const PAIRED_ROUNDS: usize = 11;

/// `ours`'s throughput over `bare`'s: the median, minimum and maximum over
/// [`PAIRED_ROUNDS`] of one pass of each back to back, in alternating order,
/// so that both sides of a ratio meet the same machine state (the machine is
/// shared, and criterion measures one benchmark after the other).
fn paired_ratio(
    mut ours: impl FnMut() -> usize,
    mut bare: impl FnMut() -> usize,
) -> (f64, f64, f64) {
    fn seconds(pass: &mut dyn FnMut() -> usize) -> f64 {
        let started = Instant::now();
        black_box(pass());
        started.elapsed().as_secs_f64()
    }
    let mut ratios: Vec<f64> = (0..PAIRED_ROUNDS)
        .map(|round| {
            let (ours, bare) = if round % 2 == 0 {
                let ours = seconds(&mut ours);
                (ours, seconds(&mut bare))
            } else {
                let bare = seconds(&mut bare);
                (seconds(&mut ours), bare)
            };
            bare / ours
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    (
        ratios[PAIRED_ROUNDS / 2],
        ratios[0],
        ratios[PAIRED_ROUNDS - 1],
    )
}

fn keywords(c: &mut Criterion) {
    let texts = messages(&corpus().join("dev"), TEXT_CAP);
    if texts.is_empty() {
        eprintln!(
            "keywords: no corpus at {}: nothing measured",
            corpus().display()
        );
        return;
    }
    let folded: Vec<String> = texts.iter().map(|t| t.to_ascii_lowercase()).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let started = Instant::now();
    let (words, phrases) = ranked_terms();
    eprintln!(
        "keywords: {} dev messages, {bytes} bytes; {} words and {} phrases ranked from train in {:.1?}",
        texts.len(),
        words.len(),
        phrases.len(),
        started.elapsed()
    );
    for size in SIZES {
        let patterns: Vec<String> = spread(&words, size / 2)
            .chain(spread(&phrases, size - size / 2))
            .cloned()
            .collect();
        let contenders = contenders(&patterns);
        let hit_count = hits(&contenders.ruleset, &texts);
        assert_eq!(
            hit_count,
            distinct_patterns(&contenders.bare_dfa, &folded),
            "the rule set and the bare automaton disagree"
        );
        let started = Instant::now();
        assert_eq!(
            hit_count,
            regex_set_hits(&contenders.regex_set, &folded),
            "the rule set and RegexSet disagree"
        );
        let pass = started.elapsed();
        eprintln!(
            "  {size} patterns: one RegexSet pass in {pass:.1?} ({:.1} MiB/s)",
            bytes as f64 / (1 << 20) as f64 / pass.as_secs_f64()
        );
        eprintln!(
            "  {size} patterns: {hit_count} rule hits in {} messages, {} matches ({:.0} per MiB)",
            texts.len(),
            bare_matches(&contenders.bare_dfa, &folded),
            bare_matches(&contenders.bare_dfa, &folded) as f64 / (bytes as f64 / (1 << 20) as f64)
        );

        let (median, min, max) = paired_ratio(
            || hits(&contenders.ruleset, &texts),
            || bare_matches(&contenders.bare_dfa, &folded),
        );
        eprintln!(
            "  {size} patterns: rule set (Auto) / bare DFA throughput, paired: {median:.3} ({min:.3}-{max:.3})"
        );

        let mut group = c.benchmark_group(format!("keywords/{size}"));
        group.throughput(Throughput::Bytes(bytes as u64));
        group.sample_size(10);
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("ruleset_auto", |b| {
            b.iter(|| hits(&contenders.ruleset, black_box(&texts)))
        });
        for (name, engine) in ENGINES {
            let pinned = contenders.ruleset.with_engine(engine).expect("compiles");
            group.bench_function(name, |b| b.iter(|| hits(&pinned, black_box(&texts))));
        }
        group.bench_function(BenchmarkId::new("bare_aho_corasick", "default"), |b| {
            b.iter(|| bare_matches(&contenders.bare_default, black_box(&folded)))
        });
        group.bench_function(BenchmarkId::new("bare_aho_corasick", "dfa"), |b| {
            b.iter(|| bare_matches(&contenders.bare_dfa, black_box(&folded)))
        });
        group.bench_function("regex_set", |b| {
            b.iter(|| regex_set_hits(&contenders.regex_set, black_box(&folded)))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Text results only: the figures go to benches/README.md.
    config = Criterion::default().without_plots();
    targets = keywords
}
criterion_main!(benches);
