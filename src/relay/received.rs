//! The `Received:` trace header we prepend (RFC 5321 §4.4) and the RFC 5322 date
//! it ends with.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest HELO name shown in the header (the longest domain name).
const MAX_HELO_SHOWN: usize = 255;

/// Builds our `Received:` header, folded, CRLF-terminated. `helo` and the
/// recipient come from parsed commands, so they hold no CR, LF or control octets.
pub fn received_header(
    helo: Option<&str>,
    client: IpAddr,
    hostname: &str,
    protocol: &str,
    id: &str,
    single_recipient: Option<&str>,
    date: &str,
) -> String {
    let literal = match client {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    };
    // A domain is at most 255 octets; a longer HELO is cut there so the header
    // stays within the growth the advertised SIZE leaves room for.
    let mut from = helo.unwrap_or("unknown");
    if from.len() > MAX_HELO_SHOWN {
        let cut = (0..=MAX_HELO_SHOWN)
            .rev()
            .find(|&i| from.is_char_boundary(i))
            .unwrap_or(0);
        from = &from[..cut];
    }
    let mut header = format!(
        "Received: from {from} ({literal})\r\n\tby {hostname} (ringwall) with {protocol} id {id}"
    );
    if let Some(rcpt) = single_recipient {
        header.push_str("\r\n\tfor ");
        header.push_str(rcpt);
    }
    header.push_str(";\r\n\t");
    header.push_str(date);
    header.push_str("\r\n");
    header
}

/// `Thu, 26 Nov 2026 15:21:34 +0000` for `time` (UTC: an appliance's logs and
/// headers should not depend on a time zone database).
pub fn rfc5322_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let (year, month, day) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day} {} {year} {h:02}:{m:02}:{s:02} +0000",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[month as usize - 1]
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01, by
/// counting 400-year eras of 146,097 days from 0000-03-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(UNIX_EPOCH), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
        assert_eq!(
            rfc5322_date(UNIX_EPOCH + Duration::from_secs(1_795_706_494)),
            "Thu, 26 Nov 2026 15:21:34 +0000"
        );
    }

    #[test]
    fn long_helo_is_cut_to_a_domain_length() {
        let helo = "h".repeat(2000);
        let h = received_header(
            Some(&helo),
            "192.0.2.1".parse().unwrap(),
            "mx.test",
            "SMTP",
            "A",
            None,
            "D",
        );
        assert!(h.starts_with(&format!("Received: from {} ([192.0.2.1])", "h".repeat(255))));
        assert!(h.len() < 1024);
    }

    #[test]
    fn header_shape() {
        let h = received_header(
            Some("client.example"),
            "2001:db8::1".parse().unwrap(),
            "mx.test",
            "ESMTP",
            "ABC",
            Some("<u@example.net>"),
            "Thu, 1 Jan 1970 00:00:00 +0000",
        );
        assert_eq!(
            h,
            "Received: from client.example ([IPv6:2001:db8::1])\r\n\tby mx.test (ringwall) with ESMTP id ABC\r\n\
             \tfor <u@example.net>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"
        );
    }
}
