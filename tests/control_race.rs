//! The double-failover race: as-shipped breaks, coordinated does not.

use std::path::Path;

use ecxsim::control::{ControlVariant, CoordinationConfig};
use ecxsim::race::{exhaustive, sweep, Silent, SweepConfig, DEFAULT_MAX_STATES};
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
        sensitivity: false,
        ..SweepConfig::default()
    }
}

#[test]
fn as_shipped_breaks_in_the_random_sweep() {
    let base = two_clusters(ControlVariant::AsShipped);
    let report = sweep(&base, &config(50, 20.0), &Silent);
    assert!(report.broken > 0, "no broken outcome found");
}

#[test]
fn coordinated_never_breaks_in_the_random_sweep() {
    let base = two_clusters(coordinated());
    let report = sweep(&base, &config(100, 20.0), &Silent);
    assert_eq!(report.broken, 0, "{report:#?}");
    assert!(report.runs >= 100);
}

#[test]
fn as_shipped_breaks_in_some_interleavings() {
    let base = two_clusters(ControlVariant::AsShipped);
    let report = exhaustive(&base, DEFAULT_MAX_STATES, &Silent);
    assert!(report.broken > 0);
    assert!(report.broken < report.interleavings);
    assert!(report.failing_timeline.is_some());
}

/// The enumeration explores checkpoints of 0 to 3 polls: it then finds the random sweep's
/// dominant failure, a VM left off while its start script waited for a checkpoint (with no
/// checkpoint wait it found only stale peers).
#[test]
fn the_enumeration_sees_a_vm_left_off_by_a_checkpoint() {
    let base = two_clusters(ControlVariant::AsShipped);
    let report = exhaustive(&base, DEFAULT_MAX_STATES, &Silent);
    assert!(report.complete);
    assert!(
        report.fixed.contains("0 to 3 Get-VM polls"),
        "{}",
        report.fixed
    );
    assert!(
        report
            .end_states
            .get("vm_not_running")
            .copied()
            .unwrap_or(0)
            > 0,
        "{:?}",
        report.end_states
    );
    let answers: Vec<u32> = report.by_checkpoint.iter().map(|c| c.answers).collect();
    assert_eq!(answers, [0, 1, 2, 3]);
    let sum = |f: fn(&ecxsim::race::CheckpointCount) -> u64| {
        report.by_checkpoint.iter().map(f).sum::<u64>()
    };
    assert_eq!(sum(|c| c.interleavings), report.interleavings);
    assert_eq!(sum(|c| c.broken), report.broken);
    // A longer checkpoint widens the window: more interleavings, more of them broken.
    let (none, longest) = (&report.by_checkpoint[0], &report.by_checkpoint[3]);
    assert!(longest.broken > none.broken, "{:?}", report.by_checkpoint);
}

#[test]
fn coordinated_survives_every_interleaving() {
    let base = two_clusters(coordinated());
    let report = exhaustive(&base, DEFAULT_MAX_STATES, &Silent);
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
    assert_eq!(sweep(&base, &cfg, &Silent), sweep(&base, &cfg, &Silent));
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
    let shipped = sweep(&two_clusters(ControlVariant::AsShipped), &cfg, &Silent);
    let coord = sweep(&two_clusters(coordinated()), &cfg, &Silent);
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

#[test]
fn the_enumeration_stops_at_its_state_budget_without_a_count() {
    let base = two_clusters(ControlVariant::AsShipped);
    let report = exhaustive(&base, 50, &Silent);
    assert!(!report.complete);
    assert_eq!(report.states, 50);
    assert_eq!(report.interleavings, 0);
    assert!(report.failing_timeline.is_none());
    let full = exhaustive(&base, DEFAULT_MAX_STATES, &Silent);
    assert!(full.complete && full.states > 50 && full.states < DEFAULT_MAX_STATES);
}

/// A second VM replicated the other way between the same two clusters is raced too: a run
/// is broken when either VM ends broken.
#[test]
fn every_vm_between_the_two_clusters_is_raced() {
    let mut base = two_clusters(ControlVariant::AsShipped);
    let mut second = base.vms[0].clone();
    second.name = "TestVM2".into();
    std::mem::swap(&mut second.cluster, &mut second.replica_cluster);
    base.vms.push(second);
    assert_eq!(ecxsim::race::raced_vms(&base), vec![0, 1]);
    let cfg = SweepConfig {
        offset_min_s: -20.0,
        offset_max_s: 20.0,
        ..config(40, 10.0)
    };
    let one = sweep(&two_clusters(ControlVariant::AsShipped), &cfg, &Silent);
    let two = sweep(&base, &cfg, &Silent);
    assert_eq!(two.vms, vec!["TestVM1".to_string(), "TestVM2".to_string()]);
    assert_eq!(one.vms, vec!["TestVM1".to_string()]);
    // The second VM's re-pointing races too.
    assert!(two.broken > one.broken, "{} vs {}", two.broken, one.broken);
}
