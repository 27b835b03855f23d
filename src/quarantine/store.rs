//! The durable store: one file per message under `msg/xx/yy/` (two levels of
//! 256 directories chosen by a hash of the id, so no directory grows past
//! what a file system lists quickly), written through `tmp/` on the same
//! file system.
//!
//! A batch is committed as a group: every file is written and fsynced, then
//! renamed into place, then each directory that received a file is fsynced
//! once. A message counts as kept only after its directory's fsync; the
//! shard answers 250 only then (design invariant 1). One directory fsync
//! serves every message of the batch that landed there, which is what makes
//! millions a day cheap.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::record::{self, Record, RecordError};
use super::storage::{FsStorage, Storage};

/// The longest id accepted (ours are 24 characters).
const MAX_ID: usize = 64;

/// Why the store could not keep, find or read a message.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The file system is below `[quarantine] min_free_space`, or full.
    #[error("quarantine storage is full (below [quarantine] min_free_space or out of space)")]
    Full,
    /// An id that cannot be ours (it would name a path outside the store).
    #[error("{0:?} is not a quarantine id")]
    BadId(String),
    /// No message with that id.
    #[error("no quarantined message {0}")]
    NotFound(String),
    /// The file is there but damaged.
    #[error("quarantined message {id}: {source}")]
    Damaged {
        /// Its id.
        id: String,
        /// What is wrong.
        source: RecordError,
    },
    /// Any other file-system failure.
    #[error("quarantine storage {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl StoreError {
    fn io(path: &Path, source: io::Error) -> StoreError {
        if source.raw_os_error() == Some(libc::ENOSPC)
            || source.raw_os_error() == Some(libc::EDQUOT)
        {
            StoreError::Full
        } else {
            StoreError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// True for a string that can be a quarantine id: ASCII letters and digits
/// only, so it can never climb out of the store as a path.
pub fn is_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The message files of one quarantine directory.
#[derive(Debug)]
pub struct Store<S: Storage = FsStorage> {
    root: PathBuf,
    storage: S,
    min_free: u64,
}

impl Store<FsStorage> {
    /// Opens (creating) the store at `root`; temp files a crash left behind
    /// are removed (they were never acknowledged).
    pub fn open(root: &Path, min_free: u64) -> Result<Store<FsStorage>, StoreError> {
        Store::with_storage(root, min_free, FsStorage)
    }
}

impl<S: Storage> Store<S> {
    /// Opens the store at `root` over `storage`.
    pub fn with_storage(root: &Path, min_free: u64, storage: S) -> Result<Store<S>, StoreError> {
        for dir in [root.to_path_buf(), root.join("msg"), root.join("tmp")] {
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        }
        let tmp = root.join("tmp");
        let entries = std::fs::read_dir(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        Ok(Store {
            root: root.to_path_buf(),
            storage,
            min_free,
        })
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The storage underneath (the tests' recording double).
    #[cfg(test)]
    pub(crate) fn storage(&self) -> &S {
        &self.storage
    }

    /// Where message `id` lives.
    fn path_of(&self, id: &str) -> PathBuf {
        let hash = crc32c::crc32c(id.as_bytes());
        self.root
            .join("msg")
            .join(format!("{:02x}", hash & 0xff))
            .join(format!("{:02x}", (hash >> 8) & 0xff))
            .join(id)
    }

    /// Keeps every message of `batch` durably, as one group commit; each
    /// message's own outcome, in order. `Ok` means the file and its directory
    /// entry are on stable storage.
    pub fn commit(&self, batch: &[(&Record, &[u8])]) -> Vec<Result<(), StoreError>> {
        let mut outcomes: Vec<Result<(), StoreError>> = Vec::with_capacity(batch.len());
        let files: Vec<Vec<u8>> = batch
            .iter()
            .map(|(record, message)| record::encode(record, message))
            .collect();
        let needed: u64 = files.iter().map(|f| f.len() as u64).sum();
        match self.storage.free_space(&self.root) {
            Ok(free) if free >= self.min_free.saturating_add(needed) => {}
            Ok(_) => return batch.iter().map(|_| Err(StoreError::Full)).collect(),
            Err(e) => {
                return batch
                    .iter()
                    .map(|_| Err(StoreError::io(&self.root, clone_io(&e))))
                    .collect();
            }
        }
        // 1. Each file written and fsynced under tmp/.
        let tmp = self.root.join("tmp");
        for ((record, _), file) in batch.iter().zip(&files) {
            let temp = tmp.join(&record.id);
            let written = self
                .storage
                .write_new(&temp, file)
                .and_then(|()| self.storage.sync_file(&temp));
            if let Err(e) = written {
                let _ = self.storage.remove(&temp);
                outcomes.push(Err(StoreError::io(&temp, e)));
            } else {
                outcomes.push(Ok(()));
            }
        }
        // 2. Renamed into place (directories made as needed).
        let mut dirs_to_sync: BTreeSet<PathBuf> = BTreeSet::new();
        for ((record, _), outcome) in batch.iter().zip(outcomes.iter_mut()) {
            if outcome.is_err() {
                continue;
            }
            let temp = tmp.join(&record.id);
            let target = self.path_of(&record.id);
            let placed = self
                .make_parents(&target, &mut dirs_to_sync)
                .and_then(|()| self.storage.rename(&temp, &target));
            match placed {
                Ok(()) => {
                    dirs_to_sync.insert(parent(&target));
                }
                Err(e) => {
                    let _ = self.storage.remove(&temp);
                    *outcome = Err(StoreError::io(&target, e));
                }
            }
        }
        // 3. Each directory that changed fsynced once, deepest first (a new
        // directory's entry in its parent is made durable after it).
        let mut failed_dirs: Vec<(PathBuf, io::Error)> = Vec::new();
        for dir in dirs_to_sync.iter().rev() {
            if let Err(e) = self.storage.sync_dir(dir) {
                failed_dirs.push((dir.clone(), e));
            }
        }
        if !failed_dirs.is_empty() {
            for ((record, _), outcome) in batch.iter().zip(outcomes.iter_mut()) {
                let target = self.path_of(&record.id);
                let fails = failed_dirs.iter().find(|(dir, _)| target.starts_with(dir));
                if let (Some((dir, e)), Ok(())) = (fails, &outcome) {
                    *outcome = Err(StoreError::io(dir, clone_io(e)));
                }
            }
        }
        outcomes
    }

    /// Creates the hashed directories above `target` that are missing; each
    /// one created puts its parent on the list of directories to fsync.
    fn make_parents(&self, target: &Path, dirs: &mut BTreeSet<PathBuf>) -> io::Result<()> {
        let leaf = parent(target);
        let middle = parent(&leaf);
        for dir in [&middle, &leaf] {
            if self.storage.create_dir(dir)? {
                dirs.insert(parent(dir));
                dirs.insert(dir.clone());
            }
        }
        Ok(())
    }

    /// The whole file of message `id`.
    pub fn read(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        if !is_id(id) {
            return Err(StoreError::BadId(id.to_string()));
        }
        let path = self.path_of(id);
        std::fs::read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound(id.to_string()),
            _ => StoreError::io(&path, e),
        })
    }

    /// The record and message of `id`.
    pub fn load(&self, id: &str) -> Result<(Record, Vec<u8>), StoreError> {
        let file = self.read(id)?;
        let (record, message) = record::decode(&file).map_err(|source| StoreError::Damaged {
            id: id.to_string(),
            source,
        })?;
        Ok((record, message.to_vec()))
    }

    /// Removes message `id` durably (its directory fsynced).
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        if !is_id(id) {
            return Err(StoreError::BadId(id.to_string()));
        }
        let path = self.path_of(id);
        match self.storage.remove(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(id.to_string()));
            }
            Err(e) => return Err(StoreError::io(&path, e)),
        }
        let dir = parent(&path);
        self.storage
            .sync_dir(&dir)
            .map_err(|e| StoreError::io(&dir, e))
    }

    /// The ids of every message on disk (the truth the index is rebuilt
    /// from).
    pub fn ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let msg = self.root.join("msg");
        for first in read_dir(&msg)? {
            for second in read_dir(&first)? {
                for file in read_dir(&second)? {
                    if let Some(name) = file.file_name().and_then(|n| n.to_str())
                        && is_id(name)
                    {
                        ids.push(name.to_string());
                    }
                }
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    Ok(entries.flatten().map(|e| e.path()).collect())
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn clone_io(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::sample;
    use super::super::storage::recording::{Op, Recording};
    use super::*;

    fn store(dir: &Path) -> Store<Recording> {
        Store::with_storage(dir, 0, Recording::default()).unwrap()
    }

    #[test]
    fn every_file_is_fsynced_renamed_and_its_directory_fsynced_before_commit_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let records: Vec<Record> = (0..20).map(|i| sample(&format!("id{i:04}"))).collect();
        let batch: Vec<(&Record, &[u8])> = records.iter().map(|r| (r, &b"msg"[..])).collect();
        let outcomes = store.commit(&batch);
        assert!(outcomes.iter().all(Result::is_ok));
        let ops = store.storage().ops();
        let at = |wanted: &Op| ops.iter().position(|op| op == wanted).unwrap();
        for record in &records {
            let temp = dir.path().join("tmp").join(&record.id);
            let target = store.path_of(&record.id);
            let write = at(&Op::Write(temp.clone()));
            let sync = at(&Op::SyncFile(temp.clone()));
            let rename = at(&Op::Rename(temp, target.clone()));
            let dir_sync = at(&Op::SyncDir(parent(&target)));
            assert!(
                write < sync && sync < rename && rename < dir_sync,
                "{ops:?}"
            );
            // A directory made for it is itself made durable in its parent.
            if let Some(created) = ops
                .iter()
                .position(|op| *op == Op::CreateDir(parent(&target)))
            {
                let parent_sync = at(&Op::SyncDir(parent(&parent(&target))));
                assert!(created < parent_sync);
            }
        }
        // Group commit: one fsync per directory, however many files it got.
        let dir_syncs: Vec<&Op> = ops
            .iter()
            .filter(|op| matches!(op, Op::SyncDir(_)))
            .collect();
        let distinct: BTreeSet<&Op> = dir_syncs.iter().copied().collect();
        assert_eq!(dir_syncs.len(), distinct.len());
        let (back, message) = store.load("id0007").unwrap();
        assert_eq!(back, records[7]);
        assert_eq!(message, b"msg");
        assert_eq!(store.ids().unwrap().len(), 20);
    }

    #[test]
    fn below_the_free_space_floor_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let recording = Recording::default();
        *recording.free.lock().unwrap() = Some(1_000);
        let store = Store::with_storage(dir.path(), 1_000, recording).unwrap();
        let record = sample("abc");
        let outcomes = store.commit(&[(&record, b"x")]);
        assert!(matches!(outcomes[0], Err(StoreError::Full)));
        assert!(store.storage().ops().is_empty());
    }

    #[test]
    fn ids_that_could_be_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        for id in ["../etc", "a/b", "", "a.b", &"a".repeat(65)] {
            assert!(matches!(store.read(id), Err(StoreError::BadId(_))), "{id}");
            assert!(matches!(store.remove(id), Err(StoreError::BadId(_))));
        }
        assert!(matches!(
            store.read("nothere"),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn remove_fsyncs_the_directory_and_forgets_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let record = sample("gone1");
        assert!(store.commit(&[(&record, b"x")])[0].is_ok());
        store.remove("gone1").unwrap();
        let ops = store.storage().ops();
        assert_eq!(
            ops[ops.len() - 1],
            Op::SyncDir(parent(&store.path_of("gone1")))
        );
        assert!(store.ids().unwrap().is_empty());
        assert!(matches!(
            store.remove("gone1"),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn stale_temp_files_are_cleared_at_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::write(dir.path().join("tmp").join("half"), b"RWQ1 9").unwrap();
        let _store = store(dir.path());
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }
}
