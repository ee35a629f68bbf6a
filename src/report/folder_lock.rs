//! One writer per output folder: an advisory lock on a hidden file beside the folder
//! (`.NAME.lock`), held from before the first file is written until the set is published.
//! A second run aimed at the same folder is refused at once instead of mixing its files with
//! the first's. The kernel drops the lock when the process dies, so a killed run never leaves
//! the folder locked; the file itself is removed on release.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct FolderLock {
    path: PathBuf,
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{} is held by another process", .0.display())]
    Busy(PathBuf),
    #[error("cannot lock {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl FolderLock {
    /// Takes the lock at `path` without waiting.
    pub fn acquire(path: &Path) -> Result<FolderLock, LockError> {
        let io_error = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(io_error)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(LockError::Busy(path.to_path_buf())),
                Err(TryLockError::Error(e)) => return Err(io_error(e)),
            }
            // The previous holder removes the file when it is done; if it did so after we
            // opened it, our lock is on a file no one else will open: try again.
            if still_at(&file, path) {
                return Ok(FolderLock {
                    path: path.to_path_buf(),
                    _file: file,
                });
            }
        }
    }
}

#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at(_file: &File, _path: &Path) -> bool {
    true
}

impl Drop for FolderLock {
    /// Removed while still locked (then the file closes), so no one can lock a file that is
    /// about to disappear and believe the folder theirs.
    fn drop(&mut self) {
        if cfg!(unix) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".out.lock");
        let first = FolderLock::acquire(&path).unwrap();
        assert!(matches!(
            FolderLock::acquire(&path),
            Err(LockError::Busy(_))
        ));
        drop(first);
        assert!(!path.exists());
        let again = FolderLock::acquire(&path).unwrap();
        drop(again);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
