//! Every TOML example in docs/scenario.md parses (and every `toml,invalid` one is rejected), so
//! the user reference cannot drift from the parser.

use std::path::Path;

fn blocks(doc: &str, fence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match &mut current {
            None if line.trim_end() == fence => current = Some(String::new()),
            Some(text) if line.trim_end() == "```" => {
                out.push(std::mem::take(text));
                current = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_example_in_the_reference_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/scenario.md")).unwrap();
    // Relative files in examples are resolved from docs/.
    let path = root.join("docs/example.toml");
    let valid = blocks(&doc, "```toml");
    assert!(valid.len() >= 3, "found {} examples", valid.len());
    for example in &valid {
        if let Err(e) = ecxsim::scenario::parse(&path, example.clone()) {
            panic!("{e}\nin example:\n{example}");
        }
    }
    let invalid = blocks(&doc, "```toml,invalid");
    assert!(invalid.len() >= 2);
    for example in &invalid {
        let err = ecxsim::scenario::parse(&path, example.clone()).expect_err(example);
        // The documented message follows the example.
        let shown = format!("{}", err).replace(&path.display().to_string(), "...");
        assert!(
            doc.contains(&format!("gives `{shown}`")),
            "undocumented message: {shown}"
        );
    }
}

#[test]
fn every_example_scenario_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            ecxsim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            count += 1;
        }
    }
    assert!(count >= 1);
}

/// The README's `ecxsim analytic` example is the output for a scenario that ships, so anyone
/// can reproduce it.
#[test]
fn the_readme_analytic_example_is_reproducible() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("$ ecxsim analytic scenarios/exponential.toml")
        .expect("the example names its scenario");
    let example = &readme[start..];
    let example = &example[..example.find("$ ecxsim run").unwrap()];
    let scenario = ecxsim::scenario::load(&root.join("scenarios/exponential.toml")).unwrap();
    let report = ecxsim::analysis::exact::exact_report(&scenario).unwrap();
    let actual = ecxsim::report::table::render(&report);
    for line in example.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        assert!(
            actual.contains(line),
            "README line {line:?} not in:\n{actual}"
        );
    }
}

/// The README's commands are `cargo run --release -- ...`: with more than one binary in the
/// package, cargo runs one only if the manifest names it.
#[test]
fn the_readme_cargo_run_commands_pick_the_simulator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- compare"));
    let manifest: toml_edit::DocumentMut = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let binaries = manifest
        .get("bin")
        .and_then(|b| b.as_array_of_tables())
        .map_or(1, |b| b.len());
    let default_run = manifest["package"]
        .get("default-run")
        .and_then(|d| d.as_str());
    assert!(
        binaries == 1 || default_run == Some("ecxsim"),
        "{binaries} binaries and default-run {default_run:?}"
    );
}
