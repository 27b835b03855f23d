//! Greylisting (RFC 6647): a first delivery attempt of an unknown (client
//! network, sender, recipient) triplet gets 451 4.7.1; a retry after
//! `delay` is accepted, and the triplet is known for `pass_ttl` after. Real
//! MTAs queue and retry; much spamware does not. A client network whose
//! retries passed `auto_whitelist_after` times skips it altogether.
//!
//! Pure: the shell passes `now` and owns one [`Greylist`] per shard, holding
//! the triplets of the client networks that hash to it. The client is taken
//! by network (IPv4 /24, IPv6 /64 by default), since big senders retry from
//! another address of the same pool; the sender is normalised so the tags
//! that change on every attempt (BATV, SRS, VERP numbers) do not make every
//! retry a new triplet.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use super::cache::{Cache, CacheLimits};

/// How greylisting behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreylistSettings {
    /// How long a retry must wait after the first attempt.
    pub delay: Duration,
    /// How long a first attempt is remembered, waiting for its retry.
    pub retry_window: Duration,
    /// How long a triplet that passed stays known (refreshed on each use).
    pub pass_ttl: Duration,
    /// Passed retries after which the client network skips greylisting
    /// (0: never).
    pub auto_whitelist_after: u32,
    /// The client network's prefix length for IPv4 addresses.
    pub ipv4_prefix: u8,
    /// The client network's prefix length for IPv6 addresses.
    pub ipv6_prefix: u8,
    /// Triplets (and client networks) kept per shard at most.
    pub entries: usize,
}

/// One delivery attempt's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Triplet {
    /// The client's network.
    pub network: IpNet,
    /// The normalised sender ([`normalize_sender`]).
    pub sender: String,
    /// The recipient, lower case.
    pub recipient: String,
}

impl Triplet {
    /// The triplet of an attempt from `client`, with the raw sender (empty for
    /// the null sender) and recipient.
    pub fn new(settings: &GreylistSettings, client: IpAddr, sender: &str, recipient: &str) -> Self {
        Triplet {
            network: network(settings, client),
            sender: normalize_sender(sender),
            recipient: recipient.to_ascii_lowercase(),
        }
    }
}

/// What greylisting says about an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreyDecision {
    /// Go on: a known triplet, a retry after the delay, or a whitelisted client.
    Pass,
    /// 451 4.7.1: come back after `retry_in`.
    Defer {
        /// Time left before a retry passes.
        retry_in: Duration,
    },
}

/// A triplet's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// First attempt at that instant; no retry has passed yet.
    First(Instant),
    /// A retry passed: known.
    Passed,
}

/// One shard's greylist.
#[derive(Debug)]
pub struct Greylist {
    settings: GreylistSettings,
    triplets: Cache<Triplet, Seen>,
    /// Passed retries per client network.
    clients: Cache<IpNet, u32>,
}

impl Greylist {
    /// An empty greylist.
    pub fn new(settings: GreylistSettings) -> Self {
        let limits = CacheLimits {
            min_ttl: Duration::ZERO,
            max_ttl: settings.retry_window.max(settings.pass_ttl),
            entries: settings.entries,
        };
        Greylist {
            settings,
            triplets: Cache::new(limits),
            clients: Cache::new(limits),
        }
    }

    /// Judges one attempt and remembers it.
    pub fn check(&mut self, triplet: Triplet, now: Instant) -> GreyDecision {
        let s = self.settings;
        let network = triplet.network;
        let passes = self.clients.get(&network, now).copied().unwrap_or(0);
        if s.auto_whitelist_after > 0 && passes >= s.auto_whitelist_after {
            self.clients.insert(network, passes, s.pass_ttl, now);
            return GreyDecision::Pass;
        }
        match self.triplets.get(&triplet, now).copied() {
            None => {
                self.triplets
                    .insert(triplet, Seen::First(now), s.retry_window, now);
                GreyDecision::Defer { retry_in: s.delay }
            }
            Some(Seen::First(first)) => {
                let waited = now.saturating_duration_since(first);
                if waited < s.delay {
                    return GreyDecision::Defer {
                        retry_in: s.delay - waited,
                    };
                }
                self.triplets.insert(triplet, Seen::Passed, s.pass_ttl, now);
                self.clients.insert(network, passes + 1, s.pass_ttl, now);
                GreyDecision::Pass
            }
            Some(Seen::Passed) => {
                self.triplets.insert(triplet, Seen::Passed, s.pass_ttl, now);
                GreyDecision::Pass
            }
        }
    }
}

/// The client's network: the address truncated to the configured prefix
/// (a v4-mapped IPv6 address counts as IPv4).
pub fn network(settings: &GreylistSettings, client: IpAddr) -> IpNet {
    let client = client.to_canonical();
    let prefix = match client {
        IpAddr::V4(_) => settings.ipv4_prefix,
        IpAddr::V6(_) => settings.ipv6_prefix,
    };
    IpNet::new(client, prefix)
        .map(|net| net.trunc())
        .unwrap_or_else(|_| IpNet::from(client))
}

/// The sender as greylisting compares it: lower case, with what changes from
/// one attempt to the next taken out. BATV (`prvs=TAG=user@domain`) and SRS
/// (`SRS0=HASH=TT=origdomain=user@forwarder`, `SRS1=...==...`) give back the
/// address they wrap; in the local part a `+` extension is dropped and every
/// run of digits becomes `#`, so VERP bounce addresses
/// (`list-bounces-1234@...`) stay one sender.
pub fn normalize_sender(sender: &str) -> String {
    let sender = sender.to_ascii_lowercase();
    let Some((local, domain)) = sender.rsplit_once('@') else {
        return sender;
    };
    let (local, domain) = unwrap_srs(local)
        .or_else(|| unwrap_batv(local).map(|local| (local, domain)))
        .unwrap_or((local, domain));
    let local = local.split_once('+').map_or(local, |(base, _)| base);
    let mut normalized = String::with_capacity(local.len() + domain.len() + 1);
    let mut in_digits = false;
    for c in local.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                normalized.push('#');
            }
            in_digits = true;
        } else {
            normalized.push(c);
            in_digits = false;
        }
    }
    normalized.push('@');
    normalized.push_str(domain);
    normalized
}

/// `prvs=TAG=user` (and Microsoft's `msprvs1=TAG=user`): the `user`.
fn unwrap_batv(local: &str) -> Option<&str> {
    let rest = local
        .strip_prefix("prvs=")
        .or_else(|| local.strip_prefix("msprvs1="))?;
    rest.split_once('=')
        .map(|(_, user)| user)
        .filter(|u| !u.is_empty())
}

/// SRS0 `HASH=TT=origdomain=user` and SRS1 `HASH=first==HASH=TT=origdomain=user`:
/// the original `(user, origdomain)`.
fn unwrap_srs(local: &str) -> Option<(&str, &str)> {
    let srs0 = if let Some(rest) = local.strip_prefix("srs0=") {
        rest
    } else {
        let rest = local.strip_prefix("srs1=")?;
        let (_, inner) = rest.split_once("==")?;
        inner
    };
    let mut parts = srs0.splitn(4, '=');
    let (_hash, _time) = (parts.next()?, parts.next()?);
    let (domain, user) = (parts.next()?, parts.next()?);
    (!domain.is_empty() && !user.is_empty()).then_some((user, domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: GreylistSettings = GreylistSettings {
        delay: Duration::from_secs(300),
        retry_window: Duration::from_secs(2 * 86_400),
        pass_ttl: Duration::from_secs(35 * 86_400),
        auto_whitelist_after: 2,
        ipv4_prefix: 24,
        ipv6_prefix: 64,
        entries: 1000,
    };

    fn triplet(client: &str, sender: &str, recipient: &str) -> Triplet {
        Triplet::new(&SETTINGS, client.parse().unwrap(), sender, recipient)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn first_attempt_defers_a_retry_after_the_delay_passes() {
        let t0 = Instant::now();
        let mut grey = Greylist::new(SETTINGS);
        let t = triplet("192.0.2.1", "a@sender.example", "U@example.net");
        assert_eq!(
            grey.check(t.clone(), t0),
            GreyDecision::Defer {
                retry_in: secs(300)
            }
        );
        assert_eq!(
            grey.check(t.clone(), t0 + secs(100)),
            GreyDecision::Defer {
                retry_in: secs(200)
            },
            "too early: the first attempt's time stands"
        );
        // Another address of the same /24, another case in the recipient.
        let retry = triplet("192.0.2.77", "a@sender.example", "u@example.net");
        assert_eq!(grey.check(retry, t0 + secs(300)), GreyDecision::Pass);
        assert_eq!(grey.check(t, t0 + secs(86_400)), GreyDecision::Pass);
        let other = triplet("192.0.2.1", "b@sender.example", "u@example.net");
        assert!(matches!(
            grey.check(other, t0 + secs(400)),
            GreyDecision::Defer { .. }
        ));
    }

    #[test]
    fn a_first_attempt_is_forgotten_after_the_retry_window() {
        let t0 = Instant::now();
        let mut grey = Greylist::new(SETTINGS);
        let t = triplet("192.0.2.1", "a@sender.example", "u@example.net");
        grey.check(t.clone(), t0);
        assert_eq!(
            grey.check(t, t0 + SETTINGS.retry_window),
            GreyDecision::Defer {
                retry_in: secs(300)
            },
            "a new first attempt"
        );
    }

    #[test]
    fn a_network_that_retried_enough_is_whitelisted() {
        let t0 = Instant::now();
        let mut grey = Greylist::new(SETTINGS);
        for (i, sender) in ["a@s.example", "b@s.example"].into_iter().enumerate() {
            let start = t0 + secs(1000 * i as u64);
            grey.check(triplet("192.0.2.1", sender, "u@example.net"), start);
            assert_eq!(
                grey.check(
                    triplet("192.0.2.1", sender, "u@example.net"),
                    start + secs(300)
                ),
                GreyDecision::Pass
            );
        }
        let fresh = triplet("192.0.2.9", "new@s.example", "v@example.net");
        assert_eq!(grey.check(fresh, t0 + secs(5000)), GreyDecision::Pass);
        let elsewhere = triplet("198.51.100.1", "new@s.example", "v@example.net");
        assert!(matches!(
            grey.check(elsewhere, t0 + secs(5000)),
            GreyDecision::Defer { .. }
        ));
    }

    #[test]
    fn networks_are_truncated_to_their_prefix() {
        let net = |ip: &str| network(&SETTINGS, ip.parse().unwrap()).to_string();
        assert_eq!(net("192.0.2.77"), "192.0.2.0/24");
        assert_eq!(net("::ffff:192.0.2.77"), "192.0.2.0/24");
        assert_eq!(net("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    }

    #[test]
    fn senders_lose_what_changes_between_attempts() {
        for (raw, normalized) in [
            ("A@Sender.Example", "a@sender.example"),
            ("prvs=1234abcdef=bob@example.org", "bob@example.org"),
            ("msprvs1=17xyz=bob@example.org", "bob@example.org"),
            (
                "SRS0=HHH=TT=orig.example=alice@forwarder.example",
                "alice@orig.example",
            ),
            (
                "SRS1=HHH=first.example==HHH=TT=orig.example=alice@second.example",
                "alice@orig.example",
            ),
            (
                "list-bounces-1234-u=example.net@lists.example",
                "list-bounces-#-u=example.net@lists.example",
            ),
            ("bob+tag-99@example.org", "bob@example.org"),
            ("bounce-12a34@example.org", "bounce-#a#@example.org"),
            ("", ""),
            ("postmaster", "postmaster"),
            ("prvs=@example.org", "prvs=@example.org"),
        ] {
            assert_eq!(normalize_sender(raw), normalized, "{raw}");
        }
    }

    #[test]
    fn the_store_is_bounded() {
        let t0 = Instant::now();
        let mut grey = Greylist::new(GreylistSettings {
            entries: 10,
            ..SETTINGS
        });
        for i in 0..1000 {
            grey.check(
                triplet("192.0.2.1", &format!("s@a{i}.example"), "u@example.net"),
                t0,
            );
        }
        assert!(grey.triplets.len() <= 10);
    }
}
