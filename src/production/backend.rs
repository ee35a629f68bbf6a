//! All production backends as one value, the shape the control logic takes (`start_script`,
//! `stop_script` and `master::run` want one `B` with every trait).

use super::alert_log::ClpLogCmd;
use super::http_ecx::HttpEcx;
use super::lease_client::LeaseClient;
use super::offload::RealClock;
use super::powershell::PowerShell;
use crate::backend::traits::BackendResult;
use crate::backend::{
    AlertLog, Clock, ClusterInfo, Dns, Ecx, GroupInfo, HyperV, Lease, LogLevel, ResourceInfo,
    RoleRecord, ServerInfo, VmInfo, VmReplication,
};
use crate::time::Micros;

#[derive(Clone)]
pub struct ProductionBackend<D> {
    pub ecx: HttpEcx,
    pub hyperv: PowerShell,
    pub lease: LeaseClient,
    pub alert: ClpLogCmd,
    pub dns: D,
    pub clock: RealClock,
}

impl<D> ProductionBackend<D> {
    /// The backends a configuration names, for a process running on `local_host` (the agent
    /// and the master build theirs alike; only the lease service and DNS differ).
    pub fn from_config(
        config: &super::config::Config,
        creds: &super::credentials::Credentials,
        local_host: String,
        lease: LeaseClient,
        alert: ClpLogCmd,
        dns: D,
    ) -> ProductionBackend<D> {
        let clusters: Vec<(String, Vec<String>)> = config
            .clusters
            .iter()
            .map(|c| (c.name.clone(), c.addresses.clone()))
            .collect();
        let shell = super::powershell::PowerShellConfig {
            executable: config.powershell.executable.clone(),
            local_host,
            timeout: config.powershell.timeout,
        };
        ProductionBackend {
            ecx: HttpEcx::new(&config.ecx, &clusters, creds.ecx.as_ref()),
            hyperv: PowerShell::new(shell, creds.winrm.clone()),
            lease,
            alert,
            dns,
            clock: RealClock,
        }
    }
}

impl<D> Ecx for ProductionBackend<D> {
    async fn cluster(&self, cluster: &str) -> BackendResult<ClusterInfo> {
        self.ecx.cluster(cluster).await
    }
    async fn servers(&self, cluster: &str) -> BackendResult<Vec<ServerInfo>> {
        self.ecx.servers(cluster).await
    }
    async fn group(&self, cluster: &str, group: &str) -> BackendResult<GroupInfo> {
        self.ecx.group(cluster, group).await
    }
    async fn resources(&self, cluster: &str) -> BackendResult<Vec<ResourceInfo>> {
        self.ecx.resources(cluster).await
    }
    async fn start_group(
        &self,
        cluster: &str,
        group: &str,
        target: Option<&str>,
    ) -> BackendResult<()> {
        self.ecx.start_group(cluster, group, target).await
    }
    async fn stop_group(&self, cluster: &str, group: &str) -> BackendResult<()> {
        self.ecx.stop_group(cluster, group).await
    }
    async fn move_group(
        &self,
        cluster: &str,
        group: &str,
        target: Option<&str>,
    ) -> BackendResult<()> {
        self.ecx.move_group(cluster, group, target).await
    }
}

impl<D> HyperV for ProductionBackend<D> {
    async fn get_vm(&self, host: &str, vm: &str) -> BackendResult<Option<VmInfo>> {
        self.hyperv.get_vm(host, vm).await
    }
    async fn start_vm(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.hyperv.start_vm(host, vm).await
    }
    async fn stop_vm(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.hyperv.stop_vm(host, vm).await
    }
    async fn import_vm(&self, host: &str, vm: &str, path: &str) -> BackendResult<()> {
        self.hyperv.import_vm(host, vm, path).await
    }
    async fn get_vm_replication(
        &self,
        host: &str,
        vm: &str,
    ) -> BackendResult<Option<VmReplication>> {
        self.hyperv.get_vm_replication(host, vm).await
    }
    async fn list_vm_replication(&self, host: &str) -> BackendResult<Vec<VmReplication>> {
        self.hyperv.list_vm_replication(host).await
    }
    async fn remove_vm_replication(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.hyperv.remove_vm_replication(host, vm).await
    }
    async fn enable_vm_replication(
        &self,
        host: &str,
        vm: &str,
        replica: &str,
        frequency_s: Option<u32>,
    ) -> BackendResult<()> {
        self.hyperv
            .enable_vm_replication(host, vm, replica, frequency_s)
            .await
    }
    async fn enable_vm_replication_as_replica(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.hyperv.enable_vm_replication_as_replica(host, vm).await
    }
    async fn start_vm_initial_replication(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.hyperv.start_vm_initial_replication(host, vm).await
    }
    async fn start_vm_failover(&self, host: &str, vm: &str, prepare: bool) -> BackendResult<()> {
        self.hyperv.start_vm_failover(host, vm, prepare).await
    }
    async fn complete_vm_failover(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.hyperv.complete_vm_failover(host, vm).await
    }
    async fn reverse_vm_replication(
        &self,
        host: &str,
        vm: &str,
        replica: &str,
    ) -> BackendResult<()> {
        self.hyperv.reverse_vm_replication(host, vm, replica).await
    }
    async fn set_vm_replication_as_replica(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.hyperv.set_vm_replication_as_replica(host, vm).await
    }
    async fn resume_vm_replication(
        &self,
        host: &str,
        vm: &str,
        resynchronize: bool,
    ) -> BackendResult<()> {
        self.hyperv
            .resume_vm_replication(host, vm, resynchronize)
            .await
    }
}

impl<D> Clock for ProductionBackend<D> {
    async fn sleep(&self, duration: Micros) {
        self.clock.sleep(duration).await
    }

    fn now(&self) -> Micros {
        self.clock.now()
    }
}

impl<D: Dns> Dns for ProductionBackend<D> {
    async fn update_record(&self, record: &str, address: &str) -> BackendResult<()> {
        self.dns.update_record(record, address).await
    }
}

impl<D> Lease for ProductionBackend<D> {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Micros,
        wait: Micros,
    ) -> BackendResult<bool> {
        self.lease.acquire(name, holder, ttl, wait).await
    }
    async fn release(&self, name: &str, holder: &str) -> BackendResult<()> {
        self.lease.release(name, holder).await
    }
    async fn role(&self, vm: &str) -> BackendResult<Option<RoleRecord>> {
        self.lease.role(vm).await
    }
    async fn claim_role(&self, vm: &str, cluster: &str, epoch: u64) -> BackendResult<bool> {
        self.lease.claim_role(vm, cluster, epoch).await
    }
}

impl<D> AlertLog for ProductionBackend<D> {
    fn log(&self, level: LogLevel, message: &str) {
        self.alert.log(level, message)
    }
}
