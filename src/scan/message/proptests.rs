//! Properties: `analyse` never panics and stays within its bounds on
//! arbitrary octets and on mutated messages; link normalisation is
//! idempotent.

use proptest::prelude::*;

use super::fixtures::{ZipMember, message_with_attachment, stored_zip};
use super::*;

/// Small bounds, so that arbitrary input crosses them.
fn small_limits() -> ScanLimits {
    ScanLimits {
        message_size: 4096,
        header_section: 512,
        header_line: 128,
        header_fields: 8,
        mime_depth: 3,
        parts: 8,
        part_decoded: 256,
        links: 8,
        zip_members: 4,
        zip_ratio: 10,
        archive_uncompressed: 1 << 20,
    }
}

fn within_bounds(a: &Analysis, limits: &ScanLimits) {
    assert!(a.headers.len() <= limits.header_fields);
    assert!(a.links.len() <= limits.links);
    assert!(a.attachments.len() <= limits.parts + 1);
    for att in &a.attachments {
        assert!(att.size <= limits.part_decoded);
        assert!(att.archive_members.len() <= limits.zip_members);
    }
    for f in &a.findings {
        assert!(f.evidence.chars().count() <= EVIDENCE_CHARS);
        assert!(!f.evidence.chars().any(char::is_control));
    }
}

/// Real-looking messages to mutate: multipart with text, HTML and a zip.
fn seeds() -> Vec<Vec<u8>> {
    let zip = stored_zip(&[ZipMember {
        name: "a.exe",
        data: b"MZ",
        encrypted: true,
    }]);
    vec![
        message_with_attachment("a.zip", "application/zip", &zip),
        b"Subject: =?utf-8?q?hi?=\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
          --b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
          Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 http://3232235777/\r\n\
          --b\r\nContent-Type: text/html\r\n\r\n<a href=\"http://x.example\">www.y.example</a>\r\n\
          --b--\r\n"
            .to_vec(),
        b"Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\n\
          Content-Type: multipart/mixed; boundary=i\n\n--i\n\ninner\n--i--\n--o--\n"
            .to_vec(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_octets(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let limits = small_limits();
        within_bounds(&analyse(&raw, &limits), &limits);
        let _ = analyse(&raw, &ScanLimits::default());
    }

    #[test]
    fn mutated_messages(
        seed in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..16),
    ) {
        let mut raw = seeds()[seed].clone();
        for (at, byte, op) in edits {
            let i = at.index(raw.len() + 1);
            match op {
                0 if i < raw.len() => raw[i] = byte,
                1 => raw.insert(i, byte),
                _ => raw.truncate(i),
            }
        }
        let limits = small_limits();
        within_bounds(&analyse(&raw, &limits), &limits);
        within_bounds(&analyse(&raw, &ScanLimits::default()), &ScanLimits::default());
    }

    #[test]
    fn link_normalisation_is_idempotent(
        scheme in prop::sample::select(vec!["http://", "HTTPS://", "www.", "//", "http:\\\\"]),
        host in "[a-zA-Z0-9.%\\-\u{e9}\u{430}\u{ff21}]{0,24}",
        port in prop::option::of(0u32..70000),
        tail in "[ -~]{0,32}",
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let raw = format!("{scheme}{host}{port}/{tail}");
        let mut collector = links::Collector::new(4);
        collector.add(&raw, LinkSource::Href, None);
        let first = collector.finish(&mut finding::Findings::default());
        if let Some(link) = first.first() {
            let mut again = links::Collector::new(4);
            again.add(&link.url, LinkSource::Href, None);
            let second = again.finish(&mut finding::Findings::default());
            prop_assert_eq!(second.first(), Some(link));
        }
    }
}
