//! Human-friendly durations (`250ms`, `2s`, `1.5m`) for command-line options.
//!
//! Each subcommand takes delays and run times; parsing them in one place keeps
//! their spelling identical across `sink`, `send` and `dnsbl`.

use std::time::Duration;

/// Why a duration could not be read, so the CLI can say what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text has no leading number.
    #[error("`{0}` is not a duration: expected a number and a unit such as 250ms, 2s, 1.5m, 1h")]
    NotANumber(String),
    /// The number is followed by something other than a known unit.
    #[error("`{0}` has an unknown unit: use ns, us, ms, s, m or h")]
    UnknownUnit(String),
    /// The value does not fit a `Duration`.
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// Parses a number with an optional unit (`ns`, `us`, `ms`, `s`, `m`, `h`);
/// a bare number means seconds, matching what `sleep(1)` taught everyone.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| DurationError::NotANumber(text.to_owned()))?;
    let seconds_per_unit = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(DurationError::UnknownUnit(text.to_owned())),
    };
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| DurationError::TooLarge(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_unit() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(matches!(parse("fast"), Err(DurationError::NotANumber(_))));
        assert!(matches!(
            parse("5 days"),
            Err(DurationError::UnknownUnit(_))
        ));
        assert!(matches!(parse("1e3s"), Err(DurationError::UnknownUnit(_))));
        assert!(matches!(
            parse("99999999999999999999999h"),
            Err(DurationError::TooLarge(_))
        ));
    }
}
