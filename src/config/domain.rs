//! Domain name syntax for `server.hostname` and `domains.accept`.
//!
//! Names must be ASCII (internationalised names in their A-label `xn--` form, as
//! SMTP compares them): labels of 1 to 63 letters, digits and hyphens, not starting
//! or ending with a hyphen, at most 253 characters in all, no final dot, and a last
//! label that is not all digits (that would be an IP address). No IDNA crate is
//! pulled in for the configuration: a non-ASCII name is refused with the way to get
//! its A-label.

/// Why a name is not a usable domain, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Flaw {
    /// What is wrong with the name.
    pub(super) problem: String,
    /// What to write instead.
    pub(super) fix: String,
}

/// Checks `name` against the rules above (case is not a flaw).
pub(super) fn check(name: &str) -> Result<(), Flaw> {
    let flaw = |problem: String, fix: String| Err(Flaw { problem, fix });
    if name.is_empty() {
        return flaw(
            "the domain name is empty".into(),
            "write a domain name such as example.net".into(),
        );
    }
    if !name.is_ascii() {
        return flaw(
            format!("\"{name}\" is not ASCII: domains are compared in their ASCII (A-label) form"),
            format!("write its A-label (xn--...) form, which `idn2 '{name}'` prints"),
        );
    }
    if let Some((_, domain)) = name.rsplit_once('@') {
        return flaw(
            format!("\"{name}\" is a mail address, not a domain name"),
            format!("write only the part after the @: \"{domain}\""),
        );
    }
    if name.contains(char::is_whitespace) {
        let joined: String = name.split_whitespace().collect();
        return flaw(
            format!("\"{name}\" contains a space"),
            format!("remove the spaces: \"{joined}\""),
        );
    }
    if let Some(stripped) = name.strip_suffix('.') {
        return flaw(
            format!("\"{name}\" ends with a dot"),
            format!("write it without the final dot: \"{stripped}\""),
        );
    }
    if name.len() > 253 {
        return flaw(
            format!(
                "the domain name is {} characters long; the limit is 253",
                name.len()
            ),
            "use a shorter name".into(),
        );
    }
    let labels: Vec<&str> = name.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            let mended: Vec<&str> = labels
                .iter()
                .copied()
                .filter(|label| !label.is_empty())
                .collect();
            return flaw(
                format!("\"{name}\" has an empty label (a leading dot or two dots in a row)"),
                format!("remove the extra dot: \"{}\"", mended.join(".")),
            );
        }
        if label.len() > 63 {
            return flaw(
                format!(
                    "the label \"{label}\" is {} characters long; the limit is 63",
                    label.len()
                ),
                "use a shorter name".into(),
            );
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return flaw(
                format!("\"{name}\" contains '{bad}', which a domain name cannot hold"),
                "use only letters, digits, hyphens and dots".into(),
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return flaw(
                format!("the label \"{label}\" starts or ends with a hyphen"),
                "remove the hyphen at the edge of the label".into(),
            );
        }
    }
    if labels
        .last()
        .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
    {
        return flaw(
            format!(
                "\"{name}\" ends in an all-digit label: it is an IP address, not a domain name"
            ),
            "write a domain name; addresses are not domains here".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for name in [
            "localhost",
            "example.net",
            "MX1.Example.NET",
            "xn--bcher-kva.example",
            "a-b.c0",
            "1a.example",
        ] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
        assert_eq!(check(&format!("{}.net", "a".repeat(63))), Ok(()));
    }

    #[test]
    fn bad_names_are_explained() {
        let long = format!("{}.net", vec!["a".repeat(60); 5].join("."));
        let long_label = format!("{}.net", "a".repeat(64));
        let table: Vec<(&str, &str, &str)> = vec![
            (
                "",
                "the domain name is empty",
                "write a domain name such as example.net",
            ),
            (
                "bücher.example",
                "\"bücher.example\" is not ASCII: domains are compared in their ASCII (A-label) form",
                "write its A-label (xn--...) form, which `idn2 'bücher.example'` prints",
            ),
            (
                "postmaster@example.net",
                "\"postmaster@example.net\" is a mail address, not a domain name",
                "write only the part after the @: \"example.net\"",
            ),
            (
                "exa mple.net",
                "\"exa mple.net\" contains a space",
                "remove the spaces: \"example.net\"",
            ),
            (
                "example.net.",
                "\"example.net.\" ends with a dot",
                "write it without the final dot: \"example.net\"",
            ),
            (
                ".example.net",
                "\".example.net\" has an empty label (a leading dot or two dots in a row)",
                "remove the extra dot: \"example.net\"",
            ),
            (
                "a..b",
                "\"a..b\" has an empty label",
                "remove the extra dot: \"a.b\"",
            ),
            (
                &long,
                "the domain name is 308 characters long; the limit is 253",
                "use a shorter name",
            ),
            (
                &long_label,
                "is 64 characters long; the limit is 63",
                "use a shorter name",
            ),
            (
                "*.example.net",
                "\"*.example.net\" contains '*', which a domain name cannot hold",
                "use only letters, digits, hyphens and dots",
            ),
            (
                "mail_1.example",
                "contains '_'",
                "use only letters, digits, hyphens and dots",
            ),
            (
                "-mx.example",
                "the label \"-mx\" starts or ends with a hyphen",
                "remove the hyphen",
            ),
            (
                "mx-.example",
                "the label \"mx-\" starts or ends with a hyphen",
                "remove the hyphen",
            ),
            (
                "192.0.2.1",
                "\"192.0.2.1\" ends in an all-digit label: it is an IP address, not a domain name",
                "write a domain name",
            ),
        ];
        for (name, problem, fix) in table {
            let flaw = check(name).unwrap_err();
            assert!(flaw.problem.contains(problem), "{name}: {}", flaw.problem);
            assert!(flaw.fix.starts_with(fix), "{name}: {}", flaw.fix);
        }
    }
}
