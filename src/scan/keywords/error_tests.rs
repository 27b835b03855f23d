//! Every way a rule file is refused, and the exact line the operator reads:
//! the file and line, the rule, the key and value, and the fix.

use std::path::Path;

use super::RuleSet;

/// The error loading `text` as `rules/spam.toml` gives, displayed.
fn refusal(text: &str) -> String {
    match RuleSet::from_toml(text, Path::new("rules/spam.toml")) {
        Ok(_) => panic!("rules accepted:\n{text}"),
        Err(error) => error.to_string(),
    }
}

/// A file whose one rule, headed on line 3, has `keys` after its name, score
/// and where (so they start on line 7).
fn rule_with(keys: &str) -> String {
    format!(
        "# spam rules\n\n[[rule]]\nname = \"SUBJ_FREE_MONEY\"\nscore = 2.5\nwhere = [\"subject\"]\n{keys}\n"
    )
}

const KEYS: &str = "a rule file holds only [[rule]] tables, with the keys name, score, where, literal, regex, case and description";
const REGEX_FIX: &str = "fix: correct the pattern (the syntax is the regex crate's: https://docs.rs/regex/latest/regex/#syntax)";

#[test]
fn unreadable_file() {
    let error = RuleSet::load(Path::new("/nonexistent/spam.toml")).expect_err("no such file");
    assert_eq!(
        error.to_string(),
        "/nonexistent/spam.toml: cannot read the rule file: No such file or directory (os error 2); \
         fix: check the path and that ringwall may read it"
    );
}

#[test]
fn toml_syntax() {
    assert_eq!(
        refusal("# spam rules\n[[rule]\nname = 1"),
        "rules/spam.toml:2: not valid TOML: unclosed array table, expected `]`; fix: correct the syntax on that line"
    );
}

#[test]
fn unknown_key_in_a_rule() {
    assert_eq!(
        refusal(&rule_with("literal = \"x\"\nwher = [\"body\"]")),
        format!(
            "rules/spam.toml:8: rule SUBJ_FREE_MONEY: wher: unknown field `wher`, expected one of \
             `name`, `score`, `where`, `literal`, `regex`, `case`, `description`; \
             fix: remove the key or correct its spelling: {KEYS}"
        )
    );
}

#[test]
fn unknown_table() {
    assert_eq!(
        refusal("[rules]\nx = 1\n"),
        format!(
            "rules/spam.toml:1: rules: unknown field `rules`, expected `rule`; \
             fix: remove the key or correct its spelling: {KEYS}"
        )
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        refusal("[[rule]]\nname = \"A\"\nscore = \"high\"\n"),
        "rules/spam.toml:3: rule A: score: invalid type: string \"high\", expected f64; \
         fix: write a number, such as score = 2.5 (negative for a sign of ham)"
    );
    assert_eq!(
        refusal("rule = 5\n"),
        "rules/spam.toml:1: rule: invalid type: integer `5`, expected a sequence; \
         fix: write each rule as a [[rule]] table"
    );
    assert_eq!(
        refusal(&rule_with("literal = \"x\"\ncase = true")),
        "rules/spam.toml:8: rule SUBJ_FREE_MONEY: case: invalid type: boolean `true`, expected a string; \
         fix: write case = \"fold\" or case = \"exact\""
    );
}

#[test]
fn missing_keys() {
    assert_eq!(
        refusal("[[rule]]\nscore = 1\n"),
        "rules/spam.toml:1: name is missing; fix: add name = \"...\" of A-Z, 0-9 and _, unique in the file"
    );
    assert_eq!(
        refusal("\n[[rule]]\nname = \"A\"\nwhere = [\"body\"]\nliteral = \"x\"\n"),
        "rules/spam.toml:2: rule A: score is missing; \
         fix: add score = 2.5 (what a match adds; negative for a sign of ham)"
    );
    assert_eq!(
        refusal("[[rule]]\nname = \"A\"\nscore = 1\nliteral = \"x\"\n"),
        "rules/spam.toml:1: rule A: where is missing; \
         fix: add where = [\"body\"] with any of subject, headers, body, html, url, attachment_name"
    );
}

#[test]
fn bad_name() {
    assert_eq!(
        refusal("[[rule]]\nname = \"free-money\"\n"),
        "rules/spam.toml:2: name = \"free-money\": a rule name is made of A-Z, 0-9 and _ only; \
         fix: write name = \"FREE_MONEY\""
    );
    assert_eq!(
        refusal("[[rule]]\nname = \"\"\n"),
        "rules/spam.toml:2: name = \"\": a rule name is made of A-Z, 0-9 and _ only; fix: write name = \"MY_RULE\""
    );
}

#[test]
fn duplicate_name() {
    let text = rule_with(
        "literal = \"x\"\n\n[[rule]]\nname = \"SUBJ_FREE_MONEY\"\nscore = 1\nwhere = [\"body\"]\nliteral = \"y\"",
    );
    assert_eq!(
        refusal(&text),
        "rules/spam.toml:10: name = \"SUBJ_FREE_MONEY\": the rule on line 4 has this name already; \
         fix: rename one of them (a verdict lists rules by name, so names are unique in a file)"
    );
}

#[test]
fn score_not_finite() {
    assert_eq!(
        refusal("[[rule]]\nname = \"A\"\nscore = nan\n"),
        "rules/spam.toml:3: rule A: score = NaN: not a finite number; \
         fix: write a number such as 2.5, or -1 for a sign of ham"
    );
}

#[test]
fn unknown_location_names_its_line_and_the_valid_ones() {
    assert_eq!(
        refusal("[[rule]]\nname = \"A\"\nscore = 1\nwhere = [\"subject\",\n  \"bdy\"]\n"),
        "rules/spam.toml:5: rule A: where = \"bdy\": unknown location; \
         fix: use any of subject, headers, body, html, url, attachment_name"
    );
}

#[test]
fn no_location() {
    assert_eq!(
        refusal("[[rule]]\nname = \"A\"\nscore = 1\nwhere = []\n"),
        "rules/spam.toml:4: rule A: where = []: the rule looks nowhere; \
         fix: list at least one of subject, headers, body, html, url, attachment_name"
    );
}

#[test]
fn bad_case() {
    assert_eq!(
        refusal(&rule_with("literal = \"x\"\ncase = \"lower\"")),
        "rules/spam.toml:8: rule SUBJ_FREE_MONEY: case = \"lower\": unknown; \
         fix: write case = \"fold\" (the default: ignore case) or case = \"exact\""
    );
}

#[test]
fn both_or_neither_pattern() {
    assert_eq!(
        refusal(&rule_with("literal = \"x\"\nregex = \"x\"")),
        "rules/spam.toml:3: rule SUBJ_FREE_MONEY: literal and regex are both set; \
         fix: keep one (a rule has exactly one pattern), and write a second rule for the other"
    );
    assert_eq!(
        refusal(&rule_with("")),
        "rules/spam.toml:3: rule SUBJ_FREE_MONEY: neither literal nor regex is set; \
         fix: add literal = \"...\" for a fixed string or regex = \"...\" for a pattern"
    );
}

#[test]
fn empty_literal() {
    assert_eq!(
        refusal(&rule_with("literal = \"\"")),
        "rules/spam.toml:7: rule SUBJ_FREE_MONEY: literal = \"\": an empty literal matches every message; \
         fix: write the text to look for, or remove the rule"
    );
}

#[test]
fn bad_regex_says_what_and_where_in_the_pattern() {
    assert_eq!(
        refusal(&rule_with("regex = \"(?i)viagra(\"")),
        format!(
            "rules/spam.toml:7: rule SUBJ_FREE_MONEY: regex = \"(?i)viagra(\": \
             unclosed group (at character 11 of the pattern); {REGEX_FIX}"
        )
    );
    assert_eq!(
        refusal(&rule_with("regex = '(?-u:\\xFF)'")),
        format!(
            "rules/spam.toml:7: rule SUBJ_FREE_MONEY: regex = \"(?-u:\\\\xFF)\": \
             pattern can match invalid UTF-8 (at character 6 of the pattern); {REGEX_FIX}"
        )
    );
    assert_eq!(
        refusal(&rule_with("regex = 'a{1000000}'")),
        format!(
            "rules/spam.toml:7: rule SUBJ_FREE_MONEY: regex = \"a{{1000000}}\": \
             Compiled regex exceeds size limit of 10485760 bytes; {REGEX_FIX}"
        )
    );
}

#[test]
fn uppercase_regex_under_fold() {
    assert_eq!(
        refusal(&rule_with("regex = \"Viagra|CIALIS\"")),
        "rules/spam.toml:7: rule SUBJ_FREE_MONEY: regex = \"Viagra|CIALIS\": every match needs an \
         uppercase letter, but with case = \"fold\" the regex runs over lowercased text; \
         fix: write the pattern in lowercase, start it with (?i), or set case = \"exact\""
    );
    for accepted in [
        "regex = \"(?i)Viagra\"",
        "regex = \"Viagra\"\ncase = \"exact\"",
        "regex = \"viagra|CIALIS\"",
    ] {
        RuleSet::from_toml(&rule_with(accepted), Path::new("rules/spam.toml"))
            .unwrap_or_else(|e| panic!("{accepted}: {e}"));
    }
}
