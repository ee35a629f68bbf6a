//! Helpers of the command-line tests: the binary run from the repository's root, its output,
//! and a folder's files.

// Each test file uses the helpers it needs; the others would be reported unused.
#![allow(dead_code)]

pub mod tls;

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

/// A loopback port nothing listens on, for a server a test starts later (often in another
/// process). It is taken below the kernel's ephemeral range, so a socket bound to port 0 in
/// the meantime (a stub server, a client connection) can never be handed the same port; the
/// process id and a counter spread concurrent tests and test binaries over the range.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000; // up to 31,999: below 32,768, Linux's default ephemeral start
    let base = std::process::id().wrapping_mul(7919);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + base.wrapping_add(n.wrapping_mul(97)) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
