//! The shard's content judge: the scan of a complete message, the client's
//! list hits, the sender lists and the recipients' policy class, turned
//! into one [`Judgement`], and what that judgement does to the message on
//! its way out (`X-Spam-*` fields, foreign ones renamed, a Subject prefix).
//!
//! It runs on the shard thread: a scan is CPU work of well under a
//! millisecond, bounded by `[content] budget`, and moving the message to
//! another thread would cost more than it saves. The one wait is the DNS
//! lists' answers about the message's link domains, bounded by `[content]
//! link_lookup_budget`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::link_lists::{self, LinkListings};
use crate::admin::Autolearner;
use crate::bayes::{Class, Snapshot};
use crate::config::Config;
use crate::policy::{
    Action, Judgement, Listed, PolicyClass, RuleClass, RuleHit, SenderLists, Thresholds, judge,
    spam_headers,
};
use crate::published::{Follower, Published};
use crate::rbl::{Hit, Triage};
use crate::scan::headers::{ReverseDns, SessionFacts};
use crate::scan::{Check, ScanReport, ScanScratch, Scanner, ScannerError};

/// The compiled rules every shard takes its own clone of: SIGHUP compiles
/// the rule files again and, when they load, publishes the new rules.
pub struct RuleSource {
    rules: Published<Scanner>,
}

impl RuleSource {
    /// The rules the server started with.
    pub fn new(scanner: Scanner) -> RuleSource {
        RuleSource {
            rules: Published::new(scanner),
        }
    }

    /// Compiles `config`'s rule files again; on error the rules in force
    /// stay, and the error says why.
    pub fn reload(&self, config: &Config) -> Result<usize, ScannerError> {
        let scanner = Scanner::new(config)?;
        let rules = scanner.rules().rules().len();
        self.rules.publish(scanner);
        Ok(rules)
    }

    /// The rules now, cloned for a shard (each clone's regexes keep their
    /// own caches, so shards never share one).
    fn latest(&self) -> (u64, Scanner) {
        let (generation, scanner) = self.rules.latest();
        (generation, Scanner::clone(&scanner))
    }
}

/// One shard's judge, when `[content] enabled`.
pub struct ContentJudge {
    source: Arc<RuleSource>,
    /// This shard's clone of the rules, with the generation it is of.
    scanner: RefCell<(u64, Scanner)>,
    /// The classifier's table, when `[bayes] database` is set.
    bayes: Option<Follower<Snapshot>>,
    /// `[bayes] autolearn`: where clear-cut messages go, and the spam and
    /// ham scores that make them clear-cut.
    autolearn: Option<(Autolearner, f64, f64)>,
    senders: SenderLists,
    scratch: RefCell<ScanScratch>,
    fail_closed: Vec<Check>,
    link_lookup_budget: Duration,
}

/// What the judge knows of the transaction besides the message.
pub struct Envelope<'a> {
    /// The reverse path, empty for the null sender.
    pub sender: &'a str,
    /// The client's EHLO/HELO name.
    pub helo: Option<&'a str>,
    /// The client's reverse DNS.
    pub reverse: ReverseDns,
    /// The client address's DNS list hits from triage.
    pub client_hits: &'a [Hit],
}

/// A message ready to go to the upstream after judging: the fields to put
/// on top, and the message itself (rewritten only when it had to be).
pub struct Outgoing<'m> {
    /// `X-Spam-*` fields, CRLF-terminated.
    pub fields: Vec<u8>,
    /// The message, with foreign `X-Spam-*` renamed and the Subject
    /// prefixed when the class asks for it.
    pub message: Cow<'m, [u8]>,
}

impl ContentJudge {
    /// A shard's judge, with its own clone of the compiled rules (each
    /// clone's regexes keep their own caches, so shards never share one).
    pub fn new(
        config: &Config,
        source: Arc<RuleSource>,
        bayes: Option<Arc<Published<Snapshot>>>,
        autolearn: Option<Autolearner>,
    ) -> ContentJudge {
        let scanner = RefCell::new(source.latest());
        ContentJudge {
            source,
            scanner,
            bayes: bayes.map(Follower::new),
            autolearn: autolearn.map(|learner| {
                (
                    learner,
                    config.bayes.autolearn_spam,
                    config.bayes.autolearn_ham,
                )
            }),
            senders: SenderLists::new(&config.senders),
            scratch: RefCell::new(ScanScratch::default()),
            fail_closed: config.content.fail_closed.clone(),
            link_lookup_budget: config.content.link_lookup_budget.0,
        }
    }

    /// Judges `message` from `sender` (empty for the null sender) for
    /// recipients of `class`, with the client's list hits counted in and
    /// the message's link domains asked about in `lists`' domain-keyed
    /// zones.
    pub async fn judge(
        &self,
        message: &[u8],
        envelope: &Envelope<'_>,
        lists: Option<&Rc<Triage>>,
        class: &PolicyClass,
    ) -> Judgement {
        let listed = self.senders.check(envelope.sender);
        if listed == Listed::Block {
            let hit = RuleHit {
                rule: "SENDER_BLOCKED".into(),
                score: 0.0,
                class: RuleClass::Header,
                evidence: envelope.sender.to_string(),
            };
            return Judgement {
                score: 0.0,
                action: Action::Reject,
                hits: vec![hit],
                forced_by: Some("SENDER_BLOCKED".into()),
                required: class.thresholds.required(),
            };
        }
        let report = self.scan(message, envelope);
        let links = match lists.filter(|lists| lists.has_domain_zones()) {
            Some(lists) if !report.link_domains.is_empty() => {
                link_lists::look_up(lists, &report.link_domains, self.link_lookup_budget).await
            }
            _ => LinkListings::default(),
        };
        let mut hits = report.hits;
        hits.extend(envelope.client_hits.iter().map(|hit| RuleHit {
            rule: hit.rule.clone(),
            score: hit.weight,
            class: RuleClass::Rbl,
            evidence: hit.display_name.clone(),
        }));
        hits.extend(links.hits);
        hits.extend(report.skipped.iter().map(|check| RuleHit {
            rule: format!("SCAN_SKIPPED_{}", check.name()),
            score: 0.0,
            class: RuleClass::Structure,
            evidence: "[content] budget spent".into(),
        }));
        if !links.unchecked.is_empty() {
            let failures: Vec<String> = links.unchecked.iter().map(ToString::to_string).collect();
            hits.push(RuleHit {
                rule: LINKS_UNCHECKED.into(),
                score: 0.0,
                class: RuleClass::Link,
                evidence: failures.join(", "),
            });
        }
        // An allowlisted sender is judged by class actions alone: a sender
        // address is easily forged, an executable is not made safe by it.
        let thresholds = if listed == Listed::Allow {
            &Thresholds::NONE
        } else {
            &class.thresholds
        };
        let mut judgement = judge(hits, thresholds, &class.class_actions);
        judgement.required = class.thresholds.required();
        if let Some(check) = report
            .skipped
            .iter()
            .find(|check| self.fail_closed.contains(check))
        {
            judgement.defer_for(&format!("SCAN_SKIPPED_{}", check.name()));
        } else if !links.unchecked.is_empty() {
            judgement.defer_for(LINKS_UNCHECKED);
        }
        self.autolearn(message, &judgement);
        judgement
    }

    /// Offers a clear-cut message to the classifier, judged by the other
    /// rules alone (learning from its own opinion would only entrench it).
    fn autolearn(&self, message: &[u8], judgement: &Judgement) {
        let Some((learner, spam, ham)) = &self.autolearn else {
            return;
        };
        let others: f64 = judgement
            .hits
            .iter()
            .filter(|hit| hit.class != RuleClass::Bayes)
            .map(|hit| hit.score)
            .sum();
        if others >= *spam {
            learner.offer(Class::Spam, message);
        } else if others <= *ham && judgement.action == Action::Accept {
            // Not ham when a class action or a fail-closed check stopped it.
            learner.offer(Class::Ham, message);
        }
    }

    /// The scan with this shard's clone of the latest rules.
    fn scan(&self, message: &[u8], envelope: &Envelope<'_>) -> ScanReport {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let facts = SessionFacts {
            helo: envelope.helo.map(str::to_string),
            reverse: envelope.reverse.clone(),
        };
        if self.source.rules.generation() != self.scanner.borrow().0 {
            *self.scanner.borrow_mut() = self.source.latest();
        }
        let bayes = self.bayes.as_ref().map(Follower::current);
        self.scanner.borrow().1.scan(
            message,
            &facts,
            now,
            bayes.as_deref(),
            &mut self.scratch.borrow_mut(),
        )
    }
}

/// The rule a verdict names when a fail-closed domain list did not answer
/// about the message's links.
const LINKS_UNCHECKED: &str = "SCAN_SKIPPED_LINKS";

/// What goes to the upstream for a message judged `judgement` under
/// `class`.
pub fn outgoing<'m>(message: &'m [u8], judgement: &Judgement, class: &PolicyClass) -> Outgoing<'m> {
    let mut message = Cow::Borrowed(message);
    if let Some(renamed) = spam_headers::neutralise_foreign(&message) {
        message = Cow::Owned(renamed);
    }
    if judgement.action != Action::Accept
        && let Some(prefix) = &class.subject_prefix
        && let Some(prefixed) = spam_headers::prefix_subject(&message, prefix)
    {
        message = Cow::Owned(prefixed);
    }
    Outgoing {
        fields: spam_headers::render(judgement),
        message,
    }
}
