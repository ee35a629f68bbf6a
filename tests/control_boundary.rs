//! The control logic is production code: it may see the backend traits and types, never the
//! simulator (world, engine, race, backend::sim).

use std::fs;
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/control exists") {
        let path = entry.expect("readable").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn control_imports_only_the_backend_traits() {
    let mut files = vec![];
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/control"),
        &mut files,
    );
    assert!(files.len() >= 5);
    let allowed = ["crate::backend", "crate::control", "crate::time"];
    for file in files {
        let text = fs::read_to_string(&file).expect("readable");
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            assert!(
                allowed.iter().any(|a| path.starts_with(a))
                    && !path.starts_with("crate::backend::sim"),
                "{} imports {path}",
                file.display()
            );
        }
        for forbidden in ["super::super", "ecxsim::", "tokio"] {
            assert!(
                !text.contains(forbidden),
                "{} mentions {forbidden}",
                file.display()
            );
        }
    }
}
