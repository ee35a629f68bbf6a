//! The interfaces the control logic is written against. Each method is one REST call or one
//! cmdlet; `host` is the `-ComputerName` (a remote host means `Invoke-Command` to it).

// The simulator drives these futures on one thread; a production backend that needs `Send`
// futures can wrap them. Hence no auto-trait bounds on the returned futures.
#![allow(async_fn_in_trait)]

use super::ecx_types::{ClusterInfo, GroupInfo, ResourceInfo, ServerInfo};
use super::error::BackendError;
use super::hyperv_types::{VmInfo, VmReplication};
use crate::time::Micros;

pub type BackendResult<T> = Result<T, BackendError>;

/// The ECX REST API of a cluster, reached at its FIP (`cluster` names the cluster).
pub trait Ecx {
    async fn cluster(&self, cluster: &str) -> BackendResult<ClusterInfo>;
    async fn servers(&self, cluster: &str) -> BackendResult<Vec<ServerInfo>>;
    /// `GET /api/v1/groups/<group>`.
    async fn group(&self, cluster: &str, group: &str) -> BackendResult<GroupInfo>;
    /// `GET /api/v1/resources`.
    async fn resources(&self, cluster: &str) -> BackendResult<Vec<ResourceInfo>>;
    async fn start_group(
        &self,
        cluster: &str,
        group: &str,
        target: Option<&str>,
    ) -> BackendResult<()>;
    async fn stop_group(&self, cluster: &str, group: &str) -> BackendResult<()>;
    async fn move_group(
        &self,
        cluster: &str,
        group: &str,
        target: Option<&str>,
    ) -> BackendResult<()>;
}

/// The Hyper-V cmdlets the scripts use.
pub trait HyperV {
    /// `Get-VM`: `Ok(None)` when the VM is not registered on `host`.
    async fn get_vm(&self, host: &str, vm: &str) -> BackendResult<Option<VmInfo>>;
    async fn start_vm(&self, host: &str, vm: &str) -> BackendResult<()>;
    /// `Stop-VM -Force` (turn off).
    async fn stop_vm(&self, host: &str, vm: &str) -> BackendResult<()>;
    /// `Import-VM -Path <vmcx>` (register in place).
    async fn import_vm(&self, host: &str, vm: &str, path: &str) -> BackendResult<()>;
    /// `Get-VMReplication -VMName`: `Ok(None)` when registered but not replicating,
    /// `Err(VmNotFound)` when not registered.
    async fn get_vm_replication(
        &self,
        host: &str,
        vm: &str,
    ) -> BackendResult<Option<VmReplication>>;
    /// `Get-VMReplication` without a VM filter: every relationship on the host.
    async fn list_vm_replication(&self, host: &str) -> BackendResult<Vec<VmReplication>>;
    async fn remove_vm_replication(&self, host: &str, vm: &str) -> BackendResult<()>;
    /// `Enable-VMReplication -ReplicaServerName <replica> -ReplicaServerPort 80
    /// -AuthenticationType Kerberos`, with `-ReplicationFrequencySec` if `frequency_s` is
    /// given; without it Hyper-V replicates every 300 s.
    async fn enable_vm_replication(
        &self,
        host: &str,
        vm: &str,
        replica: &str,
        frequency_s: Option<u32>,
    ) -> BackendResult<()>;
    /// `Enable-VMReplication -AsReplica`.
    async fn enable_vm_replication_as_replica(&self, host: &str, vm: &str) -> BackendResult<()>;
    async fn start_vm_initial_replication(&self, host: &str, vm: &str) -> BackendResult<()>;
    /// `Start-VMFailover` (`prepare` = `-Prepare`, run on the primary).
    async fn start_vm_failover(&self, host: &str, vm: &str, prepare: bool) -> BackendResult<()>;
    async fn complete_vm_failover(&self, host: &str, vm: &str) -> BackendResult<()>;
    /// `Set-VMReplication -Reverse -ReplicaServerName <replica>`.
    async fn reverse_vm_replication(
        &self,
        host: &str,
        vm: &str,
        replica: &str,
    ) -> BackendResult<()>;
    /// `Set-VMReplication -AsReplica`: the old primary, back after an unplanned failover,
    /// becomes the replica of the failed-over VM.
    async fn set_vm_replication_as_replica(&self, host: &str, vm: &str) -> BackendResult<()>;
    /// `Resume-VMReplication [-Resynchronize]`.
    async fn resume_vm_replication(
        &self,
        host: &str,
        vm: &str,
        resynchronize: bool,
    ) -> BackendResult<()>;
}

/// `Start-Sleep`.
pub trait Clock {
    async fn sleep(&self, duration: Micros);

    /// The time now, on a clock that only moves forward (its origin is the clock's own): what
    /// a script measures its deadline with.
    fn now(&self) -> Micros;

    /// Sleeps until `tick` (a time of `now()`; not at all if it has passed) for a caller that
    /// polls on a grid of `period`, and tells the clock that the caller is idle: it has
    /// nothing in progress, and each of its next `ticks` polls (`tick + j * period`,
    /// `j < ticks`) would see what its last one saw unless the world itself changed. Returns
    /// on which of those ticks it woke (1 for `tick` itself): the caller counts the ticks it
    /// slept through as polls that saw what its last poll saw.
    ///
    /// In production this sleeps until `tick` and returns 1: every tick is polled. A
    /// simulated clock may sleep through the ticks during which nothing in the world
    /// changed, waking the caller on the first tick at or after a change (or on the last of
    /// `ticks`), so what the caller observes, and when, is what polling every tick gives.
    async fn idle(&self, tick: Micros, _period: Micros, _ticks: u32) -> u32 {
        self.sleep(tick.saturating_sub(self.now())).await;
        1
    }
}

/// The DNS server clients resolve a VM's name with (ECX's DDNS resource updates it).
pub trait Dns {
    /// Points `record` at `address`. Clients holding the old answer keep it until its time to
    /// live runs out.
    async fn update_record(&self, record: &str, address: &str) -> BackendResult<()>;
}

/// The coordination service the master serves (ECX has none of its own): named leases, one
/// holder at a time, released explicitly or when their time to live runs out (so a holder
/// that dies cannot block the others forever); and each VM's role record, which cluster holds
/// its primary, numbered by an epoch so that a stale writer is fenced off.
pub trait Lease {
    /// Waits up to `wait` for the lease; `Ok(false)` if it stayed taken.
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Micros,
        wait: Micros,
    ) -> BackendResult<bool>;
    async fn release(&self, name: &str, holder: &str) -> BackendResult<()>;
    /// The VM's role record; `None` until a cross-cluster failover wrote one (the roles are
    /// then the deployment's: the home cluster holds the primary).
    async fn role(&self, vm: &str) -> BackendResult<Option<RoleRecord>>;
    /// Records that `cluster` holds the VM's primary from `epoch` on; `Ok(false)` if the
    /// record already has this epoch or a later one.
    async fn claim_role(&self, vm: &str, cluster: &str, epoch: u64) -> BackendResult<bool>;
}

/// Which cluster holds a VM's primary copy, as of `epoch`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RoleRecord {
    pub primary: String,
    pub epoch: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LogLevel {
    Info,
    Error,
}

/// `clplogcmd -m <message> -l INFO|ERR`: the ECX alert log.
pub trait AlertLog {
    fn log(&self, level: LogLevel, message: &str);

    /// Logs the message `args` formats. A backend that keeps no log (the simulator, unless
    /// asked) can skip formatting it; every other one logs it exactly as `log` would.
    fn log_fmt(&self, level: LogLevel, args: std::fmt::Arguments<'_>) {
        match args.as_str() {
            Some(message) => self.log(level, message),
            None => self.log(level, &args.to_string()),
        }
    }
}
