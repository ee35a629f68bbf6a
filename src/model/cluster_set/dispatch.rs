//! The one dispatcher of backend calls onto the world: a call of the control logic (a script
//! resource's or the master's) completes here, against the clusters (the ECX REST API), the
//! Hyper-V mock, the witness's leases and DNS, as they are when it completes.

use crate::backend::sim::hyperv::HvEffect;
use crate::backend::sim::lease::Grant;
use crate::backend::sim::{EcxCluster, HvCmd, Op, OpOutput, OpResult, TaskId};
use crate::backend::{BackendError, GroupInfo, GroupStatus, Name};
use crate::dist::Dist;
use crate::model::cluster::{Group, GroupCommand};
use crate::scenario::Scenario;

use super::master_rt::{group_name, Seen};
use super::world::{Event, World};
use crate::world::TraceKind;

/// The caller of a REST call from outside the world (`ecxsim serve`'s clients): on the
/// network, whatever the world's servers do. No server name contains spaces.
pub(super) const EXTERNAL_CLIENT: &str = "client outside the world";

impl<'a> World<'a> {
    /// Completes `op` of `task` (the master's if `master`) issued from host `caller`; `None`
    /// if the task now waits (for a lease).
    pub(super) fn apply(
        &mut self,
        task: TaskId,
        master: bool,
        caller: &str,
        op: &Op,
    ) -> Option<OpResult> {
        Some(match op {
            Op::Sleep(_) | Op::Idle { .. } => Ok(OpOutput::Unit),
            Op::RestGroup { cluster, .. }
            | Op::RestCluster { cluster }
            | Op::RestServers { cluster }
            | Op::RestResources { cluster } => self.rest_get(master, caller, cluster, op),
            Op::RestStartGroup {
                cluster, target, ..
            } => self.rest_command(caller, cluster, target.as_deref(), |server| {
                GroupCommand::Start { server }
            }),
            Op::RestStopGroup { cluster, .. } => {
                self.rest_command(caller, cluster, None, |_| GroupCommand::Stop)
            }
            Op::RestMoveGroup {
                cluster, target, ..
            } => self.rest_command(caller, cluster, target.as_deref(), |server| {
                GroupCommand::Move { server }
            }),
            Op::Hv { host, cmd } => self.hyperv(caller, host, cmd),
            Op::DnsUpdate { record, address } => self.dns_update(record, address),
            Op::LeaseAcquire {
                name,
                holder,
                ttl,
                wait,
            } => {
                let now = self.cal.now();
                // The master never waits (its task ids are not the scripts').
                let grant = if master || *wait == 0 {
                    self.leases.try_acquire(name, holder, task, *ttl, now)
                } else {
                    self.leases.acquire(name, holder, task, *ttl, now)
                };
                match grant {
                    Some(grant) => {
                        self.arm_lease_expiry(&grant);
                        Ok(OpOutput::Granted(true))
                    }
                    None if master || *wait == 0 => Ok(OpOutput::Granted(false)),
                    None => {
                        self.cal.schedule_in(*wait, Event::LeaseWaitOver { task });
                        return None;
                    }
                }
            }
            Op::RoleGet { vm } => Ok(OpOutput::Role(self.leases.role(vm))),
            Op::RoleClaim { vm, cluster, epoch } => Ok(OpOutput::Granted(
                self.leases.claim_role(vm, cluster, *epoch),
            )),
            Op::LeaseRelease { name, holder } => {
                let now = self.cal.now();
                if let Some(grant) = self.leases.release(name, holder, now) {
                    self.hand_over(grant);
                }
                Ok(OpOutput::Unit)
            }
        })
    }

    fn cluster_index(&self, name: &str) -> Option<usize> {
        self.cluster_by_name.get(name).copied()
    }

    fn host_reachable(&self, host: &str) -> bool {
        host == EXTERNAL_CLIENT
            || self
                .servers
                .get(host)
                .is_some_and(|&(c, s)| self.clusters[c].server_reachable(s))
    }

    /// The FIP of cluster `c` answers: online on a reachable server, the REST API up.
    fn fip_answers(&self, c: usize) -> bool {
        let (_, server, fip, _) = self.group_state(c);
        self.cal.now() >= self.rest_down_until[c]
            && fip
            && server.is_some_and(|s| self.clusters[c].server_reachable(s))
    }

    /// Some server of cluster `c` answers a group command (a stopped group has no FIP).
    fn some_server_answers(&self, c: usize) -> bool {
        let sim = &self.clusters[c];
        self.cal.now() >= self.rest_down_until[c]
            && (0..sim.server_count()).any(|s| sim.server_reachable(s))
    }

    /// Whether `op` issued from `caller` now reaches something that answers: a call that does
    /// not takes `[backend] unreachable_call` to fail, when that is set. (Whether it fails is
    /// still decided when it completes, as with every call.)
    fn answers_now(&self, caller: &str, op: &Op) -> bool {
        let rest = |cluster: &str, answers: &dyn Fn(usize) -> bool| {
            self.host_reachable(caller) && self.cluster_index(cluster).is_some_and(answers)
        };
        match op {
            Op::RestGroup { cluster, .. }
            | Op::RestCluster { cluster }
            | Op::RestServers { cluster }
            | Op::RestResources { cluster } => rest(cluster, &|c| self.fip_answers(c)),
            Op::RestStartGroup { cluster, .. }
            | Op::RestStopGroup { cluster, .. }
            | Op::RestMoveGroup { cluster, .. } => rest(cluster, &|c| self.some_server_answers(c)),
            Op::Hv { host, .. } => self.farm.reach(caller, host).is_ok(),
            // Sleeps, DNS and the lease service (on the master cluster, not raced).
            _ => true,
        }
    }

    /// `[backend] unreachable_call` if it is set and nothing answers `op` now: the call takes
    /// that long to fail instead of its own duration.
    pub(super) fn unanswered(&self, caller: &str, op: &Op) -> Option<&'a Dist> {
        let scenario: &'a Scenario = self.scenario;
        let fail_after = scenario.backend.assumptions.unreachable_call.as_ref()?;
        (!self.answers_now(caller, op)).then_some(fail_after)
    }

    /// What the master's poll of cluster `c`'s group finds now (the same conditions as
    /// `rest_get`'s answer).
    pub(super) fn master_view(&self, c: usize) -> Seen {
        let master_reachable = self.master.as_ref().is_some_and(|m| {
            let mc = m.spec.cluster;
            self.synced_holder(mc)
                .is_some_and(|s| self.clusters[mc].server_reachable(s))
        });
        if !(master_reachable && self.fip_answers(c)) {
            return Seen::Failing;
        }
        match self.group_state(c) {
            (GroupStatus::Online, Some(s), _, _) => Seen::Online(s),
            _ => Seen::Failing,
        }
    }

    /// The group's status, the server it is on, and whether fip and script are online.
    fn group_state(&self, c: usize) -> (GroupStatus, Option<usize>, bool, bool) {
        match self.clusters[c].group() {
            Group::Online(s) => (GroupStatus::Online, Some(s), true, true),
            Group::Scripts(s) => (GroupStatus::OnlinePending, Some(s), true, false),
            Group::Stopping(s) => (GroupStatus::OfflinePending, Some(s), true, false),
            Group::Starting(s) => (
                GroupStatus::OnlinePending,
                Some(s),
                self.scenario.backend.assumptions.rest_during_group_start,
                false,
            ),
            Group::SplitBrain => (
                GroupStatus::Online,
                self.clusters[c].active_server(),
                true,
                true,
            ),
            Group::Detecting
            | Group::Waiting
            | Group::SyncWait
            | Group::DiskWait
            | Group::Offline => (GroupStatus::Offline, None, false, false),
        }
    }

    /// What the cluster's REST API reports of its one failover group.
    pub(super) fn ecx_view(&self, c: usize) -> EcxCluster {
        let spec = &self.scenario.clusters[c];
        let mut ecx = EcxCluster::new(&spec.name, &group_name(&spec.name), spec.servers.clone());
        let (status, server, fip, script) = self.group_state(c);
        ecx.status = status;
        ecx.current = server.map(|s| spec.servers[s].clone());
        ecx.fip_online = fip;
        let starting = matches!(self.clusters[c].group(), Group::Starting(_));
        ecx.sd_online = fip && !starting && self.clusters[c].disk_up();
        ecx.script_online = script;
        ecx
    }

    /// A GET at the cluster's FIP: answered while the FIP is online on a reachable server.
    fn rest_get(&mut self, master: bool, caller: &str, cluster: &str, op: &Op) -> OpResult {
        let Some(c) = self.cluster_index(cluster) else {
            return Err(BackendError::Unreachable {
                target: fip_name(cluster),
            });
        };
        let unreachable = |world: &Self| BackendError::Unreachable {
            target: world.rest_names[c].fip.clone(),
        };
        if master && matches!(op, Op::RestGroup { .. }) {
            let seen = self.master_view(c);
            if let Some(m) = self.master.as_mut() {
                m.observed[c] = seen;
            }
        }
        if !self.host_reachable(caller) {
            return Err(unreachable(self));
        }
        // Checked before building any answer.
        if !self.fip_answers(c) {
            return Err(unreachable(self));
        }
        if let Op::RestGroup { group, .. } = op {
            // The master's polls: answered from names built once.
            let names = &self.rest_names[c];
            if **group != *names.group {
                return Err(BackendError::Rest {
                    code: 404,
                    message: format!("no group {group}"),
                });
            }
            let (status, server, _, _) = self.group_state(c);
            let current = match server {
                Some(s) => &self.server_names[self.server_ids[c][s] as usize],
                None => &names.no_server,
            };
            return Ok(OpOutput::Group(GroupInfo {
                name: Name::clone(&names.group),
                status,
                current: Name::clone(current),
                resources: std::sync::Arc::clone(&names.resources),
            }));
        }
        let ecx = self.ecx_view(c);
        Ok(match op {
            Op::RestCluster { .. } => OpOutput::Cluster(ecx.cluster_info()),
            Op::RestServers { .. } => {
                OpOutput::Servers(ecx.server_infos(|s| self.host_reachable(s)))
            }
            Op::RestResources { .. } => OpOutput::Resources(ecx.resource_infos()),
            _ => OpOutput::Group(ecx.group_info()),
        })
    }

    /// A group command POSTed to a cluster: answered by any of its reachable servers (a
    /// stopped group has no FIP), carried out as an administrator's `clpgrp` would be.
    fn rest_command(
        &mut self,
        caller: &str,
        cluster: &str,
        target: Option<&str>,
        command: impl FnOnce(Option<usize>) -> GroupCommand,
    ) -> OpResult {
        let unreachable = || BackendError::Unreachable {
            target: fip_name(cluster),
        };
        let c = self.cluster_index(cluster).ok_or_else(unreachable)?;
        if !(self.host_reachable(caller) && self.some_server_answers(c)) {
            return Err(unreachable());
        }
        let servers = &self.scenario.clusters[c].servers;
        let server = match target {
            None => None,
            Some(t) => {
                Some(
                    servers
                        .iter()
                        .position(|s| s == t)
                        .ok_or_else(|| BackendError::Rest {
                            code: 404,
                            message: format!("no server {t} in {cluster}"),
                        })?,
                )
            }
        };
        let mut result = Ok(());
        self.with_cluster(c, |sim, scope| result = sim.command(command(server), scope));
        result
            .map(|_| OpOutput::Unit)
            .map_err(|message| BackendError::Rest { code: 1, message })
    }

    pub(super) fn hyperv(&mut self, caller: &str, host: &Name, cmd: &HvCmd) -> OpResult {
        let now = self.cal.now();
        let vm = cmd.vm().and_then(|name| self.vm_index.get(name).copied());
        let checkpoint = match (cmd, vm) {
            (HvCmd::StartInitialReplication { .. }, Some(v)) => {
                self.scenario.vms[v].checkpoint.sample(&mut self.rng_vms[v])
            }
            _ => 0,
        };
        let changes = self.farm.changes();
        let (result, effect) = match vm {
            Some(v) => {
                let flaky = self.scenario.backend.flaky_remove_probability;
                let rng = &mut self.rng_flaky[v];
                self.farm
                    .apply(caller, host, cmd, now, flaky, checkpoint, rng)
            }
            // A host-wide listing: no removal, nothing drawn.
            None => {
                let mut unused = <crate::engine::Stream as rand::SeedableRng>::seed_from_u64(0);
                self.farm.apply(caller, host, cmd, now, 0.0, 0, &mut unused)
            }
        };
        let changed = effect.is_some() || self.farm.changes() != changes;
        if let (Some(HvEffect::InitialReplicationStarted { primary, .. }), Some(v)) = (effect, vm) {
            let transfer = self.scenario.vms[v]
                .initial_replication
                .sample(&mut self.rng_vms[v]);
            if let Some(&(c, s)) = self.servers.get(&primary) {
                let host = self.server_ids[c][s];
                self.transfers[v] += 1;
                self.cal.schedule_in(
                    transfer,
                    Event::ReplicationTransferred { vm: v as u16, host },
                );
            }
        }
        // A VM's view is read from the farm: a cmdlet that changed nothing there (a read, a
        // refusal) leaves it as it was.
        if let Some(v) = vm.filter(|_| changed) {
            self.touch_vm(v);
        }
        result
    }

    pub(super) fn replication_transferred(&mut self, vm: u16, host: u16) {
        let v = vm as usize;
        self.transfers[v] -= 1;
        let host = self.server_names[host as usize].clone();
        let done = self
            .farm
            .finish_initial_replication(&host, &self.scenario.vms[v].name);
        self.resynchronised[v] = done;
        let name = &self.scenario.vms[v].name;
        self.note(TraceKind::Replication, &host, || {
            let outcome = if done { "done" } else { "failed" };
            format!("initial replication of {name} {outcome}")
        });
        self.touch_vm(v);
    }

    /// Clients reach the new address once their cached answer expires.
    fn dns_update(&mut self, record: &str, address: &str) -> OpResult {
        let now = self.cal.now();
        let target = self.cluster_index(address);
        let v = self.vm_index.get(record).copied();
        let (Some(target), Some(v)) = (target, v) else {
            return Err(BackendError::Rest {
                code: 404,
                message: format!("no record {record} or address {address}"),
            });
        };
        let ttl = self.scenario.dns.as_ref().map_or(0, |d| d.ttl);
        let vm = &mut self.vms[v];
        vm.dns_target = target;
        vm.dns_ready_at = now + ttl;
        vm.failing_over = false;
        self.cal.schedule_in(ttl, Event::DnsReady { vm: v as u16 });
        self.touch_vm(v);
        Ok(OpOutput::Unit)
    }

    fn lease_index(&mut self, name: &str) -> u16 {
        if let Some(&i) = self.lease_ids.get(name) {
            return i;
        }
        let i = self.lease_names.len() as u16;
        self.lease_names.push(name.to_string());
        self.lease_ids.insert(name.to_string(), i);
        i
    }

    fn arm_lease_expiry(&mut self, grant: &Grant) {
        let lease = self.lease_index(&grant.name);
        self.cal.schedule_at(
            grant.expires,
            Event::LeaseExpiry {
                lease,
                generation: grant.generation,
            },
        );
    }

    /// A waiting script gets the lease.
    fn hand_over(&mut self, grant: Grant) {
        self.arm_lease_expiry(&grant);
        self.wake_script(grant.task, Ok(OpOutput::Granted(true)));
    }

    fn wake_script(&mut self, task: TaskId, result: OpResult) {
        if self.exec.is_live(task) {
            self.deliver_to_script(task, result);
        }
    }

    pub(super) fn lease_expired(&mut self, lease: u16, generation: u64) {
        let now = self.cal.now();
        let name = self.lease_names[lease as usize].clone();
        if let Some(grant) = self.leases.expire(&name, generation, now) {
            self.hand_over(grant);
        }
    }

    pub(super) fn lease_wait_over(&mut self, task: TaskId) {
        if self.leases.cancel_wait(task) {
            self.wake_script(task, Ok(OpOutput::Granted(false)));
        }
    }
}

/// What an unanswered REST call names as its target: the cluster's FIP.
pub(super) fn fip_name(cluster: &str) -> String {
    ["fip-", cluster].concat()
}
