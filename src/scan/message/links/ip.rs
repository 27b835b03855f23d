//! IP-literal hosts, in every notation a browser accepts: a host whose last
//! label is a number is an IPv4 address (WHATWG URL), written in up to four
//! parts, each decimal, hex (`0x`) or octal (leading `0`), the last part
//! filling the remaining octets: `3232235777`, `0xC0A80101`,
//! `0300.0250.1.1` and `192.168.257` are all 192.168.1.1.

use std::net::Ipv4Addr;

/// What a host name says about IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum V4 {
    /// A domain name, not a number.
    Name,
    /// An IPv4 address.
    Addr(Ipv4Addr),
    /// Looks like a number and is not a valid address: a browser refuses
    /// such a URL.
    Invalid,
}

/// Reads an ASCII, lowercase host.
pub(super) fn ipv4(host: &str) -> V4 {
    let host = host.strip_suffix('.').unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or_default();
    if !is_number(last) {
        return V4::Name;
    }
    let mut parts = [0u64; 4];
    let mut count = 0;
    for label in host.split('.') {
        let Some(slot) = parts.get_mut(count) else {
            return V4::Invalid;
        };
        let Some(value) = number(label) else {
            return V4::Invalid;
        };
        *slot = value;
        count += 1;
    }
    let (init, last) = parts[..count].split_at(count - 1);
    if init.iter().any(|&p| p > 255) || last[0] >= 1u64 << (8 * (5 - count)) {
        return V4::Invalid;
    }
    let mut address = last[0];
    for (i, &part) in init.iter().enumerate() {
        address += part << (8 * (3 - i));
    }
    V4::Addr(Ipv4Addr::from(u32::try_from(address).unwrap_or(u32::MAX)))
}

/// WHATWG's "ends in a number": all digits, or `0x` and hex digits.
fn is_number(label: &str) -> bool {
    if !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    label
        .strip_prefix("0x")
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// One part: decimal, `0x` hex (empty is 0), or octal with a leading 0.
/// None when it is not a number or does not fit in 32 bits.
fn number(label: &str) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = label.strip_prefix("0x") {
        (hex, 16)
    } else if label.len() > 1 && label.starts_with('0') {
        (&label[1..], 8)
    } else {
        (label, 10)
    };
    if digits.is_empty() {
        return (radix != 10).then_some(0);
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|&v| v <= u64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: &str) -> V4 {
        ipv4(host)
    }

    #[test]
    fn every_notation_of_one_address() {
        let want = V4::Addr(Ipv4Addr::new(192, 168, 1, 1));
        for host in [
            "192.168.1.1",
            "3232235777",
            "0xc0a80101",
            "0300.0250.01.01",
            "0xc0.0xa8.1.1",
            "192.168.257",
            "192.11010305",
            "192.168.1.1.",
            "0000000300.168.1.1",
        ] {
            assert_eq!(addr(host), want, "{host}");
        }
    }

    #[test]
    fn names_and_invalid_numbers() {
        assert_eq!(addr("example.com"), V4::Name);
        assert_eq!(addr("1.2.3.example"), V4::Name);
        assert_eq!(addr("0xg1"), V4::Name);
        assert_eq!(addr("1.2.3.256"), V4::Invalid);
        assert_eq!(addr("256.1.1.1"), V4::Invalid);
        assert_eq!(addr("1.2.3.4.5"), V4::Invalid);
        assert_eq!(addr("example.123"), V4::Invalid);
        assert_eq!(addr("4294967296"), V4::Invalid);
        assert_eq!(addr("09.1.1.1"), V4::Invalid);
        assert_eq!(addr("4294967295"), V4::Addr(Ipv4Addr::BROADCAST));
        assert_eq!(addr("0x"), V4::Addr(Ipv4Addr::UNSPECIFIED));
    }
}
