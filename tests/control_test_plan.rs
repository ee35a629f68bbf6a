//! The test plan of the Cluster-Set documentation's test plan (the Cluster-Set doc's §Testing table), run against
//! the mocked clusters with the as-shipped scripts, and with the coordinated ones.

use std::path::Path;

use ecxsim::backend::{PowerState, ReplicationMode, ReplicationState};
use ecxsim::control::{ControlVariant, CoordinationConfig};
use ecxsim::model::scripted::{run_test, TestRun};
use ecxsim::scenario::{parse, Scenario};
use ecxsim::time::{MICROS_PER_MINUTE, MICROS_PER_SECOND};
use ecxsim::world::{Check, EndState, Expect, Fault};

const MIN: u64 = MICROS_PER_MINUTE;

/// The test plan's topology: cluster1 carries the primary, cluster2 the replica of one VM,
/// healthy at time zero; nothing fails but what a test injects.
const TWO_CLUSTERS: &str = r#"
[simulation]
name = "test-plan"
horizon = "1h"
replications = 1
seed = 1

[[cluster]]
name = "cluster1"
servers = ["c1s1", "c1s2"]
heartbeat_timeout = "30s"
group_start = { dist = "uniform", min = "20s", max = "60s" }
group_stop = "10s"

[[cluster]]
name = "cluster2"
servers = ["c2s1", "c2s2"]
heartbeat_timeout = "30s"
group_start = { dist = "uniform", min = "20s", max = "60s" }
group_stop = "10s"

[[vm]]
name = "TestVM1"
cluster = "cluster1"
replica_cluster = "cluster2"
replication_interval = "30s"

[[expect]]
metric = "vm_running_count"
value = 1
"#;

fn scenario(control: ControlVariant) -> Scenario {
    let mut sc = parse(Path::new("test-plan.toml"), TWO_CLUSTERS.to_string()).unwrap();
    sc.control = control;
    sc.expects.clear();
    sc
}

fn run(sc: &Scenario, replication: u64) -> TestRun {
    run_test(sc, replication, true)
}

fn assert_passed(run: &TestRun) {
    if !run.all_expectations_passed() {
        let failed: Vec<_> = run.expectations.iter().filter(|e| !e.passed).collect();
        panic!("{failed:#?}\n{}", run.timeline());
    }
}

fn variants() -> Vec<ControlVariant> {
    vec![
        ControlVariant::AsShipped,
        ControlVariant::Coordinated(CoordinationConfig::default()),
    ]
}

fn direction(primary: &str, replica: &str) -> Check {
    Check::ReplicationDirection {
        primary: primary.into(),
        replica: replica.into(),
    }
}

#[test]
fn stop_group_keeps_the_vm_running_but_interrupts_replication() {
    for v in variants() {
        let sc = scenario(v)
            .inject(
                MIN,
                Fault::GroupStop {
                    cluster: "cluster1".into(),
                },
            )
            .expect(Expect::at(
                10 * MIN,
                Check::VmPower {
                    server: "c1s1".into(),
                    power: PowerState::Running,
                },
            ))
            .expect(Expect::at(10 * MIN, Check::ReplicationHealthy(false)))
            .expect(Expect::at(
                10 * MIN,
                Check::ReplicationOn {
                    server: "c1s1".into(),
                    mode: Some(ReplicationMode::Primary),
                    state: Some(ReplicationState::Error),
                },
            ));
        assert_passed(&run(&sc, 0));
    }
}

#[test]
fn start_group_changes_nothing_and_replication_continues() {
    for v in variants() {
        let sc = scenario(v)
            .inject(
                MIN,
                Fault::GroupStop {
                    cluster: "cluster1".into(),
                },
            )
            .inject(
                5 * MIN,
                Fault::GroupStart {
                    cluster: "cluster1".into(),
                    target: None,
                },
            )
            .expect(Expect::at_end(direction("c1s1", "c2s1")))
            .expect(Expect::at_end(Check::VmRunningOn {
                server: "c1s1".into(),
            }))
            .expect(Expect::at_end(Check::EndState(EndState::Healthy)))
            .expect(Expect::at_end(Check::ScriptsSucceeded));
        assert_passed(&run(&sc, 0));
    }
}

#[test]
fn move_within_cluster1_moves_the_origin_and_starts_the_vm_on_the_standby() {
    for v in variants() {
        let sc = scenario(v)
            .inject(
                MIN,
                Fault::GroupMove {
                    cluster: "cluster1".into(),
                    target: None,
                },
            )
            .expect(Expect::at_end(direction("c1s2", "c2s1")))
            .expect(Expect::at_end(Check::VmRunningOn {
                server: "c1s2".into(),
            }))
            .expect(Expect::at_end(Check::EndState(EndState::Healthy)));
        assert_passed(&run(&sc, 0));
    }
}

#[test]
fn move_back_within_cluster1_returns_the_origin() {
    for v in variants() {
        let sc = scenario(v)
            .inject(
                MIN,
                Fault::GroupMove {
                    cluster: "cluster1".into(),
                    target: None,
                },
            )
            .inject(
                20 * MIN,
                Fault::GroupMove {
                    cluster: "cluster1".into(),
                    target: Some("c1s1".into()),
                },
            )
            .expect(Expect::at(19 * MIN, direction("c1s2", "c2s1")))
            .expect(Expect::at_end(direction("c1s1", "c2s1")))
            .expect(Expect::at_end(Check::VmRunningOn {
                server: "c1s1".into(),
            }))
            .expect(Expect::at_end(Check::EndState(EndState::Healthy)));
        assert_passed(&run(&sc, 0));
    }
}

#[test]
fn move_within_cluster2_retargets_replication_and_leaves_the_replica_off() {
    for v in variants() {
        let sc = scenario(v)
            .inject(
                MIN,
                Fault::GroupMove {
                    cluster: "cluster2".into(),
                    target: None,
                },
            )
            .expect(Expect::at_end(direction("c1s1", "c2s2")))
            .expect(Expect::at_end(Check::VmPower {
                server: "c2s2".into(),
                power: PowerState::Off,
            }))
            .expect(Expect::at_end(Check::VmRunningOn {
                server: "c1s1".into(),
            }))
            .expect(Expect::at_end(Check::EndState(EndState::Healthy)));
        assert_passed(&run(&sc, 0));
    }
}

#[test]
fn move_back_within_cluster2_makes_the_first_node_the_replica_again() {
    for v in variants() {
        let sc = scenario(v)
            .inject(
                MIN,
                Fault::GroupMove {
                    cluster: "cluster2".into(),
                    target: None,
                },
            )
            .inject(
                20 * MIN,
                Fault::GroupMove {
                    cluster: "cluster2".into(),
                    target: Some("c2s1".into()),
                },
            )
            .expect(Expect::at(19 * MIN, direction("c1s1", "c2s2")))
            .expect(Expect::at_end(direction("c1s1", "c2s1")))
            .expect(Expect::at_end(Check::VmPower {
                server: "c2s1".into(),
                power: PowerState::Off,
            }))
            .expect(Expect::at_end(Check::VmPower {
                server: "c2s2".into(),
                power: PowerState::Off,
            }))
            .expect(Expect::at_end(Check::EndState(EndState::Healthy)));
        assert_passed(&run(&sc, 0));
    }
}

#[test]
fn an_impossible_expectation_fails() {
    let sc = scenario(ControlVariant::AsShipped)
        .inject(
            MIN,
            Fault::GroupMove {
                cluster: "cluster1".into(),
                target: None,
            },
        )
        // The VM cannot run on the replica cluster: nothing ever starts it there.
        .expect(Expect::at_end(Check::VmRunningOn {
            server: "c2s1".into(),
        }));
    let result = run(&sc, 0);
    assert!(!result.all_expectations_passed());
    assert_eq!(result.expectations.len(), 1);
    assert!(!result.expectations[0].passed);
}

#[test]
fn same_seed_same_run() {
    let sc = scenario(ControlVariant::AsShipped)
        .inject(
            MIN,
            Fault::ServerCrash {
                server: "c1s1".into(),
            },
        )
        .inject(
            MIN + 20 * MICROS_PER_SECOND,
            Fault::ServerCrash {
                server: "c2s1".into(),
            },
        );
    let a = run(&sc, 3);
    let b = run(&sc, 3);
    assert_eq!(a.timeline(), b.timeline());
    assert_eq!(a.end_states, b.end_states);
}
