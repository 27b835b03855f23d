//! Properties of the tokeniser: it never panics on any message (nor on
//! Chinese and Japanese mixed with Latin words), its tokens
//! are distinct and ascending, a token's text is bounded, and the hot
//! path's hashes are exactly the explaining walk's.

use proptest::prelude::*;

use super::tokens::{MAX_TOKENS, Tokens, names};
use crate::scan::message::{Analysis, Header, ScanLimits, analyse};

/// Longest word token text: the longest prefix (`content-type:long:`) and
/// a 40-byte word, which case folding can grow by half (`İ`, 2 bytes,
/// folds to `i̇`, 3).
const MAX_WORD_TOKEN: usize = "content-type:long:".len() + 60;

fn check(analysis: &Analysis) {
    let tokens = Tokens::of(analysis);
    let hashes = tokens.as_slice();
    assert!(
        hashes.windows(2).all(|w| w[0] < w[1]),
        "sorted and distinct"
    );
    assert!(hashes.len() <= MAX_TOKENS);
    let names = names(analysis);
    let mut named: Vec<u64> = names.keys().copied().collect();
    named.sort_unstable();
    assert_eq!(named, hashes, "both walks emit the same tokens");
    for name in names.values() {
        let word = !name.starts_with("url:") && !name.starts_with("att:");
        assert!(!word || name.len() <= MAX_WORD_TOKEN, "{name}");
    }
}

proptest! {
    #[test]
    fn any_octets_tokenise(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&analyse(&raw, &ScanLimits::default()));
    }

    #[test]
    fn any_text_tokenises(
        subject in "\\PC{0,80}",
        from in "\\PC{0,80}",
        body in "\\PC{0,400}",
        html in "(\\PC|[ .'$-]){0,400}",
    ) {
        let analysis = Analysis {
            subject,
            headers: vec![Header { name: "From".into(), value: from }],
            body_text: body,
            html_text: html,
            ..Analysis::default()
        };
        check(&analysis);
    }

    #[test]
    fn unspaced_scripts_mixed_with_words_tokenise(
        body in "([一-龥ぁ-んァ-ン]|[a-zA-Z0-9 .'_-]){0,400}",
    ) {
        check(&Analysis { body_text: body, ..Analysis::default() });
    }
}
