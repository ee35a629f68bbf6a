//! An output folder holds one run's complete set of files or the previous one, never a mix:
//! a write that fails (a full disk), a signal (SIGINT, SIGTERM, SIGHUP) or a second run into
//! the same folder leaves the previous set as it was and no temporary file beside it.

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{root, snapshot};

/// The binary started as from an interactive shell: whatever this test process ignores
/// (a CI job started in the background ignores SIGINT), the child has the default actions.
fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ecxsim"));
    c.args(args).current_dir(root());
    // SAFETY: only signal(2), async-signal-safe, between fork and exec.
    unsafe {
        c.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    c
}

fn ecxsim(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A complete set from a short run, the "previous" set of each test.
fn previous_set(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let done = ecxsim(&[
        "run",
        "scenarios/standalone_ecx.toml",
        "--replications",
        "50",
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let set = snapshot(out);
    assert!(set.contains_key("report.html") && set.contains_key("replications.csv"));
    set
}

/// A run long enough to be interrupted (minutes), into `out`.
fn long_run(out: &Path) -> Child {
    command(&[
        "run",
        "scenarios/standalone_ecx.toml",
        "--replications",
        "20000000",
        "--allow-large",
        "--outages",
        "--seed",
        "2",
        "--out",
        out.to_str().unwrap(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// Waits until the run has something unpublished beside `out` (it is writing), or 20 s.
fn wait_until_writing(out: &Path) {
    let parent = out.parent().unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if entries(parent).iter().any(|n| n.ends_with(".tmp")) {
            std::thread::sleep(Duration::from_millis(300));
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(child: &Child, signal: i32) {
    // SAFETY: kill(2) on the pid of a child this test spawned and has not yet waited for.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// Waits for a child at most `limit`; kills it and fails past that.
fn wait_at_most(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_full_disk_while_publishing_leaves_the_previous_set() {
    let root_dir = tempfile::tempdir().unwrap();
    let out = root_dir.path().join("out");
    let before = previous_set(&out);
    // Files larger than 40 kB cannot be written: the CSV and JSON fit, the PNG charts do not,
    // so the failure comes after some of the new files are complete. SIGXFSZ is ignored so
    // the write fails with EFBIG instead of killing the process.
    let mut cmd = command(&[
        "run",
        "scenarios/standalone_ecx.toml",
        "--replications",
        "50",
        "--seed",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 40_000,
                rlim_max: 40_000,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let failed = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: cannot write"), "{err}");
    assert!(snapshot(&out) == before, "the previous set was changed");
    assert_eq!(entries(root_dir.path()), ["out"]);
}

#[test]
fn signals_stop_a_run_with_their_exit_code_and_leave_the_previous_set() {
    for (signal, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        let root_dir = tempfile::tempdir().unwrap();
        let out = root_dir.path().join("out");
        let before = previous_set(&out);
        let child = long_run(&out);
        wait_until_writing(&out);
        kill(&child, signal);
        let done = wait_at_most(child, Duration::from_secs(20));
        let err = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(code), "signal {signal}: {err}");
        assert!(err.contains("interrupted"), "{err}");
        assert!(
            snapshot(&out) == before,
            "signal {signal}: the set was changed"
        );
        assert_eq!(entries(root_dir.path()), ["out"], "signal {signal}");
    }
}

/// Under `nohup` (SIGHUP ignored when ecxsim starts) a hangup does not stop the run.
#[test]
fn a_signal_ignored_at_start_stays_ignored() {
    let root_dir = tempfile::tempdir().unwrap();
    let out = root_dir.path().join("out");
    let mut cmd = command(&[
        "run",
        "scenarios/standalone_ecx.toml",
        "--replications",
        "20000000",
        "--allow-large",
        "--out",
        out.to_str().unwrap(),
    ]);
    // SAFETY: only signal(2), async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_writing(&out);
    kill(&child, libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        child.try_wait().unwrap().is_none(),
        "stopped by an ignored SIGHUP"
    );
    kill(&child, libc::SIGTERM);
    let done = wait_at_most(child, Duration::from_secs(20));
    assert_eq!(done.status.code(), Some(143));
    assert_eq!(entries(root_dir.path()), Vec::<String>::new());
}

#[test]
fn an_interrupted_compare_leaves_the_previous_set() {
    let root_dir = tempfile::tempdir().unwrap();
    let out = root_dir.path().join("out");
    let before = previous_set(&out);
    let child = command(&[
        "compare",
        "scenarios/standalone_ecx.toml",
        "scenarios/cluster_set.toml",
        "--replications",
        "10000000",
        "--allow-large",
        "--out",
        out.to_str().unwrap(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_until_writing(&out);
    kill(&child, libc::SIGINT);
    let done = wait_at_most(child, Duration::from_secs(20));
    assert_eq!(
        done.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(snapshot(&out) == before, "the set was changed");
    assert_eq!(entries(root_dir.path()), ["out"]);
}

#[test]
fn a_second_run_into_a_folder_being_written_is_refused() {
    let root_dir = tempfile::tempdir().unwrap();
    let out = root_dir.path().join("out");
    let before = previous_set(&out);
    let first = long_run(&out);
    wait_until_writing(&out);
    let second = ecxsim(&[
        "run",
        "scenarios/standalone_ecx.toml",
        "--replications",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&second.stderr);
    kill(&first, libc::SIGTERM);
    let first = wait_at_most(first, Duration::from_secs(20));
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another ecxsim run is writing to this folder"),
        "{err}"
    );
    assert_eq!(first.status.code(), Some(143));
    assert!(snapshot(&out) == before, "the set was changed");
    assert_eq!(entries(root_dir.path()), ["out"]);
}

#[test]
fn a_new_set_replaces_the_old_one_entirely() {
    let root_dir = tempfile::tempdir().unwrap();
    let out = root_dir.path().join("out");
    // A compare leaves its charts and compare.json; a run after it leaves only its own set.
    let compared = ecxsim(&[
        "compare",
        "scenarios/standalone_ecx.toml",
        "scenarios/cluster_set.toml",
        "--replications",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(compared.status.success());
    assert!(out.join("data-loss-vm1.png").exists());
    let set = previous_set(&out);
    assert!(!set.contains_key("compare.json") && !set.contains_key("data-loss-vm1.png"));
    assert_eq!(entries(root_dir.path()), ["out"]);
}

#[test]
fn a_folder_with_other_files_is_not_replaced() {
    let root_dir = tempfile::tempdir().unwrap();
    std::fs::write(root_dir.path().join("notes.txt"), "mine").unwrap();
    let done = ecxsim(&[
        "run",
        "scenarios/standalone_ecx.toml",
        "--replications",
        "20",
        "--out",
        root_dir.path().to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{err}");
    assert!(
        err.contains("holds files ecxsim does not write (notes.txt)"),
        "{err}"
    );
    assert_eq!(entries(root_dir.path()), ["notes.txt"]);
}

/// `sweep` and `race` refuse a bad `--out` or `--param` before simulating: with work that
/// would take hours, the error comes at once.
#[test]
fn sweep_and_race_check_their_options_before_simulating() {
    let root_dir = tempfile::tempdir().unwrap();
    let file = root_dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let file = file.to_str().unwrap();
    let sweep = |param: &str, values: &str, out: &str| {
        command(&[
            "sweep",
            "scenarios/cluster_set.toml",
            "--param",
            param,
            "--values",
            values,
            // Hours of simulation: a command that checked its options only afterwards would
            // outlast the wait below by far, even on a fast machine.
            "--replications",
            "10000000",
            "--allow-large",
            "--out",
            out,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let out_dir = root_dir.path().join("out");
    let out_dir = out_dir.to_str().unwrap();
    for (child, expect) in [
        (
            sweep("vm.vm1.replication_interval", "30s,5m", file),
            "is not a folder",
        ),
        // The last value is refused by the scenario reader.
        (
            sweep("vm.vm1.replication_interval", "30s,1m", out_dir),
            "Hyper-V Replica allows",
        ),
        (
            sweep("cluster.nosuch.heartbeat_timeout", "30s,1m", out_dir),
            "no scenario has this element",
        ),
        (
            command(&[
                "race",
                "scenarios/two_cluster_replica.toml",
                "--runs",
                "4000000",
                "--out",
                file,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
            "is not a folder",
        ),
    ] {
        // Generous: the four start at once on a loaded machine; each needs milliseconds.
        let done = wait_at_most(child, Duration::from_secs(120));
        let err = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(2), "{err}");
        assert!(err.contains(expect), "{expect}: {err}");
    }
    assert_eq!(entries(root_dir.path()), ["a-file"]);
}
