//! `--source-ips`: the local addresses sessions connect from.
//!
//! A proxy keeps per-client limits and looks each client up in DNSBLs, so a
//! load test from one address measures one client. Linux routes all of
//! 127.0.0.0/8 to loopback, so a range there gives many distinct clients on
//! one machine.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Most addresses one spec may expand to: more than any per-IP test needs,
/// few enough to check each one at start.
pub const MAX_ADDRESSES: usize = 65_536;

/// Why a `--source-ips` spec could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceIpsError {
    /// Not an IP address.
    #[error("`{0}` is not an IP address")]
    NotAnAddress(String),
    /// A range whose ends are of different families or out of order.
    #[error("`{0}` is not a range: both ends must be IPv4 or both IPv6, first <= last")]
    BadRange(String),
    /// More than 65,536 addresses.
    #[error("`{0}` expands to more than {MAX_ADDRESSES} addresses")]
    TooMany(String),
    /// Nothing given.
    #[error("no source address given: use e.g. 127.0.0.2-127.0.0.254 or 127.0.0.2,127.0.0.3")]
    Empty,
}

/// The spec as written and the addresses it expands to, in order; sessions
/// take them round-robin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceIps {
    spec: String,
    addresses: Vec<IpAddr>,
}

impl SourceIps {
    /// Every address, in the order sessions use them.
    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }
}

impl FromStr for SourceIps {
    type Err = SourceIpsError;

    /// Reads a comma-separated list of addresses and `FIRST-LAST` ranges.
    fn from_str(spec: &str) -> Result<Self, SourceIpsError> {
        let mut addresses = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let remaining = MAX_ADDRESSES - addresses.len();
            match part.split_once('-') {
                Some((first, last)) => {
                    let (first, last) = (address(first)?, address(last)?);
                    let range = expand(first, last, remaining)
                        .ok_or_else(|| SourceIpsError::BadRange(part.to_owned()))?;
                    if range.len() > remaining {
                        return Err(SourceIpsError::TooMany(spec.to_owned()));
                    }
                    addresses.extend(range);
                }
                None if remaining == 0 => return Err(SourceIpsError::TooMany(spec.to_owned())),
                None => addresses.push(address(part)?),
            }
        }
        if addresses.is_empty() {
            return Err(SourceIpsError::Empty);
        }
        Ok(Self {
            spec: spec.trim().to_owned(),
            addresses,
        })
    }
}

/// One address of a spec.
fn address(text: &str) -> Result<IpAddr, SourceIpsError> {
    text.trim()
        .parse()
        .map_err(|_| SourceIpsError::NotAnAddress(text.trim().to_owned()))
}

/// `first..=last` of one family, or `None` if that is not a range. Stops
/// one past `limit` so a huge IPv6 range is refused without being built.
fn expand(first: IpAddr, last: IpAddr, limit: usize) -> Option<Vec<IpAddr>> {
    let (first, last, v4) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            (u128::from(u32::from(a)), u128::from(u32::from(b)), true)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), false),
        _ => return None,
    };
    if first > last {
        return None;
    }
    let count = (last - first).saturating_add(1).min(limit as u128 + 1);
    Some(
        (0..count)
            .map(|offset| {
                let value = first + offset;
                if v4 {
                    IpAddr::from((value as u32).to_be_bytes())
                } else {
                    IpAddr::from(value.to_be_bytes())
                }
            })
            .collect(),
    )
}

/// The spec as given.
impl fmt::Display for SourceIps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

/// Serialized as given on the command line.
impl Serialize for SourceIps {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(spec: &str) -> Vec<String> {
        spec.parse::<SourceIps>()
            .unwrap()
            .addresses()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn ranges_and_lists() {
        assert_eq!(
            ips("127.0.0.2-127.0.0.4"),
            ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        );
        assert_eq!(
            ips("127.0.0.255-127.0.1.0, 127.0.9.9"),
            ["127.0.0.255", "127.0.1.0", "127.0.9.9"]
        );
        assert_eq!(ips("::1"), ["::1"]);
        assert_eq!(ips("::1-::2"), ["::1", "::2"]);
        assert_eq!(ips("127.0.0.2-127.0.0.254").len(), 253);
    }

    #[test]
    fn bad_specs_say_why() {
        assert_eq!(
            "127.0.0.x".parse::<SourceIps>(),
            Err(SourceIpsError::NotAnAddress("127.0.0.x".into()))
        );
        assert_eq!(
            "127.0.0.9-127.0.0.2".parse::<SourceIps>(),
            Err(SourceIpsError::BadRange("127.0.0.9-127.0.0.2".into()))
        );
        assert_eq!(
            "127.0.0.1-::1".parse::<SourceIps>(),
            Err(SourceIpsError::BadRange("127.0.0.1-::1".into()))
        );
        assert!(matches!(
            "10.0.0.0-10.255.255.255".parse::<SourceIps>(),
            Err(SourceIpsError::TooMany(_))
        ));
        assert!(matches!(
            "::-ffff::".parse::<SourceIps>(),
            Err(SourceIpsError::TooMany(_))
        ));
        assert_eq!(" , ".parse::<SourceIps>(), Err(SourceIpsError::Empty));
    }

    #[test]
    fn prints_as_given() {
        let spec: SourceIps = "127.0.0.2-127.0.0.3".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&spec).unwrap(),
            "\"127.0.0.2-127.0.0.3\""
        );
    }
}
