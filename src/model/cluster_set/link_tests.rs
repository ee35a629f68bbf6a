//! Replication over a link with scripted faults: the writes lost in a cross-cluster failover
//! and the lagging time follow the link's rule (`link.rs`, `vm::SyncClock`), and a link that
//! keeps up changes nothing but the transfer time.

use std::path::Path;

use super::simulate_replication_with;
use super::tests::{crash, scripted};
use crate::dist::Dist;
use crate::model::ReplicationResult;
use crate::scenario::{parse, Link, Scenario};
use crate::time::{MICROS_PER_HOUR as H, MICROS_PER_MINUTE as M, MICROS_PER_SECOND as S};

const MB: u64 = 1_000_000;

/// `s` with vm1's writes (`churn` bytes per second) crossing a link of `bandwidth` between
/// cluster1 and cluster2.
fn over_link(mut s: Scenario, churn: u64, bandwidth: u64) -> Scenario {
    s.links = vec![Link {
        name: "wan".into(),
        clusters: [1, 2],
        bandwidth,
    }];
    s.vms[0].link = Some(0);
    s.vms[0].churn = Some(Dist::fixed(churn));
    s
}

/// Cluster1 is lost for good at `t`: vm1 fails over to cluster2 once.
fn lose_cluster1(s: &Scenario, t: u64) -> ReplicationResult {
    let faults = [(t, crash(1, 0)), (t, crash(1, 1))];
    simulate_replication_with(s, 7, 0, true, &faults)
}

/// Every result but the link's own report.
fn without_link_report(mut r: ReplicationResult) -> ReplicationResult {
    for service in &mut r.services {
        service.totals.replication_lag = None;
    }
    r
}

#[test]
fn doubling_the_churn_halves_the_headroom_and_the_link_falls_behind_as_the_model_says() {
    let t = 10 * H + 7 * S;
    let interval = 5 * M;
    // 1 MB/s over 1.5 MB/s: headroom 1.5, an interval's writes cross in 200 s, cycles stay
    // on the interval. The cycle that started at 10 h is in flight: 5 min 7 s are lost.
    let r = lose_cluster1(&over_link(scripted("20h"), MB, 3 * MB / 2), t);
    let vm = &r.services[1];
    let lag = vm.totals.replication_lag.expect("vm1 is on the link");
    assert_eq!(lag.headroom, 1.5);
    assert_eq!(lag.lagging, 0);
    assert_eq!(vm.data_loss, vec![5 * M + 7 * S]);
    assert_eq!(vm.totals.unprotected, 20 * H - t);

    // 2 MB/s: headroom 0.75. Each transfer takes 4/3 of the time since the previous cycle
    // started, so each cycle starts when the previous one's data has crossed: the gaps are
    // 5 min × (4/3)^(k−1). At the loss the replica holds the writes up to the start of the
    // last cycle whose data had crossed.
    let r = lose_cluster1(&over_link(scripted("20h"), 2 * MB, 3 * MB / 2), t);
    let vm = &r.services[1];
    let lag = vm.totals.replication_lag.expect("vm1 is on the link");
    assert_eq!(lag.headroom, 0.75);
    let (mut starts, mut gap) = (vec![0.0f64], interval as f64);
    while *starts.last().unwrap() <= t as f64 {
        starts.push(starts.last().unwrap() + gap);
        gap *= 4.0 / 3.0;
    }
    // starts[k] is cycle k's start; the last (past t) is the cycle not yet started, so the
    // one before it is moving its data, and the one before that has landed.
    let held = starts[starts.len() - 3];
    assert_eq!(
        starts.len() - 3,
        11,
        "cycle 11 of 5 min × (4/3)^k: {starts:?}"
    );
    let expected = t as f64 - held;
    assert_eq!(vm.data_loss.len(), 1);
    assert!(
        (vm.data_loss[0] as f64 - expected).abs() <= 2.0,
        "lost {} expected {expected}",
        vm.data_loss[0]
    );
    // About 4.3 h lost, where a link that keeps up loses at most an interval and a transfer.
    assert!(vm.data_loss[0] > 4 * H);
    // From the second cycle's due time (10 min) cycles run late: lagging, and unprotected.
    assert_eq!(lag.lagging, t - 2 * interval);
    assert_eq!(vm.totals.unprotected, 20 * H - t + lag.lagging);
}

#[test]
fn a_link_that_keeps_up_gives_the_results_of_the_model_without_bandwidth() {
    // With failures drawn at random, so that failovers and re-protections happen.
    let random = |horizon: &str| {
        let text = std::fs::read_to_string("scenarios/cluster_set.toml").expect("example");
        let mut s = parse(Path::new("scenarios/cluster_set.toml"), text).expect("parses");
        s.simulation.horizon = crate::time::parse_duration(horizon).expect("duration");
        s.vms[0].cycle = Dist::fixed(0);
        s
    };
    let loss = 10 * H + 7 * S;
    let lose_cluster1 = vec![(loss, crash(1, 0)), (loss, crash(1, 1))];
    for (scenario, faults) in [(scripted("20h"), lose_cluster1), (random("3y"), Vec::new())] {
        let base = |s: &Scenario| {
            (0..3)
                .map(|i| without_link_report(simulate_replication_with(s, 42, i, true, &faults)))
                .collect::<Vec<_>>()
        };
        let without = base(&scenario);
        // 1 B/s over 1 GB/s: an interval's writes cross in under a microsecond.
        let fast = base(&over_link(scenario.clone(), 1, 1_000 * MB));
        // 1 MB/s over 1.5 MB/s: the writes take 200 s, as a fixed 200 s transfer does.
        let slow = base(&over_link(scenario.clone(), MB, 3 * MB / 2));
        let mut fixed_transfer = scenario.clone();
        fixed_transfer.vms[0].cycle = Dist::fixed(200 * S);
        let fixed_transfer = base(&fixed_transfer);
        for (a, b) in [(&without, &fast), (&fixed_transfer, &slow)] {
            for (x, y) in a.iter().zip(b.iter()) {
                for (p, q) in x.services.iter().zip(&y.services) {
                    assert_eq!(p.totals, q.totals);
                    assert_eq!(p.data_loss, q.data_loss);
                    assert_eq!(p.outages, q.outages);
                }
            }
        }
        assert!(
            without
                .iter()
                .any(|r| r.services.iter().any(|s| !s.data_loss.is_empty())),
            "the case has cross-cluster failovers to compare"
        );
    }
}
