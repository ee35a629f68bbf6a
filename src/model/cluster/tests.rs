//! Network-partition rules, pinned down with fixed durations and scripted faults: the NP test
//! plan of the NP-Test repository and the semantics of `np_resolution`.

use std::path::Path;

use super::{ClusterFault, ClusterSim, Group, GroupCommand, ServerState};
use crate::engine::Calendar;
use crate::metrics::{Cause, TrackerTotals};
use crate::scenario::{parse, Cluster, NpResolution};
use crate::time::{MICROS_PER_HOUR as H, MICROS_PER_MINUTE as M, MICROS_PER_SECOND as S};

/// Two servers that never fail by themselves; 30 s heartbeat timeout, 60 s group start,
/// 5 min sync wait and 5 min reboot.
fn cluster(np: NpResolution) -> Cluster {
    let text = r#"
[simulation]
horizon = "200h"
replications = 1
seed = 1

[[cluster]]
name = "c"
servers = ["s1", "s2"]
server_ttf = "100000h"
server_ttr = "1h"
heartbeat_timeout = "30s"
group_start = "60s"

[[service]]
name = "app"
cluster = "c"
"#;
    let scenario = parse(Path::new("np.toml"), text.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let mut c = scenario.clusters[0].clone();
    c.server_ttf = None;
    c.server_ttr = None;
    c.np_resolution = np;
    c
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Fault(ClusterFault),
    Witness(bool),
    Command(GroupCommand),
}

struct Outcome {
    totals: TrackerTotals,
    group: Group,
    states: Vec<ServerState>,
}

/// Runs the cluster to `horizon` with the witness up at time 0 and `script` applied in order.
fn run(spec: &Cluster, script: &[(u64, Step)], horizon: u64) -> Outcome {
    let mut cal: Calendar<super::ClusterEvent> = Calendar::new();
    let mut sim = ClusterSim::new(spec, 1, 0, 0, horizon, false, true, &mut cal);
    let drain = |sim: &mut ClusterSim, cal: &mut Calendar<_>, until| {
        while let Some((_, e)) = cal.pop_until(until) {
            sim.handle(e, cal);
        }
        cal.advance_to(until);
    };
    for &(at, step) in script {
        drain(&mut sim, &mut cal, at);
        match step {
            Step::Fault(f) => sim.inject(f, &mut cal),
            Step::Witness(up) => sim.set_witness(up, &mut cal),
            Step::Command(c) => {
                // Refused commands change nothing; the tests below check the states.
                let _ = sim.command(c, &mut cal);
            }
        }
    }
    drain(&mut sim, &mut cal, horizon);
    let group = sim.group();
    let states = (0..2).map(|s| sim.server_state(s)).collect();
    let (totals, _) = sim.finish();
    Outcome {
        totals,
        group,
        states,
    }
}

fn down(o: &Outcome, cause: Cause) -> u64 {
    o.totals.down_by_cause[cause.index()]
}

use ClusterFault::*;
use Step::{Command, Fault, Witness};

#[test]
fn a_move_stops_the_group_and_starts_it_on_the_target_as_maintenance() {
    // Stop 10 s (the default group_stop), start 60 s: down 70 s, then online on s2.
    let spec = cluster(NpResolution::None);
    let o = run(
        &spec,
        &[(H, Command(GroupCommand::Move { server: None }))],
        2 * H,
    );
    assert_eq!(o.group, Group::Online(1));
    assert_eq!(
        down(&o, Cause::Maintenance),
        spec.group_stop.mean() as u64 + 60 * S
    );
    assert_eq!(o.totals.outages, 1);
}

#[test]
fn a_stopped_group_stays_offline_until_started_where_asked() {
    let spec = cluster(NpResolution::None);
    let o = run(
        &spec,
        &[
            (H, Command(GroupCommand::Stop)),
            // Refused: the group is not online.
            (H + 20 * M, Command(GroupCommand::Move { server: Some(1) })),
            (2 * H, Command(GroupCommand::Start { server: Some(1) })),
        ],
        3 * H,
    );
    assert_eq!(o.group, Group::Online(1));
    assert_eq!(down(&o, Cause::Maintenance), H + 60 * S);
    let o = run(&spec, &[(H, Command(GroupCommand::Stop))], 3 * H);
    assert_eq!(o.group, Group::Offline);
}

#[test]
fn a_scripted_disk_failure_holds_the_group_until_repaired() {
    let spec = cluster(NpResolution::None);
    let o = run(
        &spec,
        &[(H, Fault(DiskFailure)), (2 * H, Fault(DiskRepair))],
        3 * H,
    );
    assert_eq!(o.group, Group::Online(0));
    assert_eq!(down(&o, Cause::SharedDisk), H + 60 * S);
}

#[test]
fn witness_down_alone_changes_nothing() {
    let o = run(
        &cluster(NpResolution::Witness),
        &[(10 * H, Witness(false))],
        20 * H,
    );
    assert_eq!(o.totals.down, 0);
    assert_eq!(o.totals.np_shutdowns, 0);
    assert_eq!(o.group, Group::Online(0));
}

#[test]
fn interconnect_down_with_the_witness_up_changes_nothing() {
    // The witness heartbeat still links the servers ("pull the secondary HB: continues").
    let o = run(
        &cluster(NpResolution::Witness),
        &[(10 * H, Fault(InterconnectDown))],
        20 * H,
    );
    assert_eq!(o.totals.down, 0);
    assert_eq!(o.group, Group::Online(0));
}

#[test]
fn interconnect_and_witness_down_shut_every_server_down_until_one_can_see_again() {
    // NP-Test "multiple failures": witness first, then the heartbeat LAN: both servers shut
    // down after the heartbeat timeout, boot 5 min later, stay out (no peer, no witness) until
    // the witness returns at 12 h; then both join at once and the group starts (60 s).
    let o = run(
        &cluster(NpResolution::Witness),
        &[
            (10 * H, Witness(false)),
            (11 * H, Fault(InterconnectDown)),
            (12 * H, Witness(true)),
        ],
        20 * H,
    );
    assert_eq!(o.totals.np_shutdowns, 1);
    assert_eq!(o.totals.outages, 1);
    assert_eq!(down(&o, Cause::NetworkPartition), H - 30 * S + 60 * S);
    assert_eq!(o.totals.down, H + 30 * S);
    assert_eq!(o.group, Group::Online(0));
    assert_eq!(o.states, vec![ServerState::Member; 2]);
}

#[test]
fn heartbeats_back_before_the_timeout_change_nothing() {
    let o = run(
        &cluster(NpResolution::Witness),
        &[
            (10 * H, Witness(false)),
            (11 * H, Fault(InterconnectDown)),
            (11 * H + 10 * S, Fault(InterconnectUp)),
        ],
        20 * H,
    );
    assert_eq!(o.totals.down, 0);
    assert_eq!(o.totals.np_shutdowns, 0);
}

#[test]
fn a_cut_off_active_server_shuts_down_and_its_peer_takes_over() {
    // NP-Test "network partition" 1-2: pull every cable of the active server: it cannot reach
    // the witness and shuts down after the heartbeat timeout; its peer reaches the witness,
    // survives, detects the loss (30 s) and starts the group (60 s). The shut-down server
    // boots, stays out while cut off, and joins as a standby once reconnected: all green.
    let o = run(
        &cluster(NpResolution::Witness),
        &[
            (10 * H, Fault(ServerCutOff { server: 0 })),
            (11 * H, Fault(ServerReconnected { server: 0 })),
        ],
        20 * H,
    );
    assert_eq!(o.totals.np_shutdowns, 1);
    assert_eq!(down(&o, Cause::NetworkPartition), 90 * S);
    assert_eq!(o.totals.down, 90 * S);
    assert_eq!(o.group, Group::Online(1));
    assert_eq!(o.states, vec![ServerState::Member; 2]);
}

#[test]
fn a_cut_off_standby_shuts_down_and_the_service_carries_on() {
    // NP-Test "network partition" 3-4.
    let o = run(
        &cluster(NpResolution::Witness),
        &[(10 * H, Fault(ServerCutOff { server: 1 }))],
        20 * H,
    );
    assert_eq!(o.totals.np_shutdowns, 1);
    assert_eq!(o.totals.down, 0);
    assert_eq!(o.states, vec![ServerState::Member, ServerState::Isolated]);
}

#[test]
fn forced_stop_of_a_hung_server_is_a_failover() {
    // NP-Test "forced stop": the hung active server is powered off; the peer takes over after
    // the heartbeat timeout; powered on again, the server rejoins as a standby.
    let o = run(
        &cluster(NpResolution::Witness),
        &[
            (10 * H, Fault(ServerCrash { server: 0 })),
            (11 * H, Fault(ServerPowerOn { server: 0 })),
        ],
        20 * H,
    );
    assert_eq!(down(&o, Cause::ServerFailover), 90 * S);
    assert_eq!(o.totals.np_shutdowns, 0);
    assert_eq!(o.group, Group::Online(1));
    assert_eq!(o.states, vec![ServerState::Member; 2]);
}

#[test]
fn without_resolution_both_sides_run_the_group_until_the_link_returns() {
    // Split brain from the heartbeat timeout to the link's return; then the multi-activation
    // rule shuts both servers down; they boot together after 5 min, the first waits for its
    // peer (sync wait ends as soon as both are in), and the group starts (60 s).
    let o = run(
        &cluster(NpResolution::None),
        &[
            (10 * H, Fault(InterconnectDown)),
            (11 * H, Fault(InterconnectUp)),
        ],
        20 * H,
    );
    assert_eq!(o.totals.split_brain, H - 30 * S);
    assert_eq!(o.totals.np_shutdowns, 1);
    assert_eq!(down(&o, Cause::NetworkPartition), 5 * M + 60 * S);
    assert_eq!(o.totals.down, 5 * M + 60 * S);
    assert_eq!(o.group, Group::Online(0));
}

#[test]
fn without_resolution_the_witness_is_not_consulted() {
    let o = run(
        &cluster(NpResolution::None),
        &[(10 * H, Witness(false))],
        20 * H,
    );
    assert_eq!(o.totals.down, 0);
    assert_eq!(o.totals.split_brain, 0);
}

#[test]
fn a_split_brain_that_loses_one_side_ends_without_a_shutdown() {
    let o = run(
        &cluster(NpResolution::None),
        &[
            (10 * H, Fault(InterconnectDown)),
            (11 * H, Fault(ServerCrash { server: 0 })),
            (12 * H, Fault(InterconnectUp)),
        ],
        20 * H,
    );
    assert_eq!(o.totals.split_brain, H - 30 * S);
    assert_eq!(o.totals.np_shutdowns, 0);
    assert_eq!(o.totals.down, 0);
    assert_eq!(o.group, Group::Online(1));
}
