//! Checks for `[dns]`, `[rbl]`, `[[dnsbl]]` and `[[dnswl]]`: resolver and
//! budget bounds, and each zone's name, weights, code patterns, display name
//! and rule name. Zones are compiled with [`Zone`], so the checks judge
//! exactly what triage will run (its rule names, its error codes).
//!
//! Entries of `[[dnsbl]]` are named by dotted keys such as `dnsbl.weight` and
//! told apart by position: a key an entry lacks is pointed at by the entry's
//! `[[dnsbl]]` header.

use std::collections::HashMap;

use super::{Checker, networks, quoted, repeats};
use crate::config::domain;
use crate::config::locate::Step;
use crate::config::schema::{Config, DnsConfig, RblConfig, ZoneConfig};
use crate::config::units::HumanDuration;
use crate::rbl::{Classification, CodePattern, ListKind, Preset, Zone};

/// Longest display name: it goes into a reply line beside other text.
const DISPLAY_NAME_CHARS: usize = 64;

/// Longest rule-name stem; the preset adds its suffix to it.
const RULE_CHARS: usize = 48;

const PATTERN_FIX: &str = "write each octet as a number (2), a range ([2..11]) or a list \
                           ([2;4;10..11]), as postscreen_dnsbl_sites does, e.g. \"127.0.0.[2..11]\"";

/// `[dns]`, with the cross-checks that need the zones and `[rbl] budget`.
pub(super) fn dns(check: &mut Checker<'_>, config: &Config) {
    let dns = &config.dns;
    let default = DnsConfig::default();
    let zones = !config.dnsbl.is_empty() || !config.dnswl.is_empty();
    if dns.resolvers.is_empty() && zones {
        check.error(
            "dns.resolvers",
            "[]",
            "no resolver to ask, yet [[dnsbl]] or [[dnswl]] zones are set",
            "list a local recursive resolver, e.g. resolvers = [\"127.0.0.1:53\"] (Spamhaus and \
             URIBL refuse queries relayed by public resolvers)",
        );
    }
    for index in repeats(&dns.resolvers) {
        check.entry_error(
            "dns.resolvers",
            index,
            format!("{} is listed twice", dns.resolvers[index]),
            "remove one of them".into(),
        );
    }
    for (index, resolver) in dns.resolvers.iter().enumerate() {
        if resolver.ip().is_unspecified() || resolver.port() == 0 {
            check.entry_error(
                "dns.resolvers",
                index,
                format!("{resolver} names no server a query can be sent to"),
                "write the resolver's own address and port, e.g. \"127.0.0.1:53\"".into(),
            );
        }
    }
    check.non_zero("dns.timeout", dns.timeout, default.timeout);
    if dns.attempts < 1 {
        check.at_least(
            "dns.attempts",
            dns.attempts,
            "1",
            " (0 never asks)",
            default.attempts,
        );
    }
    if dns.attempts > 5 {
        check.at_most(
            "dns.attempts",
            dns.attempts,
            "5",
            " (each attempt waits [dns] timeout; more only delay the verdict)",
            default.attempts,
        );
    }
    let counts = [
        (
            "dns.max_in_flight",
            dns.max_in_flight,
            default.max_in_flight,
            " (0 sends no query)",
        ),
        (
            "dns.rotate_after",
            dns.rotate_after,
            default.rotate_after,
            "",
        ),
    ];
    for (key, value, default, why) in counts {
        if value < 1 {
            check.at_least(key, value, "1", why, default);
        }
    }
    if dns.sockets > dns.max_in_flight && dns.max_in_flight >= 1 {
        let max = dns.max_in_flight;
        check.error(
            "dns.sockets",
            dns.sockets,
            format!(
                "must not exceed [dns] max_in_flight ({max}): a shard never has more queries \
                 to keep sockets for"
            ),
            format!("lower it to {max} or less, or raise max_in_flight"),
        );
    }
    let (timeout, budget) = (dns.timeout.0, config.rbl.budget.0);
    let spent = timeout.saturating_mul(dns.attempts);
    if zones && dns.attempts >= 1 && !budget.is_zero() && spent > budget {
        check.warn(
            "dns.timeout",
            quoted(dns.timeout),
            format!(
                "times [dns] attempts ({}) is {}, past [rbl] budget ({}): an attempt still \
                 unanswered when the budget runs out counts as a failed lookup and only fills \
                 the cache",
                dns.attempts,
                HumanDuration(spent),
                config.rbl.budget
            ),
            format!(
                "lower it to \"{}\" or lower attempts, or raise budget",
                HumanDuration(budget / dns.attempts)
            ),
        );
    }
}

/// `[rbl]`.
pub(super) fn rbl(check: &mut Checker<'_>, rbl: &RblConfig) {
    let default = RblConfig::default();
    let threshold = rbl.reject_threshold;
    if !(threshold > 0.0 && threshold.is_finite()) {
        check.error(
            "rbl.reject_threshold",
            threshold,
            "must be a number above 0: a client no list names scores 0 and must not be refused",
            format!(
                "use a positive score such as {:.1}, the default",
                default.reject_threshold
            ),
        );
    }
    check.non_zero("rbl.budget", rbl.budget, default.budget);
    if rbl.cache_min_ttl > rbl.cache_max_ttl {
        let max = rbl.cache_max_ttl;
        check.error(
            "rbl.cache_min_ttl",
            quoted(rbl.cache_min_ttl),
            format!("must not exceed [rbl] cache_max_ttl ({max})"),
            format!("lower it to \"{max}\" or less, or raise cache_max_ttl"),
        );
    }
    networks(check, "rbl.allow", &rbl.allow);
    networks(check, "rbl.deny", &rbl.deny);
    for (index, net) in rbl.deny.iter().enumerate() {
        if rbl.allow.contains(net) {
            check.entry_error(
                "rbl.deny",
                index,
                format!("{net} is also in [rbl] allow"),
                "keep it in one of the two lists (where they overlap, the longer prefix decides)"
                    .into(),
            );
        }
    }
}

/// Where one `[[dnsbl]]` or `[[dnswl]]` entry is.
#[derive(Clone, Copy)]
struct Entry<'t> {
    table: &'t str,
    index: usize,
    list: ListKind,
}

impl<'t> Entry<'t> {
    /// `dnsbl.weight`.
    fn key(self, field: &str) -> String {
        format!("{}.{field}", self.table)
    }

    /// The path of the entry itself.
    fn entry(self) -> [Step<'t>; 2] {
        [Step::Key(self.table), Step::Index(self.index)]
    }

    /// The path of one of its keys.
    fn path<'f>(self, field: &'f str) -> [Step<'f>; 3]
    where
        't: 'f,
    {
        [
            Step::Key(self.table),
            Step::Index(self.index),
            Step::Key(field),
        ]
    }

    /// The path of one pattern of its `codes` table.
    fn code<'f>(self, pattern: &'f str) -> [Step<'f>; 4]
    where
        't: 'f,
    {
        [
            Step::Key(self.table),
            Step::Index(self.index),
            Step::Key("codes"),
            Step::Key(pattern),
        ]
    }

    /// `[[dnsbl]]`.
    fn header(self) -> String {
        header(self.table)
    }
}

fn header(table: &str) -> String {
    format!("[[{table}]]")
}

/// Every `[[dnsbl]]` and `[[dnswl]]` entry, then the names they share.
pub(super) fn zones(check: &mut Checker<'_>, dnsbl: &[ZoneConfig], dnswl: &[ZoneConfig]) {
    // Rule stems across both tables: the first entry that took each.
    let mut stems: HashMap<String, (&str, usize)> = HashMap::new();
    let tables = [
        ("dnsbl", dnsbl, ListKind::Block),
        ("dnswl", dnswl, ListKind::Allow),
    ];
    for (table, entries, list) in tables {
        let mut zones_seen: HashMap<String, usize> = HashMap::new();
        for (index, config) in entries.iter().enumerate() {
            let at = Entry { table, index, list };
            let named = zone_name(check, at, config, &mut zones_seen);
            weight(check, at, config);
            codes(check, at, config);
            display_name(check, at, config);
            preset(check, at, config);
            rule(check, at, config);
            let Ok(zone) = Zone::new(config, list) else {
                continue; // the bad pattern is reported by `codes`
            };
            error_codes(check, at, config, &zone);
            if !named {
                continue;
            }
            match stems.get(zone.rule()) {
                Some(&(first_table, first_index)) => check.error_at(
                    &at.key("rule"),
                    &at.path("rule"),
                    zone.rule(),
                    format!(
                        "is also the rule name of {} entry {}: their hits could not be told apart",
                        header(first_table),
                        first_index + 1
                    ),
                    format!(
                        "set rule = \"{}_2\" or another name on one of them",
                        zone.rule()
                    ),
                ),
                None => {
                    stems.insert(zone.rule().to_string(), (table, index));
                }
            }
        }
    }
}

/// The zone: present, a domain name, not listed twice in its table, and with
/// its preset when it is a list ringwall knows. Whether it passed, so its
/// rule name is worth comparing with the others' (a repeated zone would
/// repeat its rule name too, and is reported once).
fn zone_name(
    check: &mut Checker<'_>,
    at: Entry<'_>,
    config: &ZoneConfig,
    seen: &mut HashMap<String, usize>,
) -> bool {
    let (key, path) = (at.key("zone"), at.path("zone"));
    if config.zone.is_empty() && check.locator.value_at(&path).is_none() {
        let example = match at.list {
            ListKind::Block => "zen.spamhaus.org",
            ListKind::Allow => "list.dnswl.org",
        };
        let position = check.locator.table_position(&at.entry());
        check.push(
            &key,
            position,
            None,
            format!(
                "is missing: each {} entry names the DNS zone to ask",
                at.header()
            ),
            format!("add a line such as zone = \"{example}\""),
        );
        return false;
    }
    if let Err(flaw) = domain::check(&config.zone) {
        check.error_at(&key, &path, quoted(&config.zone), flaw.problem, flaw.fix);
        return false;
    }
    let lower = config.zone.to_ascii_lowercase();
    if let Some(first) = seen.get(&lower) {
        check.error_at(
            &key,
            &path,
            quoted(&config.zone),
            format!(
                "\"{}\" is listed twice ({} entries {} and {})",
                config.zone,
                at.header(),
                first + 1,
                at.index + 1
            ),
            "merge them into one entry: its codes table gives each return code its own weight",
        );
        return false;
    }
    seen.insert(lower, at.index);
    let known = Preset::for_zone(&config.zone);
    if let (None, None, Some(preset)) = (config.preset, &config.codes, known) {
        check.warn_at(
            &key,
            &path,
            quoted(&config.zone),
            "is a list ringwall knows, set without its preset: every answer in 127.0.0.0/8 \
             but 127.0.0.1 counts as a listing, the list's error codes included"
                .into(),
            format!("add preset = \"{preset}\""),
        );
    }
    true
}

/// A weight fit for its table, or `None`: finite, positive (or zero) in
/// `[[dnsbl]]`, negative (or zero) in `[[dnswl]]`.
fn sign_problem(list: ListKind, weight: f64) -> Option<(String, String)> {
    if !weight.is_finite() {
        return Some((
            "must be a finite number".into(),
            "write a number such as 3 (-3 in a [[dnswl]] entry)".into(),
        ));
    }
    match list {
        ListKind::Block if weight < 0.0 => Some((
            "is negative, but a [[dnsbl]] listing adds to the score".into(),
            "use 0 or more; an allowlist goes in a [[dnswl]] entry, with a negative weight".into(),
        )),
        ListKind::Allow if weight > 0.0 => Some((
            "is positive, but a [[dnswl]] listing subtracts: its weights are written negative, \
             as in postscreen_dnsbl_sites"
                .into(),
            format!("write it as {}", -weight),
        )),
        _ => None,
    }
}

/// `weight`: its sign, and not beside `codes`, which would leave it unused.
fn weight(check: &mut Checker<'_>, at: Entry<'_>, config: &ZoneConfig) {
    let Some(weight) = config.weight else { return };
    let (key, path) = (at.key("weight"), at.path("weight"));
    if config.codes.is_some() {
        check.error_at(
            &key,
            &path,
            weight,
            "is not used: codes gives each pattern its own weight",
            "remove weight, or put its value on each pattern in codes",
        );
    } else if let Some((problem, fix)) = sign_problem(at.list, weight) {
        check.error_at(&key, &path, weight, problem, fix);
    }
}

/// `codes`: not empty, each pattern readable, each weight of the right sign.
fn codes(check: &mut Checker<'_>, at: Entry<'_>, config: &ZoneConfig) {
    let Some(codes) = &config.codes else { return };
    let key = at.key("codes");
    if codes.is_empty() {
        check.error_at(
            &key,
            &at.path("codes"),
            "{}",
            "lists no return code, so no answer would count as a listing",
            "add patterns such as \"127.0.0.2\" = 1, or remove codes to count every listing \
             (the preset's, when one is set)",
        );
    }
    for (pattern, &weight) in codes {
        let path = at.code(pattern);
        if let Err(error) = pattern.parse::<CodePattern>() {
            let position = check.locator.key_position(&path);
            check.push(
                &key,
                position,
                None,
                format!("\"{pattern}\": {error}"),
                PATTERN_FIX.into(),
            );
        }
        if let Some((problem, fix)) = sign_problem(at.list, weight) {
            let position = check.locator.value_at(&path).map(|spot| spot.position);
            check.push(
                &key,
                position,
                None,
                format!("\"{pattern}\" = {weight} {problem}"),
                fix,
            );
        }
    }
}

/// A `codes` pattern that is a single error answer can never be a listing.
fn error_codes(check: &mut Checker<'_>, at: Entry<'_>, config: &ZoneConfig, zone: &Zone) {
    let Some(codes) = &config.codes else { return };
    for pattern in codes.keys() {
        let single = pattern
            .parse::<CodePattern>()
            .ok()
            .and_then(|parsed| parsed.single());
        let Some(answer) = single else { continue };
        if matches!(zone.classify(&[answer]), Classification::Error { .. }) {
            let position = check.locator.key_position(&at.code(pattern));
            check.push(
                &at.key("codes"),
                position,
                None,
                format!("\"{pattern}\" is an error answer of this list, never a listing"),
                "remove it: error answers never count (fail_open says what a failed lookup means)"
                    .into(),
            );
        }
    }
}

/// `display_name`: it goes into replies, so printable, short, and without the
/// zone (which may hold a subscription key).
fn display_name(check: &mut Checker<'_>, at: Entry<'_>, config: &ZoneConfig) {
    let Some(name) = &config.display_name else {
        return;
    };
    let zone = config.zone.trim_end_matches('.').to_ascii_lowercase();
    let flaw = if name.trim().is_empty() {
        Some((
            "must not be empty: replies name the list with it".to_string(),
            "name the list, e.g. \"Spamhaus ZEN\"",
        ))
    } else if let Some(bad) = name.chars().find(|c| !(' '..='~').contains(c)) {
        Some((
            format!("contains {bad:?}, which an SMTP reply cannot carry"),
            "use printable ASCII: letters, digits, spaces and punctuation",
        ))
    } else if name.len() > DISPLAY_NAME_CHARS {
        Some((
            format!(
                "is {} characters long; a reply line takes at most {DISPLAY_NAME_CHARS}",
                name.len()
            ),
            "shorten it",
        ))
    } else if !zone.is_empty() && name.to_ascii_lowercase().contains(&zone) {
        Some((
            "contains the zone, which may hold a subscription key and must never reach a client"
                .to_string(),
            "name the list without its zone, e.g. \"Spamhaus ZEN\"",
        ))
    } else {
        None
    };
    if let Some((problem, fix)) = flaw {
        check.error_at(
            &at.key("display_name"),
            &at.path("display_name"),
            quoted(name),
            problem,
            fix,
        );
    }
}

/// `preset` in the right table, and `key` agreeing with it.
fn preset(check: &mut Checker<'_>, at: Entry<'_>, config: &ZoneConfig) {
    let Some(preset) = config.preset else { return };
    if preset.list() != at.list {
        let (kind, home) = match preset.list() {
            ListKind::Block => ("a blocklist", "dnsbl"),
            ListKind::Allow => ("an allowlist", "dnswl"),
        };
        check.error_at(
            &at.key("preset"),
            &at.path("preset"),
            quoted(preset),
            format!(
                "\"{preset}\" is {kind}, so it belongs in a {} entry",
                header(home)
            ),
            format!("move this entry under {}", header(home)),
        );
    }
    if let Some(key) = config.key.filter(|&key| key != preset.key()) {
        check.error_at(
            &at.key("key"),
            &at.path("key"),
            quoted(key),
            format!(
                "disagrees with preset \"{preset}\", which is asked by {}",
                preset.key()
            ),
            "remove key: the preset sets it",
        );
    }
}

/// `rule`: a name fit for logs and headers.
fn rule(check: &mut Checker<'_>, at: Entry<'_>, config: &ZoneConfig) {
    let Some(rule) = &config.rule else { return };
    let valid = rule.len() <= RULE_CHARS
        && rule.starts_with(|c: char| c.is_ascii_uppercase())
        && rule
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        return;
    }
    let suggestion: String = rule
        .chars()
        .take(RULE_CHARS)
        .map(|c| match c.to_ascii_uppercase() {
            c @ ('A'..='Z' | '0'..='9') => c,
            _ => '_',
        })
        .collect();
    let fix = if suggestion.starts_with(|c: char| c.is_ascii_uppercase()) {
        format!("write it as \"{suggestion}\"")
    } else {
        "write a name such as \"RBL_SPAMCOP\"".to_string()
    };
    check.error_at(
        &at.key("rule"),
        &at.path("rule"),
        quoted(rule),
        format!(
            "must be 1 to {RULE_CHARS} upper-case letters, digits and underscores, starting with \
             a letter: it names this list's hits in logs and headers"
        ),
        fix,
    );
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    /// Accepted domains, so the only findings are the ones under test.
    const BASE: &str = "[domains]\naccept = [\"example.net\"]\n";

    fn refused(source: &str) -> Vec<String> {
        super::super::tests::refused(&format!("{BASE}{source}"))
    }

    fn warned(source: &str) -> Vec<String> {
        super::super::tests::warned(&format!("{BASE}{source}"))
    }

    fn assert_refusals(table: &[(&str, &[&str])]) {
        for (source, expected) in table {
            assert_eq!(refused(source), *expected, "{source:?}");
        }
    }

    #[test]
    fn dns_rules() {
        assert_refusals(&[
            (
                "[dns]\nresolvers = []\n[[dnsbl]]\nzone = \"bl.example.org\"\n",
                &[
                    "r.toml:4:13: [dns] resolvers = []: no resolver to ask, yet [[dnsbl]] or [[dnswl]] zones are set; fix: list a local recursive resolver, e.g. resolvers = [\"127.0.0.1:53\"] (Spamhaus and URIBL refuse queries relayed by public resolvers)",
                ],
            ),
            (
                "[dns]\nresolvers = [\"127.0.0.1:53\", \"0.0.0.0:53\", \"127.0.0.1:53\", \"[::1]:0\"]\n",
                &[
                    "r.toml:4:30: [dns] resolvers: 0.0.0.0:53 names no server a query can be sent to; fix: write the resolver's own address and port, e.g. \"127.0.0.1:53\"",
                    "r.toml:4:44: [dns] resolvers: 127.0.0.1:53 is listed twice; fix: remove one of them",
                    "r.toml:4:60: [dns] resolvers: [::1]:0 names no server a query can be sent to; fix: write the resolver's own address and port, e.g. \"127.0.0.1:53\"",
                ],
            ),
            (
                "[dns]\ntimeout = 0\nattempts = 0\nmax_in_flight = 0\nsockets = 0\nrotate_after = 0\n",
                &[
                    "r.toml:4:11: [dns] timeout = 0: must not be zero; fix: set a positive duration, the default is \"150ms\"",
                    "r.toml:5:12: [dns] attempts = 0: must be at least 1 (0 never asks); fix: raise it to 1 or more, the default is 2",
                    "r.toml:6:17: [dns] max_in_flight = 0: must be at least 1 (0 sends no query); fix: raise it to 1 or more, the default is 1024",
                    "r.toml:8:16: [dns] rotate_after = 0: must be at least 1; fix: raise it to 1 or more, the default is 1000",
                ],
            ),
            (
                "[dns]\nattempts = 6\nmax_in_flight = 8\nsockets = 9\n",
                &[
                    "r.toml:4:12: [dns] attempts = 6: must be at most 5 (each attempt waits [dns] timeout; more only delay the verdict); fix: lower it to 5 or less, the default is 2",
                    "r.toml:6:11: [dns] sockets = 9: must not exceed [dns] max_in_flight (8): a shard never has more queries to keep sockets for; fix: lower it to 8 or less, or raise max_in_flight",
                ],
            ),
        ]);
        // Without a zone nothing needs a resolver.
        assert_eq!(warned("[dns]\nresolvers = []\n"), Vec::<String>::new());
    }

    #[test]
    fn attempts_past_the_budget_are_warned_about_once_zones_are_set() {
        let zone = "[[dnsbl]]\nzone = \"bl.example.org\"\n";
        assert_eq!(
            warned(&format!("[dns]\ntimeout = \"250ms\"\n{zone}")),
            [
                "r.toml:4:11: warning: [dns] timeout = \"250ms\": times [dns] attempts (2) is 500ms, past [rbl] budget (300ms): an attempt still unanswered when the budget runs out counts as a failed lookup and only fills the cache; fix: lower it to \"150ms\" or lower attempts, or raise budget"
            ]
        );
        assert_eq!(
            warned(&format!("[dns]\nattempts = 5\n{zone}")),
            [
                "r.toml: warning: [dns] timeout = \"150ms\" (the default: the key is not in the file): times [dns] attempts (5) is 750ms, past [rbl] budget (300ms): an attempt still unanswered when the budget runs out counts as a failed lookup and only fills the cache; fix: lower it to \"60ms\" or lower attempts, or raise budget"
            ]
        );
        // Exactly the budget, or no zone to ask: nothing to say.
        for quiet in [
            format!("[dns]\ntimeout = \"100ms\"\nattempts = 3\n{zone}"),
            "[dns]\ntimeout = \"250ms\"\n".to_string(),
        ] {
            assert_eq!(warned(&quiet), Vec::<String>::new(), "{quiet}");
        }
    }

    #[test]
    fn rbl_rules() {
        assert_refusals(&[
            (
                "[rbl]\nreject_threshold = 0\nbudget = 0\ncache_min_ttl = \"2h\"\nallow = [\"192.0.2.1/24\", \"10.0.0.0/8\"]\ndeny = [\"10.0.0.0/8\"]\n",
                &[
                    "r.toml:4:20: [rbl] reject_threshold = 0: must be a number above 0: a client no list names scores 0 and must not be refused; fix: use a positive score such as 3.0, the default",
                    "r.toml:5:10: [rbl] budget = 0: must not be zero; fix: set a positive duration, the default is \"300ms\"",
                    "r.toml:6:17: [rbl] cache_min_ttl = \"2h\": must not exceed [rbl] cache_max_ttl (1h); fix: lower it to \"1h\" or less, or raise cache_max_ttl",
                    "r.toml:7:10: [rbl] allow: 192.0.2.1/24 has host bits set below its prefix length; fix: write the network, 192.0.2.0/24, or the single host, 192.0.2.1/32",
                    "r.toml:8:9: [rbl] deny: 10.0.0.0/8 is also in [rbl] allow; fix: keep it in one of the two lists (where they overlap, the longer prefix decides)",
                ],
            ),
            (
                "[rbl]\nreject_threshold = -1\n",
                &[
                    "r.toml:4:20: [rbl] reject_threshold = -1: must be a number above 0: a client no list names scores 0 and must not be refused; fix: use a positive score such as 3.0, the default",
                ],
            ),
        ]);
        for bad in ["nan", "inf"] {
            let error = &refused(&format!("[rbl]\nreject_threshold = {bad}\n"))[0];
            assert!(error.contains("must be a number above 0"), "{error}");
        }
        // Overlapping networks are fine: the longer prefix decides.
        let overlapping = "[rbl]\nallow = [\"10.1.0.0/16\"]\ndeny = [\"10.0.0.0/8\"]\n";
        assert_eq!(warned(overlapping), Vec::<String>::new());
    }

    #[test]
    fn zone_names() {
        assert_refusals(&[
            (
                "[[dnsbl]]\nweight = 2\n",
                &[
                    "r.toml:3:1: [dnsbl] zone: is missing: each [[dnsbl]] entry names the DNS zone to ask; fix: add a line such as zone = \"zen.spamhaus.org\"",
                ],
            ),
            (
                "[[dnswl]]\nzone = \"list.dnswl.org\"\npreset = \"dnswl\"\n[[dnswl]]\n",
                &[
                    "r.toml:6:1: [dnswl] zone: is missing: each [[dnswl]] entry names the DNS zone to ask; fix: add a line such as zone = \"list.dnswl.org\"",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"\"\n",
                &[
                    "r.toml:4:8: [dnsbl] zone = \"\": the domain name is empty; fix: write a domain name such as example.net",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org.\"\n",
                &[
                    "r.toml:4:8: [dnsbl] zone = \"bl.example.org.\": \"bl.example.org.\" ends with a dot; fix: write it without the final dot: \"bl.example.org\"",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\n[[dnsbl]]\nzone = \"BL.example.org\"\n",
                &[
                    "r.toml:6:8: [dnsbl] zone = \"BL.example.org\": \"BL.example.org\" is listed twice ([[dnsbl]] entries 1 and 2); fix: merge them into one entry: its codes table gives each return code its own weight",
                ],
            ),
        ]);
        // The same zone may be a blocklist and an allowlist (different codes).
        let both = "[[dnsbl]]\nzone = \"x.example.org\"\ncodes = { \"127.0.0.2\" = 1 }\n\
                    [[dnswl]]\nzone = \"x.example.org\"\ncodes = { \"127.0.0.3\" = -1 }\n";
        assert_eq!(warned(both), Vec::<String>::new());
        assert_eq!(
            warned("[[dnsbl]]\nzone = \"zen.spamhaus.org\"\n"),
            [
                "r.toml:4:8: warning: [dnsbl] zone = \"zen.spamhaus.org\": is a list ringwall knows, set without its preset: every answer in 127.0.0.0/8 but 127.0.0.1 counts as a listing, the list's error codes included; fix: add preset = \"spamhaus-zen\""
            ]
        );
        // Its own codes filter the answers: no warning.
        let filtered =
            "[[dnsbl]]\nzone = \"k.zen.dq.spamhaus.net\"\ncodes = { \"127.0.0.2\" = 1 }\n";
        assert_eq!(warned(filtered), Vec::<String>::new());
    }

    #[test]
    fn weights_and_codes() {
        assert_refusals(&[
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\nweight = -2\n[[dnswl]]\nzone = \"wl.example.org\"\nweight = 2\n[[dnswl]]\nzone = \"wl.example.net\"\nweight = inf\nrule = \"WL2\"\n",
                &[
                    "r.toml:5:10: [dnsbl] weight = -2: is negative, but a [[dnsbl]] listing adds to the score; fix: use 0 or more; an allowlist goes in a [[dnswl]] entry, with a negative weight",
                    "r.toml:8:10: [dnswl] weight = 2: is positive, but a [[dnswl]] listing subtracts: its weights are written negative, as in postscreen_dnsbl_sites; fix: write it as -2",
                    "r.toml:11:10: [dnswl] weight = inf: must be a finite number; fix: write a number such as 3 (-3 in a [[dnswl]] entry)",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\nweight = 2\ncodes = { \"127.0.0.2\" = 1 }\n",
                &[
                    "r.toml:5:10: [dnsbl] weight = 2: is not used: codes gives each pattern its own weight; fix: remove weight, or put its value on each pattern in codes",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\ncodes = {}\n",
                &[
                    "r.toml:5:9: [dnsbl] codes = {}: lists no return code, so no answer would count as a listing; fix: add patterns such as \"127.0.0.2\" = 1, or remove codes to count every listing (the preset's, when one is set)",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\n[dnsbl.codes]\n\"127.0.0.[2..x]\" = 1\n\"127.0.0.3\" = -1\n\"10.0.0.2\" = 1\n",
                &[
                    "r.toml:6:1: [dnsbl] codes: \"127.0.0.[2..x]\": octet 4 (`[2..x]`): `x` is not a number from 0 to 255; fix: write each octet as a number (2), a range ([2..11]) or a list ([2;4;10..11]), as postscreen_dnsbl_sites does, e.g. \"127.0.0.[2..11]\"",
                    "r.toml:7:15: [dnsbl] codes: \"127.0.0.3\" = -1 is negative, but a [[dnsbl]] listing adds to the score; fix: use 0 or more; an allowlist goes in a [[dnswl]] entry, with a negative weight",
                    "r.toml:8:1: [dnsbl] codes: \"10.0.0.2\": the first octet is `10`, but DNSBL answers are in 127.0.0.0/8 (RFC 5782 §2.1): it must be 127; fix: write each octet as a number (2), a range ([2..11]) or a list ([2;4;10..11]), as postscreen_dnsbl_sites does, e.g. \"127.0.0.[2..11]\"",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"zen.spamhaus.org\"\npreset = \"spamhaus-zen\"\ncodes = { \"127.255.255.254\" = 1, \"127.0.0.2\" = 3, \"127.0.0.1\" = 1 }\n",
                &[
                    "r.toml:6:11: [dnsbl] codes: \"127.255.255.254\" is an error answer of this list, never a listing; fix: remove it: error answers never count (fail_open says what a failed lookup means)",
                    "r.toml:6:51: [dnsbl] codes: \"127.0.0.1\" is an error answer of this list, never a listing; fix: remove it: error answers never count (fail_open says what a failed lookup means)",
                ],
            ),
        ]);
        // Zero records a hit without scoring it; a range that holds an error
        // code is fine (the error still wins).
        let edges = "[[dnsbl]]\nzone = \"bl.example.org\"\nweight = 0\n\
                     [[dnsbl]]\nzone = \"bl.example.net\"\ncodes = { \"127.0.0.[1..3]\" = 0.5 }\n\
                     [[dnswl]]\nzone = \"wl.example.org\"\nweight = 0\n";
        assert_eq!(warned(edges), Vec::<String>::new());
    }

    #[test]
    fn display_names_reach_clients_so_they_stay_clean() {
        assert_refusals(&[
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\ndisplay_name = \" \"\n",
                &[
                    "r.toml:5:16: [dnsbl] display_name = \" \": must not be empty: replies name the list with it; fix: name the list, e.g. \"Spamhaus ZEN\"",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\ndisplay_name = \"x\\r\\n250 ok\"\n",
                &[
                    "r.toml:5:16: [dnsbl] display_name = \"x\\r\\n250 ok\": contains '\\r', which an SMTP reply cannot carry; fix: use printable ASCII: letters, digits, spaces and punctuation",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\ndisplay_name = \"Blöcklist\"\n",
                &[
                    "r.toml:5:16: [dnsbl] display_name = \"Blöcklist\": contains 'ö', which an SMTP reply cannot carry; fix: use printable ASCII: letters, digits, spaces and punctuation",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"KEY.zen.dq.spamhaus.net\"\npreset = \"spamhaus-zen\"\ndisplay_name = \"Spamhaus key.zen.dq.spamhaus.net\"\n",
                &[
                    "r.toml:6:16: [dnsbl] display_name = \"Spamhaus key.zen.dq.spamhaus.net\": contains the zone, which may hold a subscription key and must never reach a client; fix: name the list without its zone, e.g. \"Spamhaus ZEN\"",
                ],
            ),
        ]);
        let long = format!(
            "[[dnsbl]]\nzone = \"bl.example.org\"\ndisplay_name = \"{}\"\n",
            "a".repeat(65)
        );
        assert!(
            refused(&long)[0].contains(
                ": is 65 characters long; a reply line takes at most 64; fix: shorten it"
            ),
        );
    }

    #[test]
    fn presets_keys_and_rules() {
        assert_refusals(&[
            (
                "[[dnswl]]\nzone = \"zen.spamhaus.org\"\npreset = \"spamhaus-zen\"\n[[dnsbl]]\nzone = \"list.dnswl.org\"\npreset = \"dnswl\"\nkey = \"domain\"\n",
                &[
                    "r.toml:5:10: [dnswl] preset = \"spamhaus-zen\": \"spamhaus-zen\" is a blocklist, so it belongs in a [[dnsbl]] entry; fix: move this entry under [[dnsbl]]",
                    "r.toml:8:10: [dnsbl] preset = \"dnswl\": \"dnswl\" is an allowlist, so it belongs in a [[dnswl]] entry; fix: move this entry under [[dnswl]]",
                    "r.toml:9:7: [dnsbl] key = \"domain\": disagrees with preset \"dnswl\", which is asked by ip; fix: remove key: the preset sets it",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\nrule = \"rbl-example\"\n[[dnsbl]]\nzone = \"bl.example.net\"\nrule = \"2BL\"\n",
                &[
                    "r.toml:5:8: [dnsbl] rule = \"rbl-example\": must be 1 to 48 upper-case letters, digits and underscores, starting with a letter: it names this list's hits in logs and headers; fix: write it as \"RBL_EXAMPLE\"",
                    "r.toml:8:8: [dnsbl] rule = \"2BL\": must be 1 to 48 upper-case letters, digits and underscores, starting with a letter: it names this list's hits in logs and headers; fix: write a name such as \"RBL_SPAMCOP\"",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"a.example.org\"\n[[dnsbl]]\nzone = \"b.example.org\"\n",
                &[
                    "r.toml:5:1: [dnsbl] rule = RBL_EXAMPLE_ORG (the default: the key is not in the file): is also the rule name of [[dnsbl]] entry 1: their hits could not be told apart; fix: set rule = \"RBL_EXAMPLE_ORG_2\" or another name on one of them",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"a.example.org\"\nrule = \"X\"\n[[dnswl]]\nzone = \"b.example.org\"\nrule = \"X\"\n",
                &[
                    "r.toml:8:8: [dnswl] rule = \"X\": is also the rule name of [[dnsbl]] entry 1: their hits could not be told apart; fix: set rule = \"X_2\" or another name on one of them",
                ],
            ),
        ]);
        assert!(
            refused("[[dnsbl]]\nzone = \"bl.example.org\"\nrule = \"\"\n")[0]
                .contains("rule = \"\": must be 1 to 48")
        );
        let long = format!(
            "[[dnsbl]]\nzone = \"bl.example.org\"\nrule = \"{}\"\n",
            "A".repeat(49)
        );
        assert!(refused(&long)[0].contains("must be 1 to 48"));
    }

    #[test]
    fn the_reader_names_keys_and_values_inside_entries() {
        assert_refusals(&[
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\nzonee = 1\n",
                &[
                    "r.toml:5:1: [dnsbl] zonee: unknown key `zonee`; [dnsbl] takes `zone`, `weight`, `display_name`, `preset`, `codes`, `key`, `fail_open`, `rule`; fix: correct the spelling to one of those, or remove the key",
                ],
            ),
            (
                "[[dnsbl]]\nzone = \"bl.example.org\"\npreset = \"spamhaus\"\n",
                &[
                    "r.toml:5:10: [dnsbl] preset = \"spamhaus\": unknown variant `spamhaus`, expected one of `spamhaus-zen`, `spamhaus-dbl`, `uribl`, `surbl`, `dnswl`; fix: write a value of the expected type",
                ],
            ),
        ]);
        // An inline array of tables is located too.
        let inline = parse("dnsbl = [{ zone = \"bl.example.org\" },\n  { zone = \"bl.example.org\", weight = -1 }]\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(
            inline.contains(
                "r.toml:2:12: [dnsbl] zone = \"bl.example.org\": \"bl.example.org\" is listed twice"
            ),
            "{inline}"
        );
        assert!(
            inline.contains("r.toml:2:39: [dnsbl] weight = -1: is negative"),
            "{inline}"
        );
    }

    #[test]
    fn every_key_of_an_entry_is_accepted_within_its_rules() {
        let source = "\
[dns]
resolvers = [\"127.0.0.1:53\", \"[::1]:53\"]
timeout = \"100ms\"
attempts = 3
max_in_flight = 1
sockets = 0
rotate_after = 1
[rbl]
reject_threshold = 0.5
action = \"drop\"
pass_ttl = \"0s\"
cache_min_ttl = \"1h\"
cache_entries = 0
pregreet_wait = \"6s\"
allow = [\"192.0.2.0/24\", \"2001:db8::/32\"]
deny = [\"192.0.2.128/25\"]
[[dnsbl]]
zone = \"KEY.zen.dq.spamhaus.net\"
preset = \"spamhaus-zen\"
key = \"ip\"
display_name = \"Spamhaus ZEN (DQS)\"
rule = \"ZEN\"
fail_open = false
[dnsbl.codes]
\"127.0.0.[2..3]\" = 3
\"127.0.0.[10;11]\" = 0.5
[[dnswl]]
zone = \"list.dnswl.org\"
preset = \"dnswl\"
weight = -5
";
        let loaded = parse(&format!("{BASE}{source}"), "r.toml").unwrap();
        assert_eq!(loaded.warnings, vec![]);
        let config = loaded.config;
        assert_eq!(config.rbl.action, crate::config::RblAction::Drop);
        assert_eq!(
            config.dnsbl[0].codes.as_ref().map(|codes| codes.len()),
            Some(2)
        );
        assert!(!config.dnsbl[0].fail_open);
        assert_eq!(config.dnswl[0].weight, Some(-5.0));
    }
}
