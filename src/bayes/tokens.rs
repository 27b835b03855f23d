//! The tokeniser: what of an analysed message the classifier counts.
//!
//! A token is a word or a feature with the prefix of where it was found:
//! `s:` subject words, `from:`/`reply-to:`/`x-mailer:`/`user-agent:`/
//! `content-type:` header words, unprefixed body and HTML text words, `url:`
//! link domains and hosts, `att:` attachment types and extensions, and a few
//! shape tokens (`to:count:`, `part:`). Words are case-folded; words under
//! 3 or over 40 bytes are not kept, but an over-long word leaves a
//! `long:` token of its first character and length bucket (as SpamBayes'
//! `skip:` tokens: long runs are base64 or encoded junk, which is telling);
//! mostly-digit words (dates, prices, ids, years) are dropped.
//!
//! Left out on purpose: `Received`, `Date`, `Message-ID`, the recipient
//! addresses and which header fields are present. They say where and when
//! a message travelled and to whom, which in a training set keys on how it
//! was collected, not on spamminess (in the evaluation corpus: the year,
//! the collectors' rewritten addresses, the honeypot's `phishing@pot`,
//! 2002 relays against today's), and on one operator's mail they are
//! mostly the operator's own hosts and users. Only the number of
//! recipients is kept. Measured trained on train, evaluated on dev
//! (without word pairs, strength 1, min_dev 0.1, spam at p ≥ 0.9):
//! `Received` words lifted the Phishing Pot recall from 0.940 to 0.996 but
//! the SpamAssassin spam's only from 0.578 to 0.671; header-field names
//! lifted Phishing Pot to 0.996 and the SpamAssassin spam not at all, with
//! the same 2 ham false positives: evidence of the collection, not of
//! spam. Measured again in 5-fold cross-validation over train and dev
//! (branch `bayes-artefacts`, with three passes relearning what each fold's
//! table got wrong), `Received` words and field names lift the
//! classifier's best recall within 2 of 2,649 hams from 0.88 to 0.96
//! (SpamAssassin spam 0.83 to 0.91), and the tokens that do it are the
//! collectors': `phobos.labs.spamassassin.taint.org` in 125 SpamAssassin
//! spams and no ham, `zzzzason.org` 152 and 0, `pop3` 164 and 3, the month
//! `jun` 135 and 3, the field `X-Keywords` (a collector's mail client)
//! 364 and 19 (`benches/e2e/corpus_artefacts.py` counts them).
//!
//! Chinese and Japanese, written without spaces, give pairs of
//! neighbouring characters (see `unspaced`); without them a sentence was
//! one `long:` token. On the corpus (a few dozen Chinese spams, no CJK
//! ham) the classifier alone caught 6 more SpamAssassin spams.
//!
//! Word pairs (bigrams) of body and HTML text are kept: each kept word with
//! the kept word before it. Measured trained on train, evaluated on dev
//! with the default [`Classifier`](super::Classifier) at p ≥ 0.99: recall
//! 0.772 → 0.858 (SpamAssassin spam 0.647 → 0.795, Phishing Pot 0.896 →
//! 0.920), ham false positives 2 → 2 of 500; the table grows from 95,000
//! to 475,000 tokens, 70,000 once tokens seen in fewer than 3 messages are
//! pruned (with no change in what is caught). Pairs that a skipped short
//! word does not break did better than pairs that it breaks (0.799 against
//! 0.779 on the SpamAssassin spam, earlier parameters); subject pairs
//! added nothing.
//!
//! Each token is hashed (with its prefix) to a `u64` by the fixed function
//! in `hash`, into a reused `Vec<u64>`, which is then sorted and deduplicated:
//! a token counts once per message. No token text is allocated; [`names`]
//! redoes the walk keeping the text, to show what a hash stood for.

use std::collections::HashMap;
use std::io::Write;

use crate::scan::message::{Analysis, FileKind};

use super::hash::{self, TokenHash};

/// Words shorter than this (in bytes) say little and are not kept.
const MIN_WORD: usize = 3;
/// Words longer than this (in bytes) become a `long:` bucket token.
const MAX_WORD: usize = 40;
/// Tokens taken from one message, before deduplication: a bound on the
/// memory and sort time of a huge message (about 800 KiB). The first words
/// of a message are the ones its reader sees; past the bound the rest adds
/// nothing.
pub const MAX_TOKENS: usize = 100_000;

/// Header fields whose words are tokens, with the prefix they get.
const WORD_HEADERS: [(&str, &str); 5] = [
    ("from", "from:"),
    ("reply-to", "reply-to:"),
    ("x-mailer", "x-mailer:"),
    ("user-agent", "user-agent:"),
    ("content-type", "content-type:"),
];

/// The distinct tokens of one message, as hashes in ascending order. Keep
/// one per worker and [`Tokens::fill`] it per message: the buffer is reused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    hashes: Vec<u64>,
}

impl Tokens {
    /// An empty buffer.
    pub fn new() -> Tokens {
        Tokens::default()
    }

    /// The tokens of `analysis` (a new buffer; [`Tokens::fill`] reuses one).
    pub fn of(analysis: &Analysis) -> Tokens {
        let mut tokens = Tokens::new();
        tokens.fill(analysis);
        tokens
    }

    /// Replaces the buffer's tokens with those of `analysis`.
    pub fn fill(&mut self, analysis: &Analysis) {
        self.hashes.clear();
        walk(analysis, &mut Hashes(&mut self.hashes));
        self.hashes.sort_unstable();
        self.hashes.dedup();
    }

    /// The distinct token hashes, ascending.
    pub fn as_slice(&self) -> &[u64] {
        &self.hashes
    }
}

/// The text of every token of `analysis`, by hash: to show which tokens
/// decided a classification (the classifier itself only sees hashes).
/// Allocates a string per token; for explanations, not the hot path.
pub fn names(analysis: &Analysis) -> HashMap<u64, String> {
    let mut names = Names {
        texts: HashMap::new(),
        taken: 0,
    };
    walk(analysis, &mut names);
    names.texts
}

/// Where the walk's tokens go.
trait Sink {
    /// Tokens taken so far, for [`MAX_TOKENS`].
    fn len(&self) -> usize;
    /// Takes a token; `text` gives its text, for sinks that keep it.
    fn token(&mut self, hash: u64, text: impl FnOnce() -> String);

    /// Takes a token unless [`MAX_TOKENS`] were taken.
    fn take(&mut self, hash: u64, text: impl FnOnce() -> String) {
        if self.len() < MAX_TOKENS {
            self.token(hash, text);
        }
    }
}

/// The hot path's sink: hashes only.
struct Hashes<'a>(&'a mut Vec<u64>);

impl Sink for Hashes<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn token(&mut self, hash: u64, _text: impl FnOnce() -> String) {
        self.0.push(hash);
    }
}

/// The explaining sink: hashes and their text.
struct Names {
    texts: HashMap<u64, String>,
    /// Tokens taken, repeats included (as [`Hashes`] counts them).
    taken: usize,
}

impl Sink for Names {
    fn len(&self) -> usize {
        self.taken
    }

    fn token(&mut self, hash: u64, text: impl FnOnce() -> String) {
        self.taken += 1;
        self.texts.entry(hash).or_insert_with(text);
    }
}

/// Emits every token of `analysis` into `sink`, until [`MAX_TOKENS`].
fn walk(analysis: &Analysis, sink: &mut impl Sink) {
    words(sink, "s:", &analysis.subject, false);
    let mut recipients = 0;
    for header in &analysis.headers {
        let name = header.name.as_str();
        if name.eq_ignore_ascii_case("to") || name.eq_ignore_ascii_case("cc") {
            recipients += memchr::memchr_iter(b'@', header.value.as_bytes()).count();
        } else if let Some((_, prefix)) = WORD_HEADERS
            .iter()
            .find(|(field, _)| name.eq_ignore_ascii_case(field))
        {
            words(sink, prefix, &header.value, false);
        }
    }
    whole(sink, "to:count:", recipient_bucket(recipients));
    if !analysis.body_text.is_empty() {
        whole(sink, "part:", "text");
    }
    if !analysis.html_text.is_empty() {
        whole(sink, "part:", "html");
    }
    words(sink, "", &analysis.body_text, true);
    words(sink, "", &analysis.html_text, true);
    for link in &analysis.links {
        if link.ip_literal {
            whole(sink, "url:", "ip-literal");
        } else {
            whole(sink, "url:", &link.host);
        }
        if let Some(domain) = &link.registrable {
            whole(sink, "url:", domain);
        }
        if link.shortener {
            whole(sink, "url:", "shortener");
        }
    }
    for attachment in &analysis.attachments {
        whole(sink, "att:type:", &attachment.declared_type);
        if let Some(kind) = attachment.sniffed {
            whole(sink, "att:kind:", kind_name(kind));
        }
        if let Some(ext) = attachment.name.as_deref().and_then(extension) {
            whole(sink, "att:ext:", ext);
        }
    }
}

/// Emits the word tokens of `text` with `prefix`, and with `pairs` the
/// pair of each kept word and the kept word before it (words skipped as
/// short or numeric do not break a pair; an over-long word does).
fn words(sink: &mut impl Sink, prefix: &str, text: &str, pairs: bool) {
    let mut previous: Option<(u64, &str)> = None;
    for word in text
        .split(|c: char| !is_word_char(c))
        .map(|w| w.trim_matches(['\'', '-', '_', '.']))
    {
        if sink.len() >= MAX_TOKENS {
            return;
        }
        if !word.is_ascii() && word.chars().any(is_unspaced) {
            unspaced(sink, prefix, word);
            previous = None;
            continue;
        }
        match shape(word) {
            Shape::Long => {
                long(sink, prefix, word);
                previous = None;
            }
            Shape::Skipped => {}
            Shape::Kept => {
                let hash = whole(sink, prefix, word);
                if let Some((first, first_word)) = previous.filter(|_| pairs) {
                    sink.take(hash::pair(first, hash), || {
                        let mut text = prefix.to_owned();
                        push_folded(&mut text, first_word);
                        text.push(' ');
                        push_folded(&mut text, word);
                        text
                    });
                }
                previous = Some((hash, word));
            }
        }
    }
}

/// What becomes of a word.
enum Shape {
    /// Over [`MAX_WORD`]: a `long:` bucket token.
    Long,
    /// A token of its own.
    Kept,
    /// Too short, or mostly digits: nothing.
    Skipped,
}

fn shape(word: &str) -> Shape {
    if word.len() > MAX_WORD {
        Shape::Long
    } else if word.len() >= MIN_WORD && !mostly_digits(word) {
        Shape::Kept
    } else {
        Shape::Skipped
    }
}

/// Emits the tokens of a word holding characters of a script written
/// without spaces (Chinese, Japanese): a whole sentence would otherwise be
/// one `long:` token, and a Chinese message would tell the classifier
/// nothing but its length. Each run of such characters gives the pairs of
/// neighbouring characters (a lone character gives itself), as
/// SpamAssassin's and Lucene's CJK tokenisers do: most words are one or
/// two characters, so pairs catch them without a dictionary. The spaced
/// runs between them (Latin brand names, numbers) are kept as words.
fn unspaced(sink: &mut impl Sink, prefix: &str, word: &str) {
    let mut spaced_from = 0;
    let mut chars = word.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !is_unspaced(c) {
            continue;
        }
        spaced_word(sink, prefix, &word[spaced_from..start]);
        let mut end = start + c.len_utf8();
        let mut run_start = start;
        let mut alone = true;
        while let Some(&(next, d)) = chars.peek().filter(|(_, d)| is_unspaced(*d)) {
            chars.next();
            end = next + d.len_utf8();
            whole(sink, prefix, &word[run_start..end]);
            run_start = next;
            alone = false;
        }
        if alone {
            whole(sink, prefix, &word[start..end]);
        }
        spaced_from = end;
    }
    spaced_word(sink, prefix, &word[spaced_from..]);
}

/// A piece of a word between unspaced runs, kept as a word is (no pairs:
/// its neighbours are the runs' characters).
fn spaced_word(sink: &mut impl Sink, prefix: &str, word: &str) {
    let word = word.trim_matches(['\'', '-', '_', '.']);
    match shape(word) {
        Shape::Long => long(sink, prefix, word),
        Shape::Kept => {
            whole(sink, prefix, word);
        }
        Shape::Skipped => {}
    }
}

/// Characters of scripts written without spaces between words: Han
/// ideographs (with their extensions and compatibility forms), hiragana
/// and katakana. Hangul is left out: Korean puts spaces between words.
fn is_unspaced(c: char) -> bool {
    matches!(u32::from(c),
        0x3040..=0x30ff // hiragana, katakana
        | 0x31f0..=0x31ff // katakana phonetic extensions
        | 0x3400..=0x4dbf // Han extension A
        | 0x4e00..=0x9fff // Han
        | 0xf900..=0xfaff // Han compatibility ideographs
        | 0xff66..=0xff9f // half-width katakana
        | 0x20000..=0x3134f // Han extensions B to G
    )
}

/// Emits `prefix` + `value` case-folded as one token; returns its hash.
fn whole(sink: &mut impl Sink, prefix: &str, value: &str) -> u64 {
    let mut hash = TokenHash::new();
    hash.bytes(prefix.as_bytes());
    fold(value, |bytes| hash.bytes(bytes));
    let hash = hash.finish();
    sink.take(hash, || {
        let mut text = prefix.to_owned();
        push_folded(&mut text, value);
        text
    });
    hash
}

/// Emits the bucket token of an over-long word: its first character and
/// its length rounded down to tens (`long:a40`, `s:long:q120`).
fn long(sink: &mut impl Sink, prefix: &str, word: &str) {
    let first = word.chars().next().unwrap_or(' ');
    let mut buf = [0u8; 32];
    let mut cursor = &mut buf[..];
    // 4 bytes of character and at most 20 digits: always fits.
    let _ = write!(cursor, "{first}{}", word.len() / 10 * 10);
    let used = 32 - cursor.len();
    let value = str::from_utf8(&buf[..used]).unwrap_or("");
    let mut long_prefix = [0u8; 64];
    let mut cursor = &mut long_prefix[..];
    let _ = write!(cursor, "{prefix}long:");
    let used = 64 - cursor.len();
    whole(
        sink,
        str::from_utf8(&long_prefix[..used]).unwrap_or("long:"),
        value,
    );
}

/// Appends `value` lowercased to `text`, exactly as [`fold`] hashes it.
fn push_folded(text: &mut String, value: &str) {
    fold(value, |bytes| {
        text.push_str(str::from_utf8(bytes).unwrap_or(""))
    });
}

/// Feeds `text` lowercased to `out`, in pieces, without allocating.
fn fold(text: &str, mut out: impl FnMut(&[u8])) {
    let mut utf8 = [0; 4];
    for c in text.chars() {
        if c.is_ascii() {
            out(&[c.to_ascii_lowercase() as u8]);
        } else {
            for lower in c.to_lowercase() {
                out(lower.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

/// Characters that belong to a word: letters, digits, and the punctuation
/// that joins words (`don't`, `e-mail`, `example.com`, `$$$`).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '\'' | '-' | '_' | '.' | '$')
}

/// A word that is more digits than not: a number, date, id or price, which
/// would grow the database without telling spam from ham.
fn mostly_digits(word: &str) -> bool {
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    digits * 2 > word.len()
}

/// The number of recipients, bucketed.
fn recipient_bucket(n: usize) -> &'static str {
    match n {
        0 => "0",
        1 => "1",
        2..=5 => "few",
        _ => "many",
    }
}

/// A file name's last extension, when it has a short one.
fn extension(name: &str) -> Option<&str> {
    let name = name.trim_end_matches(['.', ' ']);
    let (_, ext) = name.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 10).then_some(ext)
}

/// A stable name for a sniffed file kind (its token text must not change).
fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Pe => "pe",
        FileKind::Elf => "elf",
        FileKind::MachO => "macho",
        FileKind::Ole2 => "ole2",
        FileKind::Msi => "msi",
        FileKind::Lnk => "lnk",
        FileKind::Zip => "zip",
        FileKind::Ooxml => "ooxml",
        FileKind::Jar => "jar",
        FileKind::Rar => "rar",
        FileKind::SevenZip => "7z",
        FileKind::Gzip => "gzip",
        FileKind::Cab => "cab",
        FileKind::Iso => "iso",
        FileKind::DiskImage => "disk-image",
        FileKind::Pdf => "pdf",
        FileKind::Rtf => "rtf",
        FileKind::Script => "script",
        FileKind::Html => "html",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::message::{ScanLimits, analyse, fixtures};

    fn names_of(raw: &[u8]) -> Vec<String> {
        let mut names: Vec<String> = names(&analyse(raw, &ScanLimits::default()))
            .into_values()
            .collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn tokens_carry_where_they_were_found() {
        let raw = format!(
            "From: \"Prize Desk\" <desk@Winners.example>\r\n\
             To: a@example.net, b@example.net\r\n\
             Received: from relay.example.org by mx\r\n\
             Subject: FREE Money\r\n\
             X-Mailer: BulkMail 9\r\n\
             \r\n\
             Click here on 2024-01-01 to claim 1000000 at https://www.Prizes.example.com/x\r\n\
             {}\r\n",
            "a".repeat(45)
        );
        let names = names_of(raw.as_bytes());
        for expected in [
            "s:free",
            "s:money",
            "from:prize",
            "from:desk",
            "from:winners.example",
            "x-mailer:bulkmail",
            "to:count:few",
            "part:text",
            "click",
            "here",
            "click here",
            "here claim",
            "url:www.prizes.example.com",
            "url:example.com",
            "long:a40",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} not in {names:?}"
            );
        }
        // Numbers, short words, Received and recipients are not tokens.
        for absent in ["2024-01-01", "1000000", "on", "to", "relay.example.org"] {
            assert!(
                !names.iter().any(|n| n.ends_with(absent)),
                "{absent} in {names:?}"
            );
        }
    }

    #[test]
    fn attachments_give_type_kind_and_extension() {
        let raw =
            fixtures::message_with_attachment("Invoice.PDF", "application/pdf", b"%PDF-1.4\n");
        let names = names_of(&raw);
        for expected in ["att:type:application/pdf", "att:kind:pdf", "att:ext:pdf"] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} not in {names:?}"
            );
        }
    }

    #[test]
    fn a_token_counts_once_and_the_buffer_is_reused() {
        let raw = b"Subject: hi\r\n\r\nspam spam spam spam\r\n";
        let analysis = analyse(raw, &ScanLimits::default());
        let mut tokens = Tokens::new();
        tokens.fill(&analysis);
        // s:hi is too short: spam, spam spam, part:text and to:count:0.
        assert_eq!(tokens.as_slice().len(), 4);
        tokens.fill(&Analysis::default());
        assert_eq!(tokens.as_slice().len(), 1, "only to:count:0");
    }

    #[test]
    fn case_folding_is_unicode_aware() {
        let analysis = Analysis {
            body_text: "ÜBER über Straße STRASSE".into(),
            ..Analysis::default()
        };
        let names: Vec<String> = names(&analysis).into_values().collect();
        assert!(names.contains(&"über".to_string()), "{names:?}");
        assert!(names.contains(&"straße".to_string()), "{names:?}");
        assert!(names.contains(&"strasse".to_string()), "{names:?}");
        assert_eq!(Tokens::of(&analysis).as_slice().len(), names.len());
    }

    #[test]
    fn chinese_and_japanese_give_character_pairs() {
        let analysis = Analysis {
            body_text: "免费发票 iPhone手机 の 2024年 ok中".into(),
            ..Analysis::default()
        };
        let mut names: Vec<String> = names(&analysis).into_values().collect();
        names.sort_unstable();
        // Pairs of neighbours; a lone character is its own token; the
        // spaced pieces between runs are words (short or numeric ones are
        // dropped as anywhere else); no pair spans a space.
        assert_eq!(
            names,
            [
                "iphone",
                "part:text",
                "to:count:0",
                "の",
                "中",
                "免费",
                "发票",
                "年",
                "手机",
                "费发"
            ]
        );
        assert_eq!(Tokens::of(&analysis).as_slice().len(), names.len());
    }

    #[test]
    fn a_huge_message_is_cut_at_max_tokens() {
        let analysis = Analysis {
            body_text: (0..MAX_TOKENS).map(|i| format!("w{i:x}z ")).collect(),
            ..Analysis::default()
        };
        let tokens = Tokens::of(&analysis);
        assert!(tokens.as_slice().len() <= MAX_TOKENS);
        assert!(tokens.as_slice().len() > MAX_TOKENS / 2);
    }
}
