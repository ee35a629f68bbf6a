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
    Check, EndState, Expect, ExpectResult, Fault, ScriptRecord, TraceEntry, VmHistory, When,
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

/// The world of `scenario` cut at `horizon`, with its faults, recording; `look` sees the
/// world at the horizon, before its results are taken.
fn run_to(
    scenario: &Scenario,
    replication: u64,
    horizon: Micros,
    faults: &[(Micros, ScriptedFault)],
    trace: bool,
    look: impl FnOnce(&World<'_>),
) -> (ReplicationResult, Records) {
    let mut s = scenario.clone();
    s.simulation.horizon = horizon.max(1);
    s.simulation.warmup = s.simulation.warmup.min(s.simulation.horizon - 1);
    let mut world = World::new(&s, scenario.simulation.seed, replication, true, faults);
    world.record(trace);
    world.run_to_horizon();
    look(&world);
    world.finish(replication)
}

fn within(value: Micros, at_most: Option<Micros>, at_least: Option<Micros>) -> bool {
    at_most.is_none_or(|m| value <= m) && at_least.is_none_or(|l| value >= l)
}

/// When an expectation is checked: its time, cut at the horizon.
fn due(expect: &Expect, end: Micros) -> Micros {
    match expect.when {
        When::At(t) => t.min(end),
        When::End => end,
    }
}

/// Runs replication `replication` of a test scenario and checks its expectations: each
/// distinct check time is one run to that time (the last one to the horizon).
pub fn run_test(scenario: &Scenario, replication: u64, trace: bool) -> TestRun {
    let faults = scripted_faults(scenario);
    let names = service_names(scenario);
    let end = scenario.simulation.horizon;
    let mut times: BTreeSet<Micros> = scenario.expects.iter().map(|e| due(e, end)).collect();
    times.insert(end);
    let mut expectations: Vec<Option<ExpectResult>> = vec![None; scenario.expects.len()];
    let mut last = None;
    for t in times {
        let at_end = t == end;
        let checks: Vec<usize> = (0..scenario.expects.len())
            .filter(|&i| due(&scenario.expects[i], end) == t)
            .collect();
        let (mut state, mut end_states) = (Vec::new(), Vec::new());
        let (result, records) = run_to(scenario, replication, t, &faults, trace && at_end, |w| {
            state = (checks.iter())
                .map(|&i| {
                    let e = &scenario.expects[i];
                    w.check_state(&e.check, vm_of(scenario, e.vm.as_ref()))
                })
                .collect();
            if at_end {
                end_states = (0..scenario.vms.len()).map(|v| w.end_state(v)).collect();
            }
        });
        for (&i, answer) in checks.iter().zip(state) {
            let expect = &scenario.expects[i];
            let (passed, observed) = answer.unwrap_or_else(|| {
                totals_check(&expect.check, &result, service_of(scenario, &names, expect))
            });
            expectations[i] = Some(ExpectResult {
                expect: expect.clone(),
                checked_at: t,
                passed,
                observed,
            });
        }
        if at_end {
            last = Some((result, records, end_states));
        }
    }
    let (result, records, end_states) = last.expect("the horizon is one of the times");
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

/// The service (index in `names`) a check on accumulated results concerns: its `vm` (a VM or
/// a service), else the first VM, else the first service.
fn service_of(scenario: &Scenario, names: &[String], expect: &Expect) -> usize {
    let first_vm = scenario.services.len();
    expect
        .vm
        .as_ref()
        .and_then(|n| names.iter().position(|s| s == n))
        .or_else(|| (first_vm < names.len()).then_some(first_vm))
        .unwrap_or(0)
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
