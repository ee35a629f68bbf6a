//! The `[backend]` keys for what the mocks assume where no source says: each changes what the
//! control logic sees, and only when set.

use std::path::Path;

use ecxsim::backend::sim::{Op, OpOutput};
use ecxsim::backend::GroupStatus;
use ecxsim::model::cluster_set::{group_name, World};
use ecxsim::model::scripted::scripted_faults;
use ecxsim::scenario::{parse, Scenario};
use ecxsim::time::MICROS_PER_SECOND as S;

/// The race example with fixed timings and c1s1 crashing at 60 s: heartbeat timeout until
/// 90 s, then cluster1's group starts on c1s2 for 60 s (until 150 s).
fn crash_scenario(backend: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two_cluster_replica.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [
        (
            "group_start = { dist = \"uniform\", min = \"20s\", max = \"60s\" }",
            "group_start = \"60s\"",
        ),
        ("[backend]", &format!("[backend]\n{backend}")),
    ] {
        text = text.replacen(from, to, 1);
    }
    text.push_str("\n[[inject]]\nat = \"60s\"\nfault = \"server_crash\"\ntarget = \"c1s1\"\n");
    parse(&path, text).unwrap_or_else(|e| panic!("{e}"))
}

/// What a GET of cluster1's group at its FIP answers at `t`.
fn group_at(scenario: &Scenario, t: u64) -> Result<(GroupStatus, String), String> {
    let faults = scripted_faults(scenario);
    let mut world = World::new(scenario, 1, 0, false, &faults);
    world.advance_to(t);
    let op = Op::RestGroup {
        cluster: "cluster1".into(),
        group: group_name("cluster1").into(),
    };
    match world.external_rest(&op) {
        Ok(OpOutput::Group(g)) => Ok((g.status, g.current.to_string())),
        Ok(_) => panic!("a group GET answers a group"),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn the_fip_answers_during_the_group_start_only_when_assumed_to() {
    // Default: the FIP comes online with the disk, so nothing answers while the group starts.
    let default = crash_scenario("");
    assert!(group_at(&default, 120 * S).is_err());
    let early = crash_scenario("rest_during_group_start = true");
    assert_eq!(
        group_at(&early, 120 * S),
        Ok((GroupStatus::OnlinePending, "c1s2".to_string()))
    );
    // Before the heartbeat timeout nobody has taken the group over: no FIP either way.
    assert!(group_at(&early, 80 * S).is_err());
}

#[test]
fn bad_assumption_values_are_located_errors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two_cluster_replica.toml");
    let base = std::fs::read_to_string(&path).unwrap();
    for (line, expected) in [
        (
            "crash_state = \"gone\"",
            "expected one of \"error\", \"resynchronization-required\"",
        ),
        (
            "rest_during_group_start = \"yes\"",
            "rest_during_group_start",
        ),
        ("unreachable_call = \"0s\"", "unreachable_call"),
        (
            "failed_cycle = \"never\"",
            "`backend.failed_cycle`: expected one of \"retried\", \"sticky\"",
        ),
    ] {
        let text = base.replacen("[backend]", &format!("[backend]\n{line}"), 1);
        let err = parse(&path, text)
            .err()
            .unwrap_or_else(|| panic!("{line} accepted"));
        let shown = err.to_string();
        assert!(shown.contains(expected), "{line}: {shown}");
        assert!(shown.contains("two_cluster_replica.toml:"), "{shown}");
    }
    // Each accepted value parses.
    for line in [
        "crash_state = \"resynchronization-required\"",
        "failed_cycle = \"sticky\"",
        "unreachable_call = { dist = \"uniform\", min = \"3s\", max = \"21s\" }",
    ] {
        let text = base.replacen("[backend]", &format!("[backend]\n{line}"), 1);
        parse(&path, text).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

/// The replica server c2s1 is cut off the network for 40 s, shorter than its cluster's
/// heartbeat timeout (made 90 s here), so no failover follows. A cycle of the primary (every
/// 30 s) comes due meanwhile and cannot reach it: retried, replication is healthy again once
/// it is back; sticky, that failed cycle leaves the primary in Error until someone resumes it.
#[test]
fn a_sticky_failed_cycle_leaves_the_primary_in_error() {
    use ecxsim::world::EndState;
    let end_state = |backend: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two_cluster_replica.toml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text = text.replacen("[backend]", &format!("[backend]\n{backend}"), 1);
        // cluster2's heartbeat timeout (the second cluster's).
        let second = text.rfind("heartbeat_timeout = \"30s\"").unwrap();
        text.replace_range(second..second + 25, "heartbeat_timeout = \"90s\"");
        text.push_str(
            "\n[[inject]]\nat = \"60s\"\nfault = \"network_cut\"\ntarget = \"c2s1\"\n\
             \n[[inject]]\nat = \"100s\"\nfault = \"reconnect\"\ntarget = \"c2s1\"\n",
        );
        let scenario = parse(&path, text).unwrap_or_else(|e| panic!("{e}"));
        let faults = scripted_faults(&scenario);
        let mut world = World::new(&scenario, 1, 0, false, &faults);
        world.advance_to(600 * S);
        world.end_state(0)
    };
    assert_eq!(end_state(""), EndState::Healthy);
    assert_eq!(end_state("failed_cycle = \"retried\""), EndState::Healthy);
    assert_eq!(
        end_state("failed_cycle = \"sticky\""),
        EndState::NotReplicating
    );
}
