//! The lists ringwall knows by name, with what their providers document: which
//! answers are listings (and what each one means, for the rule name), which
//! are error codes, how a query is keyed, and a display name safe to show a
//! client.
//!
//! Error codes matter more than listings: a provider that refuses a query
//! (public resolver, too many queries, a typo in the zone) still answers with an
//! address, and counting it as a listing would refuse every client at once.

use std::fmt;

use serde::Deserialize;

use super::pattern::{CodePattern, OctetSet};
use super::zone::ListKind;

/// How a zone is asked: by the client's address (reversed IPv4 octets or IPv6
/// nibbles in front of the zone) or by a domain name (URI and domain lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyMode {
    /// An IPv4 or IPv6 address: connection triage.
    Ip,
    /// A domain name: URIBL, SURBL, Spamhaus DBL.
    Domain,
}

/// A list whose return codes ringwall knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Spamhaus ZEN (SBL, CSS, DROP, BCL, XBL and PBL in one zone), public
    /// mirror or DQS.
    SpamhausZen,
    /// Spamhaus DBL, the domain blocklist.
    SpamhausDbl,
    /// URIBL's multi zone, a bitmask of black, grey and red.
    Uribl,
    /// SURBL's multi zone, a bitmask of PH, MW, ABUSE and CR.
    Surbl,
    /// DNSWL.org's allowlist: 127.0.category.trust.
    Dnswl,
}

/// Part of a preset's listing codes, and the suffix its hits add to the
/// zone's rule name (`RBL_ZEN` + `SBL`).
#[derive(Debug)]
pub(super) struct Group {
    /// The answers that belong to this part.
    pub(super) codes: CodePattern,
    /// Appended to the rule stem with an underscore.
    pub(super) suffix: &'static str,
}

/// Shorthand for a group of answers `127.second.third.fourth`.
const fn group(second: OctetSet, third: OctetSet, fourth: OctetSet, suffix: &'static str) -> Group {
    Group {
        codes: CodePattern::loopback(second, third, fourth),
        suffix,
    }
}

const fn n(value: u8) -> OctetSet {
    OctetSet::one(value)
}

const ALL: OctetSet = OctetSet::range(0, 255);

/// Spamhaus's error range, 127.255.255.0/24 (.252 typo in the zone, .254
/// public or open resolver, .255 excessive queries; the rest reserved).
const SPAMHAUS_ERRORS: CodePattern = CodePattern::loopback(n(255), n(255), ALL);

// Groups are in order of severity: when one answer holds several codes, the
// first group that matches names the hit.

/// ZEN return codes (Spamhaus DNSBL usage documentation).
static ZEN: [Group; 6] = [
    group(n(0), n(0), n(9), "DROP"),
    group(n(0), n(0), n(2), "SBL"),
    group(n(0), n(0), n(30), "BCL"),
    group(n(0), n(0), n(3), "CSS"),
    group(n(0), n(0), OctetSet::range(4, 7), "XBL"),
    group(n(0), n(0), OctetSet::range(10, 11), "PBL"),
];

/// DBL return codes: 127.0.1.2-6 bad domains, 127.0.1.102-106 abused
/// legitimate ones.
static DBL: [Group; 9] = [
    group(n(0), n(1), n(6), "BOTNET"),
    group(n(0), n(1), n(5), "MALWARE"),
    group(n(0), n(1), n(4), "PHISH"),
    group(n(0), n(1), n(2), "SPAM"),
    group(n(0), n(1), n(106), "ABUSED_BOTNET"),
    group(n(0), n(1), n(105), "ABUSED_MALWARE"),
    group(n(0), n(1), n(104), "ABUSED_PHISH"),
    group(n(0), n(1), n(102), "ABUSED_SPAM"),
    group(n(0), n(1), n(103), "ABUSED_REDIRECTOR"),
];

/// URIBL bits in the last octet of 127.0.0.x (bit 1 is its "query refused").
static URIBL: [Group; 3] = [
    group(n(0), n(0), OctetSet::any_bit(2), "BLACK"),
    group(n(0), n(0), OctetSet::any_bit(8), "RED"),
    group(n(0), n(0), OctetSet::any_bit(4), "GREY"),
];

/// SURBL bits in the last octet; the middle octets are reserved and ignored,
/// as SURBL asks. Its subscriber-only DM (4) and CT (32) bits are not
/// listings here: click trackers and disposable domains are not spam signs.
static SURBL: [Group; 4] = [
    group(ALL, ALL, OctetSet::any_bit(8), "PH"),
    group(ALL, ALL, OctetSet::any_bit(16), "MW"),
    group(ALL, ALL, OctetSet::any_bit(64), "ABUSE"),
    group(ALL, ALL, OctetSet::any_bit(128), "CR"),
];

/// DNSWL trust levels in the last octet of 127.0.category.trust. Categories
/// start at 1 (2 to 20 are in use), which keeps 127.0.0.x, where its error
/// code lives, out of the listings.
const CATEGORY: OctetSet = OctetSet::range(1, 255);

static DNSWL: [Group; 4] = [
    group(n(0), CATEGORY, n(3), "HI"),
    group(n(0), CATEGORY, n(2), "MED"),
    group(n(0), CATEGORY, n(1), "LOW"),
    group(n(0), CATEGORY, n(0), "NONE"),
];

static SPAMHAUS_ZEN_ERRORS: [CodePattern; 1] = [SPAMHAUS_ERRORS];

/// DBL's 127.0.1.255 means "IP queries are not allowed"; Spamhaus's shared
/// range applies too.
static DBL_ERRORS: [CodePattern; 2] = [CodePattern::loopback(n(0), n(1), n(255)), SPAMHAUS_ERRORS];

/// DNSWL answers 127.0.0.255 to a querier it blocks.
static DNSWL_ERRORS: [CodePattern; 1] = [CodePattern::loopback(n(0), n(0), n(255))];

impl Preset {
    /// How the preset's zone is keyed.
    pub fn key(self) -> KeyMode {
        match self {
            Preset::SpamhausZen | Preset::Dnswl => KeyMode::Ip,
            Preset::SpamhausDbl | Preset::Uribl | Preset::Surbl => KeyMode::Domain,
        }
    }

    /// The table the list belongs in: DNSWL is an allowlist, the rest block.
    pub fn list(self) -> ListKind {
        match self {
            Preset::Dnswl => ListKind::Allow,
            _ => ListKind::Block,
        }
    }

    /// What a client is told the list is called.
    pub(super) fn display_name(self) -> &'static str {
        match self {
            Preset::SpamhausZen => "Spamhaus ZEN",
            Preset::SpamhausDbl => "Spamhaus DBL",
            Preset::Uribl => "URIBL",
            Preset::Surbl => "SURBL",
            Preset::Dnswl => "DNSWL.org",
        }
    }

    /// The rule-name stem of the preset's hits.
    pub(super) fn rule(self) -> &'static str {
        match self {
            Preset::SpamhausZen => "RBL_ZEN",
            Preset::SpamhausDbl => "RBL_DBL",
            Preset::Uribl => "URIBL",
            Preset::Surbl => "SURBL",
            Preset::Dnswl => "DNSWL",
        }
    }

    /// The listing codes, most severe first.
    pub(super) fn groups(self) -> &'static [Group] {
        match self {
            Preset::SpamhausZen => &ZEN,
            Preset::SpamhausDbl => &DBL,
            Preset::Uribl => &URIBL,
            Preset::Surbl => &SURBL,
            Preset::Dnswl => &DNSWL,
        }
    }

    /// The documented error codes, beyond 127.0.0.1 and answers outside
    /// 127.0.0.0/8, which are errors for every zone.
    pub(super) fn errors(self) -> &'static [CodePattern] {
        match self {
            Preset::SpamhausZen => &SPAMHAUS_ZEN_ERRORS,
            Preset::SpamhausDbl => &DBL_ERRORS,
            Preset::Dnswl => &DNSWL_ERRORS,
            Preset::Uribl | Preset::Surbl => &[],
        }
    }

    /// The preset a zone name belongs to, when ringwall recognises it:
    /// `zen.spamhaus.org`, `KEY.zen.dq.spamhaus.net` (DQS), `multi.uribl.com`,
    /// `multi.surbl.org`, `list.dnswl.org`. Configuration checks use it to
    /// warn about a known list configured without its preset, whose error
    /// codes would otherwise count as listings.
    pub fn for_zone(zone: &str) -> Option<Preset> {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        let under = |parent: &str| {
            zone.strip_suffix(parent)
                .and_then(|rest| rest.strip_suffix('.'))
                .map(|rest| rest.rsplit('.').next().unwrap_or(rest).to_string())
        };
        let spamhaus = under("spamhaus.org")
            .or_else(|| under("dq.spamhaus.net"))
            .or_else(|| under("dq.spamhaus.com"));
        match spamhaus.as_deref() {
            Some("zen") => return Some(Preset::SpamhausZen),
            Some("dbl") => return Some(Preset::SpamhausDbl),
            _ => {}
        }
        [
            ("uribl.com", Preset::Uribl),
            ("surbl.org", Preset::Surbl),
            ("dnswl.org", Preset::Dnswl),
        ]
        .into_iter()
        .find(|(parent, _)| under(parent).is_some())
        .map(|(_, preset)| preset)
    }
}

impl fmt::Display for KeyMode {
    /// The name as written in the configuration: `ip` or `domain`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyMode::Ip => "ip",
            KeyMode::Domain => "domain",
        })
    }
}

impl fmt::Display for Preset {
    /// The name as written in the configuration, e.g. `spamhaus-zen`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Preset::SpamhausZen => "spamhaus-zen",
            Preset::SpamhausDbl => "spamhaus-dbl",
            Preset::Uribl => "uribl",
            Preset::Surbl => "surbl",
            Preset::Dnswl => "dnswl",
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const EVERY: [Preset; 5] = [
        Preset::SpamhausZen,
        Preset::SpamhausDbl,
        Preset::Uribl,
        Preset::Surbl,
        Preset::Dnswl,
    ];

    #[test]
    fn zone_names_map_to_their_presets() {
        let table = [
            ("zen.spamhaus.org", Some(Preset::SpamhausZen)),
            ("ZEN.Spamhaus.ORG.", Some(Preset::SpamhausZen)),
            (
                "abcdefghijklmnopqrstuvwxyz.zen.dq.spamhaus.net",
                Some(Preset::SpamhausZen),
            ),
            ("key.dbl.dq.spamhaus.com", Some(Preset::SpamhausDbl)),
            ("dbl.spamhaus.org", Some(Preset::SpamhausDbl)),
            ("multi.uribl.com", Some(Preset::Uribl)),
            ("multi.surbl.org", Some(Preset::Surbl)),
            ("list.dnswl.org", Some(Preset::Dnswl)),
            ("sbl.spamhaus.org", None),
            ("bl.spamcop.net", None),
            ("notsurbl.org", None),
            ("surbl.org", None),
            ("zen.spamhaus.org.example", None),
        ];
        for (zone, preset) in table {
            assert_eq!(Preset::for_zone(zone), preset, "{zone}");
        }
    }

    #[test]
    fn presets_read_and_print_by_their_configuration_names() {
        #[derive(Deserialize)]
        struct Probe {
            preset: Preset,
        }
        for preset in EVERY {
            let text = format!("preset = \"{preset}\"");
            assert_eq!(toml::from_str::<Probe>(&text).unwrap().preset, preset);
        }
    }

    #[test]
    fn no_listing_code_is_also_an_error_code() {
        for preset in EVERY {
            for group in preset.groups() {
                for last in 0..=255 {
                    for third in [0, 1, 255] {
                        let answer = Ipv4Addr::new(127, 0, third, last);
                        if group.codes.matches(answer) {
                            assert!(
                                !preset.errors().iter().any(|error| error.matches(answer)),
                                "{preset}: {answer} is both {} and an error",
                                group.suffix
                            );
                            assert_ne!(answer, Ipv4Addr::new(127, 0, 0, 1), "{preset}");
                        }
                    }
                }
            }
        }
    }
}
