//! Backend calls as data: what a script asked for, and what it got back.

use crate::backend::{
    BackendError, ClusterInfo, GroupInfo, Name, ResourceInfo, RoleRecord, ServerInfo, VmInfo,
    VmReplication,
};
use crate::time::Micros;

/// One Hyper-V cmdlet, run on the host named by the enclosing `Op::Hv`. Serialised for
/// `ecxsim serve`'s Hyper-V endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "cmdlet")]
pub enum HvCmd {
    GetVm {
        vm: Name,
    },
    StartVm {
        vm: Name,
    },
    StopVm {
        vm: Name,
    },
    ImportVm {
        vm: Name,
        path: Name,
    },
    GetReplication {
        vm: Name,
    },
    ListReplication,
    RemoveReplication {
        vm: Name,
    },
    EnableReplication {
        vm: Name,
        replica: Name,
        /// `-ReplicationFrequencySec`, if given.
        frequency_s: Option<u32>,
    },
    EnableAsReplica {
        vm: Name,
    },
    StartInitialReplication {
        vm: Name,
    },
    StartFailover {
        vm: Name,
        prepare: bool,
    },
    CompleteFailover {
        vm: Name,
    },
    Reverse {
        vm: Name,
        replica: Name,
    },
    SetAsReplica {
        vm: Name,
    },
    Resume {
        vm: Name,
        resynchronize: bool,
    },
}

impl HvCmd {
    /// The VM the cmdlet is about (none for the host-wide listing).
    pub fn vm(&self) -> Option<&str> {
        match self {
            HvCmd::GetVm { vm }
            | HvCmd::StartVm { vm }
            | HvCmd::StopVm { vm }
            | HvCmd::ImportVm { vm, .. }
            | HvCmd::GetReplication { vm }
            | HvCmd::RemoveReplication { vm }
            | HvCmd::EnableReplication { vm, .. }
            | HvCmd::EnableAsReplica { vm }
            | HvCmd::StartInitialReplication { vm }
            | HvCmd::StartFailover { vm, .. }
            | HvCmd::CompleteFailover { vm }
            | HvCmd::Reverse { vm, .. }
            | HvCmd::SetAsReplica { vm }
            | HvCmd::Resume { vm, .. } => Some(vm),
            HvCmd::ListReplication => None,
        }
    }

    /// The cmdlet only reads (Get-VM, Get-VMReplication): it changes nothing on the host.
    pub fn only_reads(&self) -> bool {
        matches!(
            self,
            HvCmd::GetVm { .. } | HvCmd::GetReplication { .. } | HvCmd::ListReplication
        )
    }

    /// The cmdlet as a script would write it (for timelines).
    pub fn render(&self, host: &str) -> String {
        match self {
            HvCmd::GetVm { vm } => format!("Get-VM {vm} -ComputerName {host}"),
            HvCmd::StartVm { vm } => format!("Start-VM {vm} -ComputerName {host}"),
            HvCmd::StopVm { vm } => format!("Stop-VM {vm} -Force -ComputerName {host}"),
            HvCmd::ImportVm { path, .. } => format!("Import-VM -Path {path} -ComputerName {host}"),
            HvCmd::GetReplication { vm } => format!("Get-VMReplication {vm} -ComputerName {host}"),
            HvCmd::ListReplication => format!("Get-VMReplication -ComputerName {host}"),
            HvCmd::RemoveReplication { vm } => {
                format!("Remove-VMReplication {vm} -ComputerName {host}")
            }
            HvCmd::EnableReplication {
                vm,
                replica,
                frequency_s,
            } => {
                let every =
                    frequency_s.map_or(String::new(), |f| format!(" -ReplicationFrequencySec {f}"));
                format!(
                    "Enable-VMReplication {vm} -ReplicaServerName {replica}{every} -ComputerName {host}"
                )
            }
            HvCmd::EnableAsReplica { vm } => {
                format!("Enable-VMReplication {vm} -AsReplica -ComputerName {host}")
            }
            HvCmd::StartInitialReplication { vm } => {
                format!("Start-VMInitialReplication {vm} -ComputerName {host}")
            }
            HvCmd::StartFailover { vm, prepare } => format!(
                "Start-VMFailover {vm}{} -ComputerName {host}",
                if *prepare { " -Prepare" } else { "" }
            ),
            HvCmd::CompleteFailover { vm } => {
                format!("Complete-VMFailover {vm} -ComputerName {host}")
            }
            HvCmd::Reverse { vm, replica } => format!(
                "Set-VMReplication {vm} -Reverse -ReplicaServerName {replica} -ComputerName {host}"
            ),
            HvCmd::SetAsReplica { vm } => {
                format!("Set-VMReplication {vm} -AsReplica -ComputerName {host}")
            }
            HvCmd::Resume { vm, resynchronize } => format!(
                "Resume-VMReplication {vm}{} -ComputerName {host}",
                if *resynchronize {
                    " -Resynchronize"
                } else {
                    ""
                }
            ),
        }
    }
}

/// A pending backend call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    RestCluster {
        cluster: Name,
    },
    RestServers {
        cluster: Name,
    },
    RestGroup {
        cluster: Name,
        group: Name,
    },
    RestResources {
        cluster: Name,
    },
    RestStartGroup {
        cluster: Name,
        group: Name,
        target: Option<Name>,
    },
    RestStopGroup {
        cluster: Name,
        group: Name,
    },
    RestMoveGroup {
        cluster: Name,
        group: Name,
        target: Option<Name>,
    },
    Hv {
        host: Name,
        cmd: HvCmd,
    },
    Sleep(Micros),
    /// `Clock::idle`: a sleep until the caller's next tick (`sleep` from now), which the
    /// simulated world may stretch over up to `ticks` ticks of `period` without change.
    Idle {
        sleep: Micros,
        period: Micros,
        ticks: u32,
    },
    DnsUpdate {
        record: Name,
        address: Name,
    },
    LeaseAcquire {
        name: Name,
        holder: Name,
        ttl: Micros,
        wait: Micros,
    },
    LeaseRelease {
        name: Name,
        holder: Name,
    },
    RoleGet {
        vm: Name,
    },
    RoleClaim {
        vm: Name,
        cluster: Name,
        epoch: u64,
    },
}

/// Which duration distribution a call draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    RestGet,
    RestPost,
    HvRead,
    StartVm,
    StopVm,
    ImportVm,
    ReplicationConfig,
    InitialReplication,
    Failover,
    Lease,
    Sleep,
}

impl Op {
    pub fn kind(&self) -> OpKind {
        match self {
            Op::RestCluster { .. }
            | Op::RestServers { .. }
            | Op::RestGroup { .. }
            | Op::RestResources { .. } => OpKind::RestGet,
            Op::RestStartGroup { .. } | Op::RestStopGroup { .. } | Op::RestMoveGroup { .. } => {
                OpKind::RestPost
            }
            Op::Hv { cmd, .. } => match cmd {
                HvCmd::GetVm { .. } | HvCmd::GetReplication { .. } | HvCmd::ListReplication => {
                    OpKind::HvRead
                }
                HvCmd::StartVm { .. } => OpKind::StartVm,
                HvCmd::StopVm { .. } => OpKind::StopVm,
                HvCmd::ImportVm { .. } => OpKind::ImportVm,
                HvCmd::RemoveReplication { .. }
                | HvCmd::EnableReplication { .. }
                | HvCmd::EnableAsReplica { .. }
                | HvCmd::Reverse { .. }
                | HvCmd::SetAsReplica { .. }
                | HvCmd::Resume { .. }
                // Completing only drops the other recovery points: a settings change.
                | HvCmd::CompleteFailover { .. } => OpKind::ReplicationConfig,
                HvCmd::StartInitialReplication { .. } => OpKind::InitialReplication,
                HvCmd::StartFailover { .. } => OpKind::Failover,
            },
            Op::Sleep(_) | Op::Idle { .. } => OpKind::Sleep,
            Op::DnsUpdate { .. } => OpKind::RestPost,
            Op::LeaseAcquire { .. }
            | Op::LeaseRelease { .. }
            | Op::RoleGet { .. }
            | Op::RoleClaim { .. } => OpKind::Lease,
        }
    }

    /// The VM the call is about, if any (a lease named after it counts).
    pub fn vm(&self) -> Option<&str> {
        match self {
            Op::Hv { cmd, .. } => cmd.vm(),
            Op::DnsUpdate { record, .. } => Some(record),
            Op::RoleGet { vm } | Op::RoleClaim { vm, .. } => Some(vm),
            Op::LeaseAcquire { name, .. } | Op::LeaseRelease { name, .. } => {
                name.strip_prefix("replication/")
            }
            _ => None,
        }
    }

    /// The call as a line of a timeline.
    pub fn render(&self) -> String {
        match self {
            Op::RestCluster { cluster } => format!("GET {cluster}:/api/v1/cluster"),
            Op::RestServers { cluster } => format!("GET {cluster}:/api/v1/servers"),
            Op::RestGroup { cluster, group } => format!("GET {cluster}:/api/v1/groups/{group}"),
            Op::RestResources { cluster } => format!("GET {cluster}:/api/v1/resources"),
            Op::RestStartGroup {
                cluster,
                group,
                target,
            } => {
                let to = target
                    .as_ref()
                    .map_or(String::new(), |t| format!(" on {t}"));
                format!("POST {cluster}:/api/v1/groups/{group}/start{to}")
            }
            Op::RestStopGroup { cluster, group } => {
                format!("POST {cluster}:/api/v1/groups/{group}/stop")
            }
            Op::RestMoveGroup {
                cluster,
                group,
                target,
            } => {
                let to = target
                    .as_ref()
                    .map_or(String::new(), |t| format!(" to {t}"));
                format!("POST {cluster}:/api/v1/groups/{group}/move{to}")
            }
            Op::Hv { host, cmd } => {
                let host = if host.is_empty() { "$null" } else { host };
                cmd.render(host)
            }
            Op::Sleep(d) => format!("Start-Sleep {}", crate::time::seconds(*d)),
            Op::Idle { sleep, .. } => {
                format!("Start-Sleep {} (idle)", crate::time::seconds(*sleep))
            }
            Op::DnsUpdate { record, address } => format!("DNS {record} -> {address}"),
            Op::LeaseAcquire { name, holder, .. } => format!("acquire lease {name} for {holder}"),
            Op::LeaseRelease { name, holder } => format!("release lease {name} by {holder}"),
            Op::RoleGet { vm } => format!("read role record of {vm}"),
            Op::RoleClaim { vm, cluster, epoch } => {
                format!("claim primary of {vm} for {cluster} at epoch {epoch}")
            }
        }
    }
}

/// What a completed call returns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutput {
    Unit,
    Cluster(ClusterInfo),
    Servers(Vec<ServerInfo>),
    Group(GroupInfo),
    Resources(Vec<ResourceInfo>),
    Vm(Option<VmInfo>),
    Replication(Option<VmReplication>),
    Replications(Vec<VmReplication>),
    Granted(bool),
    Role(Option<RoleRecord>),
    /// `Clock::idle`: the tick the caller woke on (1 for the first).
    Ticks(u32),
}

pub type OpResult = Result<OpOutput, BackendError>;

/// Renders a result briefly for a timeline.
pub fn render_result(result: &OpResult) -> String {
    match result {
        Ok(OpOutput::Unit) => "ok".into(),
        Ok(OpOutput::Group(g)) => format!("status={} current={}", g.status, g.current),
        Ok(OpOutput::Vm(None)) => "no VM".into(),
        Ok(OpOutput::Vm(Some(v))) => format!("{} ({})", v.state, v.status),
        Ok(OpOutput::Replication(None)) => "no replication".into(),
        Ok(OpOutput::Replication(Some(r))) => format!(
            "{} {} {} -> {}",
            r.mode, r.state, r.primary_server, r.replica_server
        ),
        Ok(OpOutput::Replications(list)) => format!("{} relationship(s)", list.len()),
        Ok(OpOutput::Granted(g)) => if *g { "granted" } else { "not granted" }.into(),
        Ok(OpOutput::Role(None)) => "no record".into(),
        Ok(OpOutput::Role(Some(r))) => format!("primary {} at epoch {}", r.primary, r.epoch),
        Ok(OpOutput::Cluster(c)) => format!("cluster {}", c.name),
        Ok(OpOutput::Servers(list)) => format!("{} server(s)", list.len()),
        Ok(OpOutput::Resources(list)) => format!("{} resource(s)", list.len()),
        Ok(OpOutput::Ticks(n)) => format!("woke on tick {n}"),
        Err(e) => format!("FAILED: {e}"),
    }
}
