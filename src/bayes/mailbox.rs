//! Reading training mail: a maildir (`cur/` and `new/`), an mbox file, a
//! single message file, or a directory of message files, one at a time so
//! that a mailbox of any size is read in the memory of its largest message.
//!
//! An mbox is split at `From ` lines that start the file or follow an empty
//! line, and `>From ` lines are unescaped as mboxrd writes them (one `>`
//! removed from `>+From `). The `From ` separator line itself is not part of
//! the message: an MTA never sees it.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Why a mailbox could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// The path, or a file or directory in it, could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
}

/// Where a message came from, to name it in reports (a false positive is
/// looked up by its file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// A file holding one message.
    File(&'a Path),
    /// The `index`th message (from 1) of an mbox file.
    Mbox {
        /// The mbox file.
        path: &'a Path,
        /// Its position in the file, from 1.
        index: usize,
    },
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Mbox { path, index } => write!(f, "{}#{index}", path.display()),
        }
    }
}

/// Calls `each` with every message under `path`, in a fixed order (file
/// names sorted), keeping at most `max_message` octets of each (the scan
/// analyses no more: `ScanLimits::message_size`). A directory with `cur/`
/// or `new/` is a maildir (`tmp/` is not delivered yet and is skipped);
/// another directory holds one message per file (names starting with `.`
/// skipped, subdirectories ignored); a file that starts with `From ` is an
/// mbox; any other file is one message. Returns how many messages were
/// read.
pub fn for_each_message(
    path: &Path,
    max_message: usize,
    mut each: impl FnMut(Origin<'_>, &[u8]),
) -> Result<usize, MailboxError> {
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    if !meta.is_dir() {
        return file(path, max_message, &mut each);
    }
    let maildir: Vec<PathBuf> = ["cur", "new"]
        .iter()
        .map(|sub| path.join(sub))
        .filter(|sub| sub.is_dir())
        .collect();
    let dirs = if maildir.is_empty() {
        vec![path.to_path_buf()]
    } else {
        maildir
    };
    let mut count = 0;
    let mut buf = Vec::new();
    for dir in dirs {
        for file in files_in(&dir)? {
            buf.clear();
            read_bounded(&file, max_message, &mut buf)?;
            each(Origin::File(&file), &buf);
            count += 1;
        }
    }
    Ok(count)
}

/// The regular files of `dir` not starting with `.`, sorted by name.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>, MailboxError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let hidden = entry.file_name().as_encoded_bytes().starts_with(b".");
        let is_file = entry.file_type().map_err(|e| io_error(dir, e))?.is_file();
        if is_file && !hidden {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Reads one message file, or every message of an mbox file.
fn file(
    path: &Path,
    max_message: usize,
    each: &mut impl FnMut(Origin<'_>, &[u8]),
) -> Result<usize, MailboxError> {
    let mut reader = BufReader::new(File::open(path).map_err(|e| io_error(path, e))?);
    let is_mbox = reader
        .fill_buf()
        .map_err(|e| io_error(path, e))?
        .starts_with(b"From ");
    if is_mbox {
        return mbox(reader, path, max_message, each);
    }
    let mut buf = Vec::new();
    reader
        .take(max_message as u64)
        .read_to_end(&mut buf)
        .map_err(|e| io_error(path, e))?;
    each(Origin::File(path), &buf);
    Ok(1)
}

/// Splits an mbox stream into messages, line by line.
fn mbox(
    mut reader: impl BufRead,
    path: &Path,
    max_message: usize,
    each: &mut impl FnMut(Origin<'_>, &[u8]),
) -> Result<usize, MailboxError> {
    let mut line = Vec::new();
    let mut message = Vec::new();
    let mut index = 0;
    let mut after_blank = true;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        if after_blank && line.starts_with(b"From ") {
            if index > 0 {
                each(Origin::Mbox { path, index }, trim_separator(&message));
            }
            index += 1;
            message.clear();
            after_blank = false;
            continue;
        }
        after_blank = matches!(line.as_slice(), b"\n" | b"\r\n");
        let unescaped = if is_escaped_from(&line) {
            &line[1..]
        } else {
            &line[..]
        };
        let room = max_message.saturating_sub(message.len());
        message.extend_from_slice(&unescaped[..unescaped.len().min(room)]);
    }
    if index > 0 {
        each(Origin::Mbox { path, index }, trim_separator(&message));
    }
    Ok(index)
}

/// `>From `, `>>From `, ...: a line mboxrd escaped.
fn is_escaped_from(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    quotes > 0 && line[quotes..].starts_with(b"From ")
}

/// Drops the empty line mbox puts before the next `From ` line: it belongs
/// to the format, not to the message.
fn trim_separator(message: &[u8]) -> &[u8] {
    message
        .strip_suffix(b"\r\n\r\n")
        .map(|m| &message[..m.len() + 2])
        .or_else(|| {
            message
                .strip_suffix(b"\n\n")
                .map(|m| &message[..m.len() + 1])
        })
        .unwrap_or(message)
}

/// Reads at most `max` octets of `path` into `buf`.
fn read_bounded(path: &Path, max: usize, buf: &mut Vec<u8>) -> Result<(), MailboxError> {
    File::open(path)
        .and_then(|f| f.take(max as u64).read_to_end(buf))
        .map(drop)
        .map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, source: io::Error) -> MailboxError {
    MailboxError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(path: &Path, max: usize) -> Result<Vec<(String, Vec<u8>)>, MailboxError> {
        let mut out = Vec::new();
        for_each_message(path, max, |origin, msg| {
            out.push((origin.to_string(), msg.to_vec()));
        })?;
        Ok(out)
    }

    fn bodies(messages: &[(String, Vec<u8>)]) -> Vec<String> {
        messages
            .iter()
            .map(|(_, m)| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    #[test]
    fn a_maildir_reads_cur_and_new_not_tmp() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        fs::write(dir.path().join("new/2.host"), "Subject: b\n\nB\n").unwrap();
        fs::write(dir.path().join("cur/1.host:2,S"), "Subject: a\n\nA\n").unwrap();
        fs::write(dir.path().join("tmp/3.host"), "Subject: c\n\nC\n").unwrap();
        let got = collect(dir.path(), 1 << 20).unwrap();
        assert_eq!(bodies(&got), ["Subject: a\n\nA\n", "Subject: b\n\nB\n"]);
        assert!(got[0].0.ends_with("cur/1.host:2,S"), "{}", got[0].0);
    }

    #[test]
    fn a_directory_of_files_is_read_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.eml"), "two").unwrap();
        fs::write(dir.path().join("a.eml"), "one").unwrap();
        fs::write(dir.path().join(".hidden"), "no").unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        let got = collect(dir.path(), 1 << 20).unwrap();
        assert_eq!(bodies(&got), ["one", "two"]);
    }

    #[test]
    fn an_mbox_splits_at_from_lines_and_unescapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("box");
        fs::write(
            &path,
            "From a@example.com Mon Jan  1 00:00:00 2024\n\
             Subject: one\n\
             \n\
             >From the start\n\
             >>From deeper\n\
             From inside a paragraph is not a separator\n\
             \n\
             From b@example.com Mon Jan  1 00:00:01 2024\r\n\
             Subject: two\r\n\
             \r\n\
             body\r\n",
        )
        .unwrap();
        let got = collect(&path, 1 << 20).unwrap();
        assert_eq!(
            bodies(&got),
            [
                "Subject: one\n\nFrom the start\n>From deeper\n\
                 From inside a paragraph is not a separator\n",
                "Subject: two\r\n\r\nbody\r\n",
            ]
        );
        assert!(got[1].0.ends_with("box#2"), "{}", got[1].0);
    }

    #[test]
    fn a_single_file_is_one_message_and_messages_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.eml");
        fs::write(&path, "Subject: x\n\n0123456789").unwrap();
        let got = collect(&path, 14).unwrap();
        assert_eq!(bodies(&got), ["Subject: x\n\n01"]);
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = collect(&missing, 10).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
