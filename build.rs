//! The build's identity, `ECXSIM_BUILD`: a hash of the sources and of the locked dependencies.
//! Partial results of a sharded run record it, and `ecxsim merge` refuses to combine shards
//! made by different builds: a change to the model changes the numbers without changing the
//! package version.

use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    files.sort();
    files.extend([PathBuf::from("Cargo.toml"), PathBuf::from("Cargo.lock")]);
    // FNV-1a, 64 bits: it tells builds apart, it does not need to resist forgery.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        let name = file.to_string_lossy().replace('\\', "/");
        let contents = fs::read(file).unwrap_or_default();
        for &byte in name.as_bytes().iter().chain([0u8].iter()).chain(&contents) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=ECXSIM_BUILD={hash:016x}");
}
