//! The report as one HTML page with its bar charts drawn in inline SVG: no
//! script, no external file, so it opens anywhere, mailed or served by the
//! admin listener. Every name on it comes from the logs, where clients chose
//! it (a HELO, a sender domain), so every one is escaped.

use std::fmt::Write;

use super::{Count, Report};
use crate::html::escape;

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
    table{border-collapse:collapse}td,th{padding:2px 12px;text-align:left}\
    td.n{text-align:right;font-variant-numeric:tabular-nums}\
    svg text{font-size:12px;font-family:sans-serif}";

/// Width of a horizontal bar chart's bar area, in pixels.
const BAR_AREA: f64 = 400.0;
/// Height of one horizontal bar's row.
const ROW: usize = 20;
/// Width kept for the names left of the bars.
const LABEL_WIDTH: usize = 260;
/// Height of the hourly chart's plot.
const PLOT_HEIGHT: f64 = 160.0;

/// The report as an HTML page.
pub fn render_html(report: &Report) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>{} to {}: <strong>{}</strong> messages.</p>",
        escape(&report.since),
        escape(&report.until),
        report.messages
    );
    body.push_str("<h2>Verdicts</h2><table>");
    for (name, count) in report.verdicts.named() {
        let _ = write!(body, "<tr><td>{name}</td><td class=\"n\">{count}</td></tr>");
    }
    body.push_str("</table>");
    body.push_str("<h2>Messages per hour</h2>");
    hourly_chart(&mut body, report);
    for (title, counts) in [
        ("Top rules", &report.top_rules),
        ("Top clients", &report.top_clients),
        ("Top sender domains", &report.top_sender_domains),
    ] {
        let _ = write!(body, "<h2>{title}</h2>");
        bar_chart(&mut body, counts);
    }
    let dnsbl = &report.dnsbl;
    let _ = write!(
        body,
        "<h2>DNS lists</h2><p>{} judged (messages and recipients refused at RCPT), {} refused \
         at RCPT.</p><table><tr><th>rule</th><th>hits</th><th>rate</th></tr>",
        dnsbl.judged, dnsbl.refused_at_rcpt
    );
    for list in &dnsbl.lists {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1} %</td></tr>",
            escape(&list.rule),
            list.hits,
            list.rate * 100.0
        );
    }
    body.push_str("</table>");
    let _ = write!(
        body,
        "<h2>Quarantine</h2><p>{} released as false positives.</p>",
        report.released.count
    );
    if !report.released.ids.is_empty() {
        body.push_str("<ul>");
        for id in &report.released.ids {
            let _ = write!(body, "<li>{}</li>", escape(id));
        }
        body.push_str("</ul>");
    }
    if report.skipped > 0 {
        let _ = write!(
            body,
            "<p>{} lines skipped: not the daemon's log, or cut short.</p>",
            report.skipped
        );
    }
    page("ringwall report", &body)
}

/// The page the admin listener serves while `[report] logs` names no file.
pub fn unconfigured_page() -> String {
    page(
        "ringwall report",
        "<p>No logs to report on: <code>[report] logs</code> is empty.</p>\
         <p>Point it at the files the daemon's log is written to, e.g. the file \
         rsyslog writes for the ringwall unit:</p>\
         <pre>[report]\nlogs = [\"/var/log/ringwall.log\"]</pre>\
         <p>or read the journal from a shell: \
         <code>journalctl -u ringwall -o cat | ringwall report --log -</code>.</p>",
    )
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>\n"
    )
}

/// Horizontal bars, one per name, longest for the largest count.
fn bar_chart(out: &mut String, counts: &[Count]) {
    if counts.is_empty() {
        out.push_str("<p>none</p>");
        return;
    }
    let most = counts.iter().map(|c| c.count).max().unwrap_or(1).max(1) as f64;
    let width = LABEL_WIDTH + BAR_AREA as usize + 60;
    let height = counts.len() * ROW;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         role=\"img\">"
    );
    for (index, count) in counts.iter().enumerate() {
        let y = index * ROW;
        let bar = (count.count as f64 / most * BAR_AREA).max(1.0);
        let name = escape(&count.name);
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{}\">{name}</text>\
             <rect x=\"{LABEL_WIDTH}\" y=\"{}\" width=\"{bar:.1}\" height=\"{}\" fill=\"#4a7ab5\">\
             <title>{name}: {}</title></rect>\
             <text x=\"{:.1}\" y=\"{}\">{}</text>",
            y + 14,
            y + 3,
            ROW - 6,
            count.count,
            LABEL_WIDTH as f64 + bar + 4.0,
            y + 14,
            count.count
        );
    }
    out.push_str("</svg>");
}

/// Vertical bars, one per hour, the first and last hour written below.
fn hourly_chart(out: &mut String, report: &Report) {
    let hours = &report.hourly;
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        out.push_str("<p>none</p>");
        return;
    };
    let most = hours.iter().map(|h| h.messages).max().unwrap_or(1).max(1) as f64;
    let step = (720.0 / hours.len() as f64).clamp(2.0, 24.0);
    let width = (step * hours.len() as f64).max(300.0) + 40.0;
    let height = PLOT_HEIGHT + 40.0;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         role=\"img\"><text x=\"0\" y=\"12\">{most}</text>"
    );
    for (index, hour) in hours.iter().enumerate() {
        let bar = hour.messages as f64 / most * PLOT_HEIGHT;
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"#4a7ab5\">\
             <title>{}: {}</title></rect>",
            40.0 + index as f64 * step,
            20.0 + PLOT_HEIGHT - bar,
            (step - 1.0).max(1.0),
            escape(&hour.hour),
            hour.messages
        );
    }
    let _ = write!(
        out,
        "<text x=\"40\" y=\"{:.0}\">{}</text><text x=\"{:.0}\" y=\"{:.0}\" \
         text-anchor=\"end\">{}</text></svg>",
        height - 4.0,
        escape(&first.hour),
        width,
        height - 4.0,
        escape(&last.hour)
    );
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{DnsLists, Tally};
    use super::*;

    fn report(lines: &[&str]) -> Report {
        let at = |text| humantime::parse_rfc3339(text).unwrap();
        let mut tally = Tally::new(
            at("2026-11-27T00:00:00Z"),
            at("2026-11-27T12:00:00Z"),
            DnsLists::Guessed,
        );
        for line in lines {
            tally.line(line);
        }
        tally.finish()
    }

    #[test]
    fn charts_are_inline_svg() {
        let page = render_html(&report(&[
            TEXT_CLEAN,
            TEXT_GTUBE,
            TEXT_REFUSED,
            TEXT_RELEASE,
        ]));
        assert!(page.starts_with("<!DOCTYPE html>"));
        // The hourly chart and three top lists.
        assert_eq!(page.matches("<svg").count(), 4);
        assert!(!page.contains("<script"));
        assert!(
            page.contains("<td>RBL_ZEN_SBL</td><td class=\"n\">1</td><td class=\"n\">33.3 %</td>")
        );
        assert!(page.contains("<li>Q7F3A9</li>"));
    }

    #[test]
    fn names_from_the_log_are_escaped() {
        let hostile = TEXT_CLEAN
            .replace(
                "from=<a@sender.example>",
                "from=<a@x.example<script>alert(1)</script>.test>",
            )
            .replace("client=127.0.0.55", "client=<img/src=x>");
        let release = TEXT_RELEASE.replace("id=Q7F3A9", "id=\"<b>&'\\u{7}\"");
        let page = render_html(&report(&[&hostile, &release]));
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("x.example&lt;script&gt;alert(1)&lt;/script&gt;.test"));
        assert!(page.contains("&lt;img/src=x&gt;"));
        assert!(
            page.contains("<li>&lt;b&gt;&amp;&#39;\u{fffd}</li>"),
            "{page}"
        );
    }

    #[test]
    fn the_unconfigured_page_says_how_to_configure() {
        let page = unconfigured_page();
        assert!(page.contains("[report]\nlogs = [\"/var/log/ringwall.log\"]"));
        assert!(page.contains("journalctl -u ringwall -o cat | ringwall report --log -"));
    }
}
