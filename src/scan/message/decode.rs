//! A part's body decoded: transfer encoding to octets, within the part
//! bound, then text to UTF-8 by its charset (mail-parser's decoders,
//! `full_encoding` for the CJK charsets).

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use memchr::memchr;

/// A part's Content-Transfer-Encoding, as far as decoding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Encoding {
    /// 7bit, 8bit, binary, or anything unknown: the octets as they are.
    #[default]
    Identity,
    Base64,
    QuotedPrintable,
}

impl Encoding {
    /// Reads a Content-Transfer-Encoding value.
    pub(super) fn from_header(value: &str) -> Encoding {
        let value = value.trim();
        if value.eq_ignore_ascii_case("base64") {
            Encoding::Base64
        } else if value.eq_ignore_ascii_case("quoted-printable") {
            Encoding::QuotedPrintable
        } else {
            Encoding::Identity
        }
    }
}

/// A body after its transfer encoding.
pub(super) struct Decoded<'a> {
    /// At most the part bound of octets.
    pub bytes: Cow<'a, [u8]>,
    /// The part decodes to more than the bound; `bytes` is its beginning.
    pub truncated: bool,
}

/// Decodes `body` keeping at most `cap` octets. Only as much of the encoded
/// body is read as can decode to `cap` octets (4/3 of it for base64, with
/// room for line ends; 3 times it for quoted-printable), so a huge part
/// costs no more than a part at the bound.
pub(super) fn transfer(body: &[u8], encoding: Encoding, cap: usize) -> Decoded<'_> {
    let read_cap = match encoding {
        Encoding::Identity => cap,
        Encoding::Base64 => cap.saturating_add(cap / 2).saturating_add(8),
        Encoding::QuotedPrintable => cap.saturating_mul(3),
    };
    let cut = body.len() > read_cap;
    let input = &body[..body.len().min(read_cap)];
    let mut bytes = match encoding {
        Encoding::Identity => Cow::Borrowed(input),
        Encoding::Base64 => Cow::Owned(base64(input)),
        Encoding::QuotedPrintable => Cow::Owned(quoted_printable(input)),
    };
    let over = bytes.len() > cap;
    if over {
        bytes.to_mut().truncate(cap);
    }
    Decoded {
        bytes,
        truncated: cut || over,
    }
}

/// Base64 through mail-parser; it refuses a whole body for one octet outside
/// the alphabet, which mail in the wild has (a stray `-`, a signature), so
/// such a body is decoded again with those octets left out, as MUAs do.
fn base64(input: &[u8]) -> Vec<u8> {
    base64_decode(input).unwrap_or_else(|| {
        let clean: Vec<u8> = input
            .iter()
            .copied()
            .filter(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .collect();
        base64_decode(&clean).unwrap_or_default()
    })
}

/// Quoted-printable, lenient: mail-parser's slice decoder rejects a body at
/// the first `=` not followed by two hex digits, and spam is full of them
/// (`?a=b` in a URL written unencoded), so a malformed `=` is kept as it is,
/// as MUAs show it. Soft line breaks (`=` then optional blanks, end of line)
/// are removed.
fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(off) = memchr(b'=', &input[i..]) {
        out.extend_from_slice(&input[i..i + off]);
        i += off;
        let hex = |j: usize| input.get(j).and_then(|b| (*b as char).to_digit(16));
        if let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) {
            // Two hex digits are below 256.
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        let mut j = i + 1;
        while matches!(input.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        match (input.get(j), input.get(j + 1)) {
            (Some(b'\r'), Some(b'\n')) => i = j + 2,
            (Some(b'\n'), _) | (None, _) => i = (j + 1).min(input.len()),
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out.extend_from_slice(&input[i..]);
    out
}

/// Text octets to UTF-8 by their charset. UTF-8, US-ASCII and no charset
/// at all read as UTF-8 (invalid sequences replaced), since mislabelled
/// UTF-8 is the common case; any other charset mail-parser knows through
/// its decoder; an unknown one as UTF-8 too.
pub(super) fn text<'b>(bytes: &'b [u8], charset: Option<&str>) -> Cow<'b, str> {
    let charset = charset.map(str::trim).unwrap_or_default();
    let utf8_like = charset.is_empty()
        || charset.eq_ignore_ascii_case("utf-8")
        || charset.eq_ignore_ascii_case("utf8")
        || charset.eq_ignore_ascii_case("us-ascii");
    match charset_decoder(charset.as_bytes()) {
        Some(decode) if !utf8_like => Cow::Owned(decode(bytes)),
        _ => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_and_tolerates_junk() {
        let d = transfer(b"aGVsbG8g\r\nd29ybGQ=\r\n", Encoding::Base64, 100);
        assert_eq!(&*d.bytes, b"hello world");
        assert!(!d.truncated);
        let d = transfer(b"aGVs-bG8=\r\n", Encoding::Base64, 100);
        assert_eq!(&*d.bytes, b"hello");
    }

    #[test]
    fn quoted_printable_is_lenient() {
        let d = transfer(
            b"caf=C3=A9 =\r\nnext a=b =ZZ end=",
            Encoding::QuotedPrintable,
            100,
        );
        assert_eq!(&*d.bytes, "café next a=b =ZZ end".as_bytes());
    }

    #[test]
    fn a_part_past_the_bound_is_truncated_and_said_so() {
        let d = transfer(&[b'x'; 100], Encoding::Identity, 10);
        assert_eq!(d.bytes.len(), 10);
        assert!(d.truncated);
        let encoded = b"eHh4".repeat(100);
        let d = transfer(&encoded, Encoding::Base64, 30);
        assert_eq!(&*d.bytes, &[b'x'; 30][..]);
        assert!(d.truncated);
        let d = transfer(b"eHh4", Encoding::Base64, 3);
        assert!(!d.truncated);
    }

    #[test]
    fn charsets_decode_to_utf8() {
        assert_eq!(text(b"caf\xe9", Some("ISO-8859-1")), "café");
        assert_eq!(text("日本".as_bytes(), Some("utf-8")), "日本");
        assert_eq!(text(b"\xc6\xfc\xcb\xdc", Some("euc-jp")), "日本");
        assert_eq!(text(b"\x93\xfa\x96\x7b", Some("shift_jis")), "日本");
        assert_eq!(text(b"plain", Some("x-unknown")), "plain");
    }
}
