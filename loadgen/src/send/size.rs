//! Message sizes as people write them (`1KiB`, `20KiB`, `1MiB`, `1500`) and
//! the weighted mix of `--size-mix 70:2KiB,25:20KiB,5:1MiB`.
//!
//! A load test is described by its size distribution, so the spelling must
//! be unambiguous: IEC units are powers of 1024, SI units powers of 1000, and
//! a bare `k` or `M` is refused rather than guessed.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Largest message body accepted: far above any SMTP server's limit, low
/// enough that a typo does not exhaust memory when the body is rendered.
pub const MAX_SIZE: u64 = 1 << 30;

/// Why a size or a size mix could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No leading number.
    #[error(
        "`{0}` is not a size: expected bytes or a number with a unit, e.g. 1500, 1KiB, 20KiB, 1MiB"
    )]
    NotANumber(String),
    /// A unit that is not one of the accepted ones.
    #[error("`{0}` has an unknown unit: use B, KiB, MiB, GiB (1024) or kB, MB, GB (1000)")]
    UnknownUnit(String),
    /// Above 1 GiB.
    #[error("`{0}` is larger than the 1 GiB limit")]
    TooLarge(String),
    /// A mix entry without `WEIGHT:SIZE`.
    #[error("`{0}` is not WEIGHT:SIZE (e.g. 70:2KiB)")]
    NotAnEntry(String),
    /// A weight that is not a positive integer.
    #[error("`{0}` has a weight that is not a positive integer")]
    BadWeight(String),
    /// Nothing in the mix.
    #[error("the size mix is empty: give WEIGHT:SIZE[,WEIGHT:SIZE...]")]
    Empty,
}

/// Parses a byte count with an optional unit (case-insensitive): `B`,
/// `KiB`, `MiB`, `GiB` (powers of 1024) or `kB`, `MB`, `GB` (powers of 1000).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| SizeError::NotANumber(text.to_owned()))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(SizeError::UnknownUnit(text.to_owned())),
    };
    value
        .checked_mul(multiplier)
        .filter(|&size| size <= MAX_SIZE)
        .ok_or_else(|| SizeError::TooLarge(text.to_owned()))
}

/// Writes a size the way `--size` reads it, in the largest IEC unit that
/// divides it exactly (`2048` is `2KiB`, `1500` stays `1500`).
pub fn format_size(size: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if size >= 1 << shift && size.is_multiple_of(1 << shift) {
            return format!("{}{unit}", size >> shift);
        }
    }
    size.to_string()
}

/// One entry of a mix: this body size, chosen `weight` times in every
/// `total weight` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weighted {
    /// Relative frequency.
    pub weight: u32,
    /// Body size in bytes.
    pub size: u64,
}

/// The body sizes a generated run sends, with their relative frequencies;
/// `--size 1KiB` is a mix of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeMix {
    entries: Vec<Weighted>,
}

impl SizeMix {
    /// A mix in which every message has `size` body bytes.
    pub fn single(size: u64) -> Self {
        Self {
            entries: vec![Weighted { weight: 1, size }],
        }
    }

    /// The entries, in the order given.
    pub fn entries(&self) -> &[Weighted] {
        &self.entries
    }
}

impl FromStr for SizeMix {
    type Err = SizeError;

    fn from_str(text: &str) -> Result<Self, SizeError> {
        let mut entries = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (weight, size) = part
                .split_once(':')
                .ok_or_else(|| SizeError::NotAnEntry(part.to_owned()))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .ok()
                .filter(|&w| w > 0)
                .ok_or_else(|| SizeError::BadWeight(part.to_owned()))?;
            entries.push(Weighted {
                weight,
                size: parse_size(size)?,
            });
        }
        if entries.is_empty() {
            return Err(SizeError::Empty);
        }
        Ok(Self { entries })
    }
}

/// `70:2KiB,25:20KiB`, or just `1KiB` for a single size.
impl fmt::Display for SizeMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.entries.as_slice() {
            return f.write_str(&format_size(only.size));
        }
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", entry.weight, format_size(entry.size))?;
        }
        Ok(())
    }
}

/// Serialized as it is written on the command line.
impl Serialize for SizeMix {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_each_unit() {
        assert_eq!(parse_size("1500"), Ok(1500));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("20kib"), Ok(20 * 1024));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2kB"), Ok(2000));
        assert_eq!(parse_size(" 3 MB "), Ok(3_000_000));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn ambiguous_or_wrong_sizes_are_refused() {
        assert!(matches!(parse_size("1k"), Err(SizeError::UnknownUnit(_))));
        assert!(matches!(parse_size("KiB"), Err(SizeError::NotANumber(_))));
        assert!(matches!(
            parse_size("1.5MiB"),
            Err(SizeError::UnknownUnit(_))
        ));
        assert!(matches!(parse_size("2GiB"), Err(SizeError::TooLarge(_))));
        assert!(matches!(
            parse_size("99999999999999999999"),
            Err(SizeError::NotANumber(_))
        ));
    }

    #[test]
    fn mix_reads_and_prints_back() {
        let mix: SizeMix = "70:2KiB, 25:20KiB,5:1MiB".parse().unwrap();
        assert_eq!(
            mix.entries(),
            &[
                Weighted {
                    weight: 70,
                    size: 2048
                },
                Weighted {
                    weight: 25,
                    size: 20480
                },
                Weighted {
                    weight: 5,
                    size: 1 << 20
                },
            ]
        );
        assert_eq!(mix.to_string(), "70:2KiB,25:20KiB,5:1MiB");
        assert_eq!(SizeMix::single(1500).to_string(), "1500");
        assert_eq!(
            serde_json::to_string(&SizeMix::single(1024)).unwrap(),
            "\"1KiB\""
        );
    }

    #[test]
    fn bad_mixes_name_the_entry() {
        assert_eq!(
            "70:2KiB,5".parse::<SizeMix>(),
            Err(SizeError::NotAnEntry("5".into()))
        );
        assert_eq!(
            "0:2KiB".parse::<SizeMix>(),
            Err(SizeError::BadWeight("0:2KiB".into()))
        );
        assert_eq!("".parse::<SizeMix>(), Err(SizeError::Empty));
        assert!(matches!(
            "1:2k".parse::<SizeMix>(),
            Err(SizeError::UnknownUnit(_))
        ));
    }
}
