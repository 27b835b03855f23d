//! The one part of reporting that touches files: the logs read line by
//! line into a [`Tally`], for `ringwall report` and the admin listener's
//! `/report` alike.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::SystemTime;

use super::{DnsLists, Report, ReportError, Tally};

/// Where log lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// Standard input (`--log -`, or no log named): `journalctl -u ringwall
    /// -o cat | ringwall report`.
    Stdin,
    /// A log file, read from its start.
    File(PathBuf),
}

impl LogSource {
    /// `-` is standard input; anything else a file.
    pub fn named(path: PathBuf) -> LogSource {
        if path.as_os_str() == "-" {
            LogSource::Stdin
        } else {
            LogSource::File(path)
        }
    }

    fn name(&self) -> String {
        match self {
            LogSource::Stdin => "-".to_string(),
            LogSource::File(path) => path.display().to_string(),
        }
    }
}

/// The report of `sources`, entries logged from `since` to `until`.
pub fn build(
    sources: &[LogSource],
    lists: DnsLists,
    since: SystemTime,
    until: SystemTime,
) -> Result<Report, ReportError> {
    let mut tally = Tally::new(since, until, lists);
    for source in sources {
        let error = |source_error| ReportError::Read {
            path: source.name(),
            source: source_error,
        };
        match source {
            LogSource::Stdin => count(std::io::stdin().lock(), &mut tally),
            LogSource::File(path) => {
                count(BufReader::new(File::open(path).map_err(error)?), &mut tally)
            }
        }
        .map_err(error)?;
    }
    Ok(tally.finish())
}

/// Counts every line of `input`; one that is not UTF-8 counts as skipped.
fn count(mut input: impl BufRead, tally: &mut Tally) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        match std::str::from_utf8(&line) {
            Ok(text) => tally.line(text.trim_end_matches(['\n', '\r'])),
            Err(_) => tally.unreadable(),
        }
    }
}
