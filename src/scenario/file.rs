//! Reading the files a scenario names (the scenario itself, empirical CSVs) with a bound: only
//! regular files, and at most [`MAX_FILE_BYTES`], so that `/dev/zero` is not read whole and a
//! named pipe does not block `validate` forever.

use std::io::Read;
use std::path::Path;

/// The largest scenario or empirical-distribution file read: 16 MiB (a scenario is a few kB,
/// a CSV of a million observed durations about 10 MB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The bytes of a regular file of at most [`MAX_FILE_BYTES`]; otherwise why not, in words
/// (without the path, which the caller puts where its messages put it).
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    // Checked before opening: opening a named pipe blocks until a writer appears.
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("this is a folder, not a file".to_string());
    }
    if !meta.is_file() {
        return Err("not a regular file (a device, named pipe or socket is not read)".to_string());
    }
    let too_big = || {
        format!(
            "larger than {} MiB, the most ecxsim reads from one file",
            MAX_FILE_BYTES / (1024 * 1024)
        )
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    // The file may grow after the check: read one byte past the bound to tell.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_folders_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_bounded(dir.path())
            .unwrap_err()
            .contains("is a folder"));
        #[cfg(unix)]
        assert!(read_bounded(Path::new("/dev/zero"))
            .unwrap_err()
            .contains("not a regular file"));
    }

    #[test]
    fn files_past_the_bound_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(read_bounded(&path)
            .unwrap_err()
            .contains("larger than 16 MiB"));
        file.set_len(3).unwrap();
        assert_eq!(read_bounded(&path).unwrap().len(), 3);
    }
}
