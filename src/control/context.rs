//! What a script resource is given: the ECX environment variables and SetEnvironment.bat.

use serde::{Deserialize, Serialize};

/// Which script set is installed on the cluster: fixed by deployment, not discovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// `primary/` scripts (Cluster-1): ChangePrimary on start, Stop on a group move.
    Primary,
    /// `replica/` scripts (Cluster-2): ChangeReplica on start, nothing on stop.
    Replica,
}

/// `CLP_EVENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ClpEvent {
    Start,
    Failover,
    Recover,
}

impl std::fmt::Display for ClpEvent {
    /// As ECX sets the variable.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClpEvent::Start => "START",
            ClpEvent::Failover => "FAILOVER",
            ClpEvent::Recover => "RECOVER",
        })
    }
}

impl std::fmt::Display for ClpFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClpFactor::Resource => "(empty)",
            ClpFactor::GroupStop => "GROUPSTOP",
            ClpFactor::GroupMove => "GROUPMOVE",
            ClpFactor::GroupFailover => "GROUPFAILOVER",
        })
    }
}

/// `CLP_FACTOR` of a stop script; `Resource` is the empty value (the resource itself stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ClpFactor {
    Resource,
    GroupStop,
    GroupMove,
    GroupFailover,
}

/// `COMPUTERNAME` and the variables of SetEnvironment.bat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptContext {
    /// `$env:COMPUTERNAME`.
    pub own_server: String,
    /// The cluster this script resource belongs to (known by deployment; the coordinated
    /// logic compares it with the VM's role record).
    pub own_cluster: String,
    /// `VM`.
    pub vm: String,
    /// The opposite cluster, reached at its FIP (`OppFip`).
    pub opposite_cluster: String,
    /// `OppGrp`.
    pub opposite_group: String,
    /// `$VMPath\$vmcxid` on this side's shared disk.
    pub vmcx_path: String,
    /// The same file on the opposite side's disk (only the coordinated logic uses it).
    pub opposite_vmcx_path: String,
    /// The VM's replication frequency, as configured (`-ReplicationFrequencySec`: 30, 300
    /// or 900). The published scripts never pass it; the coordinated logic does.
    pub replication_frequency_s: u32,
}

/// Which PowerShell script a batch file ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScriptName {
    ChangePrimary,
    Stop,
    ChangeReplica,
    CoordinatedPrimary,
    CoordinatedReplica,
    /// The batch file took a branch that runs nothing.
    Nothing,
}

impl std::fmt::Display for ScriptName {
    /// As the script's file name (what the published scripts' alert log says).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScriptName::ChangePrimary => "ChangePrimary",
            ScriptName::Stop => "Stop",
            ScriptName::ChangeReplica => "ChangeReplica",
            ScriptName::CoordinatedPrimary => "CoordinatedPrimary",
            ScriptName::CoordinatedReplica => "CoordinatedReplica",
            ScriptName::Nothing => "nothing",
        })
    }
}

/// The result of one script resource run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptOutcome {
    pub script: ScriptName,
    /// The PowerShell exit value: ChangePrimary's bitmask (1 remove on peer, 2 remove locally,
    /// 4 peer `-AsReplica`, 8 Enable-VMReplication, 16 initial replication) or 1 when Import-VM
    /// failed.
    pub bitmask: u32,
    /// What the batch file returns to ECX (primary start.bat ends with clplogcmd, so 0).
    pub batch_exit: i32,
}

impl ScriptOutcome {
    pub fn nothing() -> ScriptOutcome {
        ScriptOutcome {
            script: ScriptName::Nothing,
            bitmask: 0,
            batch_exit: 0,
        }
    }
}
