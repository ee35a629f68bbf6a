//! What the Hyper-V cmdlets return (`Get-VM`, `Get-VMReplication`), with the enum names of
//! Hyper-V's documented enumerations.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::Name;

/// `Get-VM .Status` while `Start-VMInitialReplication` takes its checkpoint; ChangePrimary polls
/// on this exact string before `Start-VM`.
pub const VM_STATUS_CREATING_CHECKPOINT: &str = "Creating checkpoint";
pub const VM_STATUS_OPERATING_NORMALLY: &str = "Operating normally";

/// `Get-VM .State` (only the values the scripts can meet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PowerState {
    Off,
    Running,
}

/// `VMReplicationMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplicationMode {
    Primary,
    Replica,
}

/// `VMReplicationState`: the subset a replication re-pointing can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplicationState {
    ReadyForInitialReplication,
    InitialReplicationInProgress,
    WaitingForInitialReplication,
    Replicating,
    PreparedForFailover,
    FailedOverWaitingCompletion,
    FailedOver,
    Suspended,
    Error,
    WaitingForStartResynchronize,
}

/// `VMReplicationHealthState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplicationHealth {
    Normal,
    Warning,
    Critical,
}

/// Shown as PowerShell shows them: the variants carry Hyper-V's enumeration names.
macro_rules! hyperv_name {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self, f)
            }
        }
    )*};
}
hyperv_name!(
    PowerState,
    ReplicationMode,
    ReplicationState,
    ReplicationHealth
);

/// One side's replication relationship, as `Get-VMReplication` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VmReplication {
    pub vm_name: Name,
    pub mode: ReplicationMode,
    pub state: ReplicationState,
    pub health: ReplicationHealth,
    /// Empty until the replica learns its primary (after `-AsReplica`, before the primary's
    /// `Enable-VMReplication` reaches it).
    pub primary_server: Name,
    pub replica_server: Name,
}

/// `Get-VM` output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VmInfo {
    pub name: Name,
    pub state: PowerState,
    /// Borrowed when it is one of the statuses named here (the mock's), owned when read
    /// from PowerShell.
    pub status: Cow<'static, str>,
}

/// Scripts compare server names by their first DNS label only (`.Split('.')[0]`).
pub fn short_name(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// The scripts' `$a.Split('.')[0] -eq $b.Split('.')[0]`: PowerShell's `-eq` ignores case, so
/// `C1S1` (COMPUTERNAME) names the same host as `c1s1.corp.example` (a partner's FQDN).
pub fn same_host(a: &str, b: &str) -> bool {
    short_name(a).eq_ignore_ascii_case(short_name(b))
}
