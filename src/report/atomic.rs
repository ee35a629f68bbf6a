//! Files that appear whole or not at all: written to a hidden temporary file in the same
//! folder, flushed and synced, then renamed over the final name. An interrupted run leaves
//! no half-written result under a real name.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct AtomicFile {
    temp: PathBuf,
    target: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let dir = target.parent().unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
        let temp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temp)?;
        Ok(AtomicFile {
            temp,
            target: target.to_path_buf(),
            writer: Some(BufWriter::new(file)),
        })
    }

    /// Makes the file visible under its final name; if that fails (a full disk, a folder in
    /// the way), the temporary file is removed and the target left as it was.
    pub fn commit(mut self) -> io::Result<()> {
        let writer = self.writer.take().expect("committed once");
        let committed = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|()| fs::rename(&self.temp, &self.target));
        if committed.is_err() {
            let _ = fs::remove_file(&self.temp);
        }
        committed
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    /// An abandoned file (an error before commit) leaves nothing behind.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes a whole file atomically.
pub fn write(target: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(target)?;
    file.write_all(contents)?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_on_commit_and_cleans_up_when_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("summary.json");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"{}").unwrap();
        assert!(!target.exists());
        f.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{}");

        let other = dir.path().join("replications.csv");
        let mut g = AtomicFile::create(&other).unwrap();
        g.write_all(b"partial").unwrap();
        drop(g);
        assert!(!other.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_commit_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty folder where the file should go: the rename fails, even for root.
        let target = dir.path().join("report.html");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"<html>").unwrap();
        assert!(f.commit().is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.html"]);
    }
}
