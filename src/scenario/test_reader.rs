//! Reading the control-logic sections: the control variant, `[backend]` call durations,
//! `[[inject]]` scripted faults and `[[expect]]` assertions.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml_edit::Item;

use super::dist_spec::{read_dist, Zero};
use super::reader::{Result, TableReader};
use super::Cluster;
use crate::backend::sim::{CallDurations, CrashState, FailedCycle, MockAssumptions};
use crate::backend::{GroupStatus, PowerState, ReplicationMode, ReplicationState};
use crate::control::{ControlVariant, CoordinationConfig, ScriptName};
use crate::time::{parse_duration, Micros};
use crate::world::{Check, EndState, Expect, Fault, Inject, When};

pub const CONTROL_NAMES: &str = "\"as-shipped\", \"coordinated\"";

pub fn control_variant(name: &str) -> Option<ControlVariant> {
    match name {
        "as-shipped" => Some(ControlVariant::AsShipped),
        "coordinated" => Some(ControlVariant::Coordinated(CoordinationConfig::default())),
        _ => None,
    }
}

/// `[backend]`: how long each backend call takes, the documented flaky removal, and what the
/// mocks assume where no source says.
#[derive(Debug, Clone)]
pub struct Backend {
    pub calls: CallDurations,
    /// Probability that the local Remove-VMReplication on a previous primary fails.
    pub flaky_remove_probability: f64,
    pub assumptions: MockAssumptions,
    /// How long ECX lets a script resource's start or stop script run before it takes the
    /// run as stalled (the resource's "Timeout").
    pub script_timeout: Micros,
}

/// The script resource's timeout where `[backend] script_timeout` does not say. ASSUMPTION:
/// no source gives ECX's default; 1800 s is what it is commonly taken to be.
pub const DEFAULT_SCRIPT_TIMEOUT: Micros = 1800 * crate::time::MICROS_PER_SECOND;

impl Default for Backend {
    fn default() -> Self {
        Backend {
            calls: CallDurations::default(),
            flaky_remove_probability: 0.0,
            assumptions: MockAssumptions::default(),
            script_timeout: DEFAULT_SCRIPT_TIMEOUT,
        }
    }
}

pub fn read_backend(top: &mut TableReader, base: &Path) -> Result<Backend> {
    let Some(mut t) = top.table("backend")? else {
        return Ok(Backend::default());
    };
    let mut backend = Backend::default();
    let calls = &mut backend.calls;
    let slots: [(&'static str, &mut crate::dist::Dist); 11] = [
        ("rest_get", &mut calls.rest_get),
        ("rest_post", &mut calls.rest_post),
        ("remoting", &mut calls.remoting),
        ("hv_read", &mut calls.hv_read),
        ("start_vm", &mut calls.start_vm),
        ("stop_vm", &mut calls.stop_vm),
        ("import_vm", &mut calls.import_vm),
        ("replication_config", &mut calls.replication_config),
        ("initial_replication", &mut calls.initial_replication),
        ("failover", &mut calls.failover),
        ("lease", &mut calls.lease),
    ];
    for (key, slot) in slots {
        if let Some(dist) = read_dist(&mut t, key, Zero::Allowed, base)? {
            *slot = dist;
        }
    }
    if let Some((item, span)) = t.item("flaky_remove_probability") {
        let p = item
            .as_float()
            .or_else(|| item.as_integer().map(|i| i as f64));
        match p {
            Some(p) if (0.0..=1.0).contains(&p) => backend.flaky_remove_probability = p,
            _ => {
                return Err(t.error(
                    span,
                    "flaky_remove_probability",
                    "expected a probability between 0 and 1",
                ))
            }
        }
    }
    backend.assumptions.unreachable_call =
        read_dist(&mut t, "unreachable_call", Zero::Forbidden, base)?;
    if let Some(early) = t.boolean("rest_during_group_start")? {
        backend.assumptions.rest_during_group_start = early;
    }
    if let Some(state) = t.one_of("crash_state", CrashState::parse, CrashState::NAMES)? {
        backend.assumptions.crash_state = state;
    }
    if let Some(cycle) = t.one_of("failed_cycle", FailedCycle::parse, FailedCycle::NAMES)? {
        backend.assumptions.failed_cycle = cycle;
    }
    if let Some((timeout, span)) = t.duration("script_timeout")? {
        if timeout == 0 {
            let expected = "expected a duration longer than zero, such as \"1800s\"";
            return Err(t.error(span, "script_timeout", expected));
        }
        backend.script_timeout = timeout;
    }
    t.finish()?;
    Ok(backend)
}

/// Which names a fault's `target` must be.
enum Target {
    Server,
    Cluster,
}

const FAULT_NAMES: &str = "server_crash, power_on, network_cut, reconnect, group_move, group_stop, group_start, disk_failure, disk_repair, rest_unreachable, script_restart, interconnect_down, interconnect_up, witness_down, witness_up";

pub fn read_injects(top: &mut TableReader, clusters: &[Cluster]) -> Result<Vec<Inject>> {
    let mut injects = Vec::new();
    for mut t in top.array_of_tables("inject")? {
        let (at, _) = t.required("at", "the time of the fault, such as \"5m\"", |t, k| {
            t.duration(k)
        })?;
        let (fault, fspan) = t.required("fault", &format!("one of: {FAULT_NAMES}"), |t, k| {
            t.string(k)
        })?;
        let kind = match fault.as_str() {
            "server_crash" | "power_on" | "network_cut" | "reconnect" => Some(Target::Server),
            "interconnect_down" | "interconnect_up" | "group_move" | "group_stop"
            | "group_start" | "disk_failure" | "disk_repair" | "rest_unreachable"
            | "script_restart" => Some(Target::Cluster),
            "witness_down" | "witness_up" => None,
            other => {
                return Err(t.error(
                    fspan,
                    "fault",
                    format!("unknown fault {other:?}; expected one of: {FAULT_NAMES}"),
                ))
            }
        };
        let Some(kind) = kind else {
            let fault = if fault == "witness_down" {
                Fault::WitnessDown
            } else {
                Fault::WitnessUp
            };
            t.finish()?;
            injects.push(Inject { at, fault });
            continue;
        };
        let (target, tspan) =
            t.required("target", "the server or cluster the fault hits", |t, k| {
                t.name(k)
            })?;
        check_target(&t, &kind, &target, tspan, clusters)?;
        let to = match t.name("to")? {
            None => None,
            Some((server, span)) => {
                let cluster = clusters.iter().find(|c| c.name == target);
                if !cluster.is_some_and(|c| c.servers.contains(&server)) {
                    return Err(t.error(
                        span,
                        "to",
                        format!("expected a server of cluster {target:?}, found {server:?}"),
                    ));
                }
                Some(server)
            }
        };
        let fault = match fault.as_str() {
            "server_crash" => Fault::ServerCrash { server: target },
            "power_on" => Fault::PowerOn { server: target },
            "network_cut" => Fault::NetworkCut { server: target },
            "reconnect" => Fault::Reconnect { server: target },
            "interconnect_down" => Fault::InterconnectDown { cluster: target },
            "interconnect_up" => Fault::InterconnectUp { cluster: target },
            "group_move" => Fault::GroupMove {
                cluster: target,
                target: to,
            },
            "group_stop" => Fault::GroupStop { cluster: target },
            "group_start" => Fault::GroupStart {
                cluster: target,
                target: to,
            },
            "disk_failure" => Fault::DiskFailure { cluster: target },
            "disk_repair" => Fault::DiskRepair { cluster: target },
            "script_restart" => Fault::ScriptRestart { cluster: target },
            _ => {
                let (duration, _) = t.required(
                    "duration",
                    "how long the REST API does not answer",
                    |t, k| t.duration(k),
                )?;
                Fault::RestUnreachable {
                    cluster: target,
                    duration,
                }
            }
        };
        t.finish()?;
        injects.push(Inject { at, fault });
    }
    Ok(injects)
}

fn check_target(
    t: &TableReader,
    kind: &Target,
    name: &str,
    span: Option<Range<usize>>,
    clusters: &[Cluster],
) -> Result<()> {
    let ok = match kind {
        Target::Server => clusters.iter().any(|c| c.servers.iter().any(|s| s == name)),
        Target::Cluster => clusters.iter().any(|c| c.name == name),
    };
    if ok {
        return Ok(());
    }
    let what = match kind {
        Target::Server => "server",
        Target::Cluster => "cluster",
    };
    Err(t.error(span, "target", format!("unknown {what} {name:?}")))
}

const METRIC_NAMES: &str = "replication_healthy, end_state, replication_direction, replication_on, vm_running_on, vm_power, vm_running_count, group_status, data_lost, scripts_succeeded, script_result, unprotected, availability, outages, np_shutdowns, split_brain, downtime, service_up";

/// A string value parsed into one of the backend's enums by its serialised name.
fn parse_name<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

struct ExpectReader<'r, 'a> {
    t: &'r mut TableReader<'a>,
    value: &'a Item,
    value_span: Option<Range<usize>>,
}

impl ExpectReader<'_, '_> {
    fn bad(&self, expected: &str) -> super::ScenarioError {
        self.t.error(
            self.value_span.clone(),
            "value",
            format!("expected {expected}"),
        )
    }

    fn string(&self, expected: &str) -> Result<String> {
        self.value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.bad(expected))
    }

    fn named<T: DeserializeOwned>(&self, expected: &str) -> Result<T> {
        let text = self.string(expected)?;
        parse_name(&text).ok_or_else(|| self.bad(&format!("{expected}, found {text:?}")))
    }

    fn duration(&self) -> Result<Micros> {
        let text = self.string("a duration such as \"30s\"")?;
        // The parse error says what was expected itself.
        parse_duration(&text).map_err(|e| {
            self.t
                .error(self.value_span.clone(), "value", e.to_string())
        })
    }

    fn integer(&self) -> Result<i64> {
        self.value
            .as_integer()
            .filter(|i| *i >= 0)
            .ok_or_else(|| self.bad("a whole number"))
    }

    fn server(&mut self, clusters: &[Cluster]) -> Result<String> {
        let (server, span) = self
            .t
            .required("server", "the server to look at", |t, k| t.name(k))?;
        if !clusters.iter().any(|c| c.servers.contains(&server)) {
            return Err(self
                .t
                .error(span, "server", format!("unknown server {server:?}")));
        }
        Ok(server)
    }
}

pub fn read_expects(
    top: &mut TableReader,
    clusters: &[Cluster],
    vm_names: &[String],
) -> Result<Vec<Expect>> {
    let mut expects = Vec::new();
    for mut t in top.array_of_tables("expect")? {
        let when = match t.string("at")? {
            None => When::End,
            Some((text, _)) if text == "end" => When::End,
            Some((text, span)) => When::At(
                parse_duration(&text)
                    .map_err(|e| t.error(span, "at", format!("{e}, or \"end\"")))?,
            ),
        };
        let vm = match t.name("vm")? {
            None => None,
            Some((name, span)) if !vm_names.contains(&name) => {
                return Err(t.error(span, "vm", format!("unknown VM {name:?}")));
            }
            Some((name, _)) => Some(name),
        };
        let (metric, mspan) =
            t.required("metric", &format!("one of: {METRIC_NAMES}"), |t, k| {
                t.string(k)
            })?;
        let op = match t.string("op")? {
            None => "==".to_string(),
            Some((op, span)) if ["==", "<=", ">="].contains(&op.as_str()) => {
                let _ = span;
                op
            }
            Some((op, span)) => {
                return Err(t.error(
                    span,
                    "op",
                    format!("expected \"==\", \"<=\" or \">=\", found {op:?}"),
                ))
            }
        };
        let (value, value_span) = t.item("value").ok_or_else(|| {
            t.error(
                t.span(),
                "value",
                "missing required key `value` (the expected value)",
            )
        })?;
        let mut r = ExpectReader {
            t: &mut t,
            value,
            value_span,
        };
        let (check, allowed_op) = match metric.as_str() {
            "replication_healthy" => (
                Check::ReplicationHealthy(r.value.as_bool().ok_or_else(|| r.bad("true or false"))?),
                "==",
            ),
            "end_state" => (
                Check::EndState(
                    r.named::<EndState>("an end state such as \"healthy\" or \"stale_peer\"")?,
                ),
                "==",
            ),
            "replication_direction" => {
                let text = r.string("\"PRIMARY -> REPLICA\" (server names)")?;
                let (primary, replica) = text
                    .split_once("->")
                    .map(|(p, q)| (p.trim().to_string(), q.trim().to_string()))
                    .ok_or_else(|| r.bad("\"PRIMARY -> REPLICA\" (server names)"))?;
                (Check::ReplicationDirection { primary, replica }, "==")
            }
            "replication_on" => {
                let server = r.server(clusters)?;
                let text =
                    r.string("\"Mode/State\" such as \"Replica/Replicating\", or \"none\"")?;
                let (mode, state) = if text == "none" {
                    (None, None)
                } else {
                    let (m, s) = text.split_once('/').ok_or_else(|| {
                        r.bad("\"Mode/State\" such as \"Primary/Replicating\", or \"none\"")
                    })?;
                    let mode: ReplicationMode =
                        parse_name(m.trim()).ok_or_else(|| r.bad("a mode Primary or Replica"))?;
                    let state: ReplicationState = parse_name(s.trim())
                        .ok_or_else(|| r.bad("a VMReplicationState such as Replicating"))?;
                    (Some(mode), Some(state))
                };
                (
                    Check::ReplicationOn {
                        server,
                        mode,
                        state,
                    },
                    "==",
                )
            }
            "vm_running_on" => (
                Check::VmRunningOn {
                    server: r.string("a server name")?,
                },
                "==",
            ),
            "vm_power" => {
                let server = r.server(clusters)?;
                (
                    Check::VmPower {
                        server,
                        power: r.named::<PowerState>("\"Off\" or \"Running\"")?,
                    },
                    "==",
                )
            }
            "vm_running_count" => (Check::VmRunningCount(r.integer()? as usize), "=="),
            "group_status" => {
                let (cluster, span) =
                    r.t.required("cluster", "the cluster whose group to look at", |t, k| {
                        t.name(k)
                    })?;
                if !clusters.iter().any(|c| c.name == cluster) {
                    return Err(r
                        .t
                        .error(span, "cluster", format!("unknown cluster {cluster:?}")));
                }
                let status = r.named::<GroupStatus>(
                    "an ECX status such as \"Online\" or \"Online Pending\"",
                )?;
                let current = r.t.name("current")?.map(|(c, _)| c);
                (
                    Check::GroupStatus {
                        cluster,
                        status,
                        current,
                    },
                    "==",
                )
            }
            "data_lost" => (Check::DataLostAtMost(r.duration()?), "<="),
            "scripts_succeeded" => {
                let yes = r.value.as_bool().ok_or_else(|| r.bad("true"))?;
                if !yes {
                    return Err(r.bad("true (use script_result to expect a failure bitmask)"));
                }
                (Check::ScriptsSucceeded, "==")
            }
            "script_result" => {
                let server = r.server(clusters)?;
                let (name, span) =
                    r.t.required("script", "ChangePrimary, Stop or ChangeReplica", |t, k| {
                        t.string(k)
                    })?;
                let script: ScriptName = parse_name(&name)
                    .ok_or_else(|| r.t.error(span, "script", format!("expected ChangePrimary, Stop, ChangeReplica, CoordinatedPrimary or CoordinatedReplica, found {name:?}")))?;
                (
                    Check::ScriptResult {
                        server,
                        script,
                        bitmask: r.integer()? as u32,
                    },
                    "==",
                )
            }
            "availability" => {
                let a = r
                    .value
                    .as_float()
                    .filter(|a| (0.0..=1.0).contains(a))
                    .ok_or_else(|| r.bad("an availability between 0 and 1"))?;
                (Check::AvailabilityAtLeast(a), ">=")
            }
            "unprotected" => (Check::UnprotectedAtMost(r.duration()?), "<="),
            "outages" => (Check::OutagesAtMost(r.integer()? as u32), "<="),
            "np_shutdowns" => (Check::NpShutdowns(r.integer()? as u64), "=="),
            "service_up" => (
                Check::ServiceUp(r.value.as_bool().ok_or_else(|| r.bad("true or false"))?),
                "==",
            ),
            "split_brain" | "downtime" => {
                let d = r.duration()?;
                let (at_most, at_least) = match op.as_str() {
                    "<=" => (Some(d), None),
                    ">=" => (None, Some(d)),
                    _ => {
                        return Err(r.t.error(
                            mspan.clone(),
                            "op",
                            format!("metric `{metric}` takes op = \"<=\" or \">=\""),
                        ))
                    }
                };
                let check = if metric == "split_brain" {
                    Check::SplitBrain { at_most, at_least }
                } else {
                    let names: Vec<&str> =
                        crate::metrics::CAUSES.iter().map(|c| c.name()).collect();
                    let (cause, span) =
                        r.t.required("cause", &format!("one of: {}", names.join(", ")), |t, k| {
                            t.string(k)
                        })?;
                    if !names.contains(&cause.as_str()) {
                        return Err(r.t.error(
                            span,
                            "cause",
                            format!(
                                "unknown cause {cause:?}; expected one of: {}",
                                names.join(", ")
                            ),
                        ));
                    }
                    Check::CauseDowntime {
                        cause,
                        at_most,
                        at_least,
                    }
                };
                (check, op.as_str())
            }
            other => {
                return Err(t.error(
                    mspan,
                    "metric",
                    format!("unknown metric {other:?}; expected one of: {METRIC_NAMES}"),
                ))
            }
        };
        if op != allowed_op {
            return Err(t.error(
                mspan,
                "op",
                format!("metric `{metric}` takes op = \"{allowed_op}\""),
            ));
        }
        t.finish()?;
        expects.push(Expect { when, vm, check });
    }
    Ok(expects)
}
