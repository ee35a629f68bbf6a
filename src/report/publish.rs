//! An output folder is published as one set. A command writes every file (CSV, JSON, charts,
//! report.html) into a hidden staging folder beside the target, `.NAME.new-PID.tmp`; once all
//! are written, the staging folder takes the target's place in one rename (Linux swaps the two
//! with `renameat2(RENAME_EXCHANGE)`) and the old set is deleted. A failure or an interruption
//! before that drops the staging folder: the previous complete set stays as it was. A process
//! killed outright (SIGKILL, a power cut) may leave a hidden staging or old folder behind; the
//! next run into the same folder removes it, or puts the old set back if the target is missing.
//!
//! Publishing replaces the whole folder, so it is refused when the folder holds anything
//! ecxsim does not write: a user's own files are never deleted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::folder_lock::{FolderLock, LockError};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "--out {}: another ecxsim run is writing to this folder (it holds {}); \
         wait for it to finish or choose another folder",
        .target.display(),
        .lock.display()
    )]
    Busy { target: PathBuf, lock: PathBuf },
    #[error("--out {} is not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error(
        "--out {} holds files ecxsim does not write ({}); each run replaces the whole folder, \
         so choose a new or empty folder",
        .target.display(),
        .entries.join(", ")
    )]
    Foreign {
        target: PathBuf,
        entries: Vec<String>,
    },
    #[error("{what} {}: {source}", .target.display())]
    Io {
        target: PathBuf,
        what: &'static str,
        source: io::Error,
    },
}

/// A set being written: files go to `dir()`, `publish` makes them the target's contents.
#[derive(Debug)]
pub struct Publication {
    target: PathBuf,
    staging: PathBuf,
    published: bool,
    _lock: FolderLock,
}

/// `parent` as a folder to list (the current folder for a bare name).
fn in_folder(parent: &Path) -> &Path {
    if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    }
}

/// Takes the output folder's lock (see `folder_lock`).
fn lock(parent: &Path, name: &str, target: &Path) -> Result<FolderLock, PublishError> {
    FolderLock::acquire(&parent.join(format!(".{name}.lock"))).map_err(|e| match e {
        LockError::Busy(lock) => PublishError::Busy {
            target: target.to_path_buf(),
            lock,
        },
        LockError::Io { source, .. } => PublishError::Io {
            target: target.to_path_buf(),
            what: "cannot create the output folder",
            source,
        },
    })
}

/// The folder that holds `target` and `target`'s name in it, with the parent created.
fn locate(target: &Path) -> Result<(PathBuf, String), PublishError> {
    let io_error = |what, source| PublishError::Io {
        target: target.to_path_buf(),
        what,
        source,
    };
    // A symbolic link to a folder publishes into the folder it points to.
    let resolved = match fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(target).map_err(|e| io_error("cannot follow the link", e))?
        }
        _ => target.to_path_buf(),
    };
    let (parent, name) = match (resolved.parent(), resolved.file_name()) {
        (Some(parent), Some(name)) => (parent.to_path_buf(), name.to_os_string()),
        // `.`, `..` or a root: name the folder by its real path.
        _ => {
            let real = fs::canonicalize(&resolved)
                .map_err(|e| io_error("cannot find the output folder", e))?;
            match (real.parent(), real.file_name()) {
                (Some(parent), Some(name)) => (parent.to_path_buf(), name.to_os_string()),
                _ => return Err(PublishError::NotAFolder(target.to_path_buf())),
            }
        }
    };
    // A bare name stays relative (`out`, not `./out`), as the user wrote it.
    if !parent.as_os_str().is_empty() {
        fs::create_dir_all(&parent).map_err(|e| io_error("cannot create the output folder", e))?;
    }
    Ok((parent, name.to_string_lossy().into_owned()))
}

/// Whether ecxsim writes a file of this name (its outputs, or its own temporary files).
fn written_by_ecxsim(name: &str) -> bool {
    // `.jsonl`: the accumulators of a partial result (`--shard`).
    const EXTENSIONS: [&str; 7] = [".json", ".jsonl", ".csv", ".png", ".svg", ".html", ".tmp"];
    EXTENSIONS.iter().any(|e| name.ends_with(e))
}

/// Refuses a target that is a file or holds entries ecxsim did not write.
fn check_replaceable(target: &Path) -> Result<(), PublishError> {
    let meta = match fs::metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(PublishError::Io {
                target: target.to_path_buf(),
                what: "cannot read the output folder",
                source,
            })
        }
    };
    if !meta.is_dir() {
        return Err(PublishError::NotAFolder(target.to_path_buf()));
    }
    let entries = fs::read_dir(target).map_err(|source| PublishError::Io {
        target: target.to_path_buf(),
        what: "cannot read the output folder",
        source,
    })?;
    let mut foreign = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if !is_file || !written_by_ecxsim(&name) {
            foreign.push(if is_file { name } else { format!("{name}/") });
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    if foreign.len() > 5 {
        let more = foreign.len() - 5;
        foreign.truncate(5);
        foreign.push(format!("and {more} more"));
    }
    Err(PublishError::Foreign {
        target: target.to_path_buf(),
        entries: foreign,
    })
}

/// What a killed publisher left beside the target: staging folders are dropped; an old set
/// that had been moved aside goes back if the target is missing.
fn recover(parent: &Path, name: &str, target: &Path) {
    let Ok(entries) = fs::read_dir(in_folder(parent)) else {
        return;
    };
    let staging = format!(".{name}.new-");
    let old = format!(".{name}.old-");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if !file.ends_with(".tmp") {
            continue;
        }
        let path = entry.path();
        if file.starts_with(&staging) {
            let _ = fs::remove_dir_all(&path);
        } else if file.starts_with(&old) {
            if target.exists() {
                let _ = fs::remove_dir_all(&path);
            } else {
                let _ = fs::rename(&path, target);
            }
        }
    }
}

impl Publication {
    /// Checks that `target` may take a new set, locks it against other runs, and opens an empty
    /// staging folder. Nothing in `target` changes until `publish`.
    pub fn begin(target: &Path) -> Result<Publication, PublishError> {
        let (parent, name) = locate(target)?;
        let target = parent.join(&name);
        let lock = lock(&parent, &name, &target)?;
        recover(&parent, &name, &target);
        check_replaceable(&target)?;
        let staging = parent.join(format!(".{name}.new-{}.tmp", std::process::id()));
        fs::create_dir(&staging).map_err(|source| PublishError::Io {
            target: target.clone(),
            what: "cannot create a staging folder beside the output folder",
            source,
        })?;
        Ok(Publication {
            target,
            staging,
            published: false,
            _lock: lock,
        })
    }

    /// Only checks what `begin` would refuse (for commands that simulate before they write).
    pub fn check(target: &Path) -> Result<(), PublishError> {
        let (parent, name) = locate(target)?;
        let target = parent.join(&name);
        let lock = lock(&parent, &name, &target)?;
        let checked = check_replaceable(&target);
        drop(lock);
        checked
    }

    /// Where the set's files are written.
    pub fn dir(&self) -> &Path {
        &self.staging
    }

    /// The folder the set is published to.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Makes the written files the target's whole contents, replacing the previous set.
    pub fn publish(mut self) -> io::Result<()> {
        sync_dir(&self.staging)?;
        if fs::symlink_metadata(&self.target).is_err() {
            fs::rename(&self.staging, &self.target)?;
        } else if exchange(&self.staging, &self.target).is_ok() {
            // The staging path now holds the previous set.
            let _ = fs::remove_dir_all(&self.staging);
        } else {
            self.move_aside_and_rename()?;
        }
        self.published = true;
        if let Some(parent) = self.target.parent() {
            let _ = sync_dir(in_folder(parent));
        }
        Ok(())
    }

    /// Without an atomic exchange: the old set is renamed aside, the new one renamed in, the
    /// old one deleted. A crash between the two renames is repaired by `recover`.
    fn move_aside_and_rename(&self) -> io::Result<()> {
        let name = self
            .target
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let old = self
            .target
            .with_file_name(format!(".{name}.old-{}.tmp", std::process::id()));
        fs::rename(&self.target, &old)?;
        if let Err(e) = fs::rename(&self.staging, &self.target) {
            let _ = fs::rename(&old, &self.target);
            return Err(e);
        }
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }
}

impl Drop for Publication {
    /// An unpublished set leaves nothing behind.
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Makes a folder's entries durable (renames and new files in it).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn publishes_the_new_set_in_place_of_the_old() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("summary.json"), "old").unwrap();
        fs::write(target.join("old-chart.png"), "old").unwrap();
        let set = Publication::begin(&target).unwrap();
        fs::write(set.dir().join("summary.json"), "new").unwrap();
        // Nothing visible until published.
        assert_eq!(names(&target), ["old-chart.png", "summary.json"]);
        set.publish().unwrap();
        assert_eq!(names(&target), ["summary.json"]);
        assert_eq!(
            fs::read_to_string(target.join("summary.json")).unwrap(),
            "new"
        );
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn an_abandoned_set_leaves_the_old_one_and_no_trace() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("summary.json"), "old").unwrap();
        let set = Publication::begin(&target).unwrap();
        fs::write(set.dir().join("summary.json"), "new").unwrap();
        drop(set);
        assert_eq!(
            fs::read_to_string(target.join("summary.json")).unwrap(),
            "old"
        );
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn a_new_target_is_created_and_a_second_writer_refused() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("a/b/out");
        let set = Publication::begin(&target).unwrap();
        assert!(matches!(
            Publication::begin(&target),
            Err(PublishError::Busy { .. })
        ));
        assert!(matches!(
            Publication::check(&target),
            Err(PublishError::Busy { .. })
        ));
        fs::write(set.dir().join("race.csv"), "x").unwrap();
        set.publish().unwrap();
        assert_eq!(names(&target), ["race.csv"]);
        assert_eq!(names(&root.path().join("a/b")), ["out"]);
    }

    #[test]
    fn refuses_folders_with_other_files_and_plain_files() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("mine");
        fs::create_dir_all(target.join("notes")).unwrap();
        fs::write(target.join("thesis.tex"), "mine").unwrap();
        fs::write(target.join("report.html"), "old").unwrap();
        let err = Publication::begin(&target).unwrap_err().to_string();
        assert!(err.contains("notes/, thesis.tex"), "{err}");
        assert!(target.join("thesis.tex").exists());
        let file = root.path().join("file.csv");
        fs::write(&file, "x").unwrap();
        assert!(matches!(
            Publication::check(&file),
            Err(PublishError::NotAFolder(_))
        ));
    }

    #[test]
    fn recovers_what_a_killed_publisher_left() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        // Killed between moving the old set aside and renaming the new one in.
        let old = root.path().join(".out.old-1.tmp");
        fs::create_dir(&old).unwrap();
        fs::write(old.join("summary.json"), "old").unwrap();
        fs::create_dir(root.path().join(".out.new-1.tmp")).unwrap();
        Publication::begin(&target).unwrap();
        assert_eq!(
            fs::read_to_string(target.join("summary.json")).unwrap(),
            "old"
        );
        assert_eq!(names(root.path()), ["out"]);
    }
}
