//! Connection triage for one client, postscreen style: started the moment
//! the connection is admitted (the DNS lookups run while the banner goes out
//! and the client says EHLO), consulted when an answer is needed, within the
//! `[rbl] budget` counted from the start.
//!
//! Static `[rbl] allow` and `deny` networks decide first (the longer prefix
//! wins where they overlap); loopback clients skip triage with
//! `skip_loopback`; everyone else is scored by `rbl::Triage`.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glommio::task::JoinHandle;
use ipnet::IpNet;

use super::deadline::within;
use crate::config::Config;
use crate::rbl::{Decision, Hit, KeyMode, Triage, TriageScore};
use crate::smtp::reply::{Reply, Status};

/// What triage concluded about a client.
#[derive(Debug, Clone, PartialEq)]
pub enum Screened {
    /// Not refused (passed, allowed, or not screened).
    Pass,
    /// Refused: the list that names it (its display name, or the local
    /// policy) and the rules that added up, for the log.
    Reject {
        /// Who refuses: "Spamhaus ZEN", or "local policy" for `[rbl] deny`.
        by: String,
        /// `RBL_ZEN_SBL=3.0, ...`.
        rules: String,
    },
    /// A fail-closed list did not answer and could have decided: try later.
    Defer {
        /// The lists that failed, for the log.
        failures: String,
    },
}

/// One client's triage in progress or done.
pub struct Screening {
    state: State,
    deadline: Instant,
    /// How long the banner waits for a client that talks first (pregreet);
    /// `None` when off or the client is exempt (allowed, skipped loopback).
    pregreet_wait: Option<Duration>,
    /// In `[rbl] allow`, or named by an allowlist (a negative hit).
    allowlisted: bool,
    /// The rules that scored, for the transaction log (`RBL_ZEN_PBL=1`).
    rules: String,
    /// The list hits, which also count in the message's verdict.
    hits: Vec<Hit>,
}

enum State {
    Done(Screened),
    Scoring {
        triage: Rc<Triage>,
        task: JoinHandle<TriageScore>,
        threshold: f64,
    },
}

impl Screening {
    /// Starts screening `client` (the real one, after a PROXY header).
    pub fn start(config: &Config, triage: Option<&Rc<Triage>>, client: IpAddr) -> Screening {
        let client = client.to_canonical();
        let deadline = Instant::now() + config.rbl.budget.0;
        let rbl = &config.rbl;
        let listed = static_list(&rbl.allow, &rbl.deny, client);
        let allowed = listed == Some(true);
        let skipped = rbl.skip_loopback && client.is_loopback();
        let pregreet_wait =
            Some(rbl.pregreet_wait.0).filter(|wait| !allowed && !skipped && !wait.is_zero());
        let done = |screened| Screening {
            state: State::Done(screened),
            deadline,
            pregreet_wait,
            allowlisted: allowed,
            rules: String::new(),
            hits: Vec::new(),
        };
        match listed {
            Some(true) => return done(Screened::Pass),
            Some(false) => {
                return done(Screened::Reject {
                    by: "local policy".into(),
                    rules: "RBL_DENY_LIST".into(),
                });
            }
            None => {}
        }
        let Some(triage) = triage.filter(|_| !skipped) else {
            return done(Screened::Pass);
        };
        let task = glommio::spawn_local({
            let triage = Rc::clone(triage);
            async move { triage.score(client).await }
        })
        .detach();
        Screening {
            state: State::Scoring {
                triage: Rc::clone(triage),
                task,
                threshold: rbl.reject_threshold,
            },
            deadline,
            pregreet_wait,
            allowlisted: false,
            rules: String::new(),
            hits: Vec::new(),
        }
    }

    /// The rules that scored the client, with their weights, once
    /// [`Screening::outcome`] concluded; empty when none did.
    pub fn rules(&self) -> &str {
        &self.rules
    }

    /// The list hits once [`Screening::outcome`] concluded: they join the
    /// message's own rules in its verdict.
    pub fn hits(&self) -> &[Hit] {
        &self.hits
    }

    /// True when the client is in `[rbl] allow` or an allowlist named it
    /// (known once [`Screening::outcome`] concluded): greylisting spares it.
    pub fn allowlisted(&self) -> bool {
        self.allowlisted
    }

    /// How long to hold the banner to catch a client that talks first.
    pub fn pregreet_wait(&self) -> Option<Duration> {
        self.pregreet_wait
    }

    /// The client talked before the banner: a bot that does not wait for
    /// the server, as no real MTA does (RFC 5321 §3.1). It is refused as a
    /// listed client is, whatever its lists say.
    pub fn talked_first(&mut self) {
        if self.pregreet_wait.is_some() {
            tracing::info!("client talked before the greeting (pregreet)");
            self.state = State::Done(Screened::Reject {
                by: "pregreet detection".into(),
                rules: "PREGREET".into(),
            });
        }
    }

    /// The conclusion, waiting for the lookups at most until the budget
    /// runs out; lists that have not answered by then count as not
    /// answering (their `fail_open` decides).
    pub async fn outcome(&mut self) -> &Screened {
        if let State::Scoring {
            triage,
            task,
            threshold,
        } = &mut self.state
        {
            let score = within(self.deadline, task)
                .await
                .unwrap_or_else(|| triage.unanswered(KeyMode::Ip));
            let screened = conclude(&score, *threshold);
            self.allowlisted = score.hits().iter().any(|hit| hit.weight < 0.0);
            self.rules = score.explanation();
            self.hits = score.hits().to_vec();
            if screened != Screened::Pass || !score.hits().is_empty() {
                tracing::info!(
                    outcome = ?screened,
                    score = score.total(),
                    rules = %score.explanation(),
                    "client triage"
                );
            }
            self.state = State::Done(screened);
        }
        match &self.state {
            State::Done(screened) => screened,
            State::Scoring { .. } => unreachable!("concluded above"),
        }
    }
}

/// The reply refusing a client, at connect (`drop`) or at RCPT (`enforce`).
pub fn refusal(code: u16, client: IpAddr, by: &str) -> Reply {
    Reply::owned(
        code,
        Some(Status(5, 7, 1)),
        format!("Service unavailable; client [{client}] blocked using {by}"),
    )
}

/// The reply deferring a client whose lists did not answer.
pub fn deferral(code: u16, client: IpAddr) -> Reply {
    Reply::owned(
        code,
        Some(Status(4, 7, 1)),
        format!(
            "Service temporarily unavailable; client [{client}] could not be checked, try again later"
        ),
    )
}

/// The decision of the static lists: `Some(true)` allowed, `Some(false)`
/// denied, `None` in neither. Where both hold the address, the longer prefix
/// (the more specific network) decides; on a tie, allow.
fn static_list(allow: &[IpNet], deny: &[IpNet], client: IpAddr) -> Option<bool> {
    let longest = |nets: &[IpNet]| {
        nets.iter()
            .filter(|net| net.contains(&client))
            .map(IpNet::prefix_len)
            .max()
    };
    match (longest(allow), longest(deny)) {
        (None, None) => None,
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (Some(allowed), Some(denied)) => Some(allowed >= denied),
    }
}

/// The score against the threshold.
fn conclude(score: &TriageScore, threshold: f64) -> Screened {
    match score.decide(threshold) {
        Decision::Pass => Screened::Pass,
        Decision::Reject => Screened::Reject {
            by: score
                .hits()
                .iter()
                .find(|hit| hit.weight > 0.0)
                .map_or_else(|| "a DNS blocklist".into(), |hit| hit.display_name.clone()),
            rules: score.explanation(),
        },
        Decision::Defer => Screened::Defer {
            failures: score
                .failures()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn the_longer_prefix_decides_between_allow_and_deny() {
        let allow = nets(&["192.0.2.0/28", "2001:db8::/64"]);
        let deny = nets(&["192.0.2.0/24", "2001:db8::1/128"]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(static_list(&allow, &deny, ip("192.0.2.5")), Some(true));
        assert_eq!(static_list(&allow, &deny, ip("192.0.2.200")), Some(false));
        assert_eq!(static_list(&allow, &deny, ip("2001:db8::1")), Some(false));
        assert_eq!(static_list(&allow, &deny, ip("2001:db8::2")), Some(true));
        assert_eq!(static_list(&allow, &deny, ip("198.51.100.1")), None);
        let same = nets(&["192.0.2.0/24"]);
        assert_eq!(static_list(&same, &same, ip("192.0.2.1")), Some(true));
    }

    #[test]
    fn replies_name_the_list_never_the_zone() {
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            refusal(550, client, "Spamhaus ZEN").to_string(),
            "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using Spamhaus ZEN"
        );
        assert_eq!(
            deferral(450, client).to_string(),
            "450 4.7.1 Service temporarily unavailable; client [192.0.2.1] could not be checked, try again later"
        );
    }
}
