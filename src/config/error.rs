//! What a refused (or merely suspicious) configuration tells the operator: where,
//! which key, what it holds, what is wrong and how to fix it, on one line each.
//!
//! ```text
//! /etc/ringwall/ringwall.toml:12:16: [limits] command_line = 100: must be at least 512 bytes (...); fix: raise it to 512 or more, the default is 2048
//! ```

use std::fmt;

/// A 1-based line and column (in characters) inside the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, counting from 1.
    pub line: usize,
    /// Column number in characters, counting from 1.
    pub column: usize,
}

/// The value a finding is about, as the operator will recognise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// Copied from the file, as written (quotes included).
    Written(String),
    /// The key is absent from the file; this is the built-in default in force.
    Default(String),
}

/// One reason the configuration was refused.
///
/// Loading collects every such reason before giving up (see [`ConfigErrors`]), so
/// one edit-and-retry round fixes them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {subject}{problem}{fix}",
    place = Place(.origin, .position),
    subject = Subject(.key.as_deref(), .value.as_ref()),
    fix = Fix(.fix))]
pub struct ConfigError {
    /// The file path (or the name given to [`super::parse`]).
    pub origin: String,
    /// Where the offending value (or key) is; `None` when it is not in the file.
    pub position: Option<Position>,
    /// The dotted key, e.g. `server.listen`; `None` for file-level problems.
    pub key: Option<String>,
    /// The value in question, when there is one to show.
    pub value: Option<Shown>,
    /// What is wrong, and why it matters.
    pub problem: String,
    /// What to change, when there is a concrete suggestion.
    pub fix: Option<String>,
}

/// Something accepted but probably unintended: loading goes on, and the caller
/// shows it (at start-up, in `check-config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The file path (or the name given to [`super::parse`]).
    pub origin: String,
    /// Where the value in question is; `None` when it is not in the file.
    pub position: Option<Position>,
    /// The dotted key, e.g. `timeouts.command`.
    pub key: String,
    /// The value in question.
    pub value: Shown,
    /// Why the value is suspicious.
    pub problem: String,
    /// What to change if the value was not deliberate.
    pub fix: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: warning: {}{}; fix: {}",
            Place(&self.origin, &self.position),
            Subject(Some(&self.key), Some(&self.value)),
            self.problem,
            self.fix
        )
    }
}

/// Every reason a configuration was refused, in file order; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Lines(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

/// `origin:line:column`, or `origin` alone when the position is unknown.
struct Place<'a>(&'a str, &'a Option<Position>);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(Position { line, column }) => write!(f, "{}:{line}:{column}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// `[table] key = value: ` as it would be written in the file, or nothing.
struct Subject<'a>(Option<&'a str>, Option<&'a Shown>);

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(key) = self.0 else { return Ok(()) };
        match key.rsplit_once('.') {
            Some((table, name)) => write!(f, "[{table}] {name}")?,
            None => write!(f, "{key}")?,
        }
        match self.1 {
            Some(Shown::Written(value)) => write!(f, " = {value}")?,
            Some(Shown::Default(value)) => {
                write!(f, " = {value} (the default: the key is not in the file)")?
            }
            None => {}
        }
        write!(f, ": ")
    }
}

/// `; fix: ...`, or nothing.
struct Fix<'a>(&'a Option<String>);

impl fmt::Display for Fix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(fix) => write!(f, "; fix: {fix}"),
            None => Ok(()),
        }
    }
}

/// One error per line, no trailing newline.
struct Lines<'a>(&'a [ConfigError]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command_line_error() -> ConfigError {
        ConfigError {
            origin: "/etc/ringwall/ringwall.toml".into(),
            position: Some(Position {
                line: 12,
                column: 10,
            }),
            key: Some("limits.command_line".into()),
            value: Some(Shown::Written("100".into())),
            problem:
                "must be at least 512 bytes (SIZE, DSN and SMTPUTF8 parameters push MAIL past 512)"
                    .into(),
            fix: Some("raise it to 512 or more, the default is 2048".into()),
        }
    }

    #[test]
    fn error_renders_place_key_value_problem_and_fix() {
        assert_eq!(
            command_line_error().to_string(),
            "/etc/ringwall/ringwall.toml:12:10: [limits] command_line = 100: must be at least 512 bytes \
             (SIZE, DSN and SMTPUTF8 parameters push MAIL past 512); fix: raise it to 512 or more, \
             the default is 2048"
        );
    }

    #[test]
    fn error_without_position_key_or_fix_stays_readable() {
        let error = ConfigError {
            origin: "ringwall.toml".into(),
            position: None,
            key: None,
            value: None,
            problem: "cannot read the file".into(),
            fix: None,
        };
        assert_eq!(error.to_string(), "ringwall.toml: cannot read the file");
    }

    #[test]
    fn defaults_and_top_level_keys_render() {
        let error = ConfigError {
            origin: "f.toml".into(),
            position: None,
            key: Some("limits.header_size".into()),
            value: Some(Shown::Default("1MiB".into())),
            problem: "too big".into(),
            fix: Some("lower it".into()),
        };
        assert_eq!(
            error.to_string(),
            "f.toml: [limits] header_size = 1MiB (the default: the key is not in the file): too big; fix: lower it"
        );
        let error = ConfigError {
            key: Some("sever".into()),
            value: None,
            ..error
        };
        assert_eq!(error.to_string(), "f.toml: sever: too big; fix: lower it");
    }

    #[test]
    fn warning_renders_with_its_label() {
        let warning = ConfigWarning {
            origin: "f.toml".into(),
            position: Some(Position {
                line: 3,
                column: 11,
            }),
            key: "timeouts.command".into(),
            value: Shown::Written("\"1min\"".into()),
            problem: "short".into(),
            fix: "raise it".into(),
        };
        assert_eq!(
            warning.to_string(),
            "f.toml:3:11: warning: [timeouts] command = \"1min\": short; fix: raise it"
        );
    }

    #[test]
    fn errors_print_one_per_line() {
        let second = ConfigError {
            position: Some(Position {
                line: 13,
                column: 1,
            }),
            ..command_line_error()
        };
        let errors = ConfigErrors(vec![command_line_error(), second]);
        let text = errors.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("/etc/ringwall/ringwall.toml:12:10: "));
        assert!(lines[1].starts_with("/etc/ringwall/ringwall.toml:13:1: "));
        assert!(!text.ends_with('\n'));
    }
}
