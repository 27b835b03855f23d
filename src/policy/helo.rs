//! HELO sanity beyond syntax: an address literal in EHLO/HELO must be the
//! client's own address (`[server] strict_helo_literal`). The syntax itself
//! (a domain or an address literal) is the command parser's job.

use std::net::IpAddr;

use super::{ClientInfo, StageHook};
use crate::smtp::Verdict;
use crate::smtp::reply::table;

/// Refuses an EHLO/HELO address literal naming another address than the
/// client's (after PROXY protocol, the real client's). Spam software often
/// claims the receiving server's address or a random one.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeloLiteralCheck;

impl StageHook for HeloLiteralCheck {
    fn helo(&self, client: &ClientInfo, name: &str) -> Verdict {
        match literal_address(name) {
            Some(claimed) if claimed.to_canonical() != client.addr.ip().to_canonical() => {
                Verdict::Refuse(table::helo_literal_mismatch())
            }
            _ => Verdict::Continue,
        }
    }
}

/// The address in `[192.0.2.1]` or `[IPv6:2001:db8::1]`; `None` for a domain
/// or a general literal.
fn literal_address(name: &str) -> Option<IpAddr> {
    let inner = name.strip_prefix('[')?.strip_suffix(']')?;
    match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => inner[5..].parse().ok(),
        _ => inner.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
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
        // A client reached over IPv6 as a v4-mapped address names its IPv4 form.
        assert_eq!(
            verdict("::ffff:192.0.2.1", "[192.0.2.1]"),
            Verdict::Continue
        );
        assert_eq!(verdict("192.0.2.1", "mail.example.net"), Verdict::Continue);
        assert_eq!(verdict("192.0.2.1", "[tag:anything]"), Verdict::Continue);
    }
}
