//! Numbers that must not mislead, end to end: what `analytic` refuses, intervals inside the
//! feasible range, nines that never round up across a boundary, and the inputs that feed them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ecxsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs ecxsim, which must succeed; its standard output.
fn succeeds(args: &[&str]) -> String {
    let out = ecxsim(args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .to_string_lossy()
        .into_owned()
}

/// Writes `text` as `name` in `dir`; its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// One exponential two-server cluster with instantaneous steps; `extra` is appended.
fn exponential(extra: &str) -> String {
    format!(
        r#"[simulation]
horizon = "1y"
replications = 20
seed = 7

[[cluster]]
name = "c1"
servers = ["a", "b"]
server_ttf = {{ dist = "exponential", mean = "1000h" }}
server_ttr = {{ dist = "exponential", mean = "24h" }}
heartbeat_timeout = "0s"
group_start = "0s"
server_sync_wait = "0s"
{extra}
[[service]]
name = "app"
cluster = "c1"
"#
    )
}

#[test]
fn analytic_refuses_a_witness_and_an_interconnect_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let interconnect = "interconnect = { ttf = { dist = \"exponential\", mean = \"500h\" }, ttr = { dist = \"exponential\", mean = \"2h\" } }\n";
    let path = write(dir.path(), "np.toml", &exponential(interconnect));
    let out = ecxsim(&["analytic", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    // Located at the key: line 14 of the file.
    assert!(
        err.contains("np.toml:14:1: `cluster.c1.interconnect`"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    let witness = "[witness]\nttf = { dist = \"exponential\", mean = \"5000h\" }\nttr = { dist = \"exponential\", mean = \"4h\" }\n";
    let text = exponential("").replace("[[cluster]]", &format!("{witness}\n[[cluster]]"));
    let path = write(dir.path(), "witness.toml", &text);
    let out = ecxsim(&["analytic", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`witness`"), "{}", stderr(&out));
}

#[test]
fn analytic_refuses_a_cluster_set_instead_of_printing_nothing() {
    let out = ecxsim(&["analytic", &repo("scenarios/cluster_set.toml")]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("`vm.vm1`"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn analytic_limits_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let text = exponential("").replace(
        "servers = [\"a\", \"b\"]",
        "servers = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]",
    );
    let path = write(dir.path(), "seven.toml", &text);
    let out = ecxsim(&["analytic", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("seven.toml:8:1: `cluster.c1.servers`"),
        "{err}"
    );
    assert!(err.contains("at most 6 servers"), "{err}");

    let text = exponential("repair_crews = 1\n").replace(
        "servers = [\"a\", \"b\"]",
        "servers = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]",
    );
    let text = text.replace("heartbeat_timeout = \"0s\"", "heartbeat_timeout = { dist = \"exponential\", mean = \"30s\" }")
        .replace("group_start = \"0s\"", "group_start = { dist = \"exponential\", mean = \"1m\" }\nfailback = true\ngroup_stop = { dist = \"exponential\", mean = \"20s\" }\nshared_disk = { ttf = { dist = \"exponential\", mean = \"8760h\" }, ttr = { dist = \"exponential\", mean = \"72h\" } }");
    let path = write(dir.path(), "states.toml", &text);
    let out = ecxsim(&["analytic", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("states.toml:8:1: `cluster.c1.servers`"),
        "{err}"
    );
    assert!(err.contains("10000"), "{err}");
}

#[test]
fn analytic_still_solves_what_it_models() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ok.toml", &exponential(""));
    let out = succeeds(&["analytic", path.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let a = json["services"]["app"]["availability"]["mean"]
        .as_f64()
        .unwrap();
    assert!(a > 0.99 && a <= 1.0, "{a}");
}

/// Runs ecxsim with a deadline, so that a hang fails the test instead of blocking it.
fn within(seconds: u64, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() >= seconds {
            child.kill().unwrap();
            panic!("ecxsim {args:?} still running after {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn empirical_files_must_be_regular_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.csv");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let big = dir.path().join("big.csv");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(ecxsim::scenario::MAX_FILE_BYTES + 1)
        .unwrap();
    for (file, why) in [
        ("/dev/zero", "not a regular file"),
        (fifo.to_str().unwrap(), "not a regular file"),
        (big.to_str().unwrap(), "larger than 16 MiB"),
    ] {
        let ttr = format!("{{ dist = \"empirical\", file = \"{file}\" }}");
        let text = exponential("").replace(
            "server_ttr = { dist = \"exponential\", mean = \"24h\" }",
            &format!("server_ttr = {ttr}"),
        );
        let path = write(dir.path(), "e.toml", &text);
        let out = within(20, &["validate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let text = stdout(&out) + &stderr(&out);
        assert!(text.contains("e.toml:10:"), "{text}");
        assert!(text.contains("`cluster.c1.server_ttr.file`"), "{text}");
        assert!(text.contains(why), "{text}");
    }
    // The scenario file itself: a pipe is refused, not waited on.
    let out = within(20, &["validate", fifo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("not a regular file"),
        "{}",
        stdout(&out)
    );
}

/// A single server over 30 days, three replications: one often has no outage, so the
/// Student-t interval reaches past 100% and below zero minutes.
fn few_replications(dir: &Path) -> PathBuf {
    let text = exponential("")
        .replace("horizon = \"1y\"", "horizon = \"30d\"")
        .replace("replications = 20", "replications = 3")
        .replace("servers = [\"a\", \"b\"]", "servers = [\"a\"]");
    write(dir, "few.toml", &text)
}

#[test]
fn intervals_are_clamped_to_the_feasible_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = few_replications(dir.path());
    let out_dir = dir.path().join("out");
    let args = [
        "run",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let json: serde_json::Value =
        serde_json::from_str(&succeeds(&[&args[..], &["--json"]].concat())).unwrap();
    let app = &json["services"]["app"];
    let [lo, hi] = [0, 1].map(|i| app["availability"]["ci95"][i].as_f64().unwrap());
    let mean = app["availability"]["mean"].as_f64().unwrap();
    // The raw interval is symmetric around a mean below 1: cut at 1, not beyond.
    assert!(lo < mean && mean < 1.0 && hi == 1.0, "{lo} {mean} {hi}");
    let down_lo = app["downtime_minutes_per_year"]["ci95"][0]
        .as_f64()
        .unwrap();
    assert_eq!(down_lo, 0.0);
    let table = succeeds(&args);
    assert!(table.contains("100.00000%]"), "{table}");
    assert!(table.contains("[0.00 min .."), "{table}");
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains(" .. 100.00000%]"), "interval past the bounds");
}

#[test]
fn nines_and_percentages_never_round_up_across_a_boundary() {
    // One server, MTTF 9995 h, MTTR 1 h: unavailability 1/9996, just worse than four nines
    // (99.989996%, 3.9998 nines).
    let dir = tempfile::tempdir().unwrap();
    let text = exponential("")
        .replace("servers = [\"a\", \"b\"]", "servers = [\"a\"]")
        .replace("mean = \"1000h\"", "mean = \"9995h\"")
        .replace("mean = \"24h\"", "mean = \"1h\"");
    let path = write(dir.path(), "edge.toml", &text);
    let table = succeeds(&["analytic", path.to_str().unwrap()]);
    assert!(table.contains("99.98999%"), "{table}");
    assert!(table.contains("3.99\n"), "{table}");
    assert!(
        !table.contains("4.00") && !table.contains("99.99000%"),
        "{table}"
    );
}

#[test]
fn a_replication_interval_sweep_shows_its_trade_off() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    // The corrected logic keeps the VM's own interval after a re-pointing (the published
    // scripts fall back to Hyper-V's 300 s).
    let coordinated = format!(
        "{}@simulation.control=coordinated",
        repo("scenarios/cluster_set.toml")
    );
    let table = succeeds(&[
        "sweep",
        &coordinated,
        "--param",
        "vm.vm1.replication_interval",
        "--values",
        "30s,15m",
        "--replications",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        table.contains("loss p95") && table.contains("unprotected/yr"),
        "{table}"
    );
    let mut reader = csv::Reader::from_path(out.join("sweep.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let p95: Vec<f64> = rows
        .iter()
        .map(|r| r[column("data_loss_p95_seconds")].parse().unwrap())
        .collect();
    // Half a 30 s interval against half a 15 min one: the loss moves by far.
    assert!(p95[1] > 5.0 * p95[0], "{p95:?}");
    for name in [
        "unprotected_minutes_per_year",
        "cross_cluster_failovers_per_year",
        "downtime_dns_minutes_per_year",
    ] {
        let _ = column(name);
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("sweep.json")).unwrap()).unwrap();
    assert!(json["points"][1]["data_loss"]["p95_seconds"].is_f64());
    // The metric that moves has its chart; the availability's axis is on the nines scale.
    assert!(out.join("sweep-data-loss-vm1.svg").exists());
    let svg = std::fs::read_to_string(out.join("sweep-availability-vm1.svg")).unwrap();
    assert!(svg.contains("nines scale"), "no nines scale");
    assert!(!svg.contains("100.2"), "an availability axis past 100%");
}

#[test]
fn compare_names_every_column_and_horizon_and_labels_totals() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.toml", &exponential(""));
    let b_text = exponential("")
        .replace("horizon = \"1y\"", "horizon = \"2y\"")
        .replace("[simulation]", "[simulation]\nname = \"a\"");
    let b = write(dir.path(), "b.toml", &b_text);
    let out = dir.path().join("cmp");
    let args = [
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let table = succeeds(&args);
    // Both horizons are named, each with its scenario.
    assert!(table.contains("a: 20 replications x 8760 h"), "{table}");
    assert!(table.contains("a #2: 20 replications x 17520 h"), "{table}");
    assert!(table.contains("a #2 minus a"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&succeeds(&[&args[..], &["--json"]].concat())).unwrap();
    assert_eq!(json["scenarios"][1]["scenario"], "a #2");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("as in the Runs table"),
        "one horizon named for both"
    );

    // A cluster set: data loss one figure per row, p50 included, rates per year, totals said.
    let set = repo("scenarios/cluster_set.toml");
    let coordinated = format!("{set}@simulation.control=coordinated");
    let table = succeeds(&[
        "compare",
        &set,
        &coordinated,
        "--replications",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    for label in [
        "data loss/failover, mean (s)",
        "  p50 (s)",
        "  p95 (s)",
        "  max (s)",
        "cross-cluster failovers/yr",
        "VM running twice (total)",
        "NP shutdowns (total)",
    ] {
        assert!(table.contains(&format!("  {label}")), "{label}:\n{table}");
    }
    assert!(
        !table
            .lines()
            .any(|l| l.contains(" p95 ") && l.contains(" max ")),
        "a data-loss cell runs together:\n{table}"
    );
}

#[test]
fn a_vm_without_a_master_is_said_on_stderr() {
    let file = repo("scenarios/two_cluster_replica.toml");
    let out = ecxsim(&["validate", &file]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.starts_with("warning: "), "{err}");
    assert!(err.contains("two_cluster_replica.toml:"), "{err}");
    assert!(
        err.contains("`vm.TestVM1.replica_cluster`: the scenario has no [master]"),
        "{err}"
    );
    // A cluster set with its master says nothing.
    let out = ecxsim(&["validate", &repo("scenarios/cluster_set.toml")]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn validate_takes_folders_and_points_at_a_misspelt_key() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.toml", &exponential(""));
    let text = exponential("").replace("server_ttf =", "server_tff =");
    write(dir.path(), "typo.toml", &text);
    let out = ecxsim(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(text.contains("good.toml: ok"), "{text}");
    // At the misspelt key, naming both.
    assert!(
        text.contains("typo.toml:9:1: `cluster.c1.server_ttf`"),
        "{text}"
    );
    assert!(
        text.contains("found `server_tff`: did you mean `server_ttf`?"),
        "{text}"
    );
    assert!(stderr(&out).contains("1 of 2 scenario files are invalid"));

    let text = exponential("").replace("group_start =", "group_strat =");
    let path = write(dir.path(), "typo.toml", &text);
    let out = stdout(&ecxsim(&["validate", path.to_str().unwrap()]));
    assert!(out.contains("did you mean `group_start`?"), "{out}");
}

#[test]
fn sweep_says_once_per_file_that_a_vm_has_no_master() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = ecxsim(&[
        "sweep",
        &repo("scenarios/two_cluster_replica.toml"),
        "--param",
        "vm.TestVM1.replication_interval",
        "--values",
        "30s,5m",
        "--replications",
        "2",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err.matches("the scenario has no [master]").count(),
        1,
        "{err}"
    );
}
