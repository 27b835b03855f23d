//! Counting log lines into a [`Report`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::entry::{self, Entry, Line, Message, Outcome};
use super::{HOUR, rfc3339};
use crate::config::Config;
use crate::rbl::{ListKind, Zone};

/// Entries each top list keeps.
const TOP: usize = 10;

/// Rule-name stems of the DNS lists ringwall can name without a
/// configuration: derived blocklist (`RBL_`) and allowlist (`RWL_`) stems,
/// and the presets' (`RBL_ZEN`, `URIBL`, `SURBL`, `DNSWL`).
const GUESSED_STEMS: [&str; 5] = ["RBL", "RWL", "DNSWL", "URIBL", "SURBL"];

/// Which rules are DNS list hits, for the report's hit rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsLists {
    /// The rule-name stems of the configuration's `[[dnsbl]]` and
    /// `[[dnswl]]` zones: each list is reported, hits or not, its codes'
    /// rules (`RBL_ZEN_SBL`, `RBL_ZEN_PBL`) counted under its stem.
    Configured(Vec<String>),
    /// No configuration at hand: each rule named like a DNS list's
    /// (`RBL_*`, `RWL_*`, `DNSWL*`, `URIBL*`, `SURBL*`) is reported alone.
    Guessed,
}

impl DnsLists {
    /// The zones of `config`, named as the daemon names their rules.
    pub fn of(config: &Config) -> DnsLists {
        let blocks = config.dnsbl.iter().map(|zone| (zone, ListKind::Block));
        let allows = config.dnswl.iter().map(|zone| (zone, ListKind::Allow));
        DnsLists::Configured(
            blocks
                .chain(allows)
                .filter_map(|(zone, kind)| Zone::new(zone, kind).ok())
                .map(|zone| zone.rule().to_string())
                .collect(),
        )
    }

    /// The list `rule` is a hit of, by the name the report gives it.
    fn list_of(&self, rule: &str) -> Option<String> {
        let of_stem = |stem: &str| {
            rule == stem
                || rule
                    .strip_prefix(stem)
                    .is_some_and(|rest| rest.starts_with('_'))
        };
        match self {
            DnsLists::Configured(stems) => stems
                .iter()
                .filter(|stem| of_stem(stem))
                .max_by_key(|stem| stem.len())
                .cloned(),
            DnsLists::Guessed => GUESSED_STEMS
                .iter()
                .any(|stem| of_stem(stem))
                .then(|| rule.to_string()),
        }
    }
}

/// A name and how often it came up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// A rule, a client address or a sender domain.
    pub name: String,
    /// Messages it came up in.
    pub count: u64,
}

/// Messages by what became of them; the counts add up to all messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdicts {
    /// Relayed untagged.
    pub relayed: u64,
    /// Relayed with the spam flag (`action=tag`).
    pub tagged: u64,
    /// Kept for review (`action=quarantine`).
    pub quarantined: u64,
    /// Refused with 5xx at end of data.
    pub rejected: u64,
    /// Refused with 4xx at end of data.
    pub tempfail: u64,
    /// Accepted and dropped.
    pub discarded: u64,
    /// The session ended before a reply.
    pub disconnected: u64,
}

impl Verdicts {
    fn count(&mut self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Relayed => &mut self.relayed,
            Outcome::Tagged => &mut self.tagged,
            Outcome::Quarantined => &mut self.quarantined,
            Outcome::Rejected => &mut self.rejected,
            Outcome::Tempfail => &mut self.tempfail,
            Outcome::Discarded => &mut self.discarded,
            Outcome::Disconnected => &mut self.disconnected,
        };
        *counter += 1;
    }

    /// Each count with its name, in report order.
    pub fn named(&self) -> [(&'static str, u64); 7] {
        [
            ("relayed", self.relayed),
            ("tagged", self.tagged),
            ("quarantined", self.quarantined),
            ("rejected", self.rejected),
            ("tempfail", self.tempfail),
            ("discarded", self.discarded),
            ("disconnected", self.disconnected),
        ]
    }
}

/// One DNS list's share of the judged mail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListRate {
    /// The list's rule name (its stem, with a configuration).
    pub rule: String,
    /// Messages and RCPT-stage refusals it hit.
    pub hits: u64,
    /// `hits` over all judged, 0 to 1.
    pub rate: f64,
}

/// What the DNS lists did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsblSummary {
    /// Messages plus recipients refused at RCPT by client triage: what the
    /// rates are shares of.
    pub judged: u64,
    /// Recipients refused at RCPT because the client's list score reached
    /// `[rbl] reject_threshold`.
    pub refused_at_rcpt: u64,
    /// Each list, most hits first.
    pub lists: Vec<ListRate>,
}

/// Quarantined messages an operator released: the false positives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Released {
    /// How many.
    pub count: u64,
    /// Their quarantine ids, in log order.
    pub ids: Vec<String>,
}

/// Messages in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hour {
    /// The hour's start, RFC 3339.
    pub hour: String,
    /// Messages logged in it.
    pub messages: u64,
}

/// Everything a report shows; its serde form is the `--json` output, whose
/// keys are a contract with operators' scripts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The window's start, RFC 3339.
    pub since: String,
    /// The window's end (when the report was made), RFC 3339.
    pub until: String,
    /// Messages that reached a verdict.
    pub messages: u64,
    /// What became of them.
    pub verdicts: Verdicts,
    /// The rules that scored the most messages.
    pub top_rules: Vec<Count>,
    /// The client addresses that sent the most messages.
    pub top_clients: Vec<Count>,
    /// The envelope sender domains of the most messages (`(null sender)`
    /// for bounces).
    pub top_sender_domains: Vec<Count>,
    /// The DNS lists' hit rates.
    pub dnsbl: DnsblSummary,
    /// Quarantine releases.
    pub released: Released,
    /// Messages per hour, each hour from the first message's to the last's.
    pub hourly: Vec<Hour>,
    /// Lines that were not the daemon's log (or were cut short), left out.
    pub skipped: u64,
}

/// The counts so far; lines go in one by one, a [`Report`] comes out.
#[derive(Debug)]
pub struct Tally {
    since: SystemTime,
    until: SystemTime,
    lists: DnsLists,
    messages: u64,
    verdicts: Verdicts,
    rules: HashMap<String, u64>,
    clients: HashMap<String, u64>,
    domains: HashMap<String, u64>,
    list_hits: HashMap<String, u64>,
    refused_at_rcpt: u64,
    released: Vec<String>,
    hourly: BTreeMap<u64, u64>,
    skipped: u64,
}

impl Tally {
    /// Counts entries logged from `since` to `until`, DNS list hits by
    /// `lists`.
    pub fn new(since: SystemTime, until: SystemTime, lists: DnsLists) -> Tally {
        Tally {
            since,
            until,
            lists,
            messages: 0,
            verdicts: Verdicts::default(),
            rules: HashMap::new(),
            clients: HashMap::new(),
            domains: HashMap::new(),
            list_hits: HashMap::new(),
            refused_at_rcpt: 0,
            released: Vec::new(),
            hourly: BTreeMap::new(),
            skipped: 0,
        }
    }

    /// Counts one log line (without its line end); a blank one is passed over.
    pub fn line(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        match entry::read(text) {
            Line::Counted(time, entry) if (self.since..=self.until).contains(&time) => {
                self.entry(time, entry);
            }
            Line::Counted(..) | Line::Other => {}
            Line::Unreadable => self.skipped += 1,
        }
    }

    /// Counts a line that could not be read as text at all.
    pub fn unreadable(&mut self) {
        self.skipped += 1;
    }

    fn entry(&mut self, time: SystemTime, entry: Entry) {
        match entry {
            Entry::Message(message) => self.message(time, message),
            Entry::TriageRefusal(rules) => {
                self.refused_at_rcpt += 1;
                self.list_hits(&rules);
            }
            Entry::Release(id) => self.released.push(id),
        }
    }

    fn message(&mut self, time: SystemTime, message: Message) {
        self.messages += 1;
        self.verdicts.count(message.outcome);
        *self.clients.entry(message.client).or_default() += 1;
        *self
            .domains
            .entry(sender_domain(&message.from))
            .or_default() += 1;
        let distinct: BTreeSet<&String> = message.rules.iter().collect();
        for rule in distinct {
            *self.rules.entry(rule.clone()).or_default() += 1;
        }
        self.list_hits(&message.rules);
        let hour = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since_epoch| since_epoch.as_secs() / HOUR.as_secs());
        *self.hourly.entry(hour).or_default() += 1;
    }

    /// Counts each list `rules` holds a hit of once.
    fn list_hits(&mut self, rules: &[String]) {
        let lists: BTreeSet<String> = rules
            .iter()
            .filter_map(|rule| self.lists.list_of(rule))
            .collect();
        for list in lists {
            *self.list_hits.entry(list).or_default() += 1;
        }
    }

    /// The report of what was counted.
    pub fn finish(self) -> Report {
        let judged = self.messages + self.refused_at_rcpt;
        let mut hits = self.list_hits;
        if let DnsLists::Configured(stems) = &self.lists {
            for stem in stems {
                hits.entry(stem.clone()).or_default();
            }
        }
        let lists = top(hits, usize::MAX)
            .into_iter()
            .map(|Count { name, count }| ListRate {
                rule: name,
                hits: count,
                rate: if judged == 0 {
                    0.0
                } else {
                    count as f64 / judged as f64
                },
            })
            .collect();
        let hourly = match (self.hourly.keys().next(), self.hourly.keys().last()) {
            (Some(&first), Some(&last)) => (first..=last)
                .map(|hour| Hour {
                    hour: rfc3339(UNIX_EPOCH + Duration::from_secs(hour * HOUR.as_secs())),
                    messages: self.hourly.get(&hour).copied().unwrap_or(0),
                })
                .collect(),
            _ => Vec::new(),
        };
        Report {
            since: rfc3339(self.since),
            until: rfc3339(self.until),
            messages: self.messages,
            verdicts: self.verdicts,
            top_rules: top(self.rules, TOP),
            top_clients: top(self.clients, TOP),
            top_sender_domains: top(self.domains, TOP),
            dnsbl: DnsblSummary {
                judged,
                refused_at_rcpt: self.refused_at_rcpt,
                lists,
            },
            released: Released {
                count: self.released.len() as u64,
                ids: self.released,
            },
            hourly,
            skipped: self.skipped,
        }
    }
}

/// The domain of a logged sender (`<a@Example.COM>` is `example.com`).
fn sender_domain(from: &str) -> String {
    let address = from.trim_start_matches('<').trim_end_matches('>');
    if address.is_empty() {
        return "(null sender)".to_string();
    }
    address
        .rsplit_once('@')
        .map_or(address, |(_, domain)| domain)
        .to_lowercase()
}

/// The `limit` names counted most, most first, ties by name.
fn top(counts: HashMap<String, u64>, limit: usize) -> Vec<Count> {
    let mut counts: Vec<Count> = counts
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    counts.truncate(limit);
    counts
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    fn report(lines: &[&str], since: &str, lists: DnsLists) -> Report {
        let mut tally = Tally::new(at(since), at("2026-11-27T12:00:00Z"), lists);
        for line in lines {
            tally.line(line);
        }
        tally.finish()
    }

    fn counts(counts: &[Count]) -> Vec<(&str, u64)> {
        (counts.iter())
            .map(|count| (count.name.as_str(), count.count))
            .collect()
    }

    #[test]
    fn counts_the_captured_log_exactly() {
        let lines = [
            TEXT_STARTED,
            TEXT_CLEAN,
            TEXT_GTUBE,
            TEXT_BOUNCE,
            TEXT_TRIAGE,
            TEXT_REFUSED,
            JSON_CLEAN,
            JSON_REFUSED,
            TEXT_RELEASE,
            "",
            "not a log line",
        ];
        let lists = DnsLists::Configured(vec!["RBL_ZEN".into(), "RWL_DNSWL_ORG".into()]);
        let report = report(&lines, "2026-11-27T00:00:00Z", lists);
        assert_eq!(report.since, "2026-11-27T00:00:00Z");
        assert_eq!(report.until, "2026-11-27T12:00:00Z");
        assert_eq!(report.messages, 4);
        assert_eq!(
            report.verdicts,
            Verdicts {
                relayed: 3,
                tagged: 1,
                ..Verdicts::default()
            }
        );
        assert_eq!(
            counts(&report.top_rules),
            [("HELO_NOT_FQDN", 4), ("GTUBE", 1)]
        );
        assert_eq!(counts(&report.top_clients), [("127.0.0.55", 4)]);
        assert_eq!(
            counts(&report.top_sender_domains),
            [
                ("sender.example", 2),
                ("(null sender)", 1),
                ("spam.example", 1)
            ]
        );
        assert_eq!(
            report.dnsbl,
            DnsblSummary {
                judged: 6,
                refused_at_rcpt: 2,
                lists: vec![
                    ListRate {
                        rule: "RBL_ZEN".into(),
                        hits: 2,
                        rate: 2.0 / 6.0,
                    },
                    ListRate {
                        rule: "RWL_DNSWL_ORG".into(),
                        hits: 0,
                        rate: 0.0,
                    },
                ],
            }
        );
        assert_eq!(
            report.released,
            Released {
                count: 1,
                ids: vec!["Q7F3A9".into()],
            }
        );
        assert_eq!(
            report.hourly,
            [Hour {
                hour: "2026-11-27T10:00:00Z".into(),
                messages: 4,
            }]
        );
        assert_eq!(report.skipped, 1);
    }

    #[test]
    fn entries_before_since_are_left_out() {
        let report = report(
            &[TEXT_CLEAN, TEXT_GTUBE, TEXT_REFUSED],
            "2026-11-27T10:19:00.300Z",
            DnsLists::Guessed,
        );
        assert_eq!(report.messages, 1);
        assert_eq!(report.verdicts.tagged, 1);
        assert_eq!(report.dnsbl.judged, 2);
    }

    #[test]
    fn without_a_configuration_each_list_rule_stands_alone() {
        let line = |rules: &str| {
            TEXT_CLEAN.replace("rules=\"HELO_NOT_FQDN=1.0\"", &format!("rules=\"{rules}\""))
        };
        let lines = [
            line("RBL_ZEN_SBL=3.0,RBL_ZEN_PBL=1.0,BODY_X=1.0"),
            line("URIBL_BLACK=2.0,DNSWL_HI=-5.0"),
            line("URIBL=2.0,RBLX=1.0"),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let rates = |lists| {
            let report = report(&lines, "2026-11-27T00:00:00Z", lists);
            (report.dnsbl.lists.iter())
                .map(|list| (list.rule.clone(), list.hits))
                .collect::<Vec<_>>()
        };
        let owned = |pairs: &[(&str, u64)]| {
            (pairs.iter())
                .map(|(rule, hits)| (rule.to_string(), *hits))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rates(DnsLists::Guessed),
            owned(&[
                ("DNSWL_HI", 1),
                ("RBL_ZEN_PBL", 1),
                ("RBL_ZEN_SBL", 1),
                ("URIBL", 1),
                ("URIBL_BLACK", 1)
            ])
        );
        // With the zones' stems, a list counts once per message.
        assert_eq!(
            rates(DnsLists::Configured(vec!["RBL_ZEN".into(), "URIBL".into()])),
            owned(&[("URIBL", 2), ("RBL_ZEN", 1)])
        );
    }

    #[test]
    fn top_lists_keep_ten_and_hours_run_without_gaps() {
        let mut lines = Vec::new();
        for client in 1..=12 {
            for _ in 0..client {
                lines.push(TEXT_CLEAN.replace("127.0.0.55", &format!("192.0.2.{client}")));
            }
        }
        lines.push(TEXT_CLEAN.replace("T10:", "T07:"));
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let report = report(&lines, "2026-11-27T00:00:00Z", DnsLists::Guessed);
        assert_eq!(report.top_clients.len(), 10);
        assert_eq!(counts(&report.top_clients)[0], ("192.0.2.12", 12));
        assert_eq!(counts(&report.top_clients)[9], ("192.0.2.3", 3));
        let hourly: Vec<(&str, u64)> = (report.hourly.iter())
            .map(|hour| (hour.hour.as_str(), hour.messages))
            .collect();
        assert_eq!(
            hourly,
            [
                ("2026-11-27T07:00:00Z", 1),
                ("2026-11-27T08:00:00Z", 0),
                ("2026-11-27T09:00:00Z", 0),
                ("2026-11-27T10:00:00Z", 78)
            ]
        );
    }

    #[test]
    fn dns_lists_of_a_configuration_are_named_as_the_daemon_names_them() {
        let config = crate::config::parse(
            "[dns]\nresolvers = [\"127.0.0.1:53\"]\n\
             [[dnsbl]]\nzone = \"zen.spamhaus.org\"\npreset = \"spamhaus-zen\"\n\
             [[dnsbl]]\nzone = \"bl.spamcop.net\"\n\
             [[dnswl]]\nzone = \"list.dnswl.org\"\npreset = \"dnswl\"\n",
            "t.toml",
        )
        .unwrap()
        .config;
        assert_eq!(
            DnsLists::of(&config),
            DnsLists::Configured(vec![
                "RBL_ZEN".into(),
                "RBL_SPAMCOP_NET".into(),
                "DNSWL".into()
            ])
        );
    }
}
