//! Links: found in text and HTML, normalised, with their registrable domain
//! (public suffix list) for URIBL/DBL lookups, and the link rules.

mod ip;
mod shorteners;
mod text;
mod url;

use std::collections::HashSet;

use super::finding::{Findings, LINK_IP_HOST, LINK_PUNYCODE, LINK_SHORTENER, LINK_TEXT_MISMATCH};

/// A link found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The URL normalised: scheme and host lowercase, the host in IDNA ASCII
    /// form (an IP address in canonical form), default port dropped, the
    /// rest as written; at most 2,048 octets.
    pub url: String,
    /// The host, lowercase ASCII (IPv6 without brackets): what DNS lists
    /// are asked about.
    pub host: String,
    /// The registrable domain (public suffix plus one label), for URIBL and
    /// DBL lookups; None for IP hosts and public suffixes themselves.
    pub registrable: Option<String>,
    /// The host is an IP address, in whatever notation it was written.
    pub ip_literal: bool,
    /// The registrable domain is a well-known URL shortener.
    pub shortener: bool,
    /// What a reader sees for an HTML `<a>` link: its text, tags dropped,
    /// entities decoded, blanks collapsed, at most 256 characters.
    pub anchor_text: Option<String>,
    /// Where the link was found.
    pub source: LinkSource,
}

/// Where a link was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkSource {
    /// Written out in a text part.
    Text,
    /// An HTML `href` (or a form's `action`): where a click goes.
    Href,
    /// An HTML `src` (or `background`): loaded when the message is shown.
    Src,
}

/// The links of one message, each distinct (URL, source, anchor text) once,
/// at most `limit` of them.
pub(super) struct Collector {
    links: Vec<Link>,
    seen: HashSet<(LinkSource, String, Option<String>)>,
    limit: usize,
}

impl Collector {
    pub(super) fn new(limit: usize) -> Collector {
        Collector {
            links: Vec::new(),
            seen: HashSet::new(),
            limit,
        }
    }

    /// Adds `raw` if it is an http(s) URL; false once the collector is full.
    pub(super) fn add(
        &mut self,
        raw: &str,
        source: LinkSource,
        anchor_text: Option<String>,
    ) -> bool {
        if self.links.len() >= self.limit {
            return false;
        }
        let Some(url) = url::normalise(raw) else {
            return true;
        };
        let anchor_text = anchor_text.filter(|t| !t.is_empty());
        let key = (source, url.url, anchor_text);
        if self.seen.contains(&key) {
            return true;
        }
        let registrable = if url.ip_literal {
            None
        } else {
            psl::domain_str(&url.host).map(str::to_string)
        };
        let shortener = shorteners::is_shortener(registrable.as_deref().unwrap_or(&url.host));
        self.links.push(Link {
            url: key.1.clone(),
            host: url.host,
            registrable,
            ip_literal: url.ip_literal,
            shortener,
            anchor_text: key.2.clone(),
            source,
        });
        self.seen.insert(key);
        self.links.len() < self.limit
    }

    /// Adds the URLs written in `text`.
    pub(super) fn text(&mut self, text: &str) {
        text::urls(text, |raw| self.add(raw, LinkSource::Text, None));
    }

    /// The links, after recording the link rules they hit.
    pub(super) fn finish(self, findings: &mut Findings) -> Vec<Link> {
        for link in &self.links {
            if link.ip_literal {
                findings.add(LINK_IP_HOST, format_args!("{}", link.url));
            }
            if link.shortener {
                findings.add(LINK_SHORTENER, format_args!("{}", link.url));
            }
            if link.host.split('.').any(|label| label.starts_with("xn--")) {
                findings.add(LINK_PUNYCODE, format_args!("{}", link.host));
            }
            if let Some(shown) = link.anchor_text.as_deref().and_then(shown_domain) {
                let target = link.registrable.as_deref().unwrap_or(&link.host);
                if shown != target {
                    findings.add(
                        LINK_TEXT_MISMATCH,
                        format_args!("text shows {shown}, link goes to {target}"),
                    );
                }
            }
        }
        self.links
    }
}

/// The registrable domain that a link's text shows: of the first URL in
/// it, or else of the first word that is a domain name under a known public
/// suffix ("PayPal.com"). None when the text shows no domain ("click here").
fn shown_domain(anchor: &str) -> Option<String> {
    let mut shown = None;
    text::urls(anchor, |raw| {
        shown = url::normalise(raw).and_then(|u| {
            if u.ip_literal {
                Some(u.host)
            } else {
                known_registrable(&u.host)
            }
        });
        shown.is_none()
    });
    if shown.is_some() {
        return shown;
    }
    anchor.split_whitespace().find_map(|word| {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        if !word.contains('.')
            || !word
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'))
        {
            return None;
        }
        known_registrable(&idna::domain_to_ascii(word).ok()?)
    })
}

/// The registrable domain of `host` when its suffix is on the public suffix
/// list: text that shows `www.all-life` names no real domain.
fn known_registrable(host: &str) -> Option<String> {
    let domain = psl::domain(host.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    std::str::from_utf8(domain.as_bytes())
        .ok()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(add: impl FnOnce(&mut Collector)) -> (Vec<Link>, Vec<&'static str>) {
        let mut c = Collector::new(100);
        add(&mut c);
        let mut findings = Findings::default();
        let links = c.finish(&mut findings);
        (links, findings.into_vec().iter().map(|f| f.rule).collect())
    }

    #[test]
    fn a_text_link_carries_its_registrable_domain() {
        let (links, rules) = collect(|c| c.text("see https://Mail.Example.CO.UK/x today"));
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].url, "https://mail.example.co.uk/x");
        assert_eq!(links[0].host, "mail.example.co.uk");
        assert_eq!(links[0].registrable.as_deref(), Some("example.co.uk"));
        assert_eq!(links[0].source, LinkSource::Text);
        assert!(rules.is_empty());
    }

    #[test]
    fn ip_shortener_and_punycode_rules() {
        let (_, rules) = collect(|c| c.text("http://3232235777/login"));
        assert_eq!(rules, ["LINK_IP_HOST"]);
        let (_, rules) = collect(|c| c.text("https://bit.ly/abc"));
        assert_eq!(rules, ["LINK_SHORTENER"]);
        let (_, rules) = collect(|c| c.text("https://bitly.example.com/abc"));
        assert!(rules.is_empty());
        let (_, rules) = collect(|c| c.text("https://аpple.com/"));
        assert_eq!(rules, ["LINK_PUNYCODE"]);
        let (_, rules) = collect(|c| c.text("https://apple.com/"));
        assert!(rules.is_empty());
    }

    #[test]
    fn anchor_text_showing_another_domain_is_a_mismatch() {
        let (_, rules) = collect(|c| {
            c.add(
                "http://evil.example/login",
                LinkSource::Href,
                Some("https://www.paypal.com/signin".into()),
            );
        });
        assert_eq!(rules, ["LINK_TEXT_MISMATCH"]);
        let (_, rules) = collect(|c| {
            c.add(
                "http://login.evil.example/",
                LinkSource::Href,
                Some("Log in at PayPal.com now".into()),
            );
        });
        assert_eq!(rules, ["LINK_TEXT_MISMATCH"]);
    }

    #[test]
    fn anchor_text_of_the_same_domain_or_none_is_no_mismatch() {
        let (_, rules) = collect(|c| {
            c.add(
                "https://www.paypal.com/x",
                LinkSource::Href,
                Some("paypal.com".into()),
            );
            c.add(
                "https://a.example/",
                LinkSource::Href,
                Some("click here".into()),
            );
            c.add(
                "https://a.example/",
                LinkSource::Href,
                Some("file.txt, v2.0".into()),
            );
            c.add(
                "https://a.example/",
                LinkSource::Href,
                Some("mail bob@b.example".into()),
            );
        });
        assert!(rules.is_empty(), "{rules:?}");
    }

    #[test]
    fn links_are_distinct_and_bounded() {
        let mut c = Collector::new(2);
        c.text("http://a.example http://a.example http://b.example http://c.example");
        let links = c.finish(&mut Findings::default());
        assert_eq!(links.len(), 2);
        assert_eq!(links[1].host, "b.example");
    }
}
