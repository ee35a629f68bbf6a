//! Helpers of the command-line tests: the binary run from the repository's root, its output,
//! and a folder's files.

// Each test file uses the helpers it needs; the others would be reported unused.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ecxsim ARGS`, run from the repository's root (scenario paths relative to it).
pub fn ecxsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// Runs ecxsim, which must succeed; its standard output.
pub fn succeeds(args: &[&str]) -> String {
    let out = ecxsim(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file of a folder with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}
