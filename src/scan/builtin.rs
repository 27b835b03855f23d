//! The scores and classes of the rules written in code (the message
//! analysis's findings and the header rules), beside the keyword rules that
//! rule files carry. `[scoring.scores]` overrides any of them.

use crate::policy::RuleClass;

/// A rule written in code: its name, class and default score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuiltinRule {
    /// The name verdicts carry.
    pub name: &'static str,
    /// The class policy actions act on.
    pub class: RuleClass,
    /// What it adds unless `[scoring.scores]` says otherwise.
    pub score: f64,
}

const fn rule(name: &'static str, class: RuleClass, score: f64) -> BuiltinRule {
    BuiltinRule { name, class, score }
}

/// Every built-in rule. Scores were set by reason first (what each proves),
/// then checked on the train split of the corpus with `ringwall rules
/// check`: a link whose text shows another domain and a display name
/// showing a bare domain are near zero (newsletters do both: 2 % of train
/// ham); a Reply-To elsewhere, a missing To and a bulk Precedence are 0
/// (they lean ham; an operator may score them in `[scoring.scores]`);
/// attachments that run are refused by class action, not by score.
pub const BUILTIN_RULES: &[BuiltinRule] = &[
    rule("MESSAGE_TOO_LARGE", RuleClass::Structure, 0.0),
    rule("HEADER_TOO_LONG", RuleClass::Structure, 3.0),
    rule("MIME_TOO_DEEP", RuleClass::Structure, 3.0),
    rule("TOO_MANY_PARTS", RuleClass::Structure, 3.0),
    rule("PART_TOO_LARGE", RuleClass::Structure, 0.5),
    rule("ARCHIVE_RATIO", RuleClass::Structure, 5.0),
    rule("ATTACH_EXECUTABLE", RuleClass::Executable, 5.0),
    rule("ATTACH_SCRIPT", RuleClass::Executable, 5.0),
    rule("ATTACH_DOUBLE_EXT", RuleClass::Executable, 5.0),
    rule("ATTACH_RTLO", RuleClass::Executable, 5.0),
    rule("ATTACH_ZIP_EXECUTABLE", RuleClass::Executable, 5.0),
    rule("ATTACH_ENCRYPTED_ARCHIVE", RuleClass::Archive, 3.0),
    rule("ATTACH_DISK_IMAGE", RuleClass::Archive, 3.0),
    rule("ATTACH_OFFICE_MACRO", RuleClass::Malware, 4.0),
    rule("ATTACH_PDF_JAVASCRIPT", RuleClass::Malware, 4.0),
    rule("ATTACH_TYPE_MISMATCH", RuleClass::Malware, 3.0),
    rule("LINK_TEXT_MISMATCH", RuleClass::Phishing, 0.5),
    rule("LINK_IP_HOST", RuleClass::Link, 2.0),
    rule("LINK_SHORTENER", RuleClass::Link, 1.0),
    rule("LINK_PUNYCODE", RuleClass::Link, 1.5),
    rule("GTUBE", RuleClass::Test, 1000.0),
    rule("MISSING_DATE", RuleClass::Header, 1.0),
    rule("INVALID_DATE", RuleClass::Header, 1.0),
    rule("DATE_IN_FUTURE", RuleClass::Header, 1.5),
    rule("MISSING_MESSAGE_ID", RuleClass::Header, 1.0),
    rule("INVALID_MESSAGE_ID", RuleClass::Header, 0.5),
    rule("MISSING_FROM", RuleClass::Header, 1.5),
    rule("FROM_DISPLAY_SPOOF", RuleClass::Phishing, 2.5),
    rule("FROM_DISPLAY_DOMAIN", RuleClass::Phishing, 0.5),
    rule("REPLY_TO_OTHER_DOMAIN", RuleClass::Header, 0.0),
    rule("MISSING_SUBJECT", RuleClass::Header, 0.5),
    rule("MISSING_TO", RuleClass::Header, 0.0),
    rule("TO_UNDISCLOSED", RuleClass::Header, 1.0),
    rule("RECEIVED_TOO_MANY", RuleClass::Header, 1.0),
    rule("PRECEDENCE_BULK", RuleClass::Header, 0.0),
    rule("HELO_NOT_FQDN", RuleClass::Header, 1.0),
    rule("RECEIVED_OUT_OF_ORDER", RuleClass::Header, 1.0),
    rule("RDNS_NONE", RuleClass::Header, 1.0),
    rule("RDNS_UNCONFIRMED", RuleClass::Header, 0.5),
    rule("HELO_PTR_MISMATCH", RuleClass::Header, 0.5),
];

/// The built-in rule called `name`.
pub fn builtin(name: &str) -> Option<&'static BuiltinRule> {
    BUILTIN_RULES.iter().find(|rule| rule.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::scan::message::RULES;

    #[test]
    fn every_rule_the_analysis_reports_has_a_score_and_names_are_unique() {
        for info in RULES {
            assert!(
                builtin(info.name).is_some(),
                "{} has no built-in score",
                info.name
            );
        }
        let names: HashSet<&str> = BUILTIN_RULES.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), BUILTIN_RULES.len());
    }
}
