//! HELO sanity beyond syntax: an address literal in EHLO/HELO must be the
//! client's own address (`[server] strict_helo_literal`). The syntax itself
//! (a domain or an address literal) is the command parser's job.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{ClientInfo, StageHook};
use crate::smtp::Verdict;
use crate::smtp::reply::table;

/// Refuses an EHLO/HELO address literal naming another address than the
/// client's (after PROXY protocol, the real client's), with 550 5.7.1. Spam
/// software often claims the receiving server's address or a random one; an
/// honest client either names itself or gives a domain. Registered only with
/// `[server] strict_helo_literal`, as clients behind NAT name their inside
/// address.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeloLiteralCheck;

impl StageHook for HeloLiteralCheck {
    fn helo(&self, client: &ClientInfo, name: &str) -> Verdict {
        let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) else {
            return Verdict::Continue;
        };
        // A literal that names no address we can read (a general literal, an
        // octet past 255) cannot be the client's either.
        let own = client.addr.ip().to_canonical();
        match literal_address(inner) {
            Some(claimed) if claimed.to_canonical() == own => Verdict::Continue,
            _ => Verdict::Refuse(table::helo_literal_mismatch()),
        }
    }
}

/// The address inside `[192.0.2.1]` or `[IPv6:2001:db8::1]` (brackets
/// removed); `None` when it is neither.
fn literal_address(inner: &str) -> Option<IpAddr> {
    match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
            inner[5..].parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        }
        _ => ipv4_literal(inner).map(IpAddr::V4),
    }
}

/// RFC 5321's IPv4-address-literal: four `Snum`s of one to three digits, each
/// at most 255. Unlike [`Ipv4Addr`]'s parser it takes leading zeros
/// (`192.000.002.001`), which the grammar allows, so they cannot dodge the check.
fn ipv4_literal(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(client: &str, name: &str) -> Verdict {
        let client = ClientInfo {
            addr: std::net::SocketAddr::new(client.parse().unwrap(), 4000),
            helo: None,
            tls: None,
        };
        HeloLiteralCheck.helo(&client, name)
    }

    #[test]
    fn literals_must_name_the_client() {
        let refused = Verdict::Refuse(table::helo_literal_mismatch());
        assert_eq!(verdict("192.0.2.1", "[192.0.2.1]"), Verdict::Continue);
        assert_eq!(verdict("192.0.2.1", "[192.0.2.2]"), refused);
        assert_eq!(
            verdict("2001:db8::1", "[IPv6:2001:db8::1]"),
            Verdict::Continue
        );
        assert_eq!(
            verdict("2001:db8::1", "[ipv6:2001:DB8:0::1]"),
            Verdict::Continue
        );
        assert_eq!(verdict("2001:db8::1", "[IPv6:2001:db8::2]"), refused);
        // An IPv4 literal never names an IPv6 client, nor the other way round.
        assert_eq!(verdict("2001:db8::1", "[192.0.2.1]"), refused);
        assert_eq!(verdict("192.0.2.1", "[IPv6:2001:db8::1]"), refused);
        // Domains are not literals: this check has no opinion on them.
        assert_eq!(verdict("192.0.2.1", "mail.example.net"), Verdict::Continue);
        assert_eq!(verdict("192.0.2.1", "[192.0.2.1"), Verdict::Continue);
    }

    /// A client reached over an IPv6 socket as a v4-mapped address
    /// (`::ffff:192.0.2.1`) names its IPv4 form, and may name the mapped form.
    #[test]
    fn v4_mapped_clients_match_their_ipv4_literal() {
        let refused = Verdict::Refuse(table::helo_literal_mismatch());
        assert_eq!(
            verdict("::ffff:192.0.2.1", "[192.0.2.1]"),
            Verdict::Continue
        );
        assert_eq!(verdict("::ffff:192.0.2.1", "[192.0.2.2]"), refused);
        assert_eq!(
            verdict("192.0.2.1", "[IPv6:::ffff:192.0.2.1]"),
            Verdict::Continue
        );
        assert_eq!(
            verdict("::ffff:192.0.2.1", "[IPv6:::ffff:192.0.2.1]"),
            Verdict::Continue
        );
    }

    /// What the grammar allows cannot dodge the check; what names no readable
    /// address cannot pass it.
    #[test]
    fn odd_literals() {
        let refused = Verdict::Refuse(table::helo_literal_mismatch());
        assert_eq!(verdict("192.0.2.1", "[192.000.002.001]"), Verdict::Continue);
        assert_eq!(verdict("10.0.0.1", "[010.000.000.002]"), refused);
        for name in [
            "[tag:anything]",
            "[192.0.2.256]",
            "[192.0.2]",
            "[192.0.2.1.1]",
            "[192.0.2.0001]",
            "[1.2.3.+4]",
            "[IPv6:192.0.2.1]",
            "[]",
        ] {
            assert_eq!(verdict("192.0.2.1", name), refused, "{name}");
        }
        assert_eq!(
            table::helo_literal_mismatch().to_string(),
            "550 5.7.1 HELO address literal does not match your address"
        );
    }
}
