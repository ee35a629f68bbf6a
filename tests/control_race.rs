//! The double-failover race: as-shipped breaks, coordinated does not.

use std::path::Path;

use ecxsim::control::{ControlVariant, CoordinationConfig};
use ecxsim::race::{exhaustive, sweep, SweepConfig};
use ecxsim::scenario::{load, Scenario};

/// The race's reference topology (two clusters of two servers, one VM), from the pinned
/// regression scenario.
fn two_clusters(control: ControlVariant) -> Scenario {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/regression/race_30s_as_shipped.toml");
    let mut sc = load(&path).unwrap();
    sc.control = control;
    sc
}

fn coordinated() -> ControlVariant {
    ControlVariant::Coordinated(CoordinationConfig::default())
}

fn config(runs: u64, step: f64) -> SweepConfig {
    SweepConfig {
        offset_min_s: -120.0,
        offset_max_s: 120.0,
        offset_step_s: step,
        runs_per_offset: runs,
        exhaustive: false,
        ..SweepConfig::default()
    }
}

#[test]
fn as_shipped_breaks_in_the_random_sweep() {
    let base = two_clusters(ControlVariant::AsShipped);
    let report = sweep(&base, &config(50, 20.0));
    assert!(report.broken > 0, "no broken outcome found");
}

#[test]
fn coordinated_never_breaks_in_the_random_sweep() {
    let base = two_clusters(coordinated());
    let report = sweep(&base, &config(100, 20.0));
    assert_eq!(report.broken, 0, "{report:#?}");
    assert!(report.runs >= 100);
}

#[test]
fn as_shipped_breaks_in_some_interleavings() {
    let base = two_clusters(ControlVariant::AsShipped);
    let report = exhaustive(&base);
    assert!(report.broken > 0);
    assert!(report.broken < report.interleavings);
    assert!(report.failing_timeline.is_some());
}

#[test]
fn coordinated_survives_every_interleaving() {
    let base = two_clusters(coordinated());
    let report = exhaustive(&base);
    assert!(report.interleavings > 1);
    assert_eq!(report.broken, 0, "{:?}", report.failing_timeline);
}

#[test]
fn sweep_is_deterministic() {
    let base = two_clusters(ControlVariant::AsShipped);
    let cfg = SweepConfig {
        runs_per_offset: 5,
        ..config(5, 60.0)
    };
    assert_eq!(sweep(&base, &cfg), sweep(&base, &cfg));
}

/// The full sweep of the issue (-120 s..+120 s by 10 s, 100 runs per offset) as a table:
/// `cargo test --test control_race -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_race_table() {
    let cfg = SweepConfig {
        exhaustive: true,
        ..SweepConfig::default()
    };
    let shipped = sweep(&two_clusters(ControlVariant::AsShipped), &cfg);
    let coord = sweep(&two_clusters(coordinated()), &cfg);
    println!("| offset s | as-shipped broken/runs | end states | coordinated broken/runs | restore s (shipped/coord) | to healthy s (shipped/coord) |");
    println!("|---|---|---|---|---|---|");
    for (a, b) in shipped.offsets.iter().zip(&coord.offsets) {
        println!(
            "| {} | {}/{} | {:?} | {}/{} | {:.1}/{:.1} | {:.1}/{:.1} |",
            a.offset_s,
            a.broken,
            a.runs,
            a.end_states,
            b.broken,
            b.runs,
            a.mean_vm_restore_s.unwrap_or(f64::NAN),
            b.mean_vm_restore_s.unwrap_or(f64::NAN),
            a.mean_time_to_healthy_s.unwrap_or(f64::NAN),
            b.mean_time_to_healthy_s.unwrap_or(f64::NAN),
        );
    }
    println!(
        "totals: shipped {}/{} restore {:?} healthy {:?}",
        shipped.broken, shipped.runs, shipped.mean_vm_restore_s, shipped.mean_time_to_healthy_s
    );
    println!(
        "totals: coordinated {}/{} restore {:?} healthy {:?}",
        coord.broken, coord.runs, coord.mean_vm_restore_s, coord.mean_time_to_healthy_s
    );
    for r in [&shipped, &coord] {
        let e = r.exhaustive.as_ref().unwrap();
        println!(
            "exhaustive {}: {} interleavings, {} broken, {} states, {:?}",
            r.control, e.interleavings, e.broken, e.states, e.end_states
        );
    }
}
