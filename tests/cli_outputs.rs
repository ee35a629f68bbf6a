//! The pictures and the report: `compare` leaves PNG and SVG charts and a self-contained
//! report.html; `sweep` works on both example scenarios and writes sweep.csv with a row per
//! scenario and value; `race` draws its curve. Bad sweep paths and values are clear errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{ecxsim, root};

fn files(dir: &Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    v.sort();
    v
}

fn assert_self_contained(html: &str) {
    assert!(html.contains("<svg"), "no inline SVG");
    for forbidden in ["src=", "href=", "<link", "<script", "<img", "url("] {
        assert!(!html.contains(forbidden), "external reference {forbidden}");
    }
}

#[test]
fn compare_writes_charts_and_a_self_contained_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = ecxsim(&[
        "compare",
        "scenarios/standalone_ecx.toml",
        "scenarios/cluster_set.toml",
        "--replications",
        "200",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = files(dir.path(), ".png");
    let svg = files(dir.path(), ".svg");
    assert!(png.len() >= 3 && svg.len() >= 3, "{png:?} {svg:?}");
    for stem in [
        "availability-vm1",
        "mtbf-mttr-vm1",
        "downtime-by-cause-vm1",
        "data-loss-vm1",
    ] {
        assert!(png.contains(&format!("{stem}.png")), "{stem}: {png:?}");
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("cluster-set") && html.contains("standalone-ecx"));
    let text = String::from_utf8_lossy(&out.stdout);
    for row in [
        "unprotected",
        "data loss/failover",
        "split brain",
        "NP shutdowns",
        "cluster-set minus standalone-ecx",
    ] {
        assert!(text.contains(row), "{row} missing from:\n{text}");
    }
}

fn sweep(param: &str, values: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = ecxsim(&[
        "sweep",
        "scenarios/standalone_ecx.toml",
        "scenarios/cluster_set.toml",
        "--param",
        param,
        "--values",
        values,
        "--replications",
        "100",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    (out, dir)
}

fn sweep_rows(dir: &Path) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_path(dir.join("sweep.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    for column in [
        "scenario",
        "value",
        "availability_mean",
        "availability_ci_low",
        "availability_ci_high",
        "downtime_minutes_per_year_mean",
    ] {
        assert!(header.iter().any(|h| h == column), "{column}");
    }
    reader.records().map(|r| r.unwrap()).collect()
}

#[test]
fn sweep_server_mttf_on_both_examples() {
    let (out, dir) = sweep("cluster.cluster1.server_ttf.mean", "2000h..20000h:3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = sweep_rows(dir.path());
    // A row per scenario and value (one service each).
    assert_eq!(rows.len(), 2 * 3);
    assert!(rows
        .iter()
        .any(|r| &r[0] == "standalone-ecx" && &r[3] == "11000h"));
    assert!(rows
        .iter()
        .any(|r| &r[0] == "cluster-set" && &r[3] == "20000h"));
    assert!(!files(dir.path(), ".png").is_empty());
    assert_self_contained(&std::fs::read_to_string(dir.path().join("report.html")).unwrap());
}

#[test]
fn sweep_replication_interval_moves_only_the_cluster_set() {
    let (out, dir) = sweep("vm.vm1.replication_interval", "30s,5m,15m");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = sweep_rows(dir.path());
    assert_eq!(rows.len(), 2 * 3);
    // The standalone scenario has no VM vm1: it runs unchanged, the same at every value.
    let standalone: Vec<&str> = rows
        .iter()
        .filter(|r| &r[0] == "standalone-ecx")
        .map(|r| r.get(5).unwrap())
        .collect();
    assert!(
        standalone.windows(2).all(|w| w[0] == w[1]),
        "{standalone:?}"
    );
}

#[test]
fn bad_sweep_paths_and_values_are_usage_errors() {
    for (param, values, expect) in [
        (
            "cluster.nosuch.heartbeat_timeout",
            "30s",
            "no scenario has this element",
        ),
        ("heartbeat_timeout", "30s", "expected SECTION.KEY"),
        (
            "cluster.cluster1.heartbeat_timeout",
            "1h..2m:3",
            "same unit",
        ),
        (
            "cluster.cluster1.heartbeat_timeout",
            "-5s",
            "cannot be negative",
        ),
        (
            "vm.vm1.replication_interval",
            "1m",
            "Hyper-V Replica allows",
        ),
    ] {
        let (out, _dir) = sweep(param, values);
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{param} {values}: {text}");
        assert!(text.contains(expect), "{param} {values}: {text}");
    }
}

#[test]
fn race_draws_its_curve() {
    let dir = tempfile::tempdir().unwrap();
    let out = ecxsim(&[
        "race",
        "scenarios/two_cluster_replica.toml",
        "--control",
        "as-shipped,coordinated",
        "--from",
        "0",
        "--to",
        "20",
        "--runs",
        "10",
        "--no-exhaustive",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("race-curve.png").exists());
    assert!(dir.path().join("race-curve.svg").exists());
    assert_self_contained(&std::fs::read_to_string(dir.path().join("report.html")).unwrap());
}

/// A scenario of `scenarios/` with its horizon changed, written to `dir`.
fn with_horizon(dir: &Path, file: &str, horizon: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios").join(file))
        .unwrap()
        .replacen("horizon = \"10y\"", &format!("horizon = \"{horizon}\""), 1);
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// `--outages` streams its rows: memory stays at a few replications' worth of outage
/// records, not all of them (96 replications of 5,000 years: about 1.4 million outages,
/// 77 MB of CSV), and the file is the same for any thread count.
#[test]
fn outages_are_streamed_not_held() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = with_horizon(dir.path(), "standalone_ecx.toml", "5000y");
    let run = |threads: &str, out: &str| -> u64 {
        let out = dir.path().join(out);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
            .args(["run", scenario.to_str().unwrap(), "--replications", "96"])
            .args([
                "--threads",
                threads,
                "--outages",
                "--out",
                out.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The peak resident size of the running program (VmHWM restarts at exec, unlike
        // the rusage of a forked child).
        let status = format!("/proc/{}/status", child.id());
        let mut peak_kb = 0;
        while child.try_wait().unwrap().is_none() {
            if let Ok(text) = std::fs::read_to_string(&status) {
                if let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:")) {
                    let kb = line.split_whitespace().nth(1).unwrap_or("0");
                    peak_kb = peak_kb.max(kb.parse().unwrap_or(0));
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(child.wait().unwrap().success());
        peak_kb
    };
    let peak_kb = run("2", "two");
    run("1", "one");
    let read = |out: &str| std::fs::read(dir.path().join(out).join("outages.csv")).unwrap();
    let (one, two) = (read("one"), read("two"));
    assert!(one.len() > 50_000_000, "{} bytes", one.len());
    assert!(one == two, "outages.csv depends on the thread count");
    // Holding every record takes 30 MB or more; streamed, the process stays near its base.
    assert!(
        peak_kb > 0 && peak_kb < 20_000,
        "peak resident size {peak_kb} kB"
    );
}

/// Work that would take hours or fill a disk is refused at once, naming the option that
/// allows it.
#[test]
fn huge_work_is_refused_up_front() {
    for args in [
        &[
            "run",
            "scenarios/standalone_ecx.toml",
            "--replications",
            "1000000000",
        ][..],
        &[
            "compare",
            "scenarios/standalone_ecx.toml",
            "scenarios/cluster_set.toml",
            "--replications",
            "10000000",
        ][..],
        &[
            "sweep",
            "scenarios/cluster_set.toml",
            "--param",
            "simulation.horizon",
            "--values",
            "1y,100000y",
            "--replications",
            "2000",
        ][..],
    ] {
        let out = ecxsim(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--allow-large"), "{err}");
    }
    // The CSV alone can be too big: 20 million one-year replications are 2.8 GB of rows.
    let dir = tempfile::tempdir().unwrap();
    let scenario = with_horizon(dir.path(), "standalone_ecx.toml", "1y");
    let out = ecxsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--replications",
        "20000000",
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("GB of CSV") && err.contains("--allow-large"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}

/// `[simulation] name` names the default output folder: it cannot lead out of `results/`.
#[test]
fn a_scenario_name_cannot_leave_the_results_folder() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("a/b");
    std::fs::create_dir_all(&work).unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/standalone_ecx.toml")).unwrap();
    for name in ["../../escaped", "/tmp/ecxsim-absolute-name", "..", "a\\\\b"] {
        let file = work.join("s.toml");
        std::fs::write(
            &file,
            text.replacen(
                "name = \"standalone-ecx\"",
                &format!("name = \"{name}\""),
                1,
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
            .args(["run", "s.toml", "--replications", "5"])
            .current_dir(&work)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains("s.toml:8:8: `simulation.name`"), "{err}");
        assert!(err.contains("cannot name the output folder"), "{err}");
    }
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 1, "only s.toml");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only a/");
    assert!(!Path::new("/tmp/ecxsim-absolute-name").exists());
}

/// A regression test over a huge simulated time says so before it starts (it would run for
/// hours without a word).
#[test]
fn a_long_regression_test_is_announced() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let source = root().join("scenarios/regression/failover_cluster1.toml");
    let text = std::fs::read_to_string(&source)
        .unwrap()
        .replacen("horizon = \"1h\"", "horizon = \"500000y\"", 1)
        .replacen("replications = 1\n", "replications = 100\n", 1);
    let file = dir.path().join("long.toml");
    std::fs::write(&file, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(["test", file.to_str().unwrap()])
        .current_dir(source.parent().unwrap())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stderr).read_line(&mut line);
        let _ = send.send(line);
    });
    let line = receive.recv_timeout(std::time::Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("no warning within 20 s");
    assert!(line.starts_with("warning: "), "{line}");
    assert!(line.contains("5.0e7 simulated years"), "{line}");
}
