//! The scenario files as regression tests: `ecxsim test` over scenarios/ (the six test-plan
//! cases of the Cluster-Set documentation's test plan and the regression scenarios), an impossible expectation
//! that must fail, and `ecxsim race` finding the double-failover race in the as-shipped
//! scripts and not in the coordinated ones.

mod common;

use std::path::Path;
use std::process::Output;

use common::{ecxsim, root};

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn every_scenario_with_expectations_passes() {
    let out = ecxsim(&["test", "scenarios"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("19 scenarios;"), "{t}");
    assert!(!t.contains("FAIL"), "{t}");
}

#[test]
fn the_test_plan_passes_with_the_coordinated_control_too() {
    let out = ecxsim(&["test", "scenarios/test_plan", "--control", "coordinated"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("6 scenarios; expectations: 22 passed, 0 failed"),
        "{t}"
    );
}

#[test]
fn an_impossible_expectation_fails_with_exit_1_and_a_trace() {
    let out = ecxsim(&["test", "tests/data/impossible.toml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAIL at end     vm_running_on == c2s2"), "{t}");
    assert!(t.contains("observed: running on c1s2)"), "{t}");
    assert!(t.contains("trace around"), "{t}");
    assert!(t.contains("group failover-cluster1"), "{t}");
}

#[test]
fn a_folder_without_tests_is_a_usage_error() {
    let out = ecxsim(&["test", "docs"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

fn race(control: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = ecxsim(&[
        "race",
        "scenarios/two_cluster_replica.toml",
        "--control",
        control,
        "--from",
        "-20",
        "--to",
        "40",
        "--step",
        "10",
        "--runs",
        "100",
        "--no-sensitivity",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let csv = std::fs::read_to_string(dir.path().join("race.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 7, "{csv}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_race_breaks_the_as_shipped_scripts() {
    let report = race("as-shipped");
    let offsets = report["offsets"].as_array().unwrap();
    assert_eq!(offsets.len(), 7);
    for o in offsets {
        for key in ["offset_s", "runs", "broken", "end_states"] {
            assert!(!o[key].is_null(), "{key}");
        }
    }
    let broken: u64 = offsets.iter().map(|o| o["broken"].as_u64().unwrap()).sum();
    assert!(broken > 0, "the random sweep found no broken run");
    let ex = &report["exhaustive"];
    assert!(ex["interleavings"].as_u64().unwrap() > 1000);
    assert!(ex["broken"].as_u64().unwrap() > 0);
}

/// The race's size with each mock assumption at its extremes, every share with its interval:
/// the slow failure of an unreachable call (Windows' TCP connect timeout) breaks the
/// published scripts far more often than a refused connection.
#[test]
fn the_race_reports_its_sensitivity_to_the_mock_assumptions() {
    let dir = tempfile::tempdir().unwrap();
    let out = ecxsim(&[
        "race",
        "scenarios/two_cluster_replica.toml",
        "--control",
        "as-shipped",
        "--from",
        "-30",
        "--to",
        "30",
        "--runs",
        "30",
        "--no-exhaustive",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let points = report["sensitivity"].as_array().unwrap();
    let share = |assumption: &str, value: &str| {
        let p = points
            .iter()
            .find(|p| p["assumption"] == assumption && p["value"] == value)
            .unwrap_or_else(|| panic!("no {assumption} = {value} in {points:?}"));
        let (runs, broken) = (p["runs"].as_u64().unwrap(), p["broken"].as_u64().unwrap());
        assert_eq!(runs, 7 * 30);
        let ci: Vec<f64> = p["ci95"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let mean = broken as f64 / runs as f64;
        assert!(ci[0] <= mean && mean <= ci[1], "{p}");
        (mean, ci[0], ci[1])
    };
    for (assumption, values) in [
        ("checkpoint", ["0s", "30s"]),
        ("unreachable_call", ["the call's own duration", "21s"]),
        ("rest_during_group_start", ["false", "true"]),
        ("crash_state", ["error", "resynchronization-required"]),
    ] {
        for value in values {
            share(assumption, value);
        }
    }
    let (_, _, refused_high) = share("unreachable_call", "the call's own duration");
    let (_, slow_low, _) = share("unreachable_call", "21s");
    assert!(slow_low > refused_high, "{points:?}");
    // The sweep's own share has its interval too.
    assert_eq!(report["broken_ci95"].as_array().unwrap().len(), 2);
    assert_eq!(report["vms"], serde_json::json!(["TestVM1"]));
}

#[test]
fn the_coordinated_control_never_ends_broken() {
    let report = race("coordinated");
    let runs: u64 = report["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["runs"].as_u64().unwrap())
        .sum();
    assert_eq!(runs, 700);
    assert_eq!(report["broken"], 0);
    assert_eq!(report["exhaustive"]["broken"], 0);
    assert!(report["exhaustive"]["interleavings"].as_u64().unwrap() > 1000);
}

#[test]
fn bad_test_sections_are_located_input_errors() {
    let base = std::fs::read_to_string(root().join("tests/data/impossible.toml")).unwrap();
    let cases = [
        (
            "fault = \"group_move\"",
            "fault = \"meteor\"",
            "unknown fault \"meteor\"",
        ),
        (
            "metric = \"vm_running_on\"",
            "metric = \"happiness\"",
            "unknown metric \"happiness\"",
        ),
        (
            "replication_interval = \"30s\"",
            "replication_interval = \"1m\"",
            "Hyper-V Replica allows",
        ),
        (
            "target = \"cluster1\"",
            "target = \"cluster9\"",
            "unknown cluster \"cluster9\"",
        ),
        (
            "replica_cluster = \"cluster2\"",
            "replica_cluster = \"cluster1\"",
            "other than the VM's home cluster",
        ),
        (
            "seed = 1",
            "seed = 1\ncontrol = \"magic\"",
            "unknown control \"magic\"",
        ),
    ];
    for (from, to, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, base.replacen(from, to, 1)).unwrap();
        let out = ecxsim(&["validate", path.to_str().unwrap()]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(
            t.contains(&format!("{}:", Path::new(&path).display())),
            "{t}"
        );
        assert!(t.contains(expect), "{expect}: {t}");
    }
}
