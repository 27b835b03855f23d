//! What a scan reports, behaviour by behaviour, with every engine.

use std::path::Path;

use super::{Engine, Haystacks, KeywordHit, Location, RuleSet, Scratch};

const ENGINES: [Engine; 4] = [
    Engine::Auto,
    Engine::AhoCorasick,
    Engine::Dfa,
    Engine::TeddyBuckets,
];

/// A rule file of one `[[rule]]` per `(name, where, pattern keys)`, score 1.
fn rules(specs: &[(&str, &str, &str)]) -> RuleSet {
    let text: String = specs
        .iter()
        .map(|(name, locations, keys)| {
            format!("[[rule]]\nname = \"{name}\"\nscore = 1\nwhere = [{locations}]\n{keys}\n\n")
        })
        .collect();
    RuleSet::from_toml(&text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// `(name, location, evidence)` of each hit, the same with every engine.
fn scan(set: &RuleSet, haystacks: &Haystacks<'_>) -> Vec<(String, Location, String)> {
    let mut results = ENGINES.map(|engine| {
        let set = set.with_engine(engine).expect("compiles");
        let mut hits = Vec::new();
        set.scan(haystacks, &mut Scratch::new(), &mut hits);
        hits.iter()
            .map(|h| (h.name.to_owned(), h.location, h.evidence.clone()))
            .collect::<Vec<_>>()
    });
    for (engine, result) in ENGINES.iter().zip(&results) {
        assert_eq!(
            result, &results[0],
            "{engine:?} differs from {:?}",
            ENGINES[0]
        );
    }
    std::mem::take(&mut results[0])
}

fn body(text: &str) -> Haystacks<'_> {
    Haystacks {
        body: text,
        ..Haystacks::default()
    }
}

fn hit(name: &str, location: Location, evidence: &str) -> (String, Location, String) {
    (name.to_owned(), location, evidence.to_owned())
}

#[test]
fn folded_literal_matches_any_case_and_shows_the_text_as_written() {
    let set = rules(&[("FREE_MONEY", "\"body\"", "literal = \"Free Money\"")]);
    assert_eq!(
        scan(&set, &body("GET FREE MONEY NOW")),
        vec![hit("FREE_MONEY", Location::Body, "FREE MONEY")]
    );
}

#[test]
fn exact_literal_keeps_case() {
    let set = rules(&[(
        "MAILER",
        "\"headers\"",
        "literal = \"PHPMailer\"\ncase = \"exact\"",
    )]);
    let headers = |text| Haystacks {
        headers: text,
        ..Haystacks::default()
    };
    assert!(scan(&set, &headers("X-Mailer: phpmailer 5")).is_empty());
    assert_eq!(
        scan(&set, &headers("X-Mailer: PHPMailer 5")),
        vec![hit("MAILER", Location::Headers, "PHPMailer")]
    );
}

#[test]
fn overlapping_and_nested_literals_are_all_found() {
    let set = rules(&[
        ("FREE", "\"body\"", "literal = \"free\""),
        ("FREE_MONEY", "\"body\"", "literal = \"free money\""),
        ("MONEY", "\"body\"", "literal = \"money\""),
        ("EE_MO", "\"body\"", "literal = \"ee mo\""),
        ("NEY_NOW", "\"body\"", "literal = \"ney now\""),
    ]);
    let names: Vec<String> = scan(&set, &body("free money now"))
        .into_iter()
        .map(|(name, ..)| name)
        .collect();
    assert_eq!(names, ["FREE", "FREE_MONEY", "MONEY", "EE_MO", "NEY_NOW"]);
}

#[test]
fn a_rule_hits_once_with_its_first_match_as_evidence() {
    let set = rules(&[("CHEAP", "\"subject\", \"body\"", "literal = \"cheap\"")]);
    let only_body = Haystacks {
        subject: "Hello",
        body: "Cheap pills, CHEAP watches, cheap!",
        ..Haystacks::default()
    };
    assert_eq!(
        scan(&set, &only_body),
        vec![hit("CHEAP", Location::Body, "Cheap")]
    );
    let both = Haystacks {
        subject: "So CHEAP",
        ..only_body
    };
    assert_eq!(
        scan(&set, &both),
        vec![hit("CHEAP", Location::Subject, "CHEAP")]
    );
}

#[test]
fn a_rule_looks_only_where_it_says() {
    let set = rules(&[("SUBJ_WIN", "\"subject\"", "literal = \"winner\"")]);
    assert!(scan(&set, &body("you are a winner")).is_empty());
}

#[test]
fn urls_and_attachment_names_are_searched_one_by_one() {
    let set = rules(&[
        ("SHORTENER", "\"url\"", "literal = \"bit.ly/\""),
        ("ACROSS", "\"url\"", "literal = \"ab\""),
        (
            "DOUBLE_EXT",
            "\"attachment_name\"",
            "literal = \".pdf.exe\"",
        ),
        (
            "HOST_NUMERIC",
            "\"url\"",
            r#"regex = '^https?://\d+\.\d+\.\d+\.\d+/'"#,
        ),
    ]);
    let haystacks = Haystacks {
        urls: &[
            "http://a",
            "b.example/",
            "https://bit.ly/x",
            "http://10.0.0.1/login",
        ],
        attachment_names: &["notes.txt", "Invoice.PDF.exe"],
        ..Haystacks::default()
    };
    assert_eq!(
        scan(&set, &haystacks),
        vec![
            hit("SHORTENER", Location::Url, "bit.ly/"),
            hit("DOUBLE_EXT", Location::AttachmentName, ".PDF.exe"),
            hit("HOST_NUMERIC", Location::Url, "http://10.0.0.1/"),
        ]
    );
}

#[test]
fn regex_rules_run_when_their_literal_occurs() {
    let set = rules(&[
        ("VIAGRA", "\"body\"", r#"regex = '(?i)v[i1!]agra'"#),
        ("CHEAP_PILLS", "\"body\"", r#"regex = 'cheap\s+pills'"#),
    ]);
    assert_eq!(
        scan(&set, &body("Buy V1AGRA and CHEAP \n PILLS")),
        vec![
            hit("VIAGRA", Location::Body, "V1AGRA"),
            hit("CHEAP_PILLS", Location::Body, "CHEAP \n PILLS"),
        ]
    );
    assert!(scan(&set, &body("cheap, but no pills")).is_empty());
}

#[test]
fn only_regexes_without_a_usable_literal_run_on_every_text() {
    let set = rules(&[
        ("VIAGRA", "\"body\"", r#"regex = '(?i)v[i1!]agra'"#),
        ("PHONE", "\"body\"", r#"regex = '\d{3}-\d{4}'"#),
    ]);
    let side = set.plans[Location::Body.index()]
        .fold
        .as_ref()
        .expect("folded body rules");
    let slots: Vec<(usize, bool)> = side
        .regexes
        .iter()
        .map(|check| (check.rule, check.slot.is_some()))
        .collect();
    assert_eq!(slots, [(0, true), (1, false)]);
}

#[test]
fn regex_rules_without_a_literal_always_run() {
    let set = rules(&[("PHONE", "\"body\"", r#"regex = '\d{3}-\d{4}'"#)]);
    assert_eq!(
        scan(&set, &body("call 555-1234 today")),
        vec![hit("PHONE", Location::Body, "555-1234")]
    );
}

#[test]
fn a_literal_shared_by_rules_and_regexes_serves_them_all() {
    let set = rules(&[
        ("LOTTERY", "\"body\"", "literal = \"lottery\""),
        ("LOTTERY_TOO", "\"body\"", "literal = \"LOTTERY\""),
        ("LOTTERY_WIN", "\"body\"", r#"regex = 'lottery\W+win'"#),
    ]);
    let names: Vec<String> = scan(&set, &body("Lottery: win!"))
        .into_iter()
        .map(|(name, ..)| name)
        .collect();
    assert_eq!(names, ["LOTTERY", "LOTTERY_TOO", "LOTTERY_WIN"]);
}

#[test]
fn non_ascii_text_folds_and_the_evidence_keeps_its_characters() {
    let set = rules(&[
        ("ECOLE", "\"body\"", "literal = \"ÉCOLE\""),
        ("KELVIN", "\"body\"", "literal = \"kelvin scale\""),
        ("ISTANBUL", "\"body\"", r#"regex = '(?i)i̇stanbul\b'"#),
    ]);
    // The Kelvin sign (3 bytes) lowercases to `k` (1 byte) and `İ` (2 bytes)
    // to `i` plus a combining dot (3 bytes): the evidence still comes from
    // the text as written.
    assert_eq!(
        scan(&set, &body("Une école, the \u{212A}ELVIN SCALE, İSTANBUL.")),
        vec![
            hit("ECOLE", Location::Body, "école"),
            hit("KELVIN", Location::Body, "\u{212A}ELVIN SCALE"),
            hit("ISTANBUL", Location::Body, "İSTANBUL"),
        ]
    );
}

#[test]
fn evidence_is_at_most_eighty_characters() {
    let set = rules(&[("SHOUTING", "\"body\"", r#"regex = '[a-zé]{20,}'"#)]);
    let text = "É".repeat(200);
    let hits = scan(&set, &body(&text));
    assert_eq!(hits[0].2, "É".repeat(80));
}

#[test]
fn hits_are_in_file_order_and_replaced_by_each_scan() {
    let set = rules(&[
        ("ZED", "\"body\"", "literal = \"zed\""),
        ("ALPHA", "\"body\"", "literal = \"alpha\""),
    ]);
    let mut scratch = Scratch::new();
    let mut hits: Vec<KeywordHit<'_>> = Vec::new();
    set.scan(&body("alpha zed"), &mut scratch, &mut hits);
    assert_eq!(
        hits.iter().map(|h| (h.name, h.rule)).collect::<Vec<_>>(),
        [("ZED", 0), ("ALPHA", 1)]
    );
    set.scan(&body("zed"), &mut scratch, &mut hits);
    assert_eq!(hits.iter().map(|h| h.name).collect::<Vec<_>>(), ["ZED"]);
    set.scan(&body("nothing"), &mut scratch, &mut hits);
    assert!(hits.is_empty());
}

#[test]
fn one_scratch_serves_several_rule_sets() {
    let first = rules(&[("A", "\"body\"", "literal = \"aaa\"")]);
    let second = rules(&[
        ("B", "\"body\"", "literal = \"bbb\""),
        ("C", "\"body\"", "regex = 'c+d'"),
        ("D", "\"body\"", "literal = \"ddd\""),
    ]);
    let mut scratch = Scratch::new();
    let mut hits = Vec::new();
    first.scan(&body("aaa"), &mut scratch, &mut hits);
    assert_eq!(hits.len(), 1);
    let mut hits = Vec::new();
    second.scan(&body("ccd ddd"), &mut scratch, &mut hits);
    assert_eq!(hits.iter().map(|h| h.name).collect::<Vec<_>>(), ["C", "D"]);
}

#[test]
fn scores_and_descriptions_come_from_the_file() {
    let text = "[[rule]]\nname = \"HAM_SIGN\"\nscore = -1.5\nwhere = [\"body\", \"body\"]\n\
                literal = \"unsubscribe\"\ndescription = \"A list footer\"\n";
    let set = RuleSet::from_toml(text, Path::new("ham.toml")).expect("valid");
    let rule = &set.rules()[0];
    assert_eq!(rule.locations, [Location::Body]);
    assert_eq!(rule.description.as_deref(), Some("A list footer"));
    assert_eq!(rule.line, 1);
    assert_eq!(set.origin(), Path::new("ham.toml"));
    let mut hits = Vec::new();
    set.scan(&body("Unsubscribe here"), &mut Scratch::new(), &mut hits);
    assert_eq!(hits[0].score, -1.5);
}

#[test]
fn a_side_exists_only_where_rules_need_it() {
    let set = rules(&[
        ("FOLDED", "\"body\"", "literal = \"x\""),
        ("EXACT", "\"subject\"", "literal = \"Y\"\ncase = \"exact\""),
    ]);
    let body = &set.plans[Location::Body.index()];
    let subject = &set.plans[Location::Subject.index()];
    assert!(body.fold.is_some() && body.exact.is_none());
    assert!(subject.fold.is_none() && subject.exact.is_some());
    assert!(set.plans[Location::Html.index()].fold.is_none());
}

#[test]
fn an_empty_file_is_an_empty_rule_set() {
    let set = RuleSet::from_toml("# nothing yet\n", Path::new("empty.toml")).expect("valid");
    assert!(set.rules().is_empty());
    assert!(scan(&set, &body("anything")).is_empty());
}
