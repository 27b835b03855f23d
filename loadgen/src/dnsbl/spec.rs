//! The command-line spellings of zones, listings and error codes.
//!
//! Each value parses into a small plain struct that tests and `ringwall
//! demo` can also build with `"zen.test:rate=0.1".parse()`, so the CLI and
//! in-process users describe a DNSBL the same way, and a typo is refused
//! with what to type instead.

use std::net::Ipv4Addr;
use std::str::FromStr;

use hickory_proto::rr::Name;

/// The code a listed name gets when its zone names none: RFC 5782's
/// "listed" answer.
pub const DEFAULT_CODE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Longest TXT text: one DNS character-string.
const MAX_TXT: usize = 255;

/// Why a zone, listing, error code or rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not a valid DNS name.
    #[error("`{0}` is not a DNS name")]
    Name(String),
    /// A rate or fraction outside 0..=1.
    #[error("`{0}` must be a number from 0 to 1")]
    Fraction(String),
    /// A code that is not an IPv4 address in 127.0.0.0/8.
    #[error("`{0}` is not a code: use an address in 127.0.0.0/8 such as 127.0.0.2")]
    Code(String),
    /// An unknown `--zone` option.
    #[error("unknown zone option `{0}`: use rate=F, codes=A,B or txt=TEXT")]
    Option(String),
    /// A TXT text longer than one character-string.
    #[error("txt is {0} bytes long; at most 255 fit")]
    TxtTooLong(usize),
    /// A value without its `=` parts.
    #[error("`{given}` is not {shape}")]
    Shape {
        /// What was typed.
        given: String,
        /// What was expected.
        shape: &'static str,
    },
}

/// One zone the emulator answers for, from
/// `NAME[:rate=F][:codes=127.0.0.2,127.0.0.4][:txt=TEXT]`.
///
/// A fraction `rate` of the names queried under it is listed, picked by a
/// stable hash of the zone and the name, with a code picked the same way
/// among `codes`. `txt` is the TXT answer for a listed name; it comes last
/// on the command line and may contain colons (URLs).
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSpec {
    /// The zone, lowercase, without the trailing dot (`zen.test`).
    pub name: String,
    /// Share of names listed, from 0 (only explicit listings) to 1.
    pub rate: f64,
    /// Codes a listed name may get; never empty.
    pub codes: Vec<Ipv4Addr>,
    /// TXT answer of a listed name; `listed in ZONE` when not given.
    pub txt: Option<String>,
}

impl ZoneSpec {
    /// A zone that lists nothing by itself (explicit listings and error
    /// codes still apply).
    pub fn new(name: &str) -> Result<Self, SpecError> {
        Ok(Self {
            name: dns_name(name)?,
            rate: 0.0,
            codes: vec![DEFAULT_CODE],
            txt: None,
        })
    }
}

impl FromStr for ZoneSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        // txt= is last and takes the rest, colons and all.
        let (options, txt) = match spec.split_once(":txt=") {
            Some((options, txt)) => (options, Some(txt)),
            None => (spec, None),
        };
        let mut parts = options.split(':');
        let mut zone = Self::new(parts.next().unwrap_or_default())?;
        for option in parts {
            match option.split_once('=') {
                Some(("rate", rate)) => zone.rate = fraction(rate)?,
                Some(("codes", codes)) => {
                    zone.codes = codes.split(',').map(code).collect::<Result<_, _>>()?;
                }
                _ => return Err(SpecError::Option(option.to_owned())),
            }
        }
        if let Some(txt) = txt {
            if txt.len() > MAX_TXT {
                return Err(SpecError::TxtTooLong(txt.len()));
            }
            zone.txt = Some(txt.to_owned());
        }
        Ok(zone)
    }
}

/// An explicit listing, from `ZONE=KEY=CODE`: `KEY` (a reversed IP such as
/// `2.0.0.127`, or a domain such as `example.com`) is listed in `ZONE` with
/// `CODE`. Listing one key several times gives several A records, as a
/// name on more than one sub-list of a combined zone gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The zone, lowercase, without the trailing dot.
    pub zone: String,
    /// The name under the zone, lowercase, without dots at either end.
    pub key: String,
    /// The A record's address.
    pub code: Ipv4Addr,
}

impl FromStr for Listing {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let shape = || SpecError::Shape {
            given: spec.to_owned(),
            shape: "ZONE=KEY=CODE (for example zen.test=2.0.0.127=127.0.0.2)",
        };
        let mut parts = spec.split('=');
        let (Some(zone), Some(key), Some(listed), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(shape());
        };
        Ok(Self {
            zone: dns_name(zone)?,
            key: dns_name(key)?,
            code: code(listed)?,
        })
    }
}

/// A zone whose every query is answered with one code, from `ZONE=CODE`:
/// how a real list says "you may not query me" (Spamhaus answers
/// 127.255.255.254 to queries through a public resolver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCode {
    /// The zone, lowercase, without the trailing dot.
    pub zone: String,
    /// The A record's address every query gets.
    pub code: Ipv4Addr,
}

impl FromStr for ErrorCode {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (zone, listed) = spec.split_once('=').ok_or_else(|| SpecError::Shape {
            given: spec.to_owned(),
            shape: "ZONE=CODE (for example zen.test=127.255.255.254)",
        })?;
        Ok(Self {
            zone: dns_name(zone)?,
            code: code(listed)?,
        })
    }
}

/// Reads a number from 0 to 1 (a rate, a loss or SERVFAIL share).
pub fn fraction(text: &str) -> Result<f64, SpecError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| (0.0..=1.0).contains(value))
        .ok_or_else(|| SpecError::Fraction(text.to_owned()))
}

/// Reads a listing code: an IPv4 address in 127.0.0.0/8, as RFC 5782 asks,
/// so an answer can never point anywhere real.
fn code(text: &str) -> Result<Ipv4Addr, SpecError> {
    text.trim()
        .parse::<Ipv4Addr>()
        .ok()
        .filter(Ipv4Addr::is_loopback)
        .ok_or_else(|| SpecError::Code(text.to_owned()))
}

/// Checks a DNS name and returns it lowercase without dots at either end;
/// the root is refused, as a zone or a key it would match everything.
fn dns_name(text: &str) -> Result<String, SpecError> {
    let trimmed = text.trim().trim_matches('.');
    Name::from_ascii(trimmed)
        .ok()
        .filter(|_| !trimmed.is_empty() && !trimmed.contains(".."))
        .map(|_| trimmed.to_ascii_lowercase())
        .ok_or_else(|| SpecError::Name(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_with_every_option() {
        let zone: ZoneSpec =
            "Zen.Test.:rate=0.25:codes=127.0.0.2,127.0.0.4:txt=https://x.test/q?a:b"
                .parse()
                .unwrap();
        assert_eq!(
            zone,
            ZoneSpec {
                name: "zen.test".into(),
                rate: 0.25,
                codes: vec![Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 4)],
                txt: Some("https://x.test/q?a:b".into()),
            }
        );
    }

    #[test]
    fn bare_zone_lists_nothing_by_itself() {
        let zone: ZoneSpec = "dbl.test".parse().unwrap();
        assert_eq!(zone, ZoneSpec::new("dbl.test").unwrap());
        assert_eq!(
            (zone.rate, zone.codes, zone.txt),
            (0.0, vec![DEFAULT_CODE], None)
        );
    }

    #[test]
    fn bad_zones_say_why() {
        let err = |spec: &str| spec.parse::<ZoneSpec>().unwrap_err();
        assert_eq!(err("zen.test:rate=2"), SpecError::Fraction("2".into()));
        assert_eq!(err("zen.test:rate=x"), SpecError::Fraction("x".into()));
        assert_eq!(
            err("zen.test:codes=10.0.0.1"),
            SpecError::Code("10.0.0.1".into())
        );
        assert_eq!(err("zen.test:ttl=5"), SpecError::Option("ttl=5".into()));
        assert_eq!(err("bad..name"), SpecError::Name("bad..name".into()));
        assert_eq!(err(":rate=1"), SpecError::Name(String::new()));
        assert_eq!(
            err(&format!("z.test:txt={}", "x".repeat(256))),
            SpecError::TxtTooLong(256)
        );
    }

    #[test]
    fn listings_and_error_codes() {
        assert_eq!(
            "zen.test=2.0.0.127=127.0.0.2".parse::<Listing>().unwrap(),
            Listing {
                zone: "zen.test".into(),
                key: "2.0.0.127".into(),
                code: Ipv4Addr::new(127, 0, 0, 2),
            }
        );
        assert_eq!(
            "dbl.test=Example.COM=127.0.1.2"
                .parse::<Listing>()
                .unwrap()
                .key,
            "example.com"
        );
        assert!(matches!(
            "zen.test=127.0.0.2".parse::<Listing>(),
            Err(SpecError::Shape { .. })
        ));
        assert_eq!(
            "zen.test==127.0.0.2".parse::<Listing>(),
            Err(SpecError::Name(String::new()))
        );
        assert_eq!(
            "zen.test=127.255.255.254".parse::<ErrorCode>().unwrap(),
            ErrorCode {
                zone: "zen.test".into(),
                code: Ipv4Addr::new(127, 255, 255, 254),
            }
        );
        assert!(matches!(
            "zen.test".parse::<ErrorCode>(),
            Err(SpecError::Shape { .. })
        ));
    }
}
