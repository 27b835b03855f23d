//! Configuration: the TOML schema, its defaults, and loading with precise errors.
//!
//! This is the room's door. [`load`] reads a file, [`parse`] reads text; both
//! return the [`Config`] with any [`ConfigWarning`]s, or every [`ConfigError`] found
//! (syntax and type errors stop the reading at the first one; semantic checks report
//! all). Each error names the file, line and column, the key, its value, what is
//! wrong and how to fix it (invariant 4: bad input gets a clear error).
//!
//! [`EMBEDDED_DEFAULT`] is the commented file `ringwall run` uses without
//! `--config`; it shows every key with its default, so it is also the reference.

mod decode;
mod domain;
mod error;
mod locate;
mod schema;
mod units;
mod validate;

use std::io;
use std::path::Path;

pub use error::{ConfigError, ConfigErrors, ConfigWarning, Position, Shown};
pub use schema::*;
pub use units::{ByteSize, HumanDuration, UnitError};

use locate::Locator;

/// The embedded default configuration: loopback only (listen 127.0.0.1:2525,
/// upstream 127.0.0.1:10025), with a comment on every key. Used by `ringwall run`
/// without `--config`, and the starting point for an operator's own file.
pub const EMBEDDED_DEFAULT: &str = include_str!("default.toml");

/// The origin named in messages about [`EMBEDDED_DEFAULT`].
const EMBEDDED_ORIGIN: &str = "<embedded default>";

/// A configuration that passed every check, with what deserves a second look.
///
/// Warnings travel beside the config rather than being logged here, because the
/// caller decides where they go (stderr for `check-config`, the log for `run`).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The validated configuration (accepted domains lower-cased).
    pub config: Config,
    /// Accepted but probably unintended values, in file order.
    pub warnings: Vec<ConfigWarning>,
}

/// Reads and checks the configuration file at `path`; messages name the file by
/// `path` as given.
pub fn load(path: &Path) -> Result<Loaded, ConfigErrors> {
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(source) => parse(&source, &origin),
        Err(error) => Err(unreadable(origin, &error).into()),
    }
}

/// Checks configuration text; `origin` names it in messages (usually its path).
pub fn parse(source: &str, origin: &str) -> Result<Loaded, ConfigErrors> {
    let locator =
        Locator::new(source).map_err(|error| decode::syntax_error(origin, source, &error))?;
    let mut config: Config = toml::from_str(source)
        .map_err(|error| decode::schema_error(origin, source, &locator, &error, default_line))?;
    let findings = validate::validate(&mut config, origin, &locator);
    if findings.errors.is_empty() {
        Ok(Loaded {
            config,
            warnings: findings.warnings,
        })
    } else {
        Err(ConfigErrors(findings.errors))
    }
}

/// The configuration [`EMBEDDED_DEFAULT`] describes.
///
/// # Panics
///
/// If the embedded file does not pass its own checks: a build defect, which the
/// unit tests of this module rule out.
pub fn embedded_default() -> Config {
    match parse(EMBEDDED_DEFAULT, EMBEDDED_ORIGIN) {
        Ok(loaded) => loaded.config,
        Err(errors) => panic!("the embedded default configuration is invalid:\n{errors}"),
    }
}

/// The line of [`EMBEDDED_DEFAULT`] setting a dotted key, e.g. `shards = 0`.
fn default_line(dotted: &str) -> Option<String> {
    let spot = Locator::new(EMBEDDED_DEFAULT).ok()?.value(dotted)?;
    let name = dotted.rsplit('.').next()?;
    Some(format!("{name} = {}", spot.written))
}

/// Why a configuration file could not be read, in operator terms.
fn unreadable(origin: String, error: &io::Error) -> ConfigError {
    let (reason, fix) = match error.kind() {
        io::ErrorKind::NotFound => (
            "the file does not exist".to_string(),
            "check the path, or leave out --config to run the embedded default",
        ),
        io::ErrorKind::PermissionDenied => (
            "permission denied".to_string(),
            "make the file readable by the user ringwall runs as",
        ),
        io::ErrorKind::IsADirectory => (
            "it is a directory".to_string(),
            "give the path of the file itself, e.g. /etc/ringwall/ringwall.toml",
        ),
        io::ErrorKind::InvalidData => {
            ("it is not UTF-8 text".to_string(), "save the file as UTF-8")
        }
        _ => (error.to_string(), "check the path and the file"),
    };
    ConfigError {
        origin,
        position: None,
        key: None,
        value: None,
        problem: format!("cannot read the configuration: {reason}"),
        fix: Some(fix.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn errors(source: &str) -> Vec<String> {
        parse(source, "ringwall.toml")
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn embedded_default_parses_validates_and_warns_about_nothing() {
        let loaded = parse(EMBEDDED_DEFAULT, EMBEDDED_ORIGIN).unwrap();
        assert_eq!(loaded.warnings, vec![]);
        assert_eq!(loaded.config, embedded_default());
    }

    #[test]
    fn embedded_default_documents_the_built_in_defaults() {
        let mut expected = Config::default();
        expected.domains.accept = vec!["example.net".into(), "localhost".into()];
        assert_eq!(embedded_default(), expected);
        assert_eq!(
            embedded_default().server.listen,
            vec!["127.0.0.1:2525".parse().unwrap()]
        );
        assert_eq!(
            embedded_default().upstream.address,
            vec!["127.0.0.1:10025".parse().unwrap()]
        );
    }

    /// The keys a table (or each entry of an array of tables, `[[dnsbl]]`)
    /// takes, as serde lists them when it meets an unknown one.
    fn schema_keys(table: &str) -> Vec<String> {
        let probes = if table.is_empty() {
            vec!["zz_probe = 1".to_string()]
        } else {
            vec![
                format!("[{table}]\nzz_probe = 1"),
                format!("[[{table}]]\nzz_probe = 1"),
            ]
        };
        probes
            .iter()
            .map(|probe| {
                let error = toml::from_str::<Config>(probe).unwrap_err();
                let listed = error.message().split_once("expected").unwrap().1;
                listed
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .find(|keys| !keys.is_empty())
            .unwrap_or_default()
    }

    #[test]
    fn embedded_default_shows_every_key() {
        let tables = schema_keys("");
        assert_eq!(
            tables,
            [
                "server",
                "upstream",
                "domains",
                "limits",
                "timeouts",
                "log",
                "tls",
                "dns",
                "rbl",
                "greylist",
                "dnsbl",
                "dnswl",
                "admin",
                "report",
                "content",
                "scoring",
                "policy",
                "senders",
                "bayes",
                "quarantine"
            ]
        );
        let document = Locator::new(EMBEDDED_DEFAULT).unwrap();
        for table in &tables {
            for key in schema_keys(table) {
                let dotted = format!("{table}.{key}");
                // Keys unset by default (file paths, list entries) are shown as
                // a commented example.
                let example = format!("\n# {key} = ");
                assert!(
                    document.value(&dotted).is_some() || EMBEDDED_DEFAULT.contains(&example),
                    "{dotted} is missing from default.toml"
                );
            }
        }
    }

    #[test]
    fn the_commented_zone_examples_load_without_a_warning() {
        let start = EMBEDDED_DEFAULT.find("\n# [[dnsbl]]\n").unwrap() + 1;
        let example: String = EMBEDDED_DEFAULT[start..]
            .lines()
            .take_while(|line| line.starts_with('#'))
            .map(|line| format!("{}\n", line.trim_start_matches('#').trim_start()))
            .collect();
        let source = format!("[domains]\naccept = [\"example.net\"]\n{example}");
        let loaded = parse(&source, "example.toml").unwrap();
        assert_eq!(loaded.warnings, vec![]);
        let zones: Vec<&str> = (loaded.config.dnsbl.iter())
            .chain(&loaded.config.dnswl)
            .map(|zone| zone.zone.as_str())
            .collect();
        assert_eq!(
            zones,
            [
                "zen.spamhaus.org",
                "bl.spamcop.net",
                "multi.uribl.com",
                "list.dnswl.org"
            ]
        );
    }

    #[test]
    fn every_key_has_a_comment_above_it() {
        let lines: Vec<&str> = EMBEDDED_DEFAULT.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let setting = !line.is_empty() && !line.starts_with('#') && !line.starts_with('[');
            if setting {
                assert!(
                    lines[index - 1].starts_with('#'),
                    "no comment above `{line}`"
                );
            }
        }
    }

    #[test]
    fn unknown_key_is_named_with_its_line_and_the_valid_keys() {
        assert_eq!(
            errors("[server]\nlistn = \"127.0.0.1:25\"\n"),
            [
                "ringwall.toml:2:1: [server] listn: unknown key `listn`; [server] takes `listen`, `hostname`, \
              `shards`, `max_message_size`, `max_connections_per_ip`, `max_connection_rate_per_ip`, \
              `connection_rate_window`, `max_connections_per_shard`, \
              `bare_newlines`, `proxy_protocol_from`, `strict_helo_literal`; fix: correct the spelling to one of those, or remove the key"
            ]
        );
    }

    #[test]
    fn unknown_table_is_named_with_its_line() {
        assert_eq!(
            errors("# mine\n[upstraem]\naddress = \"127.0.0.1:10025\"\n"),
            [
                "ringwall.toml:2:2: upstraem: unknown key `upstraem`; the top level takes the tables `server`, \
              `upstream`, `domains`, `limits`, `timeouts`, `log`, `tls`, `dns`, `rbl`, `greylist`, `dnsbl`, \
              `dnswl`, `admin`, `report`, `content`, `scoring`, `policy`, `senders`, `bayes`, `quarantine`; \
              fix: correct the spelling to one of those, or remove the key"
            ]
        );
    }

    #[test]
    fn unknown_dotted_and_inline_keys_are_located() {
        assert_eq!(
            errors("limits.recipient = 5\n"),
            [
                "ringwall.toml:1:8: [limits] recipient: unknown key `recipient`; [limits] takes `command_line`, \
              `data_line`, `header_size`, `recipients`, `errors`, `commands`, `data_buffer_per_shard`, \
              `header_field`, `tarpit_after`, `min_data_rate`; fix: correct the spelling to one of those, or remove the key"
            ]
        );
        assert_eq!(
            errors("log = { level = \"info\", colour = true }\n"),
            [
                "ringwall.toml:1:25: [log] colour: unknown key `colour`; [log] takes `format` or `level`; fix: \
              correct the spelling to one of those, or remove the key"
            ]
        );
    }

    #[test]
    fn type_errors_carry_line_column_value_and_an_example() {
        assert_eq!(
            errors("[server]\nhostname = \"mx.example.net\"\nshards = \"four\"\n"),
            [
                "ringwall.toml:3:10: [server] shards = \"four\": wrong type: found string \"four\", expected a \
              whole number, 0 or more; fix: write it as the default file does: shards = 0"
            ]
        );
        assert_eq!(
            errors("[upstream]\nmax_connections = -3\n"),
            [
                "ringwall.toml:2:19: [upstream] max_connections = -3: invalid value: integer `-3`, expected a \
              whole number from 0 to 4294967295; fix: write it as the default file does: max_connections = 1000"
            ]
        );
        assert_eq!(
            errors("[log]\nformat = \"xml\"\n"),
            [
                "ringwall.toml:2:10: [log] format = \"xml\": unknown variant `xml`, expected `text` or `json`; \
              fix: write it as the default file does: format = \"text\""
            ]
        );
        assert_eq!(
            errors("limits = 5\n"),
            [
                "ringwall.toml:1:10: limits = 5: wrong type: found integer `5`, expected a table; fix: write it \
              as a table: a [limits] line followed by its keys"
            ]
        );
    }

    #[test]
    fn unit_errors_are_located_at_the_value() {
        assert_eq!(
            errors("[server]\nmax_message_size = \"50 MeB\"\n"),
            [
                "ringwall.toml:2:20: [server] max_message_size = \"50 MeB\": unknown size unit \"MeB\" in \
              \"50 MeB\": use B, K/KiB, M/MiB, G/GiB (powers of 1024) or KB, MB, GB (powers of 1000); \
              fix: write it as the default file does: max_message_size = \"50MiB\""
            ]
        );
        assert_eq!(
            errors("[timeouts]\ncommand = \"5 mins please\"\n")[0]
                .split(": \"5 mins")
                .next()
                .unwrap(),
            "ringwall.toml:2:11: [timeouts] command = \"5 mins please\""
        );
        assert_eq!(
            errors("[upstream]\naddress = [\"127.0.0.1:10025\",\n  \"localhost:10026\"]\n"),
            [
                "ringwall.toml:3:3: [upstream] address = \"localhost:10026\": \"localhost:10026\" is not an IP \
              address and port: host names are not resolved in the configuration; write an IP address \
              and a port, e.g. \"127.0.0.1:25\" or \"[::1]:25\"; fix: write it as the default file does: \
              address = \"127.0.0.1:10025\""
            ]
        );
    }

    #[test]
    fn a_multi_line_value_is_quoted_on_one_line() {
        assert_eq!(
            errors("[domains]\naccept = [\n  \"example.net\",\n  7,\n]\n"),
            [
                "ringwall.toml:4:3: [domains] accept = 7: wrong type: found integer `7`, expected text in \
              double quotes; fix: write it as the default file does: accept = [\"example.net\", \"localhost\"]"
            ]
        );
        assert_eq!(
            errors("[server]\nlisten = 25\nshards = [\n  1,\n  2,\n]\n"),
            [
                "ringwall.toml:2:10: [server] listen = 25: wrong type: found integer `25`, expected an address \
              such as \"127.0.0.1:25\" or a list of them; fix: write it as the default file does: listen = \
              [\"127.0.0.1:2525\"]"
            ]
        );
        assert_eq!(
            errors("[server]\nshards = [\n  1,\n  2,\n]\n"),
            [
                "ringwall.toml:2:10: [server] shards = [ 1, 2, ]: wrong type: found sequence, expected a whole \
              number, 0 or more; fix: write it as the default file does: shards = 0"
            ]
        );
    }

    #[test]
    fn syntax_errors_carry_line_column_and_the_line() {
        assert_eq!(
            errors("[server]\nhostname = mx.example.net\n"),
            [
                "ringwall.toml:2:12: invalid TOML: string values must be quoted, expected literal string, in \
              `hostname = mx.example.net`; fix: put text values in double quotes (hostname = \
              \"mx1.example.net\"); numbers, true/false and [lists] go bare"
            ]
        );
        assert_eq!(
            errors("[server]\nshards = 1\nshards = 2\n"),
            [
                "ringwall.toml:3:1: invalid TOML: duplicate key, in `shards = 2`; fix: keep one of the two; a key \
              appears once per table"
            ]
        );
        assert_eq!(
            errors("[server\n"),
            [
                "ringwall.toml:1:8: invalid TOML: unclosed table, expected `]`, in `[server`; fix: correct the \
              TOML syntax at this position (reference: https://toml.io/en/v1.0.0)"
            ]
        );
    }

    #[test]
    fn accepted_domains_come_back_lower_case() {
        let loaded = parse(
            "[domains]\naccept = [\"Example.NET\", \"xn--BCHER-kva.example\"]\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            loaded.config.domains.accept,
            ["example.net", "xn--bcher-kva.example"]
        );
    }

    #[test]
    fn an_empty_file_is_the_built_in_default_with_a_warning() {
        let loaded = parse("", "empty.toml").unwrap();
        assert_eq!(loaded.config, Config::default());
        assert_eq!(
            loaded
                .warnings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "empty.toml: warning: [domains] accept = [] (the default: the key is not in the file): no \
              recipient domain is accepted: every RCPT TO will be refused with 550 5.7.1; fix: list the \
              domains your upstream receives mail for, e.g. accept = [\"example.net\"]"
            ]
        );
    }

    /// A file in a fresh directory under the system temporary directory.
    fn scratch_file(name: &str, contents: &[u8]) -> PathBuf {
        let directory = std::env::temp_dir().join(format!(
            "ringwall-config-test-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("ringwall.toml");
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_messages() {
        let path = scratch_file("good", b"[domains]\naccept = [\"example.org\"]\n");
        assert_eq!(load(&path).unwrap().config.domains.accept, ["example.org"]);
        let path = scratch_file("bad", b"[limits]\nrecipients = 5\n");
        let message = load(&path).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!(
                "{}:2:14: [limits] recipients = 5: ",
                path.display()
            )),
            "{message}"
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn unreadable_files_say_why() {
        let missing = Path::new("/nonexistent/ringwall.toml");
        assert_eq!(
            load(missing).unwrap_err().to_string(),
            "/nonexistent/ringwall.toml: cannot read the configuration: the file does not exist; fix: check \
             the path, or leave out --config to run the embedded default"
        );
        let path = scratch_file("latin1", b"hostname = \"caf\xe9\"\n");
        assert!(load(&path).unwrap_err().to_string().ends_with(
            "cannot read the configuration: it is not UTF-8 text; fix: save the file as UTF-8"
        ));
        let directory = path.parent().unwrap();
        assert!(load(directory).unwrap_err().to_string().ends_with(
            "cannot read the configuration: it is a directory; fix: give the path of the file itself, \
             e.g. /etc/ringwall/ringwall.toml"
        ));
        std::fs::remove_dir_all(directory).unwrap();
    }
}
