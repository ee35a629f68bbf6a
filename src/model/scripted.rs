//! Regression tests on the availability model: `[[inject]]` faults become scripted faults of
//! the cluster model, and `[[expect]]` checks are answered from the service's totals.
//!
//! A check at time `t` is answered by the same replication run to horizon `t`: the simulation
//! is causal and deterministic, so everything before `t` is exactly what the full run saw.

use std::collections::BTreeMap;

use super::cluster_set::{simulate_replication_with, ScriptedFault};
use super::{ClusterFault, ReplicationResult};
use crate::metrics::CAUSES;
use crate::run::service_names;
use crate::scenario::Scenario;
use crate::time::{seconds, Micros};
use crate::world::{Check, ExpectResult, Fault, When};

/// The injects of a scenario as scripted faults of the availability model.
pub fn scripted_faults(scenario: &Scenario) -> Vec<(Micros, ScriptedFault)> {
    let server = |name: &str| {
        scenario
            .clusters
            .iter()
            .enumerate()
            .find_map(|(c, cl)| cl.servers.iter().position(|s| s == name).map(|s| (c, s)))
    };
    let cluster = |name: &str| scenario.clusters.iter().position(|c| c.name == name);
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
                Fault::InterconnectDown { cluster: name } => {
                    cluster(name).map(|c| ScriptedFault::Cluster {
                        cluster: c,
                        fault: ClusterFault::InterconnectDown,
                    })
                }
                Fault::InterconnectUp { cluster: name } => {
                    cluster(name).map(|c| ScriptedFault::Cluster {
                        cluster: c,
                        fault: ClusterFault::InterconnectUp,
                    })
                }
                Fault::WitnessDown => Some(ScriptedFault::Witness { up: false }),
                Fault::WitnessUp => Some(ScriptedFault::Witness { up: true }),
                // Control-world faults: the parser refuses them in these scenarios.
                _ => None,
            }?;
            Some((inject.at, fault))
        })
        .collect()
}

/// One run of an availability-model test: each expectation's result and the full run.
pub struct ScriptedRun {
    pub expectations: Vec<ExpectResult>,
    /// Names of `result.services`, in order.
    pub service_names: Vec<String>,
    pub result: ReplicationResult,
}

fn run_to(
    scenario: &Scenario,
    replication: u64,
    horizon: Micros,
    faults: &[(Micros, ScriptedFault)],
) -> ReplicationResult {
    let mut s = scenario.clone();
    s.simulation.horizon = horizon.max(1);
    s.simulation.warmup = s.simulation.warmup.min(s.simulation.horizon - 1);
    simulate_replication_with(&s, scenario.simulation.seed, replication, true, faults)
}

fn within(value: Micros, at_most: Option<Micros>, at_least: Option<Micros>) -> bool {
    at_most.is_none_or(|m| value <= m) && at_least.is_none_or(|l| value >= l)
}

pub fn run_test(scenario: &Scenario, replication: u64) -> ScriptedRun {
    let faults = scripted_faults(scenario);
    let names = service_names(scenario);
    let mut runs: BTreeMap<Micros, ReplicationResult> = BTreeMap::new();
    let end = scenario.simulation.horizon;
    let mut expectations = Vec::new();
    for expect in &scenario.expects {
        let at = match expect.when {
            When::At(t) => t.min(end),
            When::End => end,
        };
        let result = runs
            .entry(at)
            .or_insert_with(|| run_to(scenario, replication, at, &faults));
        let index = expect
            .vm
            .as_ref()
            .and_then(|n| names.iter().position(|s| s == n))
            .unwrap_or(0);
        let service = &result.services[index];
        let t = &service.totals;
        let (passed, observed) = match &expect.check {
            Check::AvailabilityAtLeast(a) => {
                let got = t.availability();
                (got >= *a, format!("availability {got:.6}"))
            }
            Check::OutagesAtMost(n) => {
                (t.outages <= u64::from(*n), format!("{} outages", t.outages))
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
                (
                    down != *want,
                    if down {
                        "down".to_string()
                    } else {
                        "up".to_string()
                    },
                )
            }
            other => (
                false,
                format!("`{other}` is not answered by the availability model"),
            ),
        };
        expectations.push(ExpectResult {
            expect: expect.clone(),
            checked_at: at,
            passed,
            observed,
        });
    }
    let result = runs
        .remove(&end)
        .unwrap_or_else(|| run_to(scenario, replication, end, &faults));
    ScriptedRun {
        expectations,
        service_names: names,
        result,
    }
}
