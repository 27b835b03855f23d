//! The report as plain text for a terminal: one figure a line, names left,
//! numbers right-aligned in one column, so it reads at 3 a.m.

use std::fmt::Write;

use super::{Count, Report};

/// One line of a section: a name, a number, and the number's share.
type Row = (String, String, String);

/// The report as aligned text.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "ringwall report, {} to {}", report.since, report.until);
    let _ = writeln!(out);
    let total = report.messages;
    let mut rows = vec![row("messages", total, None)];
    for (name, count) in report.verdicts.named() {
        rows.push(row(&format!("  {name}"), count, Some(total)));
    }
    section(&mut out, "", &rows);
    section(&mut out, "top rules", &counted(&report.top_rules, total));
    section(
        &mut out,
        "top clients",
        &counted(&report.top_clients, total),
    );
    section(
        &mut out,
        "top sender domains",
        &counted(&report.top_sender_domains, total),
    );
    let dnsbl = &report.dnsbl;
    let mut rows = vec![
        row("  judged", dnsbl.judged, None),
        row("  refused at RCPT", dnsbl.refused_at_rcpt, None),
    ];
    rows.extend(dnsbl.lists.iter().map(|list| {
        (
            format!("  {}", list.rule),
            list.hits.to_string(),
            format!("{:.1} %", list.rate * 100.0),
        )
    }));
    section(&mut out, "DNS lists", &rows);
    let mut rows = vec![row("  released", report.released.count, None)];
    rows.extend((report.released.ids.iter()).map(|id| {
        (
            format!("    {}", printable(id)),
            String::new(),
            String::new(),
        )
    }));
    section(&mut out, "quarantine (false positives)", &rows);
    let rows: Vec<Row> = (report.hourly.iter())
        .map(|hour| row(&format!("  {}", hour.hour), hour.messages, None))
        .collect();
    section(&mut out, "messages per hour", &rows);
    if report.skipped > 0 {
        let _ = writeln!(
            out,
            "{} lines skipped: not the daemon's log, or cut short",
            report.skipped
        );
    }
    out
}

/// A row of `count`, with its share of `total` when given.
fn row(name: &str, count: u64, total: Option<u64>) -> Row {
    let share = match total {
        Some(total) if total > 0 => format!("{:.1} %", count as f64 * 100.0 / total as f64),
        _ => String::new(),
    };
    (name.to_string(), count.to_string(), share)
}

/// A titled block of rows, names left, numbers and shares right-aligned.
fn section(out: &mut String, title: &str, rows: &[Row]) {
    if !title.is_empty() {
        let _ = writeln!(out, "{title}");
    }
    if rows.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    let width = |column: fn(&Row) -> &String| {
        rows.iter()
            .map(|row| column(row).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (names, counts, shares) = (width(|r| &r.0), width(|r| &r.1), width(|r| &r.2));
    for (name, count, share) in rows {
        let line = format!("{name:<names$}  {count:>counts$}  {share:>shares$}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out);
}

fn counted(counts: &[Count], total: u64) -> Vec<Row> {
    counts
        .iter()
        .map(|count| {
            row(
                &format!("  {}", printable(&count.name)),
                count.count,
                Some(total),
            )
        })
        .collect()
}

/// `text` with control characters shown escaped: names come from the logs,
/// where a client chose them, and must not drive the operator's terminal.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let shown: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            shown
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{DnsLists, Tally};
    use super::*;

    #[test]
    fn aligned_sections() {
        let at = |text| humantime::parse_rfc3339(text).unwrap();
        let mut tally = Tally::new(
            at("2026-11-27T00:00:00Z"),
            at("2026-11-27T12:00:00Z"),
            DnsLists::Configured(vec!["RBL_ZEN".into()]),
        );
        let hostile = TEXT_BOUNCE.replace("client=127.0.0.55", "client=\"\\u{1b}[2J\"");
        for line in [TEXT_CLEAN, TEXT_GTUBE, &hostile, TEXT_REFUSED, "junk"] {
            tally.line(line);
        }
        assert_eq!(
            render_text(&tally.finish()),
            "ringwall report, 2026-11-27T00:00:00Z to 2026-11-27T12:00:00Z

messages        3
  relayed       2  66.7 %
  tagged        1  33.3 %
  quarantined   0   0.0 %
  rejected      0   0.0 %
  tempfail      0   0.0 %
  discarded     0   0.0 %
  disconnected  0   0.0 %

top rules
  HELO_NOT_FQDN  3  100.0 %
  GTUBE          1   33.3 %

top clients
  127.0.0.55  2  66.7 %
  \\u{1b}[2J   1  33.3 %

top sender domains
  (null sender)   1  33.3 %
  sender.example  1  33.3 %
  spam.example    1  33.3 %

DNS lists
  judged           4
  refused at RCPT  1
  RBL_ZEN          1  25.0 %

quarantine (false positives)
  released  0

messages per hour
  2026-11-27T10:00:00Z  3

1 lines skipped: not the daemon's log, or cut short
"
        );
    }
}
