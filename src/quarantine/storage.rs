//! The file-system operations the store makes, behind a trait so a test
//! double can record their order: the promise "fsync the file, rename it,
//! fsync the directory, and only then 250" is checked against the calls the
//! store really makes, not against a reading of its code.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// What the store needs from a file system.
pub trait Storage: Send + Sync + 'static {
    /// Creates `path` (it must not exist) holding `bytes`; not yet durable.
    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Makes a written file's contents durable (fsync).
    fn sync_file(&self, path: &Path) -> io::Result<()>;
    /// Renames `from` to `to` (same file system).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes a directory's entries durable (fsync on the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Creates `dir`; true when it did not exist before.
    fn create_dir(&self, dir: &Path) -> io::Result<bool>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Octets available to ringwall on the file system holding `dir`.
    fn free_space(&self, dir: &Path) -> io::Result<u64>;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsStorage;

impl Storage for FsStorage {
    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(bytes)
    }

    fn sync_file(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn create_dir(&self, dir: &Path) -> io::Result<bool> {
        match std::fs::create_dir(dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn free_space(&self, dir: &Path) -> io::Result<u64> {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `path` is a valid C string and `stat` is large enough for
        // statvfs to fill; it is read only after a successful call.
        let rc = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: statvfs returned 0, so it filled the struct.
        let stat = unsafe { stat.assume_init() };
        Ok(stat.f_bavail * stat.f_frsize)
    }
}

#[cfg(test)]
pub(crate) mod recording {
    //! The recording double: a real file system underneath, every call
    //! written down in order.

    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    use super::{FsStorage, Storage};

    /// One call the store made.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Op {
        Write(PathBuf),
        SyncFile(PathBuf),
        Rename(PathBuf, PathBuf),
        SyncDir(PathBuf),
        CreateDir(PathBuf),
        Remove(PathBuf),
    }

    /// Records each call, then does it on the real file system; `free`
    /// pins the free space it reports, to test the floor.
    #[derive(Debug, Default)]
    pub struct Recording {
        pub ops: Mutex<Vec<Op>>,
        pub free: Mutex<Option<u64>>,
    }

    impl Recording {
        pub fn ops(&self) -> Vec<Op> {
            self.ops.lock().unwrap().clone()
        }

        fn note(&self, op: Op) {
            self.ops.lock().unwrap().push(op);
        }
    }

    impl Storage for Recording {
        fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
            self.note(Op::Write(path.into()));
            FsStorage.write_new(path, bytes)
        }
        fn sync_file(&self, path: &Path) -> std::io::Result<()> {
            self.note(Op::SyncFile(path.into()));
            FsStorage.sync_file(path)
        }
        fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
            self.note(Op::Rename(from.into(), to.into()));
            FsStorage.rename(from, to)
        }
        fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
            self.note(Op::SyncDir(dir.into()));
            FsStorage.sync_dir(dir)
        }
        fn create_dir(&self, dir: &Path) -> std::io::Result<bool> {
            let created = FsStorage.create_dir(dir)?;
            if created {
                self.note(Op::CreateDir(dir.into()));
            }
            Ok(created)
        }
        fn remove(&self, path: &Path) -> std::io::Result<()> {
            self.note(Op::Remove(path.into()));
            FsStorage.remove(path)
        }
        fn free_space(&self, dir: &Path) -> std::io::Result<u64> {
            match *self.free.lock().unwrap() {
                Some(free) => Ok(free),
                None => FsStorage.free_space(dir),
            }
        }
    }
}
