//! The DATA/BDAT decoder on arbitrary bytes, checked three ways:
//! - invariants of its output: canonical CRLF lines, no NUL, within `max_size`,
//!   never more consumed than given, all of it consumed unless data ended;
//! - streaming: the input split at an arbitrary point decodes exactly as in one
//!   piece (a network may cut anywhere);
//! - a line-at-a-time reference model, written for clarity rather than speed:
//!   end of data exactly where a `.` CRLF line follows a real CRLF, a defect
//!   exactly when some line breaks a rule, and otherwise the same content.
//!
//! Input layout: `[flags, max_size, max_header, max_line, cut_hi, cut_lo, data...]`.
//! flags: bit 0 BDAT framing, bit 1 the DATA line ended by a bare LF, bit 2 bare
//! LF rejected, bits 4-7 the header field limit in units of 4 octets (0: large).
//! A limit byte of 255 means "large"; others are small limits so the fuzzer
//! reaches every bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringwall::smtp::{BareLf, BodyDecoder, BodyLimits, Defect, Framing};

fuzz_target!(|input: &[u8]| {
    let Some((head, data)) = input.split_first_chunk::<6>() else {
        return;
    };
    let [flags, size, header, line, cut_hi, cut_lo] = *head;
    let limit = |b: u8| if b == 255 { 1 << 30 } else { u64::from(b) };
    let limits = BodyLimits {
        max_size: limit(size),
        max_header: limit(header),
        max_line: limit(line),
        max_header_field: match flags >> 4 {
            0 => 1 << 30,
            units => u64::from(units) * 4,
        },
        bare_lf: if flags & 4 != 0 {
            BareLf::Reject
        } else {
            BareLf::Normalize
        },
    };
    let framing = if flags & 1 != 0 {
        Framing::Chunked
    } else {
        Framing::Dot
    };
    let after_crlf = flags & 2 == 0;
    let cut = usize::from(u16::from_be_bytes([cut_hi, cut_lo])) % (data.len() + 1);

    let whole = decode(limits, framing, after_crlf, &[data]);
    let split = decode(limits, framing, after_crlf, &[&data[..cut], &data[cut..]]);
    assert_eq!(whole, split, "split at {cut} decodes differently");

    let (out, consumed, ended, defect) = whole;
    assert!(consumed <= data.len());
    assert!(out.len() as u64 <= limits.max_size, "output past max_size");
    assert!(!out.contains(&0), "NUL in output");
    assert_canonical(&out, ended || framing == Framing::Chunked);

    let model = Model::run(limits, framing, after_crlf, data);
    assert_eq!(
        (ended, consumed),
        (model.end.is_some(), model.end.unwrap_or(data.len())),
        "end of data where the model sees none, or the other way round"
    );
    assert_eq!(defect.is_some(), model.defect, "defect {defect:?}");
    if defect.is_none() {
        assert_eq!(out, model.out, "content differs from the model");
    }
});

/// Decodes `pieces` in turn as they would arrive from a socket; a BDAT message
/// is then finished as its LAST chunk. Returns (content, consumed, ended, defect).
fn decode(
    limits: BodyLimits,
    framing: Framing,
    after_crlf: bool,
    pieces: &[&[u8]],
) -> (Vec<u8>, usize, bool, Option<Defect>) {
    let mut decoder = BodyDecoder::new(limits, framing, after_crlf);
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut ended = false;
    for piece in pieces {
        let (n, end) = decoder.decode(piece, &mut out);
        assert!(n <= piece.len());
        assert!(end || n == piece.len(), "stopped early without end of data");
        assert!(framing == Framing::Dot || !end, "end of data in BDAT");
        consumed += n;
        if end {
            ended = true;
            break;
        }
    }
    if framing == Framing::Chunked {
        decoder.finish_chunked(&mut out);
    }
    (out, consumed, ended, decoder.defect())
}

/// Every LF is preceded by a CR and every CR followed by a LF; a finished
/// message also ends with its line end.
fn assert_canonical(out: &[u8], finished: bool) {
    for (i, &b) in out.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && out[i - 1] == b'\r', "bare LF at {i}");
        }
        if b == b'\r' {
            assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
    }
    if finished {
        assert!(
            out.is_empty() || out.ends_with(b"\r\n"),
            "unfinished last line"
        );
    }
}

/// The decoder's rules restated one whole line at a time.
struct Model {
    /// Octets up to and including the terminating `.` CRLF, if there is one.
    end: Option<usize>,
    /// Some rule was broken before the end.
    defect: bool,
    /// The content, meaningful when there is no defect.
    out: Vec<u8>,
    size: u64,
    header_size: u64,
    field_size: u64,
    in_header: bool,
}

impl Model {
    fn run(limits: BodyLimits, framing: Framing, after_crlf: bool, data: &[u8]) -> Model {
        let mut m = Model {
            end: None,
            defect: false,
            out: Vec::new(),
            size: 0,
            header_size: 0,
            field_size: 0,
            in_header: true,
        };
        let dot = framing == Framing::Dot;
        let mut prev_crlf = after_crlf;
        let mut start = 0;
        while let Some(lf) = data[start..].iter().position(|&b| b == b'\n') {
            let line = &data[start..start + lf];
            start += lf + 1;
            let (text, crlf) = match line.strip_suffix(b"\r") {
                Some(text) => (text, true),
                None => (line, false),
            };
            if dot && text == b"." && crlf && prev_crlf {
                m.end = Some(start);
                return m;
            }
            // A lone dot that is not the end is content; any other leading dot is stuffing.
            let text = match text.strip_prefix(b".") {
                Some(rest) if dot && text != b"." => rest,
                _ => text,
            };
            m.line(limits, text, true);
            if !crlf && limits.bare_lf == BareLf::Reject {
                m.defect = true;
            }
            prev_crlf = crlf;
        }
        let tail = &data[start..];
        if framing == Framing::Chunked {
            // LAST completes a partial line, but a trailing CR is half a line end.
            if tail.ends_with(b"\r") {
                m.defect = true;
            }
            if !tail.is_empty() {
                m.line(limits, tail.strip_suffix(b"\r").unwrap_or(tail), true);
            }
        } else {
            // What is already known of an unfinished line: a trailing CR, or a
            // leading dot, waits for the next octet.
            let tail = tail.strip_suffix(b"\r").unwrap_or(tail);
            m.line(limits, tail.strip_prefix(b".").unwrap_or(tail), false);
        }
        m
    }

    /// One line's content, un-stuffed; `ended` when its line end was seen.
    fn line(&mut self, limits: BodyLimits, text: &[u8], ended: bool) {
        if text.contains(&b'\r') || text.contains(&0) || text.len() as u64 > limits.max_line {
            self.defect = true;
        }
        if ended && text.is_empty() && self.in_header {
            self.in_header = false;
        }
        let n = text.len() as u64 + if ended { 2 } else { 0 };
        self.size += n;
        if self.in_header {
            self.header_size += n;
            // Folded lines (opening with SP or HTAB) add to the field before them.
            if !text.starts_with(b" ") && !text.starts_with(b"\t") {
                self.field_size = 0;
            }
            self.field_size += n;
        }
        if self.size > limits.max_size
            || self.header_size > limits.max_header
            || self.field_size > limits.max_header_field
        {
            self.defect = true;
        }
        self.out.extend_from_slice(text);
        if ended {
            self.out.extend_from_slice(b"\r\n");
        }
    }
}
