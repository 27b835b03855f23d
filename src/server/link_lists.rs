//! The DNS list lookups of a message's link domains (URIBL, SURBL, Spamhaus
//! DBL: the `[[dnsbl]]` zones keyed by domain), through the same sharded,
//! single-flight RBL cache as client addresses: a domain linked from a
//! thousand messages is asked about once per TTL, by the shard that owns it.
//!
//! The domains are asked all at once when the message is complete; what has
//! not answered within `[content] link_lookup_budget` counts as not
//! answering, and each zone's `fail_open` decides what that means.

use std::rc::Rc;
use std::time::Duration;

use super::deadline::within;
use crate::policy::{RuleClass, RuleHit};
use crate::rbl::{KeyMode, Triage, TriageScore, ZoneFailure};

/// What the link domains' lookups add to a message's verdict.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkListings {
    /// One hit per rule (the first domain it listed is the evidence): a
    /// message linking ten listed domains is not ten times as bad, and a
    /// spammer must not be able to buy score by repeating links.
    pub hits: Vec<RuleHit>,
    /// Lookups that failed in a fail-closed zone: the verdict cannot be
    /// trusted without them.
    pub unchecked: Vec<ZoneFailure>,
}

/// Asks every domain-keyed zone about `domains` (distinct registrable
/// domains, in message order) and waits at most `budget`.
pub async fn look_up(triage: &Rc<Triage>, domains: &[String], budget: Duration) -> LinkListings {
    let tasks: Vec<_> = domains
        .iter()
        .map(|domain| {
            let triage = Rc::clone(triage);
            let domain = domain.clone();
            glommio::spawn_local(async move { triage.domain_score(&domain).await }).detach()
        })
        .collect();
    let deadline = std::time::Instant::now() + budget;
    let mut scores = Vec::with_capacity(domains.len());
    for (domain, task) in domains.iter().zip(tasks) {
        let score = within(deadline, task)
            .await
            .unwrap_or_else(|| triage.unanswered(KeyMode::Domain));
        scores.push((domain.as_str(), score));
    }
    merge(&scores)
}

/// The listings of every domain, one hit per rule, and the fail-closed
/// failures, once per zone.
pub fn merge(scores: &[(&str, TriageScore)]) -> LinkListings {
    let mut listings = LinkListings::default();
    for (domain, score) in scores {
        for hit in score.hits() {
            if listings.hits.iter().any(|seen| seen.rule == hit.rule) {
                continue;
            }
            listings.hits.push(RuleHit {
                rule: hit.rule.clone(),
                score: hit.weight,
                class: RuleClass::Link,
                evidence: format!("{domain} (listed by {})", hit.display_name),
            });
        }
        for failure in score.failures().iter().filter(|f| !f.fail_open) {
            if !listings
                .unchecked
                .iter()
                .any(|seen| seen.rule == failure.rule)
            {
                listings.unchecked.push(failure.clone());
            }
        }
    }
    listings
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::config::ZoneConfig;
    use crate::rbl::{Classification, ListKind, Preset, Zone};

    fn zone(name: &str, preset: Preset, fail_open: bool) -> Zone {
        let config = ZoneConfig {
            zone: name.into(),
            preset: Some(preset),
            fail_open,
            ..ZoneConfig::default()
        };
        Zone::new(&config, ListKind::Block).expect("zone")
    }

    fn listed(zone: &Zone, code: [u8; 4]) -> Classification {
        zone.classify(&[Ipv4Addr::from(code)])
    }

    #[test]
    fn a_rule_counts_once_whatever_the_number_of_domains_it_lists() {
        let uribl = zone("multi.uribl.com", Preset::Uribl, true);
        let dbl = zone("dbl.spamhaus.org", Preset::SpamhausDbl, true);
        let mut first = TriageScore::default();
        first.record(&uribl, listed(&uribl, [127, 0, 0, 2]));
        first.record(&dbl, Classification::NotListed);
        let mut second = TriageScore::default();
        second.record(&uribl, listed(&uribl, [127, 0, 0, 2]));
        second.record(&dbl, listed(&dbl, [127, 0, 1, 4]));
        let listings = merge(&[("spam.example", first), ("phish.example", second)]);
        let found: Vec<(&str, &str)> = listings
            .hits
            .iter()
            .map(|hit| (hit.rule.as_str(), hit.evidence.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("URIBL_BLACK", "spam.example (listed by URIBL)"),
                ("RBL_DBL_PHISH", "phish.example (listed by Spamhaus DBL)"),
            ]
        );
        assert!(listings.hits.iter().all(|hit| hit.class == RuleClass::Link));
        assert!(listings.unchecked.is_empty());
    }

    #[test]
    fn only_fail_closed_failures_leave_the_message_unchecked() {
        let open = zone("multi.uribl.com", Preset::Uribl, true);
        let closed = zone("dbl.spamhaus.org", Preset::SpamhausDbl, false);
        let mut score = TriageScore::default();
        score.record_no_answer(&open);
        score.record_no_answer(&closed);
        let mut again = TriageScore::default();
        again.record(&closed, listed(&closed, [127, 255, 255, 254]));
        let listings = merge(&[("a.example", score), ("b.example", again)]);
        let unchecked: Vec<String> = listings.unchecked.iter().map(|f| f.to_string()).collect();
        assert_eq!(unchecked, ["RBL_DBL: no answer (fail-closed)"]);
        assert!(listings.hits.is_empty());
    }
}
