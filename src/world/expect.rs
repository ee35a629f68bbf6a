//! Assertions about a run, checked at a time or at the end.

use serde::{Deserialize, Serialize};

use crate::backend::{GroupStatus, PowerState, ReplicationMode, ReplicationState};
use crate::control::ScriptName;
use crate::time::Micros;

use super::classify::EndState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    At(Micros),
    End,
}

/// What to check. VM-related checks apply to `Expect::vm` (the first VM if unset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The classification is (not) `Healthy`.
    ReplicationHealthy(bool),
    /// The classification is exactly this.
    EndState(EndState),
    /// Replication runs from `primary` to `replica`, Replicating on both ends.
    ReplicationDirection {
        primary: String,
        replica: String,
    },
    /// The relationship on `server` (None: no relationship).
    ReplicationOn {
        server: String,
        mode: Option<ReplicationMode>,
        state: Option<ReplicationState>,
    },
    /// The VM runs on `server` and nowhere else.
    VmRunningOn {
        server: String,
    },
    /// Power state on `server` (an unregistered VM counts as Off).
    VmPower {
        server: String,
        power: PowerState,
    },
    /// How many live servers run the VM (1 = exactly once).
    VmRunningCount(usize),
    GroupStatus {
        cluster: String,
        status: GroupStatus,
        current: Option<String>,
    },
    DataLostAtMost(Micros),
    /// Every script run so far returned bitmask 0.
    ScriptsSucceeded,
    /// The last run of `script` on `server` returned `bitmask`.
    ScriptResult {
        server: String,
        script: ScriptName,
        bitmask: u32,
    },
    AvailabilityAtLeast(f64),
    UnprotectedAtMost(Micros),
    OutagesAtMost(u32),
    /// Availability model: network-partition resolutions that shut servers down.
    NpShutdowns(u64),
    /// Availability model: dual-activation time within a bound.
    SplitBrain {
        at_most: Option<Micros>,
        at_least: Option<Micros>,
    },
    /// Availability model: downtime attributed to `cause` within a bound.
    CauseDowntime {
        cause: String,
        at_most: Option<Micros>,
        at_least: Option<Micros>,
    },
    /// Availability model: the service is up (true) or down at the time of the check.
    ServiceUp(bool),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expect {
    pub when: When,
    pub vm: Option<String>,
    pub check: Check,
}

impl Expect {
    pub fn at(at: Micros, check: Check) -> Expect {
        Expect {
            when: When::At(at),
            vm: None,
            check,
        }
    }

    pub fn at_end(check: Check) -> Expect {
        Expect {
            when: When::End,
            vm: None,
            check,
        }
    }
}

/// The outcome of one expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectResult {
    pub expect: Expect,
    pub checked_at: Micros,
    pub passed: bool,
    /// What was found, in words.
    pub observed: String,
}

impl std::fmt::Display for Check {
    /// The expectation in the words of the scenario file (`metric op value`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::time::Human;
        match self {
            Check::ReplicationHealthy(h) => write!(f, "replication_healthy == {h}"),
            Check::EndState(s) => write!(f, "end_state == {}", s.name()),
            Check::ReplicationDirection { primary, replica } => {
                write!(f, "replication_direction == {primary} -> {replica}")
            }
            Check::ReplicationOn {
                server,
                mode,
                state,
            } => match (mode, state) {
                (Some(m), Some(s)) => write!(f, "replication_on {server} == {m}/{s}"),
                _ => write!(f, "replication_on {server} == none"),
            },
            Check::VmRunningOn { server } => write!(f, "vm_running_on == {server}"),
            Check::VmPower { server, power } => write!(f, "vm_power {server} == {power}"),
            Check::VmRunningCount(n) => write!(f, "vm_running_count == {n}"),
            Check::GroupStatus {
                cluster,
                status,
                current,
            } => {
                write!(f, "group_status {cluster} == {}", status.as_str())?;
                if let Some(c) = current {
                    write!(f, " on {c}")?;
                }
                Ok(())
            }
            Check::DataLostAtMost(d) => write!(f, "data_lost <= {}", Human(*d)),
            Check::ScriptsSucceeded => write!(f, "scripts_succeeded == true"),
            Check::ScriptResult {
                server,
                script,
                bitmask,
            } => write!(f, "script_result {script} on {server} == {bitmask}"),
            Check::AvailabilityAtLeast(a) => write!(f, "availability >= {a}"),
            Check::UnprotectedAtMost(d) => write!(f, "unprotected <= {}", Human(*d)),
            Check::OutagesAtMost(n) => write!(f, "outages <= {n}"),
            Check::NpShutdowns(n) => write!(f, "np_shutdowns == {n}"),
            Check::SplitBrain { at_most, at_least } => {
                write!(f, "split_brain")?;
                bounds(f, *at_most, *at_least)
            }
            Check::CauseDowntime {
                cause,
                at_most,
                at_least,
            } => {
                write!(f, "downtime {cause}")?;
                bounds(f, *at_most, *at_least)
            }
            Check::ServiceUp(up) => write!(f, "service_up == {up}"),
        }
    }
}

fn bounds(
    f: &mut std::fmt::Formatter<'_>,
    at_most: Option<Micros>,
    at_least: Option<Micros>,
) -> std::fmt::Result {
    if let Some(d) = at_most {
        write!(f, " <= {}", crate::time::Human(d))?;
    }
    if let Some(d) = at_least {
        write!(f, " >= {}", crate::time::Human(d))?;
    }
    Ok(())
}
