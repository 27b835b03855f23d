//! Value types operators write by hand: sizes ("50MiB"), durations ("5min") and
//! socket addresses given as one string or a list.
//!
//! Each parser explains what it expected in operator words, because its message is
//! shown next to the file position of the bad value.
//!
//! Size units: `B`, and `K`/`KiB`, `M`/`MiB`, `G`/`GiB` are powers of 1024;
//! `KB`, `MB`, `GB` are powers of 1000 (as disk vendors use them). Units are
//! case-insensitive and may be separated from the number by spaces.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// Why a size, duration or address written in the configuration was refused.
///
/// The text is complete on its own: it names the offending input and the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(String);

const SIZE_FORM: &str =
    "write a number of bytes with an optional unit, e.g. 2048, \"64KiB\" or \"50MiB\"";
const SIZE_UNITS: &str =
    "use B, K/KiB, M/MiB, G/GiB (powers of 1024) or KB, MB, GB (powers of 1000)";

/// A number of bytes, written as an integer or as a string with a unit.
///
/// A newtype rather than a bare `u64` so every size key accepts the same human forms
/// and prints back in the most readable exact form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Size unit names (matched whole, ignoring case) and their multipliers.
const SIZE_MULTIPLIERS: [(&str, u64); 10] = [
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("k", 1 << 10),
    ("m", 1 << 20),
    ("g", 1 << 30),
    ("b", 1),
];

impl FromStr for ByteSize {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(UnitError(format!("the size is empty: {SIZE_FORM}")));
        }
        let digits_end = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (digits, rest) = trimmed.split_at(digits_end);
        if digits.is_empty() {
            let why = if trimmed.starts_with('-') {
                "a size cannot be negative"
            } else {
                "it does not start with a number"
            };
            return Err(UnitError(format!(
                "\"{text}\" is not a size: {why}; {SIZE_FORM}"
            )));
        }
        if rest.starts_with(['.', ',']) {
            return Err(UnitError(format!(
                "\"{text}\" is not a size: sizes are whole numbers; \
                 use a smaller unit instead, e.g. \"1536MiB\" rather than \"1.5GiB\""
            )));
        }
        let unit = rest.trim_start();
        let multiplier = if unit.is_empty() {
            1
        } else {
            SIZE_MULTIPLIERS
                .iter()
                .find(|(name, _)| unit.eq_ignore_ascii_case(name))
                .map(|&(_, multiplier)| multiplier)
                .ok_or_else(|| {
                    UnitError(format!(
                        "unknown size unit \"{unit}\" in \"{text}\": {SIZE_UNITS}"
                    ))
                })?
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|number| number.checked_mul(multiplier))
            .map(ByteSize)
            .ok_or_else(|| UnitError(format!("\"{text}\" is too large to be a size in bytes")))
    }
}

impl fmt::Display for ByteSize {
    /// Prints the exact form with the smallest number (52428800 is `50MiB`,
    /// 2000000000 is `2GB`, 1001 is `1001B`), so the text parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 7] = [
            ("B", 1),
            ("KiB", 1 << 10),
            ("KB", 1_000),
            ("MiB", 1 << 20),
            ("MB", 1_000_000),
            ("GiB", 1 << 30),
            ("GB", 1_000_000_000),
        ];
        let bytes = self.0;
        let (name, unit) = UNITS
            .iter()
            .filter(|&&(_, unit)| bytes.is_multiple_of(unit))
            .min_by_key(|&&(_, unit)| bytes / unit)
            .copied()
            .unwrap_or(("B", 1));
        write!(f, "{}{name}", bytes / unit)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a size such as 2048, \"64KiB\" or \"50MiB\"")
            }

            fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(bytes))
            }

            fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<ByteSize, E> {
                u64::try_from(bytes)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("a size cannot be negative; {SIZE_FORM}")))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<ByteSize, E> {
                text.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_any(SizeVisitor)
    }
}

const DURATION_FORM: &str = "write a number with a unit, e.g. \"250ms\", \"30s\", \"5min\", \"2h\" or \"30d\", \
     or a whole number of seconds";

/// A span of time, written as `"30s"`, `"5min"`, `"250ms"`, `"30d"` (humantime syntax)
/// or as a whole number of seconds (an integer, or a string of digits).
///
/// A newtype so every timeout key accepts the same forms and prints back readably.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return trimmed
                .parse::<u64>()
                .map(|seconds| HumanDuration(Duration::from_secs(seconds)))
                .map_err(|_| {
                    UnitError(format!("\"{text}\" is too many seconds to be a duration"))
                });
        }
        if trimmed.starts_with('-') {
            return Err(UnitError(format!(
                "\"{text}\" is not a duration: a duration cannot be negative; {DURATION_FORM}"
            )));
        }
        humantime::parse_duration(trimmed)
            .map(HumanDuration)
            .map_err(|why| {
                UnitError(format!(
                    "\"{text}\" is not a duration: {why}; {DURATION_FORM}"
                ))
            })
    }
}

impl fmt::Display for HumanDuration {
    /// Prints the humantime form (`5m`, `1h 30m`, `250ms`, `0s`), which parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = HumanDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a duration such as \"30s\", \"5min\" or \"250ms\", or a whole number of seconds"
                )
            }

            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<HumanDuration, E> {
                Ok(HumanDuration(Duration::from_secs(seconds)))
            }

            fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<HumanDuration, E> {
                u64::try_from(seconds)
                    .map(|seconds| HumanDuration(Duration::from_secs(seconds)))
                    .map_err(|_| {
                        E::custom(format!("a duration cannot be negative; {DURATION_FORM}"))
                    })
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<HumanDuration, E> {
                Err(E::custom(
                    "a bare number is read as whole seconds and cannot have a fraction; \
                     write a string with a smaller unit instead, e.g. \"1500ms\"",
                ))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<HumanDuration, E> {
                text.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_any(DurationVisitor)
    }
}

/// Parses one socket address, explaining the usual mistakes (no port, a host name,
/// IPv6 without brackets, a port past 65535).
fn parse_socket_addr(text: &str) -> Result<SocketAddr, UnitError> {
    const FORM: &str = "write an IP address and a port, e.g. \"127.0.0.1:25\" or \"[::1]:25\"";
    let trimmed = text.trim();
    if let Ok(addr) = trimmed.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if trimmed.is_empty() {
        return Err(UnitError(format!("the address is empty: {FORM}")));
    }
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        let example = SocketAddr::new(ip, 25);
        let ipv6_hint = if ip.is_ipv6() {
            " (an IPv6 address takes brackets)"
        } else {
            ""
        };
        return Err(UnitError(format!(
            "\"{text}\" has no port{ipv6_hint}: add one, e.g. \"{example}\""
        )));
    }
    if let Some((host, port)) = trimmed.rsplit_once(':') {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host_is_ip = host.parse::<IpAddr>().is_ok();
        match port.parse::<u64>() {
            Ok(number) if host_is_ip => {
                return Err(UnitError(format!(
                    "\"{text}\" has port {number}, which is out of range: ports go from 0 to 65535"
                )));
            }
            Ok(_) if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !host.is_empty() => {
                return Err(UnitError(format!(
                    "\"{text}\" is not an IP address and port: \"{host}\" is not a valid IPv4 address; {FORM}"
                )));
            }
            Ok(_) if !host.is_empty() => {
                return Err(UnitError(format!(
                    "\"{text}\" is not an IP address and port: host names are not resolved \
                     in the configuration; {FORM}"
                )));
            }
            _ => {}
        }
    }
    Err(UnitError(format!(
        "\"{text}\" is not an IP address and port: {FORM}"
    )))
}

/// One list element of [`one_or_many`]: parsed inside the element's own
/// deserialiser, so an error names the element's position in the file, not the list's.
struct OneAddr(SocketAddr);

impl<'de> Deserialize<'de> for OneAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AddrVisitor;

        impl Visitor<'_> for AddrVisitor {
            type Value = OneAddr;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an address such as \"127.0.0.1:25\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<OneAddr, E> {
                parse_socket_addr(text).map(OneAddr).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(AddrVisitor)
    }
}

/// `deserialize_with` helper for address keys: accepts `"ip:port"` or
/// `["ip:port", ...]`, so the common single-address case needs no brackets.
pub fn one_or_many<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SocketAddr>, D::Error> {
    struct AddrsVisitor;

    impl<'de> Visitor<'de> for AddrsVisitor {
        type Value = Vec<SocketAddr>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an address such as \"127.0.0.1:25\" or a list of them")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            parse_socket_addr(text)
                .map(|addr| vec![addr])
                .map_err(E::custom)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut addrs = Vec::with_capacity(seq.size_hint().unwrap_or(1));
            while let Some(OneAddr(addr)) = seq.next_element()? {
                addrs.push(addr);
            }
            Ok(addrs)
        }
    }

    deserializer.deserialize_any(AddrsVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Probe {
        size: Option<ByteSize>,
        duration: Option<HumanDuration>,
        #[serde(default, deserialize_with = "one_or_many")]
        addrs: Vec<SocketAddr>,
    }

    fn probe(source: &str) -> Result<Probe, String> {
        toml::from_str(source).map_err(|e| e.message().to_string())
    }

    #[test]
    fn sizes_parse() {
        let table: &[(&str, u64)] = &[
            ("0", 0),
            ("2048", 2048),
            ("2048B", 2048),
            ("2048 b", 2048),
            ("512k", 512 << 10),
            ("512K", 512 << 10),
            ("64KiB", 64 << 10),
            ("64kib", 64 << 10),
            ("64 KiB", 64 << 10),
            ("64KB", 64_000),
            ("64kb", 64_000),
            ("50MiB", 50 << 20),
            ("50M", 50 << 20),
            ("50 mib", 50 << 20),
            ("10MB", 10_000_000),
            ("1GiB", 1 << 30),
            ("4g", 4 << 30),
            ("2GB", 2_000_000_000),
            (" 7 KiB ", 7 << 10),
        ];
        for &(text, bytes) in table {
            assert_eq!(text.parse::<ByteSize>(), Ok(ByteSize(bytes)), "{text:?}");
        }
    }

    #[test]
    fn sizes_refused_with_reasons() {
        let table: &[(&str, &str)] = &[
            (
                "",
                "the size is empty: write a number of bytes with an optional unit, e.g. 2048, \"64KiB\" or \"50MiB\"",
            ),
            (
                "MiB",
                "\"MiB\" is not a size: it does not start with a number; write a number",
            ),
            ("-5", "\"-5\" is not a size: a size cannot be negative;"),
            (
                "1.5GiB",
                "\"1.5GiB\" is not a size: sizes are whole numbers; use a smaller unit instead",
            ),
            (
                "50 MeB",
                "unknown size unit \"MeB\" in \"50 MeB\": use B, K/KiB, M/MiB, G/GiB (powers of 1024) or KB, MB, GB (powers of 1000)",
            ),
            ("5TiB", "unknown size unit \"TiB\" in \"5TiB\""),
            (
                "99999999999999GiB",
                "\"99999999999999GiB\" is too large to be a size in bytes",
            ),
            (
                "99999999999999999999",
                "\"99999999999999999999\" is too large to be a size in bytes",
            ),
        ];
        for &(text, message) in table {
            let error = text.parse::<ByteSize>().unwrap_err().to_string();
            assert!(error.starts_with(message), "{text:?}: {error}");
        }
    }

    #[test]
    fn sizes_display_exactly_and_round_trip() {
        let table: &[(u64, &str)] = &[
            (0, "0B"),
            (100, "100B"),
            (1000, "1KB"),
            (1001, "1001B"),
            (1_024_000, "1000KiB"),
            (2048, "2KiB"),
            (64_000, "64KB"),
            (50 << 20, "50MiB"),
            (10_000_000, "10MB"),
            (1 << 30, "1GiB"),
            (3 << 30, "3GiB"),
            (2_000_000_000, "2GB"),
        ];
        for &(bytes, text) in table {
            assert_eq!(ByteSize(bytes).to_string(), text);
            assert_eq!(text.parse::<ByteSize>(), Ok(ByteSize(bytes)));
        }
    }

    #[test]
    fn sizes_deserialize_from_integers_and_strings() {
        assert_eq!(probe("size = 2048").unwrap().size, Some(ByteSize(2048)));
        assert_eq!(
            probe("size = \"64KiB\"").unwrap().size,
            Some(ByteSize(65536))
        );
        assert_eq!(
            probe("size = -1").unwrap_err(),
            "a size cannot be negative; write a number of bytes with an optional unit, \
             e.g. 2048, \"64KiB\" or \"50MiB\""
        );
        assert_eq!(
            probe("size = true").unwrap_err(),
            "invalid type: boolean `true`, expected a size such as 2048, \"64KiB\" or \"50MiB\""
        );
    }

    #[test]
    fn durations_parse() {
        let table: &[(&str, Duration)] = &[
            ("30s", Duration::from_secs(30)),
            ("5min", Duration::from_secs(300)),
            ("5m", Duration::from_secs(300)),
            ("1h 30m", Duration::from_secs(5400)),
            ("30d", Duration::from_secs(30 * 86_400)),
            ("250ms", Duration::from_millis(250)),
            ("90", Duration::from_secs(90)),
            ("0", Duration::ZERO),
        ];
        for &(text, duration) in table {
            assert_eq!(
                text.parse::<HumanDuration>(),
                Ok(HumanDuration(duration)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn durations_refused_with_reasons() {
        let table: &[(&str, &str)] = &[
            (
                "",
                "\"\" is not a duration: value was empty; write a number with a unit",
            ),
            (
                "5 parsecs",
                "\"5 parsecs\" is not a duration: unknown time unit \"parsecs\"",
            ),
            (
                "-5s",
                "\"-5s\" is not a duration: a duration cannot be negative;",
            ),
            ("soon", "\"soon\" is not a duration: expected number at 0;"),
            (
                "99999999999999999999",
                "\"99999999999999999999\" is too many seconds to be a duration",
            ),
        ];
        for &(text, message) in table {
            let error = text.parse::<HumanDuration>().unwrap_err().to_string();
            assert!(error.starts_with(message), "{text:?}: {error}");
        }
    }

    #[test]
    fn durations_display_and_round_trip() {
        let table: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(30), "30s"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(5400), "1h 30m"),
        ];
        for &(duration, text) in table {
            assert_eq!(HumanDuration(duration).to_string(), text);
            assert_eq!(text.parse::<HumanDuration>(), Ok(HumanDuration(duration)));
        }
    }

    #[test]
    fn durations_deserialize_from_integers_and_strings() {
        let seconds = |s| Some(HumanDuration(Duration::from_secs(s)));
        assert_eq!(probe("duration = 30").unwrap().duration, seconds(30));
        assert_eq!(probe("duration = \"5min\"").unwrap().duration, seconds(300));
        assert!(
            probe("duration = -3")
                .unwrap_err()
                .starts_with("a duration cannot be negative;")
        );
        assert!(
            probe("duration = 1.5")
                .unwrap_err()
                .starts_with("a bare number is read as whole seconds and cannot have a fraction;")
        );
    }

    #[test]
    fn addresses_take_one_or_a_list() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(
            probe("addrs = \"127.0.0.1:25\"").unwrap().addrs,
            vec![addr("127.0.0.1:25")]
        );
        assert_eq!(
            probe("addrs = [\"127.0.0.1:25\", \"[::1]:2525\"]")
                .unwrap()
                .addrs,
            vec![addr("127.0.0.1:25"), addr("[::1]:2525")]
        );
        assert_eq!(probe("addrs = []").unwrap().addrs, vec![]);
        assert_eq!(
            probe("addrs = 25").unwrap_err(),
            "invalid type: integer `25`, expected an address such as \"127.0.0.1:25\" or a list of them"
        );
    }

    #[test]
    fn addresses_refused_with_reasons() {
        let table: &[(&str, &str)] = &[
            (
                "",
                "the address is empty: write an IP address and a port, e.g. \"127.0.0.1:25\" or \"[::1]:25\"",
            ),
            (
                "127.0.0.1",
                "\"127.0.0.1\" has no port: add one, e.g. \"127.0.0.1:25\"",
            ),
            (
                "::1",
                "\"::1\" has no port (an IPv6 address takes brackets): add one, e.g. \"[::1]:25\"",
            ),
            (
                "1.2.3.4:70000",
                "\"1.2.3.4:70000\" has port 70000, which is out of range: ports go from 0 to 65535",
            ),
            (
                "[::1]:70000",
                "\"[::1]:70000\" has port 70000, which is out of range",
            ),
            (
                "mx.example.net:25",
                "\"mx.example.net:25\" is not an IP address and port: host names are not resolved in the configuration; write an IP address and a port",
            ),
            (
                "1.2.3:25",
                "\"1.2.3:25\" is not an IP address and port: \"1.2.3\" is not a valid IPv4 address; write",
            ),
            (
                "nonsense",
                "\"nonsense\" is not an IP address and port: write an IP address and a port",
            ),
            (
                ":25",
                "\":25\" is not an IP address and port: write an IP address and a port",
            ),
        ];
        for &(text, message) in table {
            let error = parse_socket_addr(text).unwrap_err().to_string();
            assert!(error.starts_with(message), "{text:?}: {error}");
        }
        assert_eq!(
            probe("addrs = [\"127.0.0.1:25\", 7]").unwrap_err(),
            "invalid type: integer `7`, expected an address such as \"127.0.0.1:25\""
        );
    }
}
