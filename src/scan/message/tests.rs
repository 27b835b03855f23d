//! `analyse` on whole messages: extraction, the bombs, and each structural
//! rule with a near miss.

use super::fixtures::{self, ZipMember, message_with_attachment, minimal_pe, stored_zip};
use super::*;

fn rules(analysis: &Analysis) -> Vec<&'static str> {
    analysis.findings.iter().map(|f| f.rule).collect()
}

fn analyse_default(raw: &[u8]) -> Analysis {
    analyse(raw, &ScanLimits::default())
}

#[test]
fn a_plain_message() {
    let a = analyse_default(
        b"From bob@example.com Mon Jan  1 00:00:00 2002\n\
          Subject: =?ISO-8859-1?Q?caf=E9?= time\n\
          From: Bob <bob@example.com>\n\
          \n\
          Hello, see www.example.com/menu.\n",
    );
    assert_eq!(a.subject, "café time");
    assert_eq!(a.headers.len(), 2);
    assert_eq!(a.headers[1].name, "From");
    assert_eq!(a.headers[1].value, "Bob <bob@example.com>");
    assert!(
        a.raw_headers.starts_with("Subject: =?ISO"),
        "the mbox line is gone"
    );
    assert_eq!(a.body_text, "Hello, see www.example.com/menu.\n");
    assert_eq!(a.links.len(), 1);
    assert_eq!(a.links[0].url, "http://www.example.com/menu");
    assert!(a.attachments.is_empty());
    assert!(a.findings.is_empty());
}

#[test]
fn text_and_html_parts_are_decoded() {
    let a = analyse_default(
        b"Subject: x\r\n\
          Content-Type: multipart/alternative; boundary=b\r\n\r\n\
          --b\r\n\
          Content-Type: text/plain; charset=utf-8\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n\
          R3LDvMOfZSBodHRwOi8vYS5leGFtcGxlLw==\r\n\
          --b\r\n\
          Content-Type: text/html; charset=iso-8859-1\r\n\
          Content-Transfer-Encoding: quoted-printable\r\n\r\n\
          <html><head><style>p{}</style></head><body><p>Gr=FC=DFe</p>\r\n\
          <a href=3D\"http://evil.example/\">www.bank.com</a></body></html>\r\n\
          --b--\r\n",
    );
    assert_eq!(a.body_text, "Grüße http://a.example/");
    assert!(a.html_text.contains("Grüße"), "{}", a.html_text);
    assert!(!a.html_text.contains("p{}"));
    assert!(!a.html_text.contains("<a"));
    let urls: Vec<_> = a.links.iter().map(|l| (l.url.as_str(), l.source)).collect();
    assert_eq!(
        urls,
        [
            ("http://a.example/", LinkSource::Text),
            ("http://evil.example/", LinkSource::Href)
        ]
    );
    assert_eq!(a.links[1].anchor_text.as_deref(), Some("www.bank.com"));
    assert_eq!(rules(&a), ["LINK_TEXT_MISMATCH"]);
}

#[test]
fn cjk_charsets_decode() {
    let a = analyse_default(
        b"Subject: =?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=\n\
          Content-Type: text/plain; charset=gb2312\n\n\xd6\xd0\xce\xc4\n",
    );
    assert_eq!(a.subject, "日本");
    assert_eq!(a.body_text, "中文\n");
}

#[test]
fn attachments_in_a_message() {
    let a = analyse_default(&message_with_attachment(
        "invoice.pdf.exe",
        "application/pdf",
        &minimal_pe(),
    ));
    assert_eq!(a.body_text, "see attachment");
    assert_eq!(a.attachments.len(), 1);
    let att = &a.attachments[0];
    assert_eq!(att.name.as_deref(), Some("invoice.pdf.exe"));
    assert_eq!(att.declared_type, "application/pdf");
    assert_eq!(att.sniffed, Some(FileKind::Pe));
    assert_eq!(att.size, minimal_pe().len());
    let mut r = rules(&a);
    r.sort_unstable();
    assert_eq!(
        r,
        [
            "ATTACH_DOUBLE_EXT",
            "ATTACH_EXECUTABLE",
            "ATTACH_TYPE_MISMATCH"
        ]
    );
    let executable = a.findings.iter().find(|f| f.rule == "ATTACH_EXECUTABLE");
    assert_eq!(executable.map(|f| f.class), Some(FindingClass::Executable));
}

#[test]
fn a_zip_with_an_executable_in_a_message() {
    let zip = stored_zip(&[ZipMember {
        name: "scan_0042.pdf.exe",
        data: &minimal_pe(),
        encrypted: false,
    }]);
    let a = analyse_default(&message_with_attachment(
        "scan.zip",
        "application/zip",
        &zip,
    ));
    assert_eq!(a.attachments[0].archive_members, ["scan_0042.pdf.exe"]);
    assert_eq!(rules(&a), ["ATTACH_ZIP_EXECUTABLE"]);
}

#[test]
fn an_html_attachment_gives_its_links() {
    let a = analyse_default(&message_with_attachment(
        "statement.html",
        "text/html",
        b"<html><form action=\"https://collect.example/p\"><input name=pw></form></html>",
    ));
    assert_eq!(a.attachments[0].sniffed, Some(FileKind::Html));
    assert_eq!(a.links[0].url, "https://collect.example/p");
    assert!(a.html_text.is_empty(), "an attachment is not message text");
}

#[test]
fn nested_mime_1000_deep() {
    let a = analyse_default(&fixtures::nested_mime(1_000));
    assert_eq!(rules(&a), ["MIME_TOO_DEEP"]);
}

#[test]
fn many_parts_100k() {
    let a = analyse_default(&fixtures::many_parts(100_000));
    assert_eq!(rules(&a), ["TOO_MANY_PARTS"]);
    assert!(a.body_text.lines().count() <= 1_000);
}

#[test]
fn zip_bomb_1_gib() {
    let raw = fixtures::zip_bomb(1 << 30);
    assert!(raw.len() < 5 << 20);
    let a = analyse_default(&raw);
    assert_eq!(rules(&a), ["ARCHIVE_RATIO"]);
    let evidence = &a.findings[0].evidence;
    assert!(
        evidence.starts_with("bomb.zip: zeros-1.bin declares 134217"),
        "{evidence}"
    );
    assert_eq!(a.attachments[0].archive_members.len(), 8);
    // A member under the ratio bound with a total under the size bound
    // is no bomb.
    let limits = ScanLimits {
        zip_ratio: 200,
        ..ScanLimits::default()
    };
    assert!(
        analyse(&fixtures::zip_bomb(256 << 20), &limits)
            .findings
            .is_empty()
    );
    // The total alone, with each member's ratio allowed.
    let a = analyse(&raw, &limits);
    assert_eq!(rules(&a), ["ARCHIVE_RATIO"]);
    assert!(a.findings[0].evidence.contains("uncompressed"));
}

#[test]
fn header_line_10_mib() {
    let a = analyse_default(&fixtures::long_header(10 << 20));
    assert_eq!(rules(&a), ["HEADER_TOO_LONG"]);
    assert_eq!(a.subject, "");
    assert_eq!(a.headers.len(), 3, "the other fields are kept");
    assert_eq!(a.body_text, "body\r\n");
    assert!(
        analyse_default(&fixtures::long_header(1_000))
            .findings
            .is_empty()
    );
}

#[test]
fn a_part_past_its_bound_is_truncated() {
    let limits = ScanLimits {
        part_decoded: 10,
        ..ScanLimits::default()
    };
    let a = analyse(b"Subject: x\n\n0123456789abcdef", &limits);
    assert_eq!(rules(&a), ["PART_TOO_LARGE"]);
    assert_eq!(a.body_text, "0123456789");
    assert!(
        analyse(b"Subject: x\n\n0123456789", &limits)
            .findings
            .is_empty()
    );
}

#[test]
fn a_message_past_its_bound_is_cut() {
    let limits = ScanLimits {
        message_size: 20,
        ..ScanLimits::default()
    };
    let a = analyse(b"Subject: x\n\n0123456789abcdef", &limits);
    assert_eq!(rules(&a), ["MESSAGE_TOO_LARGE"]);
    assert_eq!(a.body_text, "01234567");
}

#[test]
fn degenerate_input() {
    for raw in [
        &b""[..],
        b"From ",
        b"\n",
        b"\r\n\r\n",
        b"no header at all",
        b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n",
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\n",
        b"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n",
    ] {
        let _ = analyse_default(raw);
    }
}

#[test]
fn the_rule_table_names_every_rule_the_brief_lists() {
    for name in [
        "MIME_TOO_DEEP",
        "TOO_MANY_PARTS",
        "HEADER_TOO_LONG",
        "PART_TOO_LARGE",
        "ARCHIVE_RATIO",
        "ATTACH_EXECUTABLE",
        "ATTACH_DOUBLE_EXT",
        "ATTACH_RTLO",
        "ATTACH_ZIP_EXECUTABLE",
        "ATTACH_ENCRYPTED_ARCHIVE",
        "ATTACH_OFFICE_MACRO",
        "ATTACH_PDF_JAVASCRIPT",
        "ATTACH_DISK_IMAGE",
        "ATTACH_SCRIPT",
        "ATTACH_TYPE_MISMATCH",
        "LINK_TEXT_MISMATCH",
        "LINK_IP_HOST",
        "LINK_SHORTENER",
        "LINK_PUNYCODE",
    ] {
        assert!(RULES.iter().any(|r| r.name == name), "{name}");
    }
}
