//! The `Received:` trace header we prepend (RFC 5321 §4.4) and the RFC 5322 date
//! it ends with.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::tls::TlsSummary;

/// The longest HELO name shown in the header (the longest domain name).
const MAX_HELO_SHOWN: usize = 255;

/// What our `Received:` header records about one message.
#[derive(Debug, Clone, Copy)]
pub struct Trace<'a> {
    /// The client's HELO name.
    pub helo: Option<&'a str>,
    /// The client's (real) address.
    pub client: IpAddr,
    /// The TLS session, when the message came over STARTTLS.
    pub tls: Option<&'a TlsSummary>,
    /// Our name.
    pub hostname: &'a str,
    /// `SMTP`, `ESMTP`, `ESMTPS`, `UTF8SMTPS`... (RFC 3848).
    pub protocol: &'a str,
    /// Our queue id.
    pub id: &'a str,
    /// The recipient, when there is exactly one (more would leak Bcc).
    pub single_recipient: Option<&'a str>,
    /// RFC 5322 date.
    pub date: &'a str,
}

/// Builds our `Received:` header, folded, CRLF-terminated. `helo` and the
/// recipient come from parsed commands, so they hold no CR, LF or control octets.
pub fn received_header(trace: &Trace<'_>) -> String {
    let literal = match trace.client {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    };
    // A domain is at most 255 octets; a longer HELO is cut there so the header
    // stays within the growth the advertised SIZE leaves room for.
    let mut from = trace.helo.unwrap_or("unknown");
    if from.len() > MAX_HELO_SHOWN {
        let cut = (0..=MAX_HELO_SHOWN)
            .rev()
            .find(|&i| from.is_char_boundary(i))
            .unwrap_or(0);
        from = &from[..cut];
    }
    let mut header = format!("Received: from {from} ({literal})");
    if let Some(tls) = trace.tls {
        header.push_str(&format!("\r\n\t(using {tls})"));
    }
    header.push_str(&format!(
        "\r\n\tby {} (ringwall) with {} id {}",
        trace.hostname, trace.protocol, trace.id
    ));
    if let Some(rcpt) = trace.single_recipient {
        header.push_str("\r\n\tfor ");
        header.push_str(rcpt);
    }
    header.push_str(";\r\n\t");
    header.push_str(trace.date);
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

    fn trace<'a>(helo: &'a str, client: &str) -> Trace<'a> {
        Trace {
            helo: Some(helo),
            client: client.parse().unwrap(),
            tls: None,
            hostname: "mx.test",
            protocol: "ESMTP",
            id: "ABC",
            single_recipient: None,
            date: "Thu, 1 Jan 1970 00:00:00 +0000",
        }
    }

    #[test]
    fn long_helo_is_cut_to_a_domain_length() {
        let helo = "h".repeat(2000);
        let h = received_header(&trace(&helo, "192.0.2.1"));
        assert!(h.starts_with(&format!("Received: from {} ([192.0.2.1])", "h".repeat(255))));
        assert!(h.len() < 1024);
    }

    #[test]
    fn header_shape() {
        let h = received_header(&Trace {
            single_recipient: Some("<u@example.net>"),
            ..trace("client.example", "2001:db8::1")
        });
        assert_eq!(
            h,
            "Received: from client.example ([IPv6:2001:db8::1])\r\n\tby mx.test (ringwall) with ESMTP id ABC\r\n\
             \tfor <u@example.net>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"
        );
    }

    #[test]
    fn tls_parameters_are_recorded() {
        let tls = TlsSummary {
            version: "TLSv1.3",
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
        };
        let h = received_header(&Trace {
            tls: Some(&tls),
            protocol: "ESMTPS",
            ..trace("client.example", "192.0.2.1")
        });
        assert_eq!(
            h,
            "Received: from client.example ([192.0.2.1])\r\n\
             \t(using TLSv1.3 with cipher TLS13_AES_256_GCM_SHA384)\r\n\
             \tby mx.test (ringwall) with ESMTPS id ABC;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"
        );
    }
}
