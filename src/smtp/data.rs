//! The message-content decoder for DATA (dot-stuffed, ended by CRLF.CRLF) and BDAT
//! (length-delimited chunks).
//!
//! This is where SMTP smuggling is stopped, so the rules are strict and few:
//! - end of data is exactly `CRLF . CRLF` where both line ends are real CRLFs;
//!   `LF.LF`, `LF.CRLF`, `CR.CR`, `CRLF.LF` and friends are never an end;
//! - a bare LF ends a content line (`normalize`, as Postfix 3.9) or poisons the
//!   message (`reject`); a lone `.` line ended by a bare LF is content, so it reaches
//!   the upstream as `..` CRLF;
//! - a bare CR or a NUL poisons the message;
//! - the output is canonical CRLF lines, un-dot-stuffed, and never grows past the
//!   configured limits.
//!
//! A poisoned message is still read to its end (the client is not listening while
//! it sends), but nothing more is kept; the first [`Defect`] decides the reply.
//! The inner loop jumps between interesting octets with `memchr3`, so plain text
//! costs one vectorised scan per line.

use memchr::memchr3;

use super::reply::{Reply, table};

/// How a bare LF (LF without CR) in message content is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareLf {
    /// It ends a line and is forwarded as CRLF.
    #[default]
    Normalize,
    /// It poisons the message (550 5.5.2).
    Reject,
}

/// Bounds the decoder enforces while it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest decoded message, CRLFs included.
    pub max_size: u64,
    /// Largest header section: its lines with their CRLFs, not the empty line
    /// that ends it.
    pub max_header: u64,
    /// Longest content line, without its CRLF.
    pub max_line: u64,
    /// Largest single header field: its first line and every continuation
    /// line (one opening with SP or HTAB), CRLFs included, counted as
    /// forwarded (un-stuffed, bare LFs as CRLF). Each line is already bounded
    /// by `max_line`; this bounds what folding can pile into one field for the
    /// header parsers downstream, which often hold a field whole.
    pub max_header_field: u64,
    /// Bare LF policy.
    pub bare_lf: BareLf,
}

/// The first thing found wrong with a message; it decides the reply at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// A CR not followed by LF.
    BareCr,
    /// A LF not preceded by CR, in `reject` mode.
    BareLf,
    /// A NUL octet.
    Nul,
    /// Past `max_size`.
    TooBig,
    /// Header section past `max_header`.
    HeaderTooBig,
    /// One header field, folded lines included, past `max_header_field`.
    HeaderFieldTooBig,
    /// A line past `max_line`.
    LineTooLong,
    /// A BDAT message whose last chunk ends inside a line ending (a trailing CR).
    Unterminated,
}

impl Defect {
    /// The reply this defect earns at end of data.
    pub fn reply(self) -> Reply {
        match self {
            Defect::BareCr | Defect::Unterminated => table::bare_cr_data(),
            Defect::BareLf => table::bare_lf_data(),
            Defect::Nul => table::nul_data(),
            Defect::TooBig => table::message_too_big(),
            Defect::HeaderTooBig => table::header_too_big(),
            Defect::HeaderFieldTooBig => table::header_field_too_big(),
            Defect::LineTooLong => table::data_line_too_long(),
        }
    }
}

/// Where the decoder stands between two octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    LineStart,
    /// A `.` opened the line (DATA only).
    Dot,
    /// `.` then CR opened the line (DATA only).
    DotCr,
    /// Inside a line.
    Mid,
    /// A CR inside a line; LF should follow.
    Cr,
    /// Past end of data.
    Done,
}

/// How message content is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// DATA: dot-stuffed, ended by CRLF.CRLF.
    Dot,
    /// BDAT: raw octets counted by the command; no stuffing, no terminator.
    Chunked,
}

/// Streaming decoder for one message.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    limits: BodyLimits,
    framing: Framing,
    state: State,
    /// The previous line ended with a real CRLF (needed for end of data).
    prev_crlf: bool,
    line_len: u64,
    size: u64,
    header_size: u64,
    /// Octets of the header field being read, folded lines included.
    field_size: u64,
    in_header: bool,
    defect: Option<Defect>,
}

impl BodyDecoder {
    /// A decoder for a message that starts now. `after_crlf` says whether the DATA
    /// command line itself ended with a real CRLF (a lone `.` first line is only an
    /// end of data if so).
    pub fn new(limits: BodyLimits, framing: Framing, after_crlf: bool) -> BodyDecoder {
        BodyDecoder {
            limits,
            framing,
            state: State::LineStart,
            prev_crlf: after_crlf,
            line_len: 0,
            size: 0,
            header_size: 0,
            field_size: 0,
            in_header: true,
            defect: None,
        }
    }

    /// The first defect found so far.
    pub fn defect(&self) -> Option<Defect> {
        self.defect
    }

    /// Decoded octets so far (counted even past a defect only up to it).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Decodes `input`, appending canonical content to `out`. Returns how many
    /// octets were consumed and whether end of data was reached (DATA only; the
    /// octets after it belong to the next command). On the first defect `out` is
    /// emptied and nothing more is appended.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Done => return (i, true),
                State::LineStart | State::Mid => {
                    if self.state == State::LineStart && b == b'.' && self.framing == Framing::Dot {
                        self.state = State::Dot;
                        i += 1;
                        continue;
                    }
                    // Copy the run of ordinary octets up to the next CR, LF or NUL.
                    let run = memchr3(b'\r', b'\n', 0, &input[i..]).unwrap_or(input.len() - i);
                    if run > 0 {
                        self.content(&input[i..i + run], out);
                        self.state = State::Mid;
                        i += run;
                        continue;
                    }
                    i += 1;
                    match b {
                        b'\r' => self.state = State::Cr,
                        b'\n' => self.bare_lf_line_end(out),
                        _ => {
                            self.poison(Defect::Nul, out);
                            self.state = State::Mid;
                        }
                    }
                }
                State::Cr => {
                    if b == b'\n' {
                        i += 1;
                        self.line_end(true, out);
                    } else {
                        // Drop the CR and look at this octet again inside the line.
                        self.poison(Defect::BareCr, out);
                        self.state = State::Mid;
                    }
                }
                State::Dot => match b {
                    b'\r' => {
                        self.state = State::DotCr;
                        i += 1;
                    }
                    b'\n' => {
                        // `.` ended by a bare LF is a content line holding a dot.
                        i += 1;
                        self.content(b".", out);
                        self.bare_lf_line_end(out);
                    }
                    _ => self.state = State::Mid, // the dot was stuffing: drop it
                },
                State::DotCr => {
                    if b == b'\n' {
                        i += 1;
                        if self.prev_crlf {
                            self.state = State::Done;
                            return (i, true);
                        }
                        self.content(b".", out);
                        self.line_end(true, out);
                    } else {
                        self.poison(Defect::BareCr, out);
                        self.state = State::Mid;
                    }
                }
            }
        }
        (i, self.state == State::Done)
    }

    /// Ends a BDAT message after its LAST chunk: completes an unterminated last line
    /// with CRLF, as the upstream needs canonical lines.
    pub fn finish_chunked(&mut self, out: &mut Vec<u8>) {
        match self.state {
            State::Mid => self.line_end(true, out),
            State::Cr => self.poison(Defect::Unterminated, out),
            _ => {}
        }
        self.state = State::Done;
    }

    fn content(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let n = bytes.len() as u64;
        // A header line opening with SP or HTAB continues the field (RFC 5322
        // §2.2.3); any other starts a new one.
        if self.in_header && self.line_len == 0 && !matches!(bytes.first(), Some(b' ' | b'\t')) {
            self.field_size = 0;
        }
        if self.defect.is_none() && !self.crosses_a_limit(n) {
            // The hot path: no bound is reached, so there is nothing to decide.
            self.line_len += n;
            self.size += n;
            if self.in_header {
                self.header_size += n;
                self.field_size += n;
            }
            out.extend_from_slice(bytes);
            return;
        }
        self.content_at_a_limit(bytes, out);
    }

    /// [`BodyDecoder::content`] once a bound is reached or the message is
    /// poisoned: rare, so kept out of the hot loop.
    #[cold]
    #[inline(never)]
    fn content_at_a_limit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let n = bytes.len() as u64;
        if self.defect.is_none() && n > 1 {
            // Octet by octet, so the limit crossed first decides the defect
            // (and the reply) wherever the network cut the run.
            for octet in bytes.chunks(1) {
                self.content(octet, out);
            }
            return;
        }
        if self.in_header {
            self.grow_field(n, out);
        }
        self.line_len += n;
        if self.line_len > self.limits.max_line {
            self.poison(Defect::LineTooLong, out);
        }
        self.grow(n, out);
        if self.defect.is_none() {
            out.extend_from_slice(bytes);
        }
    }

    fn crosses_a_limit(&self, n: u64) -> bool {
        self.line_len + n > self.limits.max_line
            || self.size + n > self.limits.max_size
            || (self.in_header
                && (self.header_size + n > self.limits.max_header
                    || self.field_size + n > self.limits.max_header_field))
    }

    fn grow_field(&mut self, n: u64, out: &mut Vec<u8>) {
        self.field_size += n;
        if self.field_size > self.limits.max_header_field {
            self.poison(Defect::HeaderFieldTooBig, out);
        }
    }

    fn bare_lf_line_end(&mut self, out: &mut Vec<u8>) {
        if self.limits.bare_lf == BareLf::Reject {
            self.poison(Defect::BareLf, out);
        }
        self.line_end(false, out);
    }

    fn line_end(&mut self, real_crlf: bool, out: &mut Vec<u8>) {
        if self.in_header {
            if self.line_len == 0 {
                self.in_header = false;
            } else {
                self.grow_field(2, out);
            }
        }
        self.grow(2, out);
        if self.defect.is_none() {
            out.extend_from_slice(b"\r\n");
        }
        self.line_len = 0;
        self.prev_crlf = real_crlf;
        self.state = State::LineStart;
    }

    fn grow(&mut self, n: u64, out: &mut Vec<u8>) {
        self.size += n;
        if self.in_header {
            self.header_size += n;
            if self.header_size > self.limits.max_header {
                self.poison(Defect::HeaderTooBig, out);
            }
        }
        if self.size > self.limits.max_size {
            self.poison(Defect::TooBig, out);
        }
    }

    fn poison(&mut self, defect: Defect, out: &mut Vec<u8>) {
        if self.defect.is_none() {
            self.defect = Some(defect);
            *out = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::client::dot_stuff;
    use super::*;
    use proptest::prelude::*;

    const LIMITS: BodyLimits = BodyLimits {
        max_size: 1 << 20,
        max_header: 1 << 16,
        max_line: 1000,
        max_header_field: 1 << 16,
        bare_lf: BareLf::Normalize,
    };

    /// Decodes `input` in one piece; returns (content, consumed, ended, defect).
    fn run(limits: BodyLimits, input: &[u8]) -> (Vec<u8>, usize, bool, Option<Defect>) {
        let mut d = BodyDecoder::new(limits, Framing::Dot, true);
        let mut out = Vec::new();
        let (n, end) = d.decode(input, &mut out);
        (out, n, end, d.defect())
    }

    #[test]
    fn plain_message_and_pipelined_tail() {
        let (out, n, end, defect) = run(LIMITS, b"Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n");
        assert_eq!(out, b"Subject: x\r\n\r\nhello\r\n");
        assert_eq!(n, 24);
        assert!(end);
        assert_eq!(defect, None);
    }

    #[test]
    fn empty_message() {
        assert_eq!(run(LIMITS, b".\r\n"), (vec![], 3, true, None));
    }

    #[test]
    fn dot_unstuffing() {
        let (out, _, end, _) = run(LIMITS, b"..leading\r\n...\r\n.x\r\n.\r\n");
        assert!(end);
        assert_eq!(out, b".leading\r\n..\r\nx\r\n");
    }

    #[test]
    fn smuggling_variants_are_never_an_end() {
        // Each variant is followed by a smuggled command and then the real end.
        for variant in [
            &b"\n.\n"[..],
            b"\n.\r\n",
            b"\r.\r",
            b"\r\n.\r",
            b"\r\n.\n",
            b"\r.\r\n",
            b"\n.\r",
            b"\r\n\0.\r\n",
        ] {
            let mut input = b"Subject: s\r\n\r\nbody".to_vec();
            input.extend_from_slice(variant);
            input.extend_from_slice(b"MAIL FROM:<evil@example.com>\r\n");
            let tail_start = input.len();
            input.extend_from_slice(b"\r\n.\r\n");
            let (out, n, end, defect) = run(LIMITS, &input);
            assert!(end, "{variant:?}: no end found");
            assert_eq!(
                n,
                input.len(),
                "{variant:?}: ended early at {n}, tail at {tail_start}"
            );
            // Either poisoned, or the smuggled text is plain content in canonical lines.
            if defect.is_none() {
                assert!(
                    !out.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
                    "{variant:?}"
                );
                assert!(
                    out.windows(3).any(|w| w == b"\r\n."),
                    "{variant:?}: lone dot lost"
                );
            }
        }
    }

    #[test]
    fn lone_dot_after_bare_lf_is_content() {
        let (out, _, end, defect) = run(LIMITS, b"a\n.\nb\r\n.\r\n");
        assert!(end);
        assert_eq!(defect, None);
        assert_eq!(out, b"a\r\n.\r\nb\r\n");
        let (out, _, _, _) = run(LIMITS, b"a\n.\r\nb\r\n.\r\n");
        assert_eq!(out, b"a\r\n.\r\nb\r\n");
    }

    #[test]
    fn bare_cr_and_nul_poison() {
        assert_eq!(run(LIMITS, b"a\rb\r\n.\r\n").3, Some(Defect::BareCr));
        assert_eq!(run(LIMITS, b"a\0b\r\n.\r\n").3, Some(Defect::Nul));
        assert_eq!(run(LIMITS, b"a\r\n.\rX\r\n.\r\n").3, Some(Defect::BareCr));
        let (out, n, end, _) = run(LIMITS, b"a\rb\r\n.\r\n");
        assert!(end && out.is_empty());
        assert_eq!(n, 8);
    }

    #[test]
    fn bare_lf_reject_mode() {
        let limits = BodyLimits {
            bare_lf: BareLf::Reject,
            ..LIMITS
        };
        let (out, _, end, defect) = run(limits, b"a\nb\r\n.\r\n");
        assert!(end);
        assert_eq!(defect, Some(Defect::BareLf));
        assert!(out.is_empty());
    }

    #[test]
    fn size_header_and_line_limits() {
        let limits = BodyLimits {
            max_size: 10,
            ..LIMITS
        };
        assert_eq!(run(limits, b"0123456789\r\n.\r\n").3, Some(Defect::TooBig));
        assert_eq!(run(limits, b"01234567\r\n.\r\n").3, None);
        let limits = BodyLimits {
            max_header: 9,
            ..LIMITS
        };
        assert_eq!(
            run(limits, b"A: 12345\r\n\r\nbody\r\n.\r\n").3,
            Some(Defect::HeaderTooBig)
        );
        assert_eq!(
            run(limits, b"A: 1234\r\n\r\nlong body line\r\n.\r\n").3,
            None
        );
        let limits = BodyLimits {
            max_line: 4,
            ..LIMITS
        };
        assert_eq!(run(limits, b"12345\r\n.\r\n").3, Some(Defect::LineTooLong));
        assert_eq!(run(limits, b"1234\r\n.\r\n").3, None);
    }

    /// Decodes `input` cut in two at every point, as DATA and as one BDAT
    /// chunk (without its terminator); asserts every way gives the same defect.
    fn defect_in_any_split(limits: BodyLimits, input: &[u8]) -> Option<Defect> {
        let dot = run(limits, input).3;
        let body = input.strip_suffix(b".\r\n").expect("a DATA terminator");
        for cut in 0..=input.len() {
            let mut d = BodyDecoder::new(limits, Framing::Dot, true);
            let mut out = Vec::new();
            let (n, _) = d.decode(&input[..cut], &mut out);
            d.decode(&input[n..], &mut out);
            assert_eq!(d.defect(), dot, "DATA cut at {cut}");
        }
        for cut in 0..=body.len() {
            let mut d = BodyDecoder::new(limits, Framing::Chunked, true);
            let mut out = Vec::new();
            d.decode(&body[..cut], &mut out);
            d.decode(&body[cut..], &mut out);
            d.finish_chunked(&mut out);
            assert_eq!(d.defect(), dot, "BDAT cut at {cut}");
        }
        dot
    }

    #[test]
    fn header_field_limit_counts_folded_lines() {
        let limits = BodyLimits {
            max_header_field: 20,
            ..LIMITS
        };
        // "A: 1234\r\n" (9) + " 56789\r\n" (8) + "\t\r\n" (3): 20 exactly passes,
        // and the next field starts again from zero ...
        let at_limit = b"A: 1234\r\n 56789\r\n\t\r\nB: 123456789012345\r\n\r\nbody\r\n.\r\n";
        assert_eq!(defect_in_any_split(limits, at_limit), None);
        // ... one octet more in the last continuation line fails ...
        let past = b"A: 1234\r\n 56789\r\n\tx\r\nB: 1\r\n\r\nbody\r\n.\r\n";
        assert_eq!(
            defect_in_any_split(limits, past),
            Some(Defect::HeaderFieldTooBig)
        );
        // ... as does an unfolded field one octet past (19 octets and CRLF).
        let long = b"A: 4567890123456789\r\n\r\n.\r\n";
        assert_eq!(
            defect_in_any_split(limits, long),
            Some(Defect::HeaderFieldTooBig)
        );
        // The body is no header: long folded-looking lines there are content.
        assert_eq!(
            defect_in_any_split(limits, b"A: 1\r\n\r\n 1234567890\r\n 1234567890\r\n.\r\n"),
            None
        );
        assert_eq!(
            Defect::HeaderFieldTooBig.reply().to_string(),
            "552 5.3.4 Message header field exceeds fixed maximum length"
        );
    }

    /// The field is counted as forwarded: a bare LF (normalised) as CRLF, a
    /// stuffing dot not at all.
    #[test]
    fn header_field_counts_canonical_octets() {
        let limits = BodyLimits {
            max_header_field: 12,
            ..LIMITS
        };
        // "A: 1" ended by a bare LF counts 6 ("A: 1" CRLF), the fold " .x"
        // CRLF 5: 11 ...
        assert_eq!(run(limits, b"A: 1\n .x\r\n\r\n.\r\n").3, None);
        assert_eq!(run(limits, b"A: 1\n .xy\r\n\n.\r\n").3, None, "12 octets");
        assert_eq!(
            run(limits, b"A: 1\n .xyz\n\r\n.\r\n").3,
            Some(Defect::HeaderFieldTooBig)
        );
        // ... and a line opening with a stuffed dot is a new field (".B: 12345"
        // CRLF, 11), not a fold of the 12 octets before it.
        assert_eq!(
            run(limits, b"A: 1234567\r\n..B: 12345\r\n\r\n.\r\n").3,
            None
        );
        assert_eq!(
            run(limits, b"A: 1234567\r\n..B: 1234567\r\n\r\n.\r\n").3,
            Some(Defect::HeaderFieldTooBig)
        );
    }

    /// Found by fuzz/data_decoder: a run crossing two limits reported the one
    /// checked first, not the one crossed first, so the reply depended on where
    /// the network cut the line.
    #[test]
    fn first_limit_crossed_wins_whatever_the_cuts() {
        let limits = BodyLimits {
            max_size: 10,
            max_line: 13,
            ..LIMITS
        };
        let input = b"\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n.\r\n";
        for cut in 0..=input.len() {
            let mut d = BodyDecoder::new(limits, Framing::Dot, true);
            let mut out = Vec::new();
            let (n, _) = d.decode(&input[..cut], &mut out);
            d.decode(&input[n..], &mut out);
            assert_eq!(d.defect(), Some(Defect::TooBig), "cut at {cut}");
        }
    }

    #[test]
    fn end_split_across_every_boundary() {
        let input = b"x\r\n..y\r\n.\r\n";
        for cut in 0..=input.len() {
            let mut d = BodyDecoder::new(LIMITS, Framing::Dot, true);
            let mut out = Vec::new();
            let (n1, end1) = d.decode(&input[..cut], &mut out);
            assert_eq!(n1, cut);
            let (n2, end2) = if end1 {
                (0, true)
            } else {
                d.decode(&input[cut..], &mut out)
            };
            assert!(end2);
            assert_eq!(n1 + n2, input.len());
            assert_eq!(out, b"x\r\n.y\r\n");
        }
    }

    #[test]
    fn first_line_dot_needs_crlf_before_it() {
        let mut d = BodyDecoder::new(LIMITS, Framing::Dot, false);
        let mut out = Vec::new();
        assert_eq!(d.decode(b".\r\n", &mut out), (3, false));
        assert_eq!(out, b".\r\n");
    }

    #[test]
    fn chunked_framing_keeps_dots_and_completes_last_line() {
        let mut d = BodyDecoder::new(LIMITS, Framing::Chunked, true);
        let mut out = Vec::new();
        assert_eq!(d.decode(b".\r\n..x\nlast", &mut out), (11, false));
        d.finish_chunked(&mut out);
        assert_eq!(out, b".\r\n..x\r\nlast\r\n");
        assert_eq!(d.defect(), None);
    }

    #[test]
    fn chunked_trailing_cr_is_a_defect() {
        let mut d = BodyDecoder::new(LIMITS, Framing::Chunked, true);
        let mut out = Vec::new();
        d.decode(b"a\r", &mut out);
        d.finish_chunked(&mut out);
        assert_eq!(d.defect(), Some(Defect::Unterminated));
    }

    proptest! {
        /// Any body of canonical lines survives stuffing and decoding, in any split.
        #[test]
        fn dot_stuffing_round_trips(lines in proptest::collection::vec("[ -~]{0,40}", 0..30), cut in 0usize..2000) {
            let mut body = Vec::new();
            for line in &lines {
                body.extend_from_slice(line.as_bytes());
                body.extend_from_slice(b"\r\n");
            }
            let mut wire = Vec::new();
            dot_stuff(&body, &mut wire);
            wire.extend_from_slice(b".\r\n");
            let cut = cut.min(wire.len());
            let mut d = BodyDecoder::new(LIMITS, Framing::Dot, true);
            let mut out = Vec::new();
            let (n1, end1) = d.decode(&wire[..cut], &mut out);
            let (n2, end2) = if end1 { (0, true) } else { d.decode(&wire[cut..], &mut out) };
            prop_assert!(end2);
            prop_assert_eq!(n1 + n2, wire.len());
            prop_assert_eq!(d.defect(), None);
            prop_assert_eq!(out, body);
        }

        /// Whatever the input, the output is canonical CRLF lines within the limit.
        #[test]
        fn output_is_always_canonical(input in proptest::collection::vec(prop_oneof![
            Just(b'\r'), Just(b'\n'), Just(b'.'), Just(0u8), Just(b'a')], 0..300)) {
            let limits = BodyLimits { max_size: 100, ..LIMITS };
            let mut d = BodyDecoder::new(limits, Framing::Dot, true);
            let mut out = Vec::new();
            let (n, _) = d.decode(&input, &mut out);
            prop_assert!(n <= input.len());
            prop_assert!(out.len() <= 100);
            prop_assert!(!out.contains(&0));
            for (i, &b) in out.iter().enumerate() {
                if b == b'\n' { prop_assert!(i > 0 && out[i - 1] == b'\r'); }
                if b == b'\r' { prop_assert!(out.get(i + 1) == Some(&b'\n')); }
            }
        }
    }
}
