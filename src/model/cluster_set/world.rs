//! One replication of a cluster set: every cluster (the master's too) as a `ClusterSim`, the
//! shared witness, the VMs, and the master controller running as control logic against the
//! simulated backends, all on one calendar.

use std::collections::BTreeMap;

use crate::backend::sim::{HvCmd, Op, OpOutput, OpResult, TaskId};
use crate::backend::{BackendError, GroupInfo, GroupStatus};
use crate::engine::{component_stream, Calendar, Stream};
use crate::metrics::ServiceTracker;
use crate::model::cluster::{
    build_clusters, ClusterEvent, ClusterSim, FromClusterEvent, Scoped, ServerState,
};
use crate::model::witness::{WitnessEvent, WitnessSim};
use crate::model::{ReplicationResult, ServiceResult};
use crate::scenario::Scenario;
use crate::time::Micros;

use super::master_rt::{group_name, Idle, MasterRt};
use super::replica::Effect;
use super::vm::{ClusterView, VmRt};
use super::ScriptedFault;

#[derive(Debug, Clone, Copy)]
enum Event {
    Cluster {
        cluster: u16,
        event: ClusterEvent,
    },
    Witness(WitnessEvent),
    /// The master's backend call in flight completes.
    OpDone {
        task: TaskId,
    },
    /// The idle master's next poll tick after a change.
    Wake {
        generation: u32,
    },
    /// A DNS answer's time to live ran out: clients may now reach a VM's new place.
    DnsReady,
    ResyncDone {
        vm: u16,
        copy: u8,
        generation: u32,
    },
    Inject(u32),
}

impl FromClusterEvent for Event {
    fn from_cluster_event(cluster: u16, event: ClusterEvent) -> Self {
        Event::Cluster { cluster, event }
    }
}

pub struct World<'s> {
    scenario: &'s Scenario,
    cal: Calendar<Event>,
    clusters: Vec<ClusterSim<'s>>,
    witness: Option<WitnessSim<'s>>,
    master: Option<MasterRt<'s>>,
    vms: Vec<VmRt>,
    reprotect_streams: Vec<Stream>,
    /// Each cluster's group as last seen (changes wake the idle master).
    up: Vec<bool>,
    np_seen: Vec<u64>,
    /// Server name -> (cluster, index in the cluster).
    servers: BTreeMap<String, (usize, usize)>,
    faults: &'s [(Micros, ScriptedFault)],
    events: u64,
}

impl<'s> World<'s> {
    pub fn new(
        scenario: &'s Scenario,
        seed: u64,
        replication: u64,
        keep_outages: bool,
        faults: &'s [(Micros, ScriptedFault)],
    ) -> World<'s> {
        let sim = &scenario.simulation;
        let mut cal = Calendar::with_capacity(8 * scenario.clusters.len() + 16);
        let witness = scenario.witness.as_ref().map(|spec| {
            let (witness, first) = WitnessSim::new(spec, seed, replication);
            cal.schedule_in(first, Event::Witness(WitnessEvent::Fails));
            witness
        });
        let witness_up = witness.is_some();
        let clusters = build_clusters(
            scenario,
            seed,
            replication,
            keep_outages,
            witness_up,
            &mut cal,
        );
        let vms = scenario
            .vms
            .iter()
            .map(|v| {
                let tracker = ServiceTracker::new(sim.warmup, sim.horizon, keep_outages);
                VmRt::new(
                    v.cluster,
                    v.replica_cluster,
                    v.replication_interval,
                    tracker,
                )
            })
            .collect();
        let reprotect_streams = scenario
            .vms
            .iter()
            .map(|v| component_stream(seed, replication, &format!("vm/{}/reprotect", v.name)))
            .collect();
        for (i, (at, _)) in faults.iter().enumerate() {
            cal.schedule_at(*at, Event::Inject(i as u32));
        }
        let mut servers = BTreeMap::new();
        for (c, spec) in scenario.clusters.iter().enumerate() {
            for (s, name) in spec.servers.iter().enumerate() {
                servers.insert(name.clone(), (c, s));
            }
        }
        let master = scenario
            .master
            .as_ref()
            .map(|spec| MasterRt::new(spec, scenario, seed, replication));
        let mut world = World {
            scenario,
            cal,
            up: vec![true; clusters.len()],
            np_seen: vec![0; clusters.len()],
            clusters,
            witness,
            master,
            vms,
            reprotect_streams,
            servers,
            faults,
            events: 0,
        };
        if let Some(m) = world.master.as_mut() {
            m.spawn();
            world.poll_master();
        }
        world
    }

    pub fn run(mut self, index: u64) -> ReplicationResult {
        let horizon = self.scenario.simulation.horizon;
        while let Some((_, event)) = self.cal.pop_until(horizon) {
            self.events += 1;
            self.handle(event);
            self.after_event();
        }
        let per_cluster: Vec<_> = self.clusters.into_iter().map(ClusterSim::finish).collect();
        // The scenario's services (their clusters' groups), then the VMs, in order: the
        // report's service names (`run::service_names`).
        let mut services: Vec<ServiceResult> = self
            .scenario
            .services
            .iter()
            .map(|s| {
                let (totals, outages) = &per_cluster[s.cluster];
                ServiceResult {
                    totals: totals.clone(),
                    outages: outages.clone(),
                    data_loss: Vec::new(),
                }
            })
            .collect();
        services.extend(self.vms.into_iter().map(|vm| {
            let (totals, outages, data_loss) = vm.finish();
            ServiceResult {
                totals,
                outages,
                data_loss,
            }
        }));
        ReplicationResult {
            index,
            services,
            events: self.events,
        }
    }

    fn handle(&mut self, event: Event) {
        let now = self.cal.now();
        match event {
            Event::Cluster { cluster, event } => {
                let c = cluster as usize;
                let mut scope = Scoped {
                    calendar: &mut self.cal,
                    cluster,
                };
                self.clusters[c].handle(event, &mut scope);
            }
            Event::Witness(event) => {
                let Some(w) = self.witness.as_mut() else {
                    return;
                };
                let (next, delay) = w.handle(event);
                let up = w.is_up();
                self.cal.schedule_in(delay, Event::Witness(next));
                self.witness_changed(up);
            }
            Event::OpDone { task } => self.op_done(task),
            Event::Wake { generation } => {
                let Some(m) = self.master.as_mut() else {
                    return;
                };
                if m.wake.is_current(generation) && m.idle.take().is_some() {
                    m.pending = None;
                    if let Some(task) = m.task {
                        m.exec.deliver(task, Ok(OpOutput::Unit));
                    }
                    self.poll_master();
                }
            }
            Event::DnsReady => {} // availability is refreshed after every event
            Event::ResyncDone {
                vm,
                copy,
                generation,
            } => {
                let vm = &mut self.vms[vm as usize];
                if vm.resync_timer.is_current(generation) && vm.pair.resync_done(copy as usize) {
                    vm.sync.resynchronised(now);
                }
            }
            Event::Inject(i) => match self.faults[i as usize].1 {
                ScriptedFault::Cluster { cluster, fault } => {
                    let mut scope = Scoped {
                        calendar: &mut self.cal,
                        cluster: cluster as u16,
                    };
                    self.clusters[cluster].inject(fault, &mut scope);
                }
                ScriptedFault::Witness { up } => {
                    if let Some(w) = self.witness.as_mut() {
                        w.set_up(up);
                    }
                    self.witness_changed(up);
                }
            },
        }
    }

    fn witness_changed(&mut self, up: bool) {
        for (i, cluster) in self.clusters.iter_mut().enumerate() {
            let mut scope = Scoped {
                calendar: &mut self.cal,
                cluster: i as u16,
            };
            cluster.set_witness(up, &mut scope);
        }
    }

    /// Notices cluster changes: the master starts or dies with its group, an idle master is
    /// woken on its next tick, and every VM's availability is brought up to date.
    fn after_event(&mut self) {
        let now = self.cal.now();
        let mut worker_changed = false;
        for c in 0..self.clusters.len() {
            let up = self.clusters[c].is_up();
            if up != self.up[c] {
                self.up[c] = up;
                let master_cluster = self.master.as_ref().map(|m| m.spec.cluster);
                if master_cluster == Some(c) {
                    self.master_group_changed(up);
                }
                if self
                    .master
                    .as_ref()
                    .is_some_and(|m| m.worker_clusters.contains(&c))
                {
                    worker_changed = true;
                }
            }
            let resolutions = self.clusters[c].np_resolutions();
            if resolutions > self.np_seen[c] {
                self.np_seen[c] = resolutions;
                for vm in &mut self.vms {
                    if vm.placed() == Some(c) {
                        vm.tracker.np_shutdown(now);
                    }
                }
            }
        }
        if worker_changed {
            self.wake_idle_master(now);
        }
        for v in 0..self.vms.len() {
            self.refresh_vm(v);
        }
    }

    fn master_group_changed(&mut self, up: bool) {
        let Some(m) = self.master.as_mut() else {
            return;
        };
        if up {
            if m.task.is_none() {
                m.spawn();
                self.poll_master();
            }
        } else {
            m.kill();
            for vm in &mut self.vms {
                vm.failing_over = false;
            }
        }
    }

    fn wake_idle_master(&mut self, now: Micros) {
        let Some(m) = self.master.as_mut() else {
            return;
        };
        let Some(idle) = m.idle.as_mut() else {
            return;
        };
        if !idle.wake_armed {
            idle.wake_armed = true;
            let at = idle.next_tick(now);
            let generation = m.wake.arm();
            self.cal.schedule_at(at, Event::Wake { generation });
        }
    }

    fn refresh_vm(&mut self, v: usize) {
        let now = self.cal.now();
        let vm = &self.vms[v];
        let view = |c: usize| ClusterView {
            up: self.clusters[c].is_up(),
            cause: self.clusters[c].down_cause(),
            split_brain: self.clusters[c].is_split_brain(),
        };
        let placed = vm.placed().map(view);
        let both_up = vm
            .pair
            .copies
            .iter()
            .all(|c| self.clusters[c.cluster].is_up());
        self.vms[v].refresh(now, placed, both_up);
    }

    // ----- the master's calls -----

    /// Runs the master task until it waits on a call, and times the call.
    fn poll_master(&mut self) {
        let now = self.cal.now();
        let Some(m) = self.master.as_mut() else {
            return;
        };
        let Some(task) = m.task else {
            return;
        };
        m.exec.poll(task);
        m.exec.take_logs();
        let submitted = m.exec.take_submitted();
        for (id, op) in submitted {
            self.mark_failover_start(&op);
            let m = self.master.as_mut().expect("checked above");
            match op {
                Op::Idle(period) => {
                    m.idle = Some(Idle {
                        start: now,
                        period,
                        wake_armed: false,
                    });
                    let stale = m
                        .worker_clusters
                        .iter()
                        .any(|&c| m.observed[c] != Some(self.up[c]));
                    if stale {
                        self.wake_idle_master(now);
                    }
                }
                _ => {
                    let delay = call_duration(m, &op);
                    self.cal.schedule_in(delay, Event::OpDone { task: id });
                }
            }
            let m = self.master.as_mut().expect("checked above");
            m.pending = Some(op);
        }
    }

    /// From the master's first failover call for a VM until its DNS update, the VM's downtime
    /// is the cross-cluster failover's.
    fn mark_failover_start(&mut self, op: &Op) {
        let Op::Hv { host, cmd } = op else { return };
        let (HvCmd::StartFailover { vm, .. } | HvCmd::StartVm { vm }) = cmd else {
            return;
        };
        let Some(&(cluster, _)) = self.servers.get(host) else {
            return;
        };
        if let Some(v) = self.scenario.vms.iter().position(|x| &x.name == vm) {
            if self.vms[v].placed() != Some(cluster) {
                self.vms[v].failing_over = true;
            }
        }
    }

    fn op_done(&mut self, task: TaskId) {
        let Some(m) = self.master.as_mut() else {
            return;
        };
        if m.task != Some(task) {
            return;
        }
        let Some(op) = m.pending.take() else {
            return;
        };
        let result = self.apply(&op);
        let m = self.master.as_mut().expect("checked above");
        m.exec.deliver(task, result);
        self.poll_master();
    }

    fn apply(&mut self, op: &Op) -> OpResult {
        match op {
            Op::Sleep(_) | Op::Idle(_) => Ok(OpOutput::Unit),
            Op::RestGroup { cluster, group } => self.rest_group(cluster, group),
            Op::Hv { host, cmd } => self.hyperv(host, cmd),
            Op::DnsUpdate { record, address } => self.dns_update(record, address),
            other => Err(BackendError::Rest {
                code: -1,
                message: format!("not available in a cluster set: {}", other.render()),
            }),
        }
    }

    fn cluster_index(&self, name: &str) -> Option<usize> {
        self.scenario.clusters.iter().position(|c| c.name == name)
    }

    /// `GET /api/v1/groups/<group>` at the cluster's FIP: answered while the group is up.
    fn rest_group(&mut self, cluster: &str, group: &str) -> OpResult {
        let unreachable = || BackendError::Unreachable {
            target: format!("fip-{cluster}"),
        };
        let c = self.cluster_index(cluster).ok_or_else(unreachable)?;
        if let Some(m) = self.master.as_mut() {
            m.observed[c] = Some(self.up[c]);
        }
        let sim = &self.clusters[c];
        if group != group_name(cluster) {
            return Err(BackendError::Rest {
                code: 404,
                message: format!("no group {group}"),
            });
        }
        let server = sim.active_server().filter(|_| sim.is_up());
        let server = server.ok_or_else(unreachable)?;
        Ok(OpOutput::Group(GroupInfo {
            name: group.into(),
            status: GroupStatus::Online,
            current: self.scenario.clusters[c].servers[server].clone(),
            resources: vec![],
        }))
    }

    fn hyperv(&mut self, host: &str, cmd: &HvCmd) -> OpResult {
        let now = self.cal.now();
        let unreachable = || BackendError::Unreachable {
            target: host.to_string(),
        };
        let &(c, s) = self.servers.get(host).ok_or_else(unreachable)?;
        let vm_name = command_vm(cmd).unwrap_or_default();
        let cluster = &self.clusters[c];
        if !(cluster.is_up() && cluster.active_server() == Some(s)) {
            return Err(if cluster.server_state(s) == ServerState::Member {
                // Up, but not where the group (and the shared disk) is.
                BackendError::ConfigurationNotAccessible { vm: vm_name.into() }
            } else {
                unreachable()
            });
        }
        let not_found = || BackendError::VmNotFound {
            vm: vm_name.into(),
            host: host.into(),
        };
        let v = self
            .scenario
            .vms
            .iter()
            .position(|x| x.name == vm_name)
            .ok_or_else(not_found)?;
        let copy = self.vms[v].pair.copy_on(c).ok_or_else(not_found)?;
        let current_to = self.vms[v].current_to(copy, now);
        let names = self.vms[v]
            .pair
            .copies
            .clone()
            .map(|x| self.scenario.clusters[x.cluster].name.as_str());
        let vm = &mut self.vms[v];
        match vm.pair.apply(copy, vm_name, cmd, names) {
            Err(e) => {
                if matches!(cmd, HvCmd::StartFailover { .. } | HvCmd::StartVm { .. }) {
                    vm.failing_over = false;
                }
                Err(e)
            }
            Ok((output, effect)) => {
                match effect {
                    Some(Effect::Started) => vm.moved(copy, current_to, now),
                    Some(Effect::ResyncStarted) => {
                        let spec = self
                            .scenario
                            .master
                            .as_ref()
                            .expect("only the master resynchronises");
                        let delay = spec.reprotect.sample(&mut self.reprotect_streams[v]);
                        let generation = vm.resync_timer.arm();
                        self.cal.schedule_in(
                            delay,
                            Event::ResyncDone {
                                vm: v as u16,
                                copy: copy as u8,
                                generation,
                            },
                        );
                    }
                    Some(Effect::FailoverStarted) | None => {}
                }
                Ok(output)
            }
        }
    }

    /// Clients reach the new address once their cached answer expires.
    fn dns_update(&mut self, record: &str, address: &str) -> OpResult {
        let now = self.cal.now();
        let target = self.cluster_index(address);
        let v = self.scenario.vms.iter().position(|x| x.name == record);
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
        self.cal.schedule_in(ttl, Event::DnsReady);
        Ok(OpOutput::Unit)
    }
}

/// How long a master call takes: the failover and the VM start as the scenario says; the REST
/// polls, reads, replication settings and DNS update are taken as instantaneous next to them
/// (one microsecond, so that a call always yields). A resynchronisation's transfer is timed
/// separately (`reprotect`).
fn call_duration(m: &mut MasterRt, op: &Op) -> Micros {
    let d = match op {
        Op::Sleep(d) | Op::Idle(d) => *d,
        Op::Hv {
            cmd: HvCmd::StartFailover { .. },
            ..
        } => m.spec.failover.sample(&mut m.failover_stream),
        Op::Hv {
            cmd: HvCmd::StartVm { .. },
            ..
        } => m.spec.vm_start.sample(&mut m.vm_start_stream),
        _ => 0,
    };
    d.max(1)
}

fn command_vm(cmd: &HvCmd) -> Option<&str> {
    match cmd {
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
