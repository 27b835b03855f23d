//! The names DNS knows an address by: reversed for DNSBLs (RFC 5782) and
//! under `in-addr.arpa`/`ip6.arpa` for reverse DNS (RFC 1035 §3.5, RFC 3596
//! §2.5). Every list and the client's PTR lookup start from these, so they
//! live here once.

use std::net::IpAddr;

/// Hexadecimal digits as the `ip6.arpa` nibbles are written.
const NIBBLES: &[u8; 16] = b"0123456789abcdef";

/// `ip` reversed, as DNSBLs key it: `127.0.0.2` is `2.0.0.127`; an IPv6
/// address is its 32 nibbles, last first (`2001:db8::1` is `1.0.0.0. …
/// .8.b.d.0.1.0.0.2`). An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how
/// a dual-stack listener sees an IPv4 client) is its IPv4 address, which is
/// what lists know it by.
pub fn reverse_ip(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(63);
            for octet in v6.octets().into_iter().rev() {
                for nibble in [octet & 0x0f, octet >> 4] {
                    if !name.is_empty() {
                        name.push('.');
                    }
                    name.push(char::from(NIBBLES[usize::from(nibble)]));
                }
            }
            name
        }
    }
}

/// The name whose PTR record gives `ip`'s host name: `2.0.0.127.in-addr.arpa`,
/// or the nibbles of an IPv6 address under `ip6.arpa` (an IPv4-mapped address
/// as its IPv4 address, like [`reverse_ip`]).
pub fn ptr_name(ip: IpAddr) -> String {
    let zone = if ip.to_canonical().is_ipv4() {
        "in-addr.arpa"
    } else {
        "ip6.arpa"
    };
    format!("{}.{zone}", reverse_ip(ip))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use hickory_proto::rr::Name;

    use super::*;

    #[test]
    fn ipv4_octets_are_reversed() {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(reverse_ip(ip), "2.0.0.127");
        assert_eq!(ptr_name(ip), "2.0.0.127.in-addr.arpa");
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99));
        assert_eq!(reverse_ip(ip), "99.2.0.192");
    }

    #[test]
    fn ipv6_nibbles_are_reversed() {
        // The example of RFC 3596 §2.5.
        let ip: IpAddr = "4321:0:1:2:3:4:567:89ab".parse().unwrap();
        assert_eq!(
            ptr_name(ip),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa"
        );
        let loopback = reverse_ip(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(loopback.len(), 63);
        assert_eq!(loopback, format!("1{}", ".0".repeat(31)));
    }

    #[test]
    fn mapped_ipv4_is_named_as_ipv4() {
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(reverse_ip(mapped), "1.2.0.192");
        assert_eq!(ptr_name(mapped), "1.2.0.192.in-addr.arpa");
    }

    #[test]
    fn ptr_names_agree_with_hickory() {
        for text in [
            "198.51.100.7",
            "2001:db8:85a3::8a2e:370:7334",
            "::",
            "0.0.0.0",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(
                format!("{}.", ptr_name(ip)),
                Name::from(ip).to_ascii(),
                "{ip}"
            );
        }
    }
}
