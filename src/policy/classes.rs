//! Policy classes: which thresholds and actions a recipient's mail is judged
//! by. One transaction carries one verdict, so every recipient in it must be
//! in the same class; a recipient of another class is deferred at RCPT
//! (452 4.5.3) and the client sends it again in a new transaction, as
//! RFC 5321 §3.3 lets it.

use std::collections::HashMap;

use super::verdict::{Action, RuleClass, Thresholds};
use crate::config::{PolicyConfig, ScoringConfig};

/// One class: `[scoring]` (the default, index 0) or a `[[policy]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyClass {
    /// `default` or the `[[policy]]`'s name.
    pub name: String,
    /// Its thresholds.
    pub thresholds: Thresholds,
    /// Actions its rule classes force.
    pub class_actions: Vec<(RuleClass, Action)>,
    /// Put in front of a tagged message's Subject.
    pub subject_prefix: Option<String>,
}

/// Every class, and which recipients belong to which.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySet {
    classes: Vec<PolicyClass>,
    by_recipient: HashMap<String, usize>,
    by_domain: HashMap<String, usize>,
}

impl PolicySet {
    /// The classes the config describes: `[scoring]` first, then each
    /// `[[policy]]` with what it leaves out taken from `[scoring]`.
    pub fn new(scoring: &ScoringConfig, policies: &[PolicyConfig]) -> PolicySet {
        let default = PolicyClass {
            name: "default".into(),
            thresholds: Thresholds {
                tag: Some(scoring.tag),
                quarantine: Some(scoring.quarantine),
                reject: Some(scoring.reject),
                tempfail: scoring.tempfail,
                discard: scoring.discard,
            },
            class_actions: scoring.actions.iter().map(|(c, a)| (*c, *a)).collect(),
            subject_prefix: scoring.subject_prefix.clone(),
        };
        let mut set = PolicySet {
            classes: vec![default],
            by_recipient: HashMap::new(),
            by_domain: HashMap::new(),
        };
        for policy in policies {
            let base = &set.classes[0];
            let mut actions = scoring.actions.clone();
            actions.extend(policy.actions.iter().map(|(c, a)| (*c, *a)));
            let class = PolicyClass {
                name: policy.name.clone(),
                thresholds: Thresholds {
                    tag: policy.tag.or(base.thresholds.tag),
                    quarantine: policy.quarantine.or(base.thresholds.quarantine),
                    reject: policy.reject.or(base.thresholds.reject),
                    tempfail: policy.tempfail.or(base.thresholds.tempfail),
                    discard: policy.discard.or(base.thresholds.discard),
                },
                class_actions: actions.into_iter().collect(),
                subject_prefix: policy
                    .subject_prefix
                    .clone()
                    .or_else(|| base.subject_prefix.clone()),
            };
            let index = set.classes.len();
            set.classes.push(class);
            for recipient in &policy.recipients {
                set.by_recipient
                    .insert(recipient.to_ascii_lowercase(), index);
            }
            for domain in &policy.domains {
                set.by_domain.insert(canonical(domain), index);
            }
        }
        set
    }

    /// The class of `recipient` (`local@domain`): its address if a policy
    /// names it, else its domain's, else the default (0).
    pub fn class_of(&self, recipient: &str) -> usize {
        let address = recipient.to_ascii_lowercase();
        if let Some(index) = self.by_recipient.get(&address) {
            return *index;
        }
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        self.by_domain.get(&canonical(domain)).copied().unwrap_or(0)
    }

    /// Class `index` (0, the default, when out of range).
    pub fn class(&self, index: usize) -> &PolicyClass {
        self.classes.get(index).unwrap_or(&self.classes[0])
    }
}

/// A domain as compared: lower case, no trailing dot.
fn canonical(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn recipients_win_over_domains_and_the_rest_is_default() {
        let strict = PolicyConfig {
            name: "strict".into(),
            domains: vec!["Example.ORG.".into()],
            reject: Some(8.0),
            actions: BTreeMap::from([(RuleClass::Phishing, Action::Quarantine)]),
            ..PolicyConfig::default()
        };
        let ceo = PolicyConfig {
            name: "ceo".into(),
            recipients: vec!["ceo@example.org".into()],
            tag: Some(3.0),
            ..PolicyConfig::default()
        };
        let set = PolicySet::new(&ScoringConfig::default(), &[strict, ceo]);
        assert_eq!(set.class_of("someone@example.org"), 1);
        assert_eq!(set.class_of("CEO@Example.org"), 2);
        assert_eq!(set.class_of("u@example.net"), 0);
        let strict = set.class(1);
        assert_eq!(strict.thresholds.reject, Some(8.0));
        assert_eq!(strict.thresholds.tag, Some(5.0), "from [scoring]");
        assert!(
            strict
                .class_actions
                .contains(&(RuleClass::Executable, Action::Reject))
        );
        assert!(
            strict
                .class_actions
                .contains(&(RuleClass::Phishing, Action::Quarantine))
        );
        assert_eq!(set.class(2).thresholds.tag, Some(3.0));
        assert_eq!(set.class(0).name, "default");
    }
}
