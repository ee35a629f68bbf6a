//! `ecxsim run` end to end: files written, determinism across thread counts, exit codes.

use std::path::Path;
use std::process::Command;

fn ecxsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs ecxsim, which must succeed; its standard output.
fn succeeds(args: &[&str]) -> String {
    let out = ecxsim(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/standalone_ecx.toml")
        .to_string_lossy()
        .into_owned()
}

fn run_into(dir: &Path, threads: &str) -> Vec<u8> {
    let out = ecxsim(&[
        "run",
        &example(),
        "--replications",
        "3000",
        "--threads",
        threads,
        "--outages",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing on stderr when it is not a terminal.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("summary.json")).unwrap()
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let a = run_into(one.path(), "1");
    let b = run_into(two.path(), "2");
    assert_eq!(a, b);
    for file in ["replications.csv", "outages.csv"] {
        assert_eq!(
            std::fs::read(one.path().join(file)).unwrap(),
            std::fs::read(two.path().join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn writes_summary_replications_and_outages() {
    let dir = tempfile::tempdir().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&run_into(dir.path(), "2")).unwrap();
    let vm = &summary["services"]["vm1"];
    for key in ["availability", "downtime_minutes_per_year"] {
        assert!(vm[key]["mean"].is_f64());
        assert_eq!(vm[key]["ci95"].as_array().unwrap().len(), 2);
    }
    for key in [
        "outages",
        "mtbf_hours",
        "mttr_hours",
        "downtime_by_cause_minutes_per_year",
    ] {
        assert!(!vm[key].is_null(), "{key}");
    }
    assert_eq!(summary["replications"], 3000);
    assert_eq!(summary["horizon_hours"], 87600.0);

    let rows = std::fs::read_to_string(dir.path().join("replications.csv")).unwrap();
    assert_eq!(rows.lines().count(), 3001);
    let outages = std::fs::read_to_string(dir.path().join("outages.csv")).unwrap();
    assert!(outages
        .starts_with("replication,service,start_hours,end_hours,duration_hours,cause,censored"));
    // outages.csv holds every counted outage.
    assert_eq!(
        outages.lines().count() as u64 - 1,
        vm["outages"].as_u64().unwrap()
    );
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn json_flag_prints_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = ecxsim(&[
        "run",
        &example(),
        "--replications",
        "50",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(printed, written);
    assert_eq!(printed["scenario"], "standalone-ecx");
}

#[test]
fn same_seed_same_bytes_other_seed_other_result() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    for (dir, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        let out = ecxsim(&[
            "run",
            &example(),
            "--replications",
            "200",
            "--seed",
            seed,
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        assert!(out.status.success());
    }
    let read = |d: &tempfile::TempDir| std::fs::read(d.path().join("summary.json")).unwrap();
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
}

#[test]
fn unwritable_output_is_a_usage_error() {
    let out = ecxsim(&[
        "run",
        &example(),
        "--replications",
        "5",
        "--out",
        "/proc/ecxsim-cannot-write",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create the output folder"));
}

#[test]
fn compare_with_itself_gives_identical_reports_and_zero_differences() {
    let dir = tempfile::tempdir().unwrap();
    let out = ecxsim(&[
        "compare",
        &example(),
        &example(),
        "--replications",
        "300",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    // Identical but for the name: the second of two same-named scenarios is told apart.
    let mut second = scenarios[1].clone();
    assert_eq!(second["scenario"], "standalone-ecx #2");
    second["scenario"] = scenarios[0]["scenario"].clone();
    assert_eq!(scenarios[0], second);
    let diff = &report["differences"][0]["services"]["vm1"];
    assert_eq!(diff["availability"]["mean"], 0.0);
    assert_eq!(diff["downtime_minutes_per_year"]["ci95"][1], 0.0);
    // The run report inside compare is the same as `run` gives for the same replications.
    let run_dir = tempfile::tempdir().unwrap();
    let run = ecxsim(&[
        "run",
        &example(),
        "--replications",
        "300",
        "--json",
        "--out",
        run_dir.path().to_str().unwrap(),
    ]);
    let alone: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(alone, scenarios[0]);
    assert!(dir.path().join("compare.json").exists());
}

#[test]
fn compare_pairs_replications_on_common_random_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let variant = dir.path().join("failback.toml");
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("failback = false", "failback = true");
    std::fs::write(&variant, text).unwrap();
    // Not the scenario's folder: an output folder holds only what ecxsim writes.
    let results = dir.path().join("results");
    let out = ecxsim(&[
        "compare",
        &example(),
        variant.to_str().unwrap(),
        "--replications",
        "500",
        "--json",
        "--out",
        results.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &report["scenarios"][0]["services"]["vm1"]["downtime_by_cause_minutes_per_year"];
    let b = &report["scenarios"][1]["services"]["vm1"]["downtime_by_cause_minutes_per_year"];
    // Same disk, same failure and repair draws: the shared-disk downtime agrees to within the
    // group starts after each repair (failback's extra starts shift that stream's later draws),
    // far inside the 1.4% half-width either estimate has on its own.
    let (da, db) = (
        a["shared_disk"].as_f64().unwrap(),
        b["shared_disk"].as_f64().unwrap(),
    );
    assert!((da / db - 1.0).abs() < 1e-4, "{da} vs {db}");
    assert_eq!(a["failback"], 0.0);
    assert!(b["failback"].as_f64().unwrap() > 0.0);
    // The paired interval of the difference is far narrower than either scenario's interval.
    let d = &report["differences"][0]["services"]["vm1"]["downtime_minutes_per_year"]["ci95"];
    let paired = d[1].as_f64().unwrap() - d[0].as_f64().unwrap();
    let ci = &report["scenarios"][0]["services"]["vm1"]["downtime_minutes_per_year"]["ci95"];
    let unpaired = ci[1].as_f64().unwrap() - ci[0].as_f64().unwrap();
    assert!(
        paired * 10.0 < unpaired,
        "paired {paired} vs unpaired {unpaired}"
    );
    assert!(d[0].as_f64().unwrap() > 0.0, "failback costs downtime: {d}");
}

fn cluster_set() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/cluster_set.toml")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn compare_runs_a_file_with_one_value_changed_under_its_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let variant = format!("{}@simulation.control=coordinated", cluster_set());
    let text = succeeds(&[
        "compare",
        &cluster_set(),
        &variant,
        "--replications",
        "20",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(text.contains("\"cluster-set [coordinated]\""), "{text}");
    for bad in [
        "@nothing",
        "@simulation.control=bogus",
        "@fault_domain.rack-z.ttf.mean=1h",
    ] {
        let arg = format!("{}{bad}", cluster_set());
        let out = ecxsim(&["compare", &cluster_set(), &arg, "--replications", "2"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{err}");
    }
}

/// `run` takes `FILE@PATH=VALUE` as compare does (it once looked for a file of that name).
#[test]
fn run_runs_a_file_with_one_value_changed() {
    let dir = tempfile::tempdir().unwrap();
    let variant = format!("{}@simulation.control=coordinated", cluster_set());
    let out = dir.path().to_str().unwrap();
    let text = succeeds(&[
        "run",
        &variant,
        "--replications",
        "20",
        "--json",
        "--out",
        out,
    ]);
    assert!(text.contains("\"cluster-set [coordinated]\""), "{text}");
    let bad = format!("{}@simulation.control=bogus", cluster_set());
    let failed = ecxsim(&["run", &bad, "--replications", "2", "--out", out]);
    assert_eq!(failed.status.code(), Some(2));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(err.starts_with("error: ") && err.contains("bogus"), "{err}");
}

#[test]
fn timeline_prints_the_scripts_and_calls_of_one_replication() {
    let text = succeeds(&["timeline", &cluster_set(), "--replication", "2"]);
    assert!(
        text.contains("start script for vm1 (primary side, CLP_EVENT="),
        "{text}"
    );
    assert!(text.contains("Get-VMReplication vm1 -ComputerName"));
    assert!(text.contains("fault domain fails"));
    // No Rust debug formatting reaches the user.
    assert!(!text.contains("Some(") && !text.contains(" { "), "{text}");
    let out = ecxsim(&["timeline", &example()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sweep_takes_scenario_variants_too() {
    let dir = tempfile::tempdir().unwrap();
    let variant = format!("{}@simulation.control=coordinated", cluster_set());
    let text = succeeds(&[
        "sweep",
        &variant,
        "--param",
        "vm.vm1.replication_interval",
        "--values",
        "30s,5m",
        "--replications",
        "5",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(text.contains("\"cluster-set [coordinated]\""), "{text}");
}

#[test]
fn a_cluster_set_run_writes_a_row_per_replication_and_vm() {
    let dir = tempfile::tempdir().unwrap();
    succeeds(&[
        "run",
        &cluster_set(),
        "--replications",
        "3",
        "--outages",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let rows = std::fs::read_to_string(dir.path().join("replications.csv")).unwrap();
    let vm_rows = rows.lines().filter(|l| l.contains(",vm1,")).count();
    assert_eq!(vm_rows, 3, "{rows}");
    let outages = std::fs::read_to_string(dir.path().join("outages.csv")).unwrap();
    assert!(outages.lines().count() > 3, "{outages}");
    assert!(outages.lines().skip(1).all(|l| l.contains(",vm1,")));
}

#[test]
fn race_options_that_cannot_run_are_refused_before_anything_runs() {
    let race = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two_cluster_replica.toml");
    for bad in [
        &["--to", "inf"][..],
        &["--from", "nan"],
        &["--step", "inf"],
        &["--step", "1e-9"],
        &["--runs", "18446744073709551615"],
        &["--to", "1e13"],
    ] {
        let mut args = vec!["race", race.to_str().unwrap()];
        args.extend_from_slice(bad);
        let out = ecxsim(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: --"), "{err}");
    }
}

#[test]
fn sweep_ranges_are_bounded() {
    for values in ["0h..1h:18446744073709551615", "1h..2h:10000000"] {
        let out = ecxsim(&[
            "sweep",
            &example(),
            "--param",
            "cluster.cluster1.heartbeat_timeout",
            "--values",
            values,
        ]);
        assert_eq!(out.status.code(), Some(2), "{values}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("at most 1000"));
    }
}

/// `ecxsim ... | head`: the reader leaves (after one line of a timeline far longer than a
/// pipe's buffer), and ecxsim stops without a panic (exit 101).
#[test]
fn a_closed_pipe_ends_it_without_a_panic() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(["timeline", "scenarios/cluster_set.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
