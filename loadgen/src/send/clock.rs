//! Wall-clock dates for the result (`started_at`, RFC 3339) and for the
//! `Date:` header of generated messages (RFC 5322), both in UTC.
//!
//! Two fixed formats do not justify a date crate: the conversion from days
//! since 1970 to a calendar date is a few lines of integer arithmetic.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC calendar date and time of day, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// 0 = Sunday.
    weekday: u32,
}

impl Utc {
    /// The date of `time` (times before 1970 read as 1970).
    pub(crate) fn from(time: SystemTime) -> Self {
        let seconds = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Self::from_unix(seconds)
    }

    /// The date `seconds` after 1970-01-01T00:00:00Z.
    fn from_unix(seconds: u64) -> Self {
        let days = (seconds / 86_400) as i64;
        let of_day = (seconds % 86_400) as u32;
        // Days to a civil date, counting in 400-year eras that start on
        // March 1st so the leap day is the last day of a year.
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        } as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
            // 1970-01-01 was a Thursday.
            weekday: ((days + 4) % 7) as u32,
        }
    }

    /// `2026-11-26T09:05:00Z`.
    pub(crate) fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `Thu, 26 Nov 2026 09:05:00 +0000`.
    pub(crate) fn rfc5322(&self) -> String {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{}, {} {} {:04} {:02}:{:02}:{:02} +0000",
            DAYS[self.weekday as usize],
            self.day,
            MONTHS[self.month as usize - 1],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let epoch = Utc::from_unix(0);
        assert_eq!(epoch.rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(epoch.rfc5322(), "Thu, 1 Jan 1970 00:00:00 +0000");
        // 2000-02-29 (a leap day of a century year) 12:34:56.
        let leap = Utc::from_unix(951_827_696);
        assert_eq!(leap.rfc3339(), "2000-02-29T12:34:56Z");
        assert_eq!(leap.rfc5322(), "Tue, 29 Feb 2000 12:34:56 +0000");
        // 2026-11-26 09:05:00.
        assert_eq!(
            Utc::from_unix(1_795_683_900).rfc5322(),
            "Thu, 26 Nov 2026 09:05:00 +0000"
        );
    }
}
