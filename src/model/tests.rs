//! Deterministic checks of the cluster rules: with fixed durations every outage is known
//! exactly, so each rule of docs/scenario.md is pinned down to the microsecond.

use std::path::Path;

use super::{simulate_replication, ClusterEvent, ClusterSim};
use crate::engine::Calendar;
use crate::metrics::{Cause, OutageRecord, TrackerTotals};
use crate::scenario::{parse, Scenario};
use crate::time::{MICROS_PER_HOUR as H, MICROS_PER_MINUTE as M, MICROS_PER_SECOND as S};

fn scenario(cluster_keys: &str, horizon: &str) -> Scenario {
    let text = format!(
        r#"
[simulation]
horizon = "{horizon}"
replications = 1
seed = 1

[[cluster]]
name = "c"
servers = ["s1", "s2"]
heartbeat_timeout = "30s"
group_start = "60s"
{cluster_keys}

[[service]]
name = "app"
cluster = "c"
"#
    );
    parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn by_cause(result: &super::ReplicationResult, cause: Cause) -> u64 {
    result.services[0].totals.down_by_cause[cause.index()]
}

#[test]
fn simultaneous_failure_waits_for_a_server_then_starts_once_all_are_back() {
    // Both servers fail at 100 h and return at 101 h (unlimited crews): the failover finds no
    // server; the sync wait ends at once because every peer is back.
    let s = scenario("server_ttf = \"100h\"\nserver_ttr = \"1h\"", "150h");
    let r = simulate_replication(&s, 1, 0, true);
    let t = &r.services[0].totals;
    assert_eq!(t.outages, 1);
    assert_eq!(by_cause(&r, Cause::ServerFailover), 30 * S);
    assert_eq!(by_cause(&r, Cause::AllServersDown), H - 30 * S + 60 * S);
    assert_eq!(t.down, H + 60 * S);
    let o = &r.services[0].outages[0];
    assert_eq!(
        (o.start, o.end, o.cause),
        (100 * H, 101 * H + 60 * S, Cause::AllServersDown)
    );
}

#[test]
fn one_crew_repairs_in_failure_order_and_the_first_back_waits_for_sync() {
    // One crew: s1 back at 101 h, s2 at 102 h. s1 boots alone and waits 5 min, then starts.
    let s = scenario(
        "server_ttf = \"100h\"\nserver_ttr = \"1h\"\nrepair_crews = 1",
        "150h",
    );
    let r = simulate_replication(&s, 1, 0, false);
    assert_eq!(r.services[0].totals.down, H + 5 * M + 60 * S);
}

#[test]
fn sync_wait_zero_starts_as_soon_as_one_server_returns() {
    let s = scenario(
        "server_ttf = \"100h\"\nserver_ttr = \"1h\"\nrepair_crews = 1\nserver_sync_wait = \"0s\"",
        "150h",
    );
    let r = simulate_replication(&s, 1, 0, false);
    assert_eq!(r.services[0].totals.down, H + 60 * S);
}

#[test]
fn shared_disk_failure_costs_its_repair_and_a_group_start() {
    let s = scenario(
        "server_ttf = \"1000h\"\nserver_ttr = \"1h\"\nshared_disk = { ttf = \"50h\", ttr = \"2h\" }",
        "60h",
    );
    let r = simulate_replication(&s, 1, 0, true);
    assert_eq!(r.services[0].totals.down, 2 * H + 60 * S);
    assert_eq!(by_cause(&r, Cause::SharedDisk), 2 * H + 60 * S);
    assert_eq!(r.services[0].outages[0].cause, Cause::SharedDisk);
}

#[test]
fn an_outage_running_past_the_horizon_is_censored() {
    let s = scenario(
        "server_ttf = \"1000h\"\nserver_ttr = \"1h\"\nshared_disk = { ttf = \"50h\", ttr = \"20h\" }",
        "60h",
    );
    let r = simulate_replication(&s, 1, 0, true);
    let o = &r.services[0].outages[0];
    assert!(o.censored);
    assert_eq!(o.end, 60 * H);
    assert_eq!(r.services[0].totals.down, 10 * H);
}

#[test]
fn a_restart_on_the_top_priority_server_needs_no_failback() {
    // Both fail at 100 h; with one crew, s1 (failed first: its event was scheduled first) is
    // repaired first at 101 h and the group starts there at once (sync wait 0). s2 returning at
    // 102 h is lower priority, so failback never triggers. Failback itself is held to the exact
    // CTMC in tests/exact_ctmc.rs.
    let s = scenario(
        "server_ttf = \"100h\"\nserver_ttr = \"1h\"\nrepair_crews = 1\nserver_sync_wait = \"0s\"\nfailback = true\ngroup_stop = \"20s\"",
        "150h",
    );
    let r = simulate_replication(&s, 1, 0, false);
    assert_eq!(by_cause(&r, Cause::Failback), 0);
    assert_eq!(r.services[0].totals.down, H + 60 * S);
}

/// Every event of one replication of `scenario`'s single cluster, one by one on a bare
/// calendar: what the standalone world computes, without fusing a detection and its start.
fn unfused(scenario: &Scenario, seed: u64, index: u64) -> (TrackerTotals, Vec<OutageRecord>, u64) {
    let mut cal: Calendar<ClusterEvent> = Calendar::new();
    let (spec, sim) = (&scenario.clusters[0], &scenario.simulation);
    let window = (sim.warmup, sim.horizon);
    let mut cluster = ClusterSim::new(spec, seed, index, window.0, window.1, true, false, &mut cal);
    let mut events = 0;
    while let Some((_, event)) = cal.pop_until(window.1) {
        cluster.handle(event, &mut cal);
        events += 1;
    }
    let (totals, outages) = cluster.finish();
    (totals, outages, events)
}

#[test]
fn a_fused_failover_gives_exactly_the_results_of_its_two_steps() {
    // Failures often enough that some come during the 30 s detections and 60 s starts, and
    // every rule that can meet a failover: a shared disk, failback, a sync wait, an
    // interconnect.
    let times = r#"
server_ttf = { dist = "exponential", mean = "2h" }
server_ttr = { dist = "exponential", mean = "1h" }
repair_crews = 1
"#;
    let variants = [
        "shared_disk = { ttf = { dist = \"exponential\", mean = \"50h\" }, ttr = \"5h\" }",
        "failback = true\ngroup_stop = \"30m\"",
        "server_sync_wait = \"2h\"",
        "interconnect = { ttf = \"40h\", ttr = \"3h\" }",
    ];
    for variant in variants {
        let s = scenario(&format!("{times}{variant}"), "2000h");
        let mut fewer = 0;
        for index in 0..20 {
            let fused = simulate_replication(&s, 7, index, true);
            let (totals, outages, events) = unfused(&s, 7, index);
            assert_eq!(
                fused.services[0].totals, totals,
                "{variant}, replication {index}"
            );
            assert_eq!(
                fused.services[0].outages, outages,
                "{variant}, replication {index}"
            );
            fewer += events - fused.events;
        }
        assert!(fewer > 100, "{variant}: only {fewer} events saved");
    }
}
