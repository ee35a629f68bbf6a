//! Regression tests (`ecxsim test`) on the one world: `[[inject]]` faults become scripted
//! faults of the world, and each `[[expect]]` is answered from the world's state at its time
//! (where the VM runs, its replication, the groups, the scripts' results) or from the
//! results accumulated until then (availability, outages, downtime by cause).
//!
//! A check at time `t` is answered by the same replication run to horizon `t`: the simulation
//! is causal and deterministic, so everything before `t` is exactly what the full run saw.

use std::collections::BTreeSet;

use super::cluster::GroupCommand;
use super::cluster_set::{Records, ScriptedFault, World};
use super::{ClusterFault, ReplicationResult};
use crate::metrics::CAUSES;
use crate::run::service_names;
use crate::scenario::Scenario;
use crate::time::{seconds, Micros};
use crate::world::{
    Check, EndState, ExpectResult, Fault, ScriptRecord, TraceEntry, VmHistory, When,
};

/// The injects of a scenario as scripted faults of the world (names it does not know,
/// which validation refuses, are left out).
pub fn scripted_faults(scenario: &Scenario) -> Vec<(Micros, ScriptedFault)> {
    let server = |name: &str| {
        scenario
            .clusters
            .iter()
            .enumerate()
            .find_map(|(c, cl)| cl.servers.iter().position(|s| s == name).map(|s| (c, s)))
    };
    let cluster = |name: &str| scenario.clusters.iter().position(|c| c.name == name);
    // A target server of a group command, by name, in that cluster.
    let member = |c: usize, name: &Option<String>| {
        name.as_ref()
            .and_then(|n| scenario.clusters[c].servers.iter().position(|s| s == n))
    };
    scenario
        .injects
        .iter()
        .filter_map(|inject| {
            let on_server = |name: &str, make: fn(usize) -> ClusterFault| {
                server(name).map(|(c, s)| ScriptedFault::Cluster {
                    cluster: c,
                    fault: make(s),
                })
            };
            let on_cluster = |name: &str, fault: ClusterFault| {
                cluster(name).map(|c| ScriptedFault::Cluster { cluster: c, fault })
            };
            let command = |name: &str, make: &dyn Fn(usize) -> GroupCommand| {
                cluster(name).map(|c| ScriptedFault::Group {
                    cluster: c,
                    command: make(c),
                })
            };
            let fault = match &inject.fault {
                Fault::ServerCrash { server } => {
                    on_server(server, |s| ClusterFault::ServerCrash { server: s })
                }
                Fault::PowerOn { server } => {
                    on_server(server, |s| ClusterFault::ServerPowerOn { server: s })
                }
                Fault::NetworkCut { server } => {
                    on_server(server, |s| ClusterFault::ServerCutOff { server: s })
                }
                Fault::Reconnect { server } => {
                    on_server(server, |s| ClusterFault::ServerReconnected { server: s })
                }
                Fault::InterconnectDown { cluster } => {
                    on_cluster(cluster, ClusterFault::InterconnectDown)
                }
                Fault::InterconnectUp { cluster } => {
                    on_cluster(cluster, ClusterFault::InterconnectUp)
                }
                Fault::DiskFailure { cluster } => on_cluster(cluster, ClusterFault::DiskFailure),
                Fault::DiskRepair { cluster } => on_cluster(cluster, ClusterFault::DiskRepair),
                Fault::GroupStop { cluster } => command(cluster, &|_| GroupCommand::Stop),
                Fault::GroupStart { cluster, target } => {
                    command(cluster, &|c| GroupCommand::Start {
                        server: member(c, target),
                    })
                }
                Fault::GroupMove { cluster, target } => command(cluster, &|c| GroupCommand::Move {
                    server: member(c, target),
                }),
                Fault::RestUnreachable {
                    cluster: name,
                    duration,
                } => cluster(name).map(|c| ScriptedFault::RestUnreachable {
                    cluster: c,
                    duration: *duration,
                }),
                Fault::ScriptRestart { cluster: name } => {
                    cluster(name).map(|c| ScriptedFault::ScriptRestart { cluster: c })
                }
                Fault::WitnessDown => Some(ScriptedFault::Witness { up: false }),
                Fault::WitnessUp => Some(ScriptedFault::Witness { up: true }),
            }?;
            Some((inject.at, fault))
        })
        .collect()
}

/// One replication of a regression test: each expectation's result, and the whole run.
pub struct TestRun {
    pub replication: u64,
    pub expectations: Vec<ExpectResult>,
    /// Names of `result.services`, in order.
    pub service_names: Vec<String>,
    /// The results at the horizon.
    pub result: ReplicationResult,
    /// Every script resource run, each VM's changes, the timeline (if asked for).
    pub scripts: Vec<ScriptRecord>,
    pub history: Vec<VmHistory>,
    pub trace: Vec<TraceEntry>,
    /// How each VM's protection stands at the horizon.
    pub end_states: Vec<EndState>,
}

impl TestRun {
    pub fn all_expectations_passed(&self) -> bool {
        self.expectations.iter().all(|e| e.passed)
    }

    pub fn timeline(&self) -> String {
        crate::world::trace::render(&self.trace)
    }
}

/// The world of `scenario` cut at `horizon`, with its faults, recording.
fn run_to(
    scenario: &Scenario,
    replication: u64,
    horizon: Micros,
    faults: &[(Micros, ScriptedFault)],
    trace: bool,
    answer: impl FnOnce(&World<'_>) -> Vec<EndState>,
) -> (ReplicationResult, Records, Vec<EndState>) {
    let mut s = scenario.clone();
    s.simulation.horizon = horizon.max(1);
    s.simulation.warmup = s.simulation.warmup.min(s.simulation.horizon - 1);
    let mut world = World::new(&s, scenario.simulation.seed, replication, true, faults);
    world.record(trace);
    world.run_to_horizon();
    let states = answer(&world);
    let (result, records) = world.finish(replication);
    (result, records, states)
}

fn within(value: Micros, at_most: Option<Micros>, at_least: Option<Micros>) -> bool {
    at_most.is_none_or(|m| value <= m) && at_least.is_none_or(|l| value >= l)
}

/// Runs replication `replication` of a test scenario and checks its expectations.
pub fn run_test(scenario: &Scenario, replication: u64, trace: bool) -> TestRun {
    let faults = scripted_faults(scenario);
    let names = service_names(scenario);
    let end = scenario.simulation.horizon;
    let at = |when: When| match when {
        When::At(t) => t.min(end),
        When::End => end,
    };
    let times: BTreeSet<Micros> = scenario.expects.iter().map(|e| at(e.when)).collect();
    let mut expectations: Vec<Option<ExpectResult>> = vec![None; scenario.expects.len()];
    for &t in times.iter().filter(|&&t| t < end) {
        let mut state = Vec::new();
        let (result, _, _) = run_to(scenario, replication, t, &faults, false, |world| {
            state = answer_state(scenario, world, t);
            Vec::new()
        });
        answer_totals(scenario, &names, &result, t, state, &mut expectations);
    }
    let mut state = Vec::new();
    let (result, records, end_states) =
        run_to(scenario, replication, end, &faults, trace, |world| {
            state = answer_state(scenario, world, end);
            (0..scenario.vms.len())
                .map(|v| world.end_state(v))
                .collect()
        });
    answer_totals(scenario, &names, &result, end, state, &mut expectations);
    TestRun {
        replication,
        expectations: expectations.into_iter().flatten().collect(),
        service_names: names,
        result,
        scripts: records.scripts,
        history: records.history,
        trace: records.trace,
        end_states,
    }
}

/// The VM (index in `scenario.vms`) an expectation concerns: its `vm`, or the first.
fn vm_of(scenario: &Scenario, vm: Option<&String>) -> usize {
    vm.and_then(|n| scenario.vms.iter().position(|v| &v.name == n))
        .unwrap_or(0)
}

/// The answers of the state checks due at `t` (by expectation index).
fn answer_state(scenario: &Scenario, world: &World<'_>, t: Micros) -> Vec<(usize, bool, String)> {
    let end = scenario.simulation.horizon;
    scenario
        .expects
        .iter()
        .enumerate()
        .filter(|(_, e)| match e.when {
            When::At(at) => at.min(end) == t,
            When::End => end == t,
        })
        .filter_map(|(i, e)| {
            let vm = vm_of(scenario, e.vm.as_ref());
            world
                .check_state(&e.check, vm)
                .map(|(passed, observed)| (i, passed, observed))
        })
        .collect()
}

/// Fills in the expectations due at `t`: the state answers given, the others from the
/// results accumulated until `t`.
fn answer_totals(
    scenario: &Scenario,
    names: &[String],
    result: &ReplicationResult,
    t: Micros,
    state: Vec<(usize, bool, String)>,
    expectations: &mut [Option<ExpectResult>],
) {
    let end = scenario.simulation.horizon;
    let mut answered: Vec<Option<(bool, String)>> = vec![None; scenario.expects.len()];
    for (i, passed, observed) in state {
        answered[i] = Some((passed, observed));
    }
    for (i, expect) in scenario.expects.iter().enumerate() {
        let due = match expect.when {
            When::At(at) => at.min(end) == t,
            When::End => end == t,
        };
        if !due {
            continue;
        }
        let (passed, observed) = answered[i].take().unwrap_or_else(|| {
            let index = expect
                .vm
                .as_ref()
                .and_then(|n| names.iter().position(|s| s == n))
                .or_else(|| {
                    // Checks about "the VM" without a name: the first VM, else the first
                    // service.
                    let first_vm = scenario.services.len();
                    (first_vm < names.len()).then_some(first_vm)
                })
                .unwrap_or(0);
            totals_check(&expect.check, result, index)
        });
        expectations[i] = Some(ExpectResult {
            expect: expect.clone(),
            checked_at: t,
            passed,
            observed,
        });
    }
}

/// A check on the results accumulated so far by service `index`.
fn totals_check(check: &Check, result: &ReplicationResult, index: usize) -> (bool, String) {
    let Some(service) = result.services.get(index) else {
        return (false, "no such service".to_string());
    };
    let t = &service.totals;
    match check {
        Check::AvailabilityAtLeast(a) => {
            let got = t.availability();
            (got >= *a, format!("availability {got:.6}"))
        }
        Check::OutagesAtMost(n) => (t.outages <= u64::from(*n), format!("{} outages", t.outages)),
        Check::UnprotectedAtMost(limit) => (
            t.unprotected <= *limit,
            format!("{}s unprotected", seconds(t.unprotected)),
        ),
        Check::DataLostAtMost(limit) => {
            let lost: Micros = service.data_loss.iter().sum();
            (lost <= *limit, format!("{}s lost", seconds(lost)))
        }
        Check::NpShutdowns(n) => (
            t.np_shutdowns == *n,
            format!("{} NP shutdowns", t.np_shutdowns),
        ),
        Check::SplitBrain { at_most, at_least } => (
            within(t.split_brain, *at_most, *at_least),
            format!("{}s of split brain", seconds(t.split_brain)),
        ),
        Check::CauseDowntime {
            cause,
            at_most,
            at_least,
        } => {
            let got = CAUSES
                .iter()
                .find(|c| c.name() == cause)
                .map_or(0, |c| t.down_by_cause[c.index()]);
            (
                within(got, *at_most, *at_least),
                format!("{}s of {cause}", seconds(got)),
            )
        }
        Check::ServiceUp(want) => {
            let down = service.outages.last().is_some_and(|o| o.censored);
            let shown = if down { "down" } else { "up" };
            (down != *want, shown.to_string())
        }
        // State checks are answered by the world (`World::check_state`).
        other => (
            false,
            format!("`{other}` is not a check on accumulated results"),
        ),
    }
}
