//! `analyse` over the shared dev corpus (read in place, never copied into
//! the project): every message analyses, and what it finds is plausible.

use std::fs;
use std::path::Path;

use super::*;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/dev");

fn messages(label: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(CORPUS).join(label);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| fs::read(e.ok()?.path()).ok())
        .collect()
}

#[test]
fn the_dev_corpus_analyses() {
    let (ham, spam) = (messages("ham"), messages("spam"));
    if ham.is_empty() && spam.is_empty() {
        // The corpus lives beside the project in shared/; a checkout
        // without it has nothing to check here.
        return;
    }
    let limits = ScanLimits::default();
    let spam_analyses: Vec<Analysis> = spam.iter().map(|m| analyse(m, &limits)).collect();
    let ham_analyses: Vec<Analysis> = ham.iter().map(|m| analyse(m, &limits)).collect();

    let with_links = spam_analyses.iter().filter(|a| !a.links.is_empty()).count();
    assert!(
        with_links * 10 >= spam.len() * 8,
        "only {with_links} of {} spams have a link",
        spam.len()
    );
    let with_text = spam_analyses
        .iter()
        .chain(&ham_analyses)
        .filter(|a| !a.body_text.trim().is_empty() || !a.html_text.trim().is_empty())
        .count();
    assert!(
        with_text * 100 >= (spam.len() + ham.len()) * 98,
        "{with_text} with text"
    );
    let with_subject = ham_analyses
        .iter()
        .filter(|a| !a.subject.is_empty())
        .count();
    assert!(
        with_subject * 100 >= ham.len() * 95,
        "{with_subject} hams with a subject"
    );
    let attachments: usize = spam_analyses
        .iter()
        .chain(&ham_analyses)
        .map(|a| a.attachments.len())
        .sum();
    assert!(attachments > 0, "no attachment found in the whole corpus");
    // No ham is a bomb.
    for a in &ham_analyses {
        assert!(
            !a.findings
                .iter()
                .any(|f| matches!(f.rule, "MIME_TOO_DEEP" | "TOO_MANY_PARTS" | "ARCHIVE_RATIO")),
            "{:?}",
            a.findings
        );
    }
}
