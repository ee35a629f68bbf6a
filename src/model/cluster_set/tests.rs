//! Cluster-set rules with fixed durations and scripted faults: detection, failover, DNS, data
//! loss, re-protection, the master's own failures, and the cost in events.

use std::path::Path;

use super::{simulate_replication, simulate_replication_with, ScriptedFault};
use crate::backend::sim::CallDurations;
use crate::control::{ControlVariant, CoordinationConfig};
use crate::dist::Dist;
use crate::metrics::{Cause, TrackerTotals};
use crate::scenario::{parse, Dns, Master, Scenario, Vm};
use crate::time::{MICROS_PER_HOUR as H, MICROS_PER_MINUTE as M, MICROS_PER_SECOND as S};

/// Clusters `master` (0), `cluster1` (1), `cluster2` (2), two servers each, with the given
/// cluster keys; a master polling every 10 s with threshold 3, failover 20 s, VM start 30 s,
/// re-protection 10 min; DNS TTL 60 s; VM `vm1` at home on cluster1, replicated every 5 min to
/// cluster2. `app` is cluster1's group as a plain service.
fn scenario(cluster_keys: &str, horizon: &str, replications: u64) -> Scenario {
    let cluster = |name: &str, servers: &str| {
        format!(
            "[[cluster]]\nname = \"{name}\"\nservers = [{servers}]\nheartbeat_timeout = \"30s\"\ngroup_start = \"60s\"\n{cluster_keys}\n"
        )
    };
    let text = format!(
        "[simulation]\nhorizon = \"{horizon}\"\nreplications = {replications}\nseed = 7\n\n{}{}{}[[service]]\nname = \"app\"\ncluster = \"cluster1\"\n",
        cluster("master", "\"m1\", \"m2\""),
        cluster("cluster1", "\"c1s1\", \"c1s2\""),
        cluster("cluster2", "\"c2s1\", \"c2s2\""),
    );
    let mut s = parse(Path::new("set.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    s.master = Some(Master {
        cluster: 0,
        poll_interval: 10 * S,
        failure_threshold: 3,
        failover: Dist::fixed(20 * S),
        vm_start: Dist::fixed(30 * S),
        reprotect: Dist::fixed(10 * M),
    });
    s.dns = Some(Dns { ttl: 60 * S });
    // The corrected scripts, and every call but the master's failover and VM start taking a
    // microsecond: the timings below are the master's and the groups'.
    s.control = ControlVariant::Coordinated(CoordinationConfig::default());
    s.backend.calls = CallDurations::fixed(1);
    s.vms = vec![Vm {
        name: "vm1".into(),
        cluster: 1,
        replica_cluster: 2,
        replication_interval: 5 * M,
        initial_replication: Dist::fixed(10 * M),
        checkpoint: Vm::default_checkpoint(),
        cycle: Dist::fixed(0),
        churn: None,
        link: None,
    }];
    s
}

/// Servers that fail only when told to.
pub(super) fn scripted(horizon: &str) -> Scenario {
    let mut s = scenario("server_ttf = \"1h\"\nserver_ttr = \"1h\"", horizon, 1);
    for c in &mut s.clusters {
        c.server_ttf = None;
        c.server_ttr = None;
    }
    s
}

pub(super) fn crash(cluster: usize, server: usize) -> ScriptedFault {
    ScriptedFault::server_crash(cluster, server)
}

fn power_on(cluster: usize, server: usize) -> ScriptedFault {
    ScriptedFault::server_power_on(cluster, server)
}

fn by_cause(t: &TrackerTotals, cause: Cause) -> u64 {
    t.down_by_cause[cause.index()]
}

/// Slack for the one-microsecond calls.
const EPS: u64 = 1_000;

#[test]
fn losing_a_whole_worker_cluster_fails_the_vm_over_within_the_detection_bound() {
    let s = scripted("20h");
    let t = 10 * H + 7 * S;
    let faults = [(t, crash(1, 0)), (t, crash(1, 1))];
    let r = simulate_replication_with(&s, 7, 0, true, &faults);
    let vm = &r.services[1];
    assert_eq!(vm.totals.outages, 1);
    // Detection: first poll tick after the loss (within 10 s), then two more failed polls;
    // failover 20 s, VM start 30 s, DNS TTL 60 s.
    let fixed = 20 * S + 30 * S + 60 * S;
    let down = vm.totals.down;
    assert!(down > 2 * 10 * S + fixed, "down {down}");
    assert!(down <= 3 * 10 * S + fixed + EPS, "down {down}");
    assert_eq!(by_cause(&vm.totals, Cause::Dns), 60 * S);
    let failover = by_cause(&vm.totals, Cause::ClusterFailover);
    assert!((50 * S..50 * S + EPS).contains(&failover), "{failover}");
    assert_eq!(
        by_cause(&vm.totals, Cause::ServerFailover) + by_cause(&vm.totals, Cause::AllServersDown),
        down - failover - 60 * S
    );
    // The last cycle completed at 10 h (a multiple of 5 min): 7 s of writes are lost, less
    // than one replication interval.
    assert_eq!(vm.data_loss, vec![7 * S]);
    // Cluster1 never returns: the VM runs unprotected from the loss to the horizon.
    assert_eq!(vm.totals.unprotected, 20 * H - t);
    // The plain service on cluster1 is down from the loss to the horizon.
    assert_eq!(r.services[0].totals.down, 20 * H - t);
}

#[test]
fn the_vm_is_re_protected_when_its_home_returns_and_stays_where_it_is() {
    let s = scripted("30h");
    let t = 10 * H + 7 * S;
    let back = 20 * H;
    let faults = [
        (t, crash(1, 0)),
        (t, crash(1, 1)),
        (back, power_on(1, 0)),
        (back, power_on(1, 1)),
    ];
    let r = simulate_replication_with(&s, 7, 0, false, &faults);
    let vm = &r.services[1];
    // One outage only: the VM does not move back.
    assert_eq!(vm.totals.outages, 1);
    // Unprotected from the loss until cluster1's group is up (60 s start), the next poll
    // tick, and the 10 min resynchronisation.
    let unprotected = vm.totals.unprotected;
    let least = back + 60 * S + 10 * M - t;
    assert!(
        (least..least + 10 * S + EPS).contains(&unprotected),
        "{unprotected}"
    );
    // A second loss, now of cluster2, fails the VM back to cluster1.
    let mut more = faults.to_vec();
    more.push((25 * H, crash(2, 0)));
    more.push((25 * H, crash(2, 1)));
    let r = simulate_replication_with(&s, 7, 0, false, &more);
    let vm = &r.services[1];
    assert_eq!(vm.totals.outages, 2);
    // The resynchronisation ended at about 20h10m, the last cycle before 25 h follows on its
    // 5 min grid: less than one interval lost.
    assert_eq!(vm.data_loss.len(), 2);
    assert!(vm.data_loss[1] < 5 * M, "{:?}", vm.data_loss);
}

#[test]
fn a_master_that_is_down_fails_nothing_over() {
    let s = scripted("20h");
    let faults = [
        (0, crash(0, 0)),
        (0, crash(0, 1)),
        (10 * H, crash(1, 0)),
        (10 * H, crash(1, 1)),
    ];
    let r = simulate_replication_with(&s, 7, 0, false, &faults);
    let vm = &r.services[1];
    assert!(vm.data_loss.is_empty());
    assert_eq!(vm.totals.down, 10 * H);
    assert_eq!(vm.totals.down_by_cause, r.services[0].totals.down_by_cause);
}

#[test]
fn a_master_that_fails_over_itself_starts_again_and_then_acts() {
    // The master's active server dies just before the worker cluster: the master group
    // restarts on its second server after 30 s + 60 s; the new controller learns where the VM
    // runs and fails it over.
    let s = scripted("20h");
    let t = 10 * H;
    let faults = [(t - S, crash(0, 0)), (t, crash(1, 0)), (t, crash(1, 1))];
    let r = simulate_replication_with(&s, 7, 0, false, &faults);
    let vm = &r.services[1];
    assert_eq!(vm.data_loss.len(), 1);
    assert!(vm.totals.down > 89 * S + 20 * S + 110 * S);
    assert!(vm.totals.down <= 89 * S + 30 * S + 110 * S + EPS);
}

#[test]
fn replications_are_pure_functions_of_their_inputs_and_cost_few_events() {
    let s = scenario(
        "server_ttf = { dist = \"exponential\", mean = \"2000h\" }\nserver_ttr = { dist = \"exponential\", mean = \"24h\" }",
        "10y",
        1,
    );
    for i in 0..5 {
        let a = simulate_replication(&s, 11, i, true);
        let b = simulate_replication(&s, 11, i, true);
        assert_eq!(a.events, b.events);
        for (x, y) in a.services.iter().zip(&b.services) {
            assert_eq!(x.totals, y.totals);
            assert_eq!(x.outages, y.outages);
            assert_eq!(x.data_loss, y.data_loss);
        }
        // Six servers failing about 44 times each in ten years, the master's reactions, and
        // the script resources' calls at each worker group start (a score each): thousands,
        // not the millions of a simulation that polled or replicated cycle by cycle.
        assert!(a.events < 10_000, "{} events", a.events);
    }
}

#[test]
fn a_master_that_dies_during_start_vm_is_succeeded_by_one_that_finishes_the_failover() {
    // Cluster1 is lost at 10 h; three failed polls (<= 30 s), Start-VMFailover (20 s), then
    // Start-VM (30 s): the master's server dies in the middle of it. The master group starts
    // on m2 after 30 s + 60 s; the new controller reads the role record (cluster2), finds the
    // VM off there and finishes the failover instead of leaving it down.
    let s = scripted("20h");
    let t = 10 * H;
    let faults = [
        (t, crash(1, 0)),
        (t, crash(1, 1)),
        (t + 30 * S + 20 * S + 15 * S, crash(0, 0)),
    ];
    let r = simulate_replication_with(&s, 7, 0, false, &faults);
    let vm = &r.services[1];
    assert_eq!(vm.data_loss.len(), 1, "the VM runs again on cluster2");
    // Down from the loss to the restarted master's Start-VM and the DNS TTL: a few minutes,
    // not the rest of the run.
    assert!(vm.totals.down < 10 * M, "down {}s", vm.totals.down / S);
    assert!(vm.totals.down > 65 * S + 90 * S + 30 * S + 60 * S);
}

#[test]
fn a_replica_whose_initial_replication_never_completed_is_not_failed_over_to() {
    // The VM fails over to cluster2 at 10 h; cluster1 returns at 12 h and its re-protection
    // (a 10 min initial replication from cluster2) starts; cluster2 is lost 5 min later, so
    // cluster1's copy never got a recovery point: Start-VMFailover there is refused and the
    // VM waits for cluster2 (no second failover, no lost writes counted for it).
    let s = scripted("20h");
    let faults = [
        (10 * H, crash(1, 0)),
        (10 * H, crash(1, 1)),
        (12 * H, power_on(1, 0)),
        (12 * H, power_on(1, 1)),
        (12 * H + 60 * S + 5 * M, crash(2, 0)),
        (12 * H + 60 * S + 5 * M, crash(2, 1)),
    ];
    let r = simulate_replication_with(&s, 7, 0, false, &faults);
    let vm = &r.services[1];
    assert_eq!(vm.data_loss.len(), 1, "{:?}", vm.data_loss);
}

#[test]
fn a_cycle_still_transferring_when_the_cluster_is_lost_is_lost_with_it() {
    // Cycles every 5 min, each taking 20 s: the cycle that started at 10 h is in flight at
    // 10 h + 7 s, so the replica holds the writes until 9 h 55 min: 5 min 7 s are lost.
    let mut s = scripted("20h");
    s.vms[0].cycle = Dist::fixed(20 * S);
    let t = 10 * H + 7 * S;
    let faults = [(t, crash(1, 0)), (t, crash(1, 1))];
    let r = simulate_replication_with(&s, 7, 0, true, &faults);
    assert_eq!(r.services[1].data_loss, vec![5 * M + 7 * S]);
    // 20 s later the transfer would have ended: one interval less.
    let t = 10 * H + 27 * S;
    let faults = [(t, crash(1, 0)), (t, crash(1, 1))];
    let r = simulate_replication_with(&s, 7, 0, true, &faults);
    assert_eq!(r.services[1].data_loss, vec![27 * S]);
}
