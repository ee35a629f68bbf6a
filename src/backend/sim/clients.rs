//! The backend traits, implemented by posting ops to the executor's mailbox.

use super::executor::{OpFuture, SharedMailbox, TaskId};
use super::op::{HvCmd, Op, OpOutput, OpResult};
use crate::backend::traits::BackendResult;
use crate::backend::{
    AlertLog, BackendError, Clock, ClusterInfo, Dns, Ecx, GroupInfo, HyperV, Lease, LogLevel, Name,
    ResourceInfo, RoleRecord, ServerInfo, VmInfo, VmReplication,
};
use crate::time::Micros;

/// All backends of one script run (one task on one host).
#[derive(Clone)]
pub struct SimBackend {
    task: TaskId,
    mailbox: SharedMailbox,
}

fn mismatch(output: OpOutput) -> BackendError {
    BackendError::Rest {
        code: -1,
        message: format!("unexpected answer {output:?}"),
    }
}

impl SimBackend {
    pub fn new(task: TaskId, mailbox: SharedMailbox) -> SimBackend {
        SimBackend { task, mailbox }
    }

    /// A name for an op (`Mailbox::name`).
    fn name(&self, name: &str) -> Name {
        self.mailbox.borrow_mut().name(name)
    }

    /// The call's future itself: each layer of `async fn` between a trait method and the
    /// mailbox would be one more state machine to build, move and poll at every call.
    fn call(&self, op: Op) -> OpFuture<'_> {
        OpFuture::new(&self.mailbox, self.task, op)
    }

    fn hv(&self, host: &str, cmd: HvCmd) -> OpFuture<'_> {
        self.call(Op::Hv {
            host: self.name(host),
            cmd,
        })
    }

    /// An op that returns nothing.
    async fn unit(&self, op: Op) -> BackendResult<()> {
        unit_of(self.call(op).await)
    }

    /// A Hyper-V cmdlet on `host` that returns nothing.
    async fn hv_unit(&self, host: &str, cmd: HvCmd) -> BackendResult<()> {
        unit_of(self.hv(host, cmd).await)
    }
}

/// The answer of an op that returns nothing.
fn unit_of(result: OpResult) -> BackendResult<()> {
    match result? {
        OpOutput::Unit => Ok(()),
        other => Err(mismatch(other)),
    }
}

impl Ecx for SimBackend {
    async fn cluster(&self, cluster: &str) -> BackendResult<ClusterInfo> {
        match self
            .call(Op::RestCluster {
                cluster: self.name(cluster),
            })
            .await?
        {
            OpOutput::Cluster(c) => Ok(c),
            other => Err(mismatch(other)),
        }
    }

    async fn servers(&self, cluster: &str) -> BackendResult<Vec<ServerInfo>> {
        match self
            .call(Op::RestServers {
                cluster: self.name(cluster),
            })
            .await?
        {
            OpOutput::Servers(s) => Ok(s),
            other => Err(mismatch(other)),
        }
    }

    async fn group(&self, cluster: &str, group: &str) -> BackendResult<GroupInfo> {
        let op = Op::RestGroup {
            cluster: self.name(cluster),
            group: self.name(group),
        };
        match self.call(op).await? {
            OpOutput::Group(g) => Ok(g),
            other => Err(mismatch(other)),
        }
    }

    async fn resources(&self, cluster: &str) -> BackendResult<Vec<ResourceInfo>> {
        match self
            .call(Op::RestResources {
                cluster: self.name(cluster),
            })
            .await?
        {
            OpOutput::Resources(r) => Ok(r),
            other => Err(mismatch(other)),
        }
    }

    async fn start_group(
        &self,
        cluster: &str,
        group: &str,
        target: Option<&str>,
    ) -> BackendResult<()> {
        self.unit(Op::RestStartGroup {
            cluster: self.name(cluster),
            group: self.name(group),
            target: target.map(|t| self.name(t)),
        })
        .await
    }

    async fn stop_group(&self, cluster: &str, group: &str) -> BackendResult<()> {
        self.unit(Op::RestStopGroup {
            cluster: self.name(cluster),
            group: self.name(group),
        })
        .await
    }

    async fn move_group(
        &self,
        cluster: &str,
        group: &str,
        target: Option<&str>,
    ) -> BackendResult<()> {
        self.unit(Op::RestMoveGroup {
            cluster: self.name(cluster),
            group: self.name(group),
            target: target.map(|t| self.name(t)),
        })
        .await
    }
}

impl HyperV for SimBackend {
    async fn get_vm(&self, host: &str, vm: &str) -> BackendResult<Option<VmInfo>> {
        match self.hv(host, HvCmd::GetVm { vm: self.name(vm) }).await? {
            OpOutput::Vm(v) => Ok(v),
            other => Err(mismatch(other)),
        }
    }

    async fn start_vm(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.unit(Op::Hv {
            host: self.name(host),
            cmd: HvCmd::StartVm { vm: self.name(vm) },
        })
        .await
    }

    async fn stop_vm(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.unit(Op::Hv {
            host: self.name(host),
            cmd: HvCmd::StopVm { vm: self.name(vm) },
        })
        .await
    }

    async fn import_vm(&self, host: &str, vm: &str, path: &str) -> BackendResult<()> {
        let cmd = HvCmd::ImportVm {
            vm: self.name(vm),
            path: self.name(path),
        };
        self.hv_unit(host, cmd).await
    }

    async fn get_vm_replication(
        &self,
        host: &str,
        vm: &str,
    ) -> BackendResult<Option<VmReplication>> {
        match self
            .hv(host, HvCmd::GetReplication { vm: self.name(vm) })
            .await?
        {
            OpOutput::Replication(r) => Ok(r),
            other => Err(mismatch(other)),
        }
    }

    async fn list_vm_replication(&self, host: &str) -> BackendResult<Vec<VmReplication>> {
        match self.hv(host, HvCmd::ListReplication).await? {
            OpOutput::Replications(r) => Ok(r),
            other => Err(mismatch(other)),
        }
    }

    async fn remove_vm_replication(&self, host: &str, vm: &str) -> BackendResult<()> {
        let cmd = HvCmd::RemoveReplication { vm: self.name(vm) };
        self.hv_unit(host, cmd).await
    }

    async fn enable_vm_replication(
        &self,
        host: &str,
        vm: &str,
        replica: &str,
        frequency_s: Option<u32>,
    ) -> BackendResult<()> {
        let cmd = HvCmd::EnableReplication {
            vm: self.name(vm),
            replica: self.name(replica),
            frequency_s,
        };
        self.hv_unit(host, cmd).await
    }

    async fn enable_vm_replication_as_replica(&self, host: &str, vm: &str) -> BackendResult<()> {
        let cmd = HvCmd::EnableAsReplica { vm: self.name(vm) };
        self.hv_unit(host, cmd).await
    }

    async fn start_vm_initial_replication(&self, host: &str, vm: &str) -> BackendResult<()> {
        let cmd = HvCmd::StartInitialReplication { vm: self.name(vm) };
        self.hv_unit(host, cmd).await
    }

    async fn start_vm_failover(&self, host: &str, vm: &str, prepare: bool) -> BackendResult<()> {
        let cmd = HvCmd::StartFailover {
            vm: self.name(vm),
            prepare,
        };
        self.hv_unit(host, cmd).await
    }

    async fn complete_vm_failover(&self, host: &str, vm: &str) -> BackendResult<()> {
        let cmd = HvCmd::CompleteFailover { vm: self.name(vm) };
        self.hv_unit(host, cmd).await
    }

    async fn reverse_vm_replication(
        &self,
        host: &str,
        vm: &str,
        replica: &str,
    ) -> BackendResult<()> {
        let cmd = HvCmd::Reverse {
            vm: self.name(vm),
            replica: self.name(replica),
        };
        self.hv_unit(host, cmd).await
    }

    async fn set_vm_replication_as_replica(&self, host: &str, vm: &str) -> BackendResult<()> {
        let cmd = HvCmd::SetAsReplica { vm: self.name(vm) };
        self.hv_unit(host, cmd).await
    }

    async fn resume_vm_replication(
        &self,
        host: &str,
        vm: &str,
        resynchronize: bool,
    ) -> BackendResult<()> {
        let cmd = HvCmd::Resume {
            vm: self.name(vm),
            resynchronize,
        };
        self.hv_unit(host, cmd).await
    }
}

impl Clock for SimBackend {
    async fn sleep(&self, duration: Micros) {
        let _ = self.call(Op::Sleep(duration)).await;
    }

    async fn idle(&self, tick: Micros, period: Micros, ticks: u32) -> u32 {
        let sleep = tick.saturating_sub(self.now());
        match self
            .call(Op::Idle {
                sleep,
                period,
                ticks,
            })
            .await
        {
            Ok(OpOutput::Ticks(woke)) => woke,
            _ => 1,
        }
    }

    fn now(&self) -> Micros {
        self.mailbox.borrow().now()
    }
}

impl Dns for SimBackend {
    async fn update_record(&self, record: &str, address: &str) -> BackendResult<()> {
        self.unit(Op::DnsUpdate {
            record: self.name(record),
            address: self.name(address),
        })
        .await
    }
}

impl Lease for SimBackend {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Micros,
        wait: Micros,
    ) -> BackendResult<bool> {
        let op = Op::LeaseAcquire {
            name: self.name(name),
            holder: self.name(holder),
            ttl,
            wait,
        };
        match self.call(op).await? {
            OpOutput::Granted(g) => Ok(g),
            other => Err(mismatch(other)),
        }
    }

    async fn release(&self, name: &str, holder: &str) -> BackendResult<()> {
        self.unit(Op::LeaseRelease {
            name: self.name(name),
            holder: self.name(holder),
        })
        .await
    }

    async fn role(&self, vm: &str) -> BackendResult<Option<RoleRecord>> {
        match self.call(Op::RoleGet { vm: self.name(vm) }).await? {
            OpOutput::Role(r) => Ok(r),
            other => Err(mismatch(other)),
        }
    }

    async fn claim_role(&self, vm: &str, cluster: &str, epoch: u64) -> BackendResult<bool> {
        let op = Op::RoleClaim {
            vm: self.name(vm),
            cluster: self.name(cluster),
            epoch,
        };
        match self.call(op).await? {
            OpOutput::Granted(g) => Ok(g),
            other => Err(mismatch(other)),
        }
    }
}

impl AlertLog for SimBackend {
    fn log(&self, level: LogLevel, message: &str) {
        self.mailbox.borrow_mut().log(self.task, level, message);
    }

    /// Formats the line only if the mailbox keeps log lines: nothing reads them otherwise.
    fn log_fmt(&self, level: LogLevel, args: std::fmt::Arguments<'_>) {
        let mut mailbox = self.mailbox.borrow_mut();
        if mailbox.keeps_logs() {
            mailbox.log(self.task, level, &args.to_string());
        }
    }
}
