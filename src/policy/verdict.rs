//! One score and one verdict per message: the named rules that hit, summed,
//! against the thresholds of the recipients' policy class, with the actions
//! some rule classes force whatever the sum (an executable is refused even in
//! an otherwise clean message).
//!
//! Pure: rules in, a [`Judgement`] out. The shell applies it (tags the
//! message, refuses it, hands it to the quarantine).

use std::fmt;

use serde::Deserialize;

/// What happens to a message. Ordered by severity: when the score and a
/// rule class disagree, the more severe wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Relay it as it is (with `X-Spam-Status: No`).
    Accept,
    /// Relay it with `X-Spam-Flag: YES` and the rules that hit, for the
    /// mailbox's own filing rules.
    Tag,
    /// Keep it in quarantine for review instead of relaying it.
    Quarantine,
    /// 451 4.7.1: the client tries again later (for checks that may clear).
    Tempfail,
    /// 550 5.7.1: the client bounces it; nothing is lost, the sender learns.
    Reject,
    /// 250, then drop it, logged with its queue id and score: opt-in, for
    /// operators who must delete the worst without telling the sender.
    Discard,
}

impl Action {
    /// The name operators write in the config and read in the logs.
    pub fn name(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Tag => "tag",
            Action::Quarantine => "quarantine",
            Action::Tempfail => "tempfail",
            Action::Reject => "reject",
            Action::Discard => "discard",
        }
    }

    /// True when the verdict counts the message as spam (`ringwall score
    /// --eval`: tag, quarantine or reject, as the issue defines it; tempfail
    /// and discard count too, being stricter still).
    pub fn is_spam(self) -> bool {
        self != Action::Accept
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds of rule an operator may give a fixed action (`[scoring.actions]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleClass {
    /// Executables by type or name, also inside archives.
    Executable,
    /// Content that runs when opened: Office macros, PDF JavaScript.
    Malware,
    /// Archives that cannot be inspected (encrypted) or are bombs.
    Archive,
    /// Deception aimed at the reader: link text showing another domain, a
    /// display name claiming another sender.
    Phishing,
    /// Suspicious link forms: IP-literal hosts, shorteners, punycode.
    Link,
    /// Structure past a bound: MIME depth, parts, header length.
    Structure,
    /// Keyword and regex rules.
    Keyword,
    /// Header checks.
    Header,
    /// DNS lists, of the client or of the links.
    Rbl,
    /// The statistical classifier's verdict (BAYES_*).
    Bayes,
    /// The GTUBE test string.
    Test,
}

impl RuleClass {
    /// The name in the config and in explanations.
    pub fn name(self) -> &'static str {
        match self {
            RuleClass::Executable => "executable",
            RuleClass::Malware => "malware",
            RuleClass::Archive => "archive",
            RuleClass::Phishing => "phishing",
            RuleClass::Link => "link",
            RuleClass::Structure => "structure",
            RuleClass::Keyword => "keyword",
            RuleClass::Header => "header",
            RuleClass::Rbl => "rbl",
            RuleClass::Bayes => "bayes",
            RuleClass::Test => "test",
        }
    }
}

/// One named rule that hit, with what it adds and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHit {
    /// `SUBJ_FREE_MONEY`, `ATTACH_EXECUTABLE`, `RBL_ZEN_SBL`, ...
    pub rule: String,
    /// What it adds to the score (negative rules subtract).
    pub score: f64,
    /// Which class it belongs to, for class actions.
    pub class: RuleClass,
    /// What it matched: the keyword, the link, the attachment name. Shown by
    /// `ringwall score --explain`; never logged with the transaction.
    pub evidence: String,
}

/// A policy class's thresholds: a message at or above one gets its action;
/// of those reached, the highest threshold wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Tag at or above.
    pub tag: Option<f64>,
    /// Quarantine at or above.
    pub quarantine: Option<f64>,
    /// Refuse with 550 at or above.
    pub reject: Option<f64>,
    /// Refuse with 451 at or above.
    pub tempfail: Option<f64>,
    /// Accept and drop at or above (opt-in).
    pub discard: Option<f64>,
}

impl Thresholds {
    /// No threshold at all: only class actions decide (an allowlisted
    /// sender).
    pub const NONE: Thresholds = Thresholds {
        tag: None,
        quarantine: None,
        reject: None,
        tempfail: None,
        discard: None,
    };

    /// The action of the highest threshold `score` reaches.
    pub fn action(&self, score: f64) -> Action {
        [
            (self.tag, Action::Tag),
            (self.quarantine, Action::Quarantine),
            (self.reject, Action::Reject),
            (self.tempfail, Action::Tempfail),
            (self.discard, Action::Discard),
        ]
        .into_iter()
        .filter_map(|(threshold, action)| threshold.map(|t| (t, action)))
        .filter(|(threshold, _)| score >= *threshold)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map_or(Action::Accept, |(_, action)| action)
    }

    /// The lowest threshold that flags a message, for `required=` in
    /// `X-Spam-Status` (SpamAssassin's meaning: the tag threshold).
    pub fn required(&self) -> f64 {
        [
            self.tag,
            self.quarantine,
            self.reject,
            self.tempfail,
            self.discard,
        ]
        .into_iter()
        .flatten()
        .fold(f64::INFINITY, f64::min)
    }
}

/// What a message gets, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The sum of the rules' scores.
    pub score: f64,
    /// What happens to it.
    pub action: Action,
    /// The rules that hit, highest score first.
    pub hits: Vec<RuleHit>,
    /// The rule whose class forced the action, when one did.
    pub forced_by: Option<String>,
    /// The threshold the message was held against for `X-Spam-Status`.
    pub required: f64,
}

impl Judgement {
    /// A fail-closed check (`rule` names it) could not run: a verdict that
    /// would let the message through, tagged or kept, becomes a tempfail
    /// (451), so the client retries when the check can run. Refusals stand.
    pub fn defer_for(&mut self, rule: &str) {
        if self.action < Action::Tempfail {
            self.action = Action::Tempfail;
            self.forced_by = Some(rule.to_string());
        }
    }

    /// `RULE=score` pairs, comma separated, as the log and `X-Spam-Status`
    /// show them.
    pub fn explanation(&self) -> String {
        let mut out = String::new();
        for (i, hit) in self.hits.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&hit.rule);
            out.push('=');
            out.push_str(&format_score(hit.score));
        }
        out
    }
}

/// A score as the log and the headers show it: one decimal, no `-0.0`.
pub fn format_score(score: f64) -> String {
    let rounded = (score * 10.0).round() / 10.0;
    if rounded == 0.0 {
        "0.0".to_string()
    } else {
        format!("{rounded:.1}")
    }
}

/// Judges `hits` under `thresholds`, with `class_actions` fixed by the
/// operator for some rule classes.
pub fn judge(
    mut hits: Vec<RuleHit>,
    thresholds: &Thresholds,
    class_actions: &[(RuleClass, Action)],
) -> Judgement {
    let score: f64 = hits.iter().map(|hit| hit.score).sum();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.rule.cmp(&b.rule)));
    let mut action = thresholds.action(score);
    let mut forced_by = None;
    for hit in &hits {
        let forced = class_actions
            .iter()
            .find(|(class, _)| *class == hit.class)
            .map(|(_, action)| *action);
        if let Some(forced) = forced.filter(|forced| *forced > action) {
            action = forced;
            forced_by = Some(hit.rule.clone());
        }
    }
    Judgement {
        score,
        action,
        hits,
        forced_by,
        required: thresholds.required(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Thresholds {
        Thresholds {
            tag: Some(5.0),
            quarantine: Some(8.0),
            reject: Some(15.0),
            tempfail: None,
            discard: None,
        }
    }

    fn hit(rule: &str, score: f64, class: RuleClass) -> RuleHit {
        RuleHit {
            rule: rule.into(),
            score,
            class,
            evidence: String::new(),
        }
    }

    #[test]
    fn the_highest_threshold_reached_wins_at_or_above() {
        let t = defaults();
        assert_eq!(t.action(4.9), Action::Accept);
        assert_eq!(t.action(5.0), Action::Tag);
        assert_eq!(t.action(7.99), Action::Tag);
        assert_eq!(t.action(8.0), Action::Quarantine);
        assert_eq!(t.action(15.0), Action::Reject);
        assert_eq!(t.action(1000.0), Action::Reject);
        assert_eq!(t.action(-3.0), Action::Accept);
        let with_discard = Thresholds {
            discard: Some(30.0),
            tempfail: Some(6.0),
            ..defaults()
        };
        assert_eq!(with_discard.action(6.5), Action::Tempfail);
        assert_eq!(with_discard.action(9.0), Action::Quarantine);
        assert_eq!(with_discard.action(30.0), Action::Discard);
        assert_eq!(with_discard.required(), 5.0);
    }

    #[test]
    fn a_class_action_overrides_a_milder_score() {
        let classes = [(RuleClass::Executable, Action::Reject)];
        let judged = judge(
            vec![
                hit("ATTACH_EXECUTABLE", 1.0, RuleClass::Executable),
                hit("SUBJ_HELLO", 0.5, RuleClass::Keyword),
            ],
            &defaults(),
            &classes,
        );
        assert_eq!(judged.action, Action::Reject);
        assert_eq!(judged.forced_by.as_deref(), Some("ATTACH_EXECUTABLE"));
        assert_eq!(judged.explanation(), "ATTACH_EXECUTABLE=1.0,SUBJ_HELLO=0.5");
        // A class action never softens: quarantine for phishing does not
        // undo a reject by score.
        let judged = judge(
            vec![
                hit("GTUBE", 1000.0, RuleClass::Test),
                hit("LINK_IP_HOST", 1.0, RuleClass::Phishing),
            ],
            &defaults(),
            &[(RuleClass::Phishing, Action::Quarantine)],
        );
        assert_eq!(judged.action, Action::Reject);
        assert_eq!(judged.forced_by, None);
    }

    #[test]
    fn negative_rules_subtract_and_scores_print_with_one_decimal() {
        let judged = judge(
            vec![
                hit("RBL_ZEN_SBL", 3.0, RuleClass::Rbl),
                hit("RWL_DNSWL_HI", -5.0, RuleClass::Rbl),
                hit("BODY_X", 2.25, RuleClass::Keyword),
            ],
            &defaults(),
            &[],
        );
        assert_eq!(judged.action, Action::Accept);
        assert_eq!(format_score(judged.score), "0.3");
        assert_eq!(
            judged.explanation(),
            "RBL_ZEN_SBL=3.0,BODY_X=2.3,RWL_DNSWL_HI=-5.0"
        );
        assert_eq!(format_score(-0.04), "0.0");
    }
}
