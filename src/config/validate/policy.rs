//! `[content]`, `[scoring]`, `[[policy]]` and `[senders]`: numbers that are
//! numbers, names the logs and headers can carry, and every recipient in at
//! most one policy class.

use std::collections::HashMap;

use super::super::locate::Step;
use super::super::schema::{Config, ContentConfig, PolicyConfig, ScoringConfig, SendersConfig};
use super::{Checker, quoted};

/// Every check of this module, in file order of the tables.
pub(super) fn policy(check: &mut Checker<'_>, config: &Config) {
    content(check, &config.content);
    scoring(check, &config.scoring);
    classes(check, &config.policy);
    senders(check, &config.senders);
}

fn content(check: &mut Checker<'_>, content: &ContentConfig) {
    check.non_zero(
        "content.budget",
        content.budget,
        ContentConfig::default().budget,
    );
    check.non_zero(
        "content.link_lookup_budget",
        content.link_lookup_budget,
        ContentConfig::default().link_lookup_budget,
    );
    // Each file must load now, not when the first message arrives.
    for (index, path) in content.rules.iter().enumerate() {
        if let Err(e) = crate::scan::keywords::RuleSet::load(path) {
            // The rule error names its own file, line and fix.
            let text = e.to_string();
            let (problem, fix) = text
                .split_once("; fix: ")
                .unwrap_or((&text, "correct the file"));
            check.entry_error(
                "content.rules",
                index,
                format!("does not load: {problem}"),
                format!("{fix}; `ringwall rules check FILE` checks a rule file"),
            );
        }
    }
}

fn scoring(check: &mut Checker<'_>, scoring: &ScoringConfig) {
    let thresholds = [
        ("tag", Some(scoring.tag)),
        ("quarantine", Some(scoring.quarantine)),
        ("reject", Some(scoring.reject)),
        ("tempfail", scoring.tempfail),
        ("discard", scoring.discard),
    ];
    for (name, value) in thresholds {
        if let Some(value) = value.filter(|v| !v.is_finite()) {
            check.error(
                &format!("scoring.{name}"),
                value,
                "must be a finite number",
                "write a score such as 5.0",
            );
        }
    }
    if let Some(prefix) = &scoring.subject_prefix {
        subject_prefix(
            check,
            "scoring.subject_prefix",
            &[Step::Key("scoring"), Step::Key("subject_prefix")],
            prefix,
        );
    }
    for (rule, score) in &scoring.scores {
        let path = [Step::Key("scoring"), Step::Key("scores"), Step::Key(rule)];
        let key = format!("scoring.scores.{rule}");
        if !is_rule_name(rule) {
            check.error_at(
                &key,
                &path,
                quoted(rule),
                "is not a rule name: rule names are upper-case letters, digits and _",
                "write the name as `ringwall score --explain` prints it",
            );
        } else if !score.is_finite() {
            check.error_at(
                &key,
                &path,
                score,
                "must be a finite number",
                "write a score such as 2.5, or 0 to switch the rule off",
            );
        }
    }
}

fn classes(check: &mut Checker<'_>, policies: &[PolicyConfig]) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut domains: HashMap<String, usize> = HashMap::new();
    let mut recipients: HashMap<String, usize> = HashMap::new();
    for (index, policy) in policies.iter().enumerate() {
        let at = |field| [Step::Key("policy"), Step::Index(index), Step::Key(field)];
        if policy.name.trim().is_empty() {
            let position = check
                .locator
                .table_position(&[Step::Key("policy"), Step::Index(index)]);
            check.push(
                "policy.name",
                position,
                None,
                format!(
                    "is missing from [[policy]] entry {}: the logs name a message's class by it",
                    index + 1
                ),
                "add a line such as name = \"strict\"".into(),
            );
        } else if let Some(first) = names.insert(&policy.name, index) {
            check.error_at(
                "policy.name",
                &at("name"),
                quoted(&policy.name),
                format!("is also the name of [[policy]] entry {}", first + 1),
                "give each class a name of its own",
            );
        }
        if policy.domains.is_empty() && policy.recipients.is_empty() {
            let position = check
                .locator
                .table_position(&[Step::Key("policy"), Step::Index(index)]);
            check.push(
                "policy.domains",
                position,
                None,
                format!(
                    "[[policy]] entry {} names no recipient: it would judge no mail",
                    index + 1
                ),
                "add domains = [\"example.org\"] or recipients = [\"ceo@example.org\"]".into(),
            );
        }
        for domain in &policy.domains {
            let canonical = domain.trim_end_matches('.').to_ascii_lowercase();
            if canonical.is_empty() || canonical.contains('@') || canonical.contains(' ') {
                check.error_at(
                    "policy.domains",
                    &at("domains"),
                    quoted(domain),
                    "is not a domain",
                    "write the domain alone, e.g. \"example.org\"; addresses go in recipients",
                );
            } else if let Some(first) = domains.insert(canonical, index) {
                check.error_at(
                    "policy.domains",
                    &at("domains"),
                    quoted(domain),
                    format!(
                        "is also in [[policy]] entry {}: a recipient has one class",
                        first + 1
                    ),
                    "keep the domain in one [[policy]] only",
                );
            }
        }
        for recipient in &policy.recipients {
            let lower = recipient.to_ascii_lowercase();
            let valid = lower.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
            if !valid {
                check.error_at(
                    "policy.recipients",
                    &at("recipients"),
                    quoted(recipient),
                    "is not an address",
                    "write local@domain; whole domains go in domains",
                );
            } else if let Some(first) = recipients.insert(lower, index) {
                check.error_at(
                    "policy.recipients",
                    &at("recipients"),
                    quoted(recipient),
                    format!(
                        "is also in [[policy]] entry {}: a recipient has one class",
                        first + 1
                    ),
                    "keep the address in one [[policy]] only",
                );
            }
        }
        let thresholds = [
            ("tag", policy.tag),
            ("quarantine", policy.quarantine),
            ("reject", policy.reject),
            ("tempfail", policy.tempfail),
            ("discard", policy.discard),
        ];
        for (name, value) in thresholds {
            if let Some(value) = value.filter(|v| !v.is_finite()) {
                check.error_at(
                    &format!("policy.{name}"),
                    &at(name),
                    value,
                    "must be a finite number",
                    "write a score such as 5.0",
                );
            }
        }
        if let Some(prefix) = &policy.subject_prefix {
            subject_prefix(
                check,
                "policy.subject_prefix",
                &at("subject_prefix"),
                prefix,
            );
        }
    }
}

fn senders(check: &mut Checker<'_>, senders: &SendersConfig) {
    for (list, entries) in [("allow", &senders.allow), ("block", &senders.block)] {
        let key = format!("senders.{list}");
        for (index, entry) in entries.iter().enumerate() {
            let trimmed = entry.trim();
            if trimmed.is_empty()
                || trimmed.trim_start_matches('@').is_empty()
                || trimmed.contains(char::is_whitespace)
                || trimmed.matches('@').count() > 1
            {
                check.entry_error(
                    &key,
                    index,
                    format!("{} is not an address, a domain or @domain", quoted(entry)),
                    "write news@example.com, example.com (with its subdomains) or @example.com (alone)".into(),
                );
            }
        }
    }
}

/// A Subject prefix goes into a header line: printable, short, one line.
fn subject_prefix(check: &mut Checker<'_>, key: &str, path: &[Step<'_>], prefix: &str) {
    if prefix.is_empty() || prefix.len() > 40 || prefix.chars().any(char::is_control) {
        check.error_at(
            key,
            path,
            quoted(prefix),
            "must be 1 to 40 printable characters on one line",
            "write something such as \"[SPAM]\", or leave the key out to keep Subjects as they are",
        );
    }
}

/// `[A-Z0-9_]+`, as rule names are written everywhere.
fn is_rule_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}
