//! The scan against naive searches on random rules and texts, with every
//! engine: literals against `fold(text).contains(fold(pattern))`, regexes
//! behind their prefilter against running every regex on every text.

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;

use super::{Engine, Haystacks, Location, RuleError, RuleSet, Scratch};

const ENGINES: [Engine; 4] = [
    Engine::Auto,
    Engine::AhoCorasick,
    Engine::Dfa,
    Engine::TeddyBuckets,
];

/// Letters in both cases, a non-ASCII pair, the Kelvin sign (which
/// lowercases to a shorter `k`) and a space: small enough that random
/// patterns occur in random texts.
const ALPHABET: [char; 9] = ['a', 'b', 'A', 'B', 'é', 'É', '\u{212A}', 'k', ' '];

/// Pieces of random regexes: literals, classes, groups, repetitions and
/// assertions over the same alphabet.
const ATOMS: [&str; 20] = [
    "a",
    "b",
    "A",
    "é",
    "É",
    " ",
    "k",
    "[ab]",
    "[aé]",
    ".",
    r"\b",
    "(?:ab|ba)",
    "(?:a|É)",
    "a*",
    "b+",
    "é?",
    "(?:ab){1,2}",
    "^",
    "$",
    r"\w",
];

/// The locations random rules use: a single text, a longer one, and a list.
const LOCATIONS: [Location; 3] = [Location::Subject, Location::Body, Location::Url];

/// The oracle's case folding, written apart from the scan's.
fn lowercase(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

#[derive(Debug, Clone)]
struct RandomRule {
    pattern: String,
    regex: bool,
    fold: bool,
    locations: Vec<Location>,
}

impl RandomRule {
    fn toml(&self, name: &str) -> String {
        let locations: Vec<String> = self.locations.iter().map(|l| format!("\"{l}\"")).collect();
        let pattern = match self.regex {
            true => format!("regex = '{}'", self.pattern),
            false => format!("literal = \"{}\"", self.pattern),
        };
        let case = if self.fold { "fold" } else { "exact" };
        format!(
            "[[rule]]\nname = \"{name}\"\nscore = 1\nwhere = [{}]\n{pattern}\ncase = \"{case}\"\n\n",
            locations.join(", ")
        )
    }

    /// Whether the rule matches somewhere in `haystacks`, the slow way.
    fn matches(&self, haystacks: &Haystacks<'_>) -> bool {
        let regex = self
            .regex
            .then(|| regex::Regex::new(&self.pattern).expect("valid regex"));
        self.locations.iter().any(|&location| {
            haystacks.texts(location).iter().any(|&text| {
                let text = if self.fold {
                    lowercase(text)
                } else {
                    text.to_owned()
                };
                match &regex {
                    Some(regex) => regex.is_match(&text),
                    None if self.fold => text.contains(&lowercase(&self.pattern)),
                    None => text.contains(&self.pattern),
                }
            })
        })
    }
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&ALPHABET[..]), 0..=max)
        .prop_map(|chars| chars.into_iter().collect())
}

fn locations() -> impl Strategy<Value = Vec<Location>> {
    prop::sample::subsequence(&LOCATIONS[..], 1..=LOCATIONS.len())
}

fn literal_rule() -> impl Strategy<Value = RandomRule> {
    (
        text(4).prop_filter("non-empty", |t| !t.is_empty()),
        any::<bool>(),
        locations(),
    )
        .prop_map(|(pattern, fold, locations)| RandomRule {
            pattern,
            regex: false,
            fold,
            locations,
        })
}

fn regex_rule() -> impl Strategy<Value = RandomRule> {
    (
        any::<bool>(),
        prop::collection::vec(prop::sample::select(&ATOMS[..]), 1..=5),
        any::<bool>(),
        locations(),
    )
        .prop_map(|(insensitive, atoms, fold, locations)| RandomRule {
            pattern: format!(
                "{}{}",
                if insensitive { "(?i)" } else { "" },
                atoms.concat()
            ),
            regex: true,
            fold,
            locations,
        })
}

/// Random texts for the three locations rules use.
fn haystack_texts() -> impl Strategy<Value = (String, String, Vec<String>)> {
    (text(20), text(60), prop::collection::vec(text(10), 0..=3))
}

/// The names of the rules the scan reports with `engine`, after checking
/// that each hit's evidence is a match of its rule.
fn scanned(
    set: &RuleSet,
    rules: &[RandomRule],
    engine: Engine,
    haystacks: &Haystacks<'_>,
) -> BTreeSet<String> {
    let set = set.with_engine(engine).expect("compiles");
    let mut hits = Vec::new();
    set.scan(haystacks, &mut Scratch::new(), &mut hits);
    let mut names = BTreeSet::new();
    for hit in &hits {
        let index: usize = hit.name[1..].parse().expect("R<index>");
        let rule = &rules[index];
        if !rule.regex {
            let (evidence, pattern) = match rule.fold {
                true => (lowercase(&hit.evidence), lowercase(&rule.pattern)),
                false => (hit.evidence.clone(), rule.pattern.clone()),
            };
            assert_eq!(
                evidence, pattern,
                "evidence of {} with {engine:?}",
                hit.name
            );
        }
        names.insert(hit.name.to_owned());
    }
    names
}

fn check(rules: &[RandomRule], (subject, body, urls): &(String, String, Vec<String>)) {
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let haystacks = Haystacks {
        subject,
        body,
        urls: &urls,
        ..Haystacks::default()
    };
    let mut text = String::new();
    let mut expected = BTreeSet::new();
    for (index, rule) in rules.iter().enumerate() {
        let name = format!("R{index}");
        let toml = rule.toml(&name);
        match RuleSet::from_toml(&toml, Path::new("random.toml")) {
            Ok(_) => text.push_str(&toml),
            // Refused as unmatchable under fold: it must indeed never match.
            Err(RuleError::UppercaseUnderFold { .. }) => {
                assert!(
                    !rule.matches(&haystacks),
                    "{name} refused but matches: {rule:?}"
                );
                continue;
            }
            Err(e) => panic!("{e}"),
        }
        if rule.matches(&haystacks) {
            expected.insert(name);
        }
    }
    let set = RuleSet::from_toml(&text, Path::new("random.toml")).expect("rules load");
    for engine in ENGINES {
        assert_eq!(
            scanned(&set, rules, engine, &haystacks),
            expected,
            "{engine:?} on {haystacks:?} with\n{text}"
        );
    }
}

proptest! {
    #[test]
    fn literal_rules_match_naive_search(
        rules in prop::collection::vec(literal_rule(), 1..12),
        texts in haystack_texts(),
    ) {
        check(&rules, &texts);
    }

    #[test]
    fn prefiltered_regexes_match_running_every_regex(
        rules in prop::collection::vec(prop_oneof![regex_rule(), literal_rule()], 1..10),
        texts in haystack_texts(),
    ) {
        check(&rules, &texts);
    }
}
