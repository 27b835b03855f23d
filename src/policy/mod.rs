//! Stage verdicts: what ringwall thinks of a client, an envelope or a message,
//! before the relay asks the upstream.
//!
//! Every check is a [`StageHook`]; the [`Hooks`] chain asks each in order and the
//! first verdict other than `Continue` wins. The core ships one hook, the
//! open-relay guard ([`RecipientDomains`]); DNSBL triage, content scanning and
//! scoring plug in beside it without touching the protocol core.

mod classes;
mod helo;
mod senders;
pub mod spam_headers;
mod verdict;

pub use classes::{PolicyClass, PolicySet};
pub use helo::HeloLiteralCheck;
pub use senders::{Listed, SenderLists};
pub use verdict::{Action, Judgement, RuleClass, RuleHit, Thresholds, format_score, judge};

use std::collections::HashSet;
use std::net::SocketAddr;

use crate::smtp::reply::table;
use crate::smtp::{ForwardPath, MailParams, RcptParams, ReversePath, Verdict};

/// Who is talking to us, as every hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's real address (from the PROXY header behind a load balancer).
    pub addr: SocketAddr,
    /// The HELO/EHLO name, once given.
    pub helo: Option<String>,
    /// The TLS session, once STARTTLS completed.
    pub tls: Option<crate::tls::TlsSummary>,
}

/// One check that may have an opinion at each SMTP stage. Every method defaults
/// to `Continue`, so a hook implements only the stages it cares about.
pub trait StageHook {
    /// A client connected.
    fn connect(&self, _client: &ClientInfo) -> Verdict {
        Verdict::Continue
    }
    /// HELO/EHLO.
    fn helo(&self, _client: &ClientInfo, _name: &str) -> Verdict {
        Verdict::Continue
    }
    /// MAIL FROM.
    fn mail(&self, _client: &ClientInfo, _sender: &ReversePath, _params: &MailParams) -> Verdict {
        Verdict::Continue
    }
    /// RCPT TO, before the upstream is asked.
    fn rcpt(
        &self,
        _client: &ClientInfo,
        _recipient: &ForwardPath,
        _params: &RcptParams,
    ) -> Verdict {
        Verdict::Continue
    }
    /// A complete message, before it is forwarded.
    fn message(&self, _client: &ClientInfo, _body: &[u8]) -> Verdict {
        Verdict::Continue
    }
}

/// The ordered chain of hooks a shard consults.
#[derive(Default)]
pub struct Hooks {
    hooks: Vec<Box<dyn StageHook>>,
}

impl Hooks {
    /// A chain with the given hooks, asked in order.
    pub fn new(hooks: Vec<Box<dyn StageHook>>) -> Hooks {
        Hooks { hooks }
    }

    fn first(&self, ask: impl Fn(&dyn StageHook) -> Verdict) -> Verdict {
        self.hooks
            .iter()
            .map(|h| ask(h.as_ref()))
            .find(|v| *v != Verdict::Continue)
            .unwrap_or(Verdict::Continue)
    }

    /// See [`StageHook::connect`].
    pub fn connect(&self, client: &ClientInfo) -> Verdict {
        self.first(|h| h.connect(client))
    }

    /// See [`StageHook::helo`].
    pub fn helo(&self, client: &ClientInfo, name: &str) -> Verdict {
        self.first(|h| h.helo(client, name))
    }

    /// See [`StageHook::mail`].
    pub fn mail(&self, client: &ClientInfo, sender: &ReversePath, params: &MailParams) -> Verdict {
        self.first(|h| h.mail(client, sender, params))
    }

    /// See [`StageHook::rcpt`].
    pub fn rcpt(
        &self,
        client: &ClientInfo,
        recipient: &ForwardPath,
        params: &RcptParams,
    ) -> Verdict {
        self.first(|h| h.rcpt(client, recipient, params))
    }

    /// See [`StageHook::message`].
    pub fn message(&self, client: &ClientInfo, body: &[u8]) -> Verdict {
        self.first(|h| h.message(client, body))
    }
}

/// The open-relay guard: only recipients in the domains we accept, and no local
/// part an upstream might route onwards (`%`, `!`, a quoted `@`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientDomains {
    accept: HashSet<String>,
    allow_routing_characters: bool,
}

impl RecipientDomains {
    /// Domains are compared as lower-case A-labels.
    pub fn new<'a>(
        domains: impl IntoIterator<Item = &'a str>,
        allow_routing_characters: bool,
    ) -> RecipientDomains {
        let accept = domains.into_iter().filter_map(canonical_domain).collect();
        RecipientDomains {
            accept,
            allow_routing_characters,
        }
    }

    /// True when mail for `domain` is ours to relay.
    pub fn accepts_domain(&self, domain: &str) -> bool {
        canonical_domain(domain).is_some_and(|d| self.accept.contains(&d))
    }
}

/// The lower-case A-label form of a domain; `None` for address literals and names
/// IDNA refuses (they can never match an accepted domain).
fn canonical_domain(domain: &str) -> Option<String> {
    if domain.starts_with('[') {
        return None;
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_ascii() {
        return Some(domain.to_ascii_lowercase());
    }
    idna::domain_to_ascii(domain).ok()
}

impl StageHook for RecipientDomains {
    fn rcpt(&self, _client: &ClientInfo, recipient: &ForwardPath, _params: &RcptParams) -> Verdict {
        let mailbox = match recipient {
            // RFC 5321 §4.5.1: the bare postmaster is always accepted.
            ForwardPath::Postmaster(_) => return Verdict::Continue,
            ForwardPath::Mailbox(m) => m,
        };
        if !self.accepts_domain(&mailbox.domain) {
            return Verdict::Refuse(table::relay_denied());
        }
        let local = mailbox.local_unquoted();
        if !self.allow_routing_characters && local.contains(['%', '!', '@']) {
            return Verdict::Refuse(table::routing_characters());
        }
        Verdict::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::address::parse_forward_path;

    fn verdict(guard: &RecipientDomains, rcpt: &str) -> Verdict {
        let client = ClientInfo {
            addr: "192.0.2.1:1234".parse().unwrap(),
            helo: None,
            tls: None,
        };
        let (path, _) = parse_forward_path(rcpt).unwrap();
        guard.rcpt(&client, &path, &RcptParams::default())
    }

    fn guard() -> RecipientDomains {
        RecipientDomains::new(["example.net", "xn--bcher-kva.example"], false)
    }

    #[test]
    fn accepted_domains_any_case_and_idna() {
        let g = guard();
        assert_eq!(verdict(&g, "<u@example.net>"), Verdict::Continue);
        assert_eq!(verdict(&g, "<u@EXAMPLE.NET>"), Verdict::Continue);
        assert_eq!(verdict(&g, "<u@bücher.example>"), Verdict::Continue);
        assert_eq!(verdict(&g, "<u@BÜCHER.example>"), Verdict::Continue);
    }

    #[test]
    fn foreign_domains_and_literals_refused() {
        let g = guard();
        let denied = Verdict::Refuse(table::relay_denied());
        assert_eq!(verdict(&g, "<u@example.org>"), denied);
        assert_eq!(verdict(&g, "<u@sub.example.net>"), denied);
        assert_eq!(verdict(&g, "<u@[127.0.0.1]>"), denied);
    }

    #[test]
    fn postmaster_always_accepted() {
        assert_eq!(verdict(&guard(), "<Postmaster>"), Verdict::Continue);
    }

    /// The forms nmap's smtp-open-relay script tries, with our domain and an
    /// outside target (`relay.invalid`): each is a syntax error (501 at the
    /// parser) or refused here with 550.
    #[test]
    fn open_relay_probe_forms_are_refused() {
        let g = guard();
        let client = ClientInfo {
            addr: "192.0.2.1:1234".parse().unwrap(),
            helo: None,
            tls: None,
        };
        for rcpt in [
            "<relay.invalid!relaytest>",
            "<\"relaytest@relay.invalid\">",
            "<relaytest@relay.invalid>",
            "<relaytest%relay.invalid@example.net>",
            "<relaytest%relay.invalid@[192.0.2.1]>",
            "<\"relaytest@relay.invalid\"@example.net>",
            "<\"relaytest%relay.invalid\"@example.net>",
            "<relay.invalid!relaytest@example.net>",
            "<\"relay.invalid!relaytest\"@example.net>",
            "<relay.invalid!relaytest@[192.0.2.1]>",
            "<@[192.0.2.1]:relaytest@relay.invalid>",
            "<@example.net:relaytest@relay.invalid>",
            "<example.net!relaytest@relay.invalid>",
        ] {
            let refused = match parse_forward_path(rcpt) {
                Err(_) => true,
                Ok((path, _)) => {
                    matches!(g.rcpt(&client, &path, &RcptParams::default()), Verdict::Refuse(r) if r.code == 550)
                }
            };
            assert!(refused, "{rcpt} passed");
        }
    }

    #[test]
    fn routing_characters_allowed_when_configured() {
        let g = RecipientDomains::new(["example.net"], true);
        assert_eq!(verdict(&g, "<a%b@example.net>"), Verdict::Continue);
    }

    #[test]
    fn chain_takes_first_opinion() {
        struct Refuser;
        impl StageHook for Refuser {
            fn helo(&self, _: &ClientInfo, _: &str) -> Verdict {
                Verdict::Refuse(table::bad_helo())
            }
        }
        let hooks = Hooks::new(vec![Box::new(guard()), Box::new(Refuser)]);
        let client = ClientInfo {
            addr: "192.0.2.1:1".parse().unwrap(),
            helo: None,
            tls: None,
        };
        assert_eq!(hooks.helo(&client, "x"), Verdict::Refuse(table::bad_helo()));
        assert_eq!(hooks.connect(&client), Verdict::Continue);
    }
}
