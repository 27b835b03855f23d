//! The message analysis (`scan::message::analyse`) on arbitrary octets, as
//! any sender can put them after DATA. It must never panic, and what it
//! returns stays within its bounds whatever the input: header fields,
//! links, attachments, decoded sizes and zip listings at most their limits,
//! evidence at most 120 characters with no control character in it. The
//! classifier's tokens of the analysis are distinct, ascending and at most
//! `MAX_TOKENS`, and the same as the explaining walk's.
//!
//! Input layout: `[flags, data...]`. flags bit 0: small limits (so the
//! fuzzer reaches every bound with small inputs), else the defaults.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringwall::bayes::{MAX_TOKENS, Tokens, names};
use ringwall::scan::message::{EVIDENCE_CHARS, ScanLimits, analyse};

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    let limits = if flags & 1 != 0 {
        ScanLimits {
            message_size: 8192,
            header_section: 512,
            header_line: 128,
            header_fields: 8,
            mime_depth: 3,
            parts: 8,
            part_decoded: 512,
            links: 8,
            zip_members: 4,
            zip_ratio: 10,
            archive_uncompressed: 1 << 20,
        }
    } else {
        ScanLimits::default()
    };
    let a = analyse(data, &limits);
    assert!(a.headers.len() <= limits.header_fields);
    assert!(a.links.len() <= limits.links);
    assert!(a.attachments.len() <= limits.parts + 1);
    for attachment in &a.attachments {
        assert!(attachment.size <= limits.part_decoded);
        assert!(attachment.archive_members.len() <= limits.zip_members);
    }
    assert!(a.body_text.len() + a.html_text.len() <= 4 * limits.message_size.min(data.len()) + 64);
    for finding in &a.findings {
        assert!(finding.evidence.chars().count() <= EVIDENCE_CHARS);
        assert!(!finding.evidence.chars().any(char::is_control));
    }
    for link in &a.links {
        assert!(link.url.len() <= 2048);
        assert!(
            link.host
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        );
    }
    let tokens = Tokens::of(&a);
    let hashes = tokens.as_slice();
    assert!(hashes.len() <= MAX_TOKENS);
    assert!(hashes.windows(2).all(|w| w[0] < w[1]));
    let mut named: Vec<u64> = names(&a).into_keys().collect();
    named.sort_unstable();
    assert_eq!(named, hashes);
});
