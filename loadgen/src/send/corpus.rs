//! `--messages PATH`: real messages from a directory tree or an mbox file.
//!
//! Synthetic bodies exercise the protocol; real mail exercises the scanner
//! (MIME trees, encodings, URLs). The files are read once, before the run,
//! in a fixed order so that two runs send the same sequence.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why messages could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// What was being read.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Nothing to send was found.
    #[error("no messages in {}: expected a directory of message files or an mbox file", path.display())]
    Empty {
        /// The path given.
        path: PathBuf,
    },
}

/// The raw messages at `path`: every non-empty regular file under a
/// directory (recursively, sorted by path), the messages of an mbox file
/// (one starting with `From `), or a single message file.
pub(crate) fn load(path: &Path) -> Result<Vec<Vec<u8>>, CorpusError> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| CorpusError::Read { path, source }
    };
    let metadata = fs::metadata(path).map_err(read_error(path))?;
    let messages = if metadata.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files)?;
        files.sort();
        let mut messages = Vec::with_capacity(files.len());
        for file in files {
            messages.push(fs::read(&file).map_err(read_error(&file))?);
        }
        messages
    } else {
        let content = fs::read(path).map_err(read_error(path))?;
        if content.starts_with(b"From ") {
            split_mbox(&content)
        } else {
            vec![content]
        }
    };
    let messages: Vec<Vec<u8>> = messages.into_iter().filter(|m| !m.is_empty()).collect();
    if messages.is_empty() {
        return Err(CorpusError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(messages)
}

/// Adds the regular files under `dir` to `files`.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let error = |source| CorpusError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(error)? {
        let entry = entry.map_err(error)?;
        let path = entry.path();
        // Follows symbolic links, as `cat` would.
        let metadata = fs::metadata(&path).map_err(|source| CorpusError::Read {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            walk(&path, files)?;
        } else if metadata.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// The messages of an mbox: each starts after a `From ` line that begins
/// the file or follows an empty line; the separator line is dropped, and so
/// is the empty line that precedes the next one. Body lines escaped as
/// `>From ` are sent as stored.
pub(crate) fn split_mbox(content: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = Vec::new();
    let mut previous_empty = true;
    let mut position = 0;
    while position < content.len() {
        let end = memchr::memchr(b'\n', &content[position..])
            .map_or(content.len(), |at| position + at + 1);
        let line = &content[position..end];
        if previous_empty && line.starts_with(b"From ") {
            starts.push((position, end));
        }
        previous_empty = matches!(line, b"\n" | b"\r\n");
        position = end;
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &(_, body_start))| {
            let end = starts.get(i + 1).map_or(content.len(), |&(next, _)| next);
            let message = &content[body_start..end];
            let message = if i + 1 < starts.len() {
                message
                    .strip_suffix(b"\r\n")
                    .or_else(|| message.strip_suffix(b"\n"))
                    .unwrap_or(message)
            } else {
                message
            };
            message.to_vec()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_is_split_on_from_lines_after_empty_lines() {
        let mbox =
            b"From a@x Thu Jan  1 00:00:00 1970\nSubject: one\n\nbody\nFrom here on, body\n\n\
                     From b@x Thu Jan  1 00:00:00 1970\nSubject: two\n\n>From escaped\n";
        let messages = split_mbox(mbox);
        assert_eq!(
            messages,
            vec![
                b"Subject: one\n\nbody\nFrom here on, body\n".to_vec(),
                b"Subject: two\n\n>From escaped\n".to_vec(),
            ]
        );
    }

    #[test]
    fn loads_directories_recursively_in_order_and_mbox_files() {
        let dir =
            std::env::temp_dir().join(format!("ringwall-loadgen-corpus-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("b")).unwrap();
        fs::write(dir.join("b/2.eml"), "Subject: 2\n\nx\n").unwrap();
        fs::write(dir.join("a.eml"), "Subject: 1\n\nx\n").unwrap();
        fs::write(dir.join("empty.eml"), "").unwrap();
        let messages = load(&dir).unwrap();
        assert_eq!(
            messages,
            vec![b"Subject: 1\n\nx\n".to_vec(), b"Subject: 2\n\nx\n".to_vec()]
        );

        let mbox = dir.join("mail.mbox");
        fs::write(&mbox, "From a Thu Jan  1 00:00:00 1970\nA: 1\n\nx\n\nFrom b Thu Jan  1 00:00:00 1970\nA: 2\n\ny\n").unwrap();
        assert_eq!(load(&mbox).unwrap().len(), 2);
        assert!(matches!(
            load(&dir.join("empty.eml")),
            Err(CorpusError::Empty { .. })
        ));
        assert!(matches!(
            load(&dir.join("missing")),
            Err(CorpusError::Read { .. })
        ));
        fs::remove_dir_all(dir).unwrap();
    }
}
