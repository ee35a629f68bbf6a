//! One replication of a scenario with VMs: every cluster (the master's too) as a
//! `ClusterSim`, the shared witness, the Hyper-V hosts (`HyperVFarm`), the VMs, the script
//! resources of every worker cluster running the production control logic, and the master
//! controller, all on one calendar.
//!
//! The clusters are the source of truth for the hardware and the failover groups; the
//! Hyper-V mock for the VMs and their replication. After each event the world brings the mock
//! in line with the clusters that event touched (hosts up or down, the shared disk following
//! the group), launches the script resources of a group that activated, and refreshes the VMs
//! of those clusters only: the cost of an event does not grow with the number of clusters.

use std::cell::Cell;
use std::collections::BTreeMap;

use crate::backend::sim::{
    Call, CallId, EcxCluster, Executor, FailedCycle, HvCmd, HyperVFarm, IdTable, LeaseTable,
    NameMap, Op, OpOutput, Relationship, TaskId,
};
use crate::backend::{Name, ReplicationMode, ReplicationState, NO_SERVER};
use crate::control::ScriptOutcome;
use crate::engine::{component_stream, stream_seed, Calendar, Stream, Timer};
use crate::metrics::ServiceTracker;
use crate::model::cluster::{
    build_clusters, ClusterEvent, ClusterSim, FromClusterEvent, Group, GroupCommand, Scoped,
};
use crate::model::witness::{WitnessEvent, WitnessSim};
use crate::model::ClusterFault;
use crate::model::{ReplicationResult, ServiceResult};
use crate::scenario::Scenario;
use crate::time::Micros;

use super::contexts::ScriptContexts;
use super::dispatch::fip_name;
use super::link::link_shares;
use super::master_rt::{group_name, Idle, MasterRt};
use super::operations::OperatorRt;
use super::scripts::ScriptTask;
use super::vm::{SyncClock, VmRt, VmView};
use super::ScriptedFault;
use crate::world::{Fault, ScriptRecord, TraceEntry, TraceKind, VmHistory};

/// What a VM's view is read from, as far as it can change: the farm's and the clusters'
/// change counts, and where DNS sends the clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ViewInputs {
    farm: u64,
    clusters: u64,
    dns_target: usize,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Event {
    Cluster {
        cluster: u16,
        event: ClusterEvent,
    },
    Witness(WitnessEvent),
    /// A script's backend call in flight completes.
    OpDone {
        task: TaskId,
    },
    /// A script resource's start or stop has run for `[backend] script_timeout`.
    ScriptTimeout {
        task: TaskId,
    },
    /// One of the master's calls in flight completes.
    MasterCallDone {
        call: CallId,
    },
    /// The idle master's next poll tick after a change.
    Wake {
        generation: u32,
    },
    /// A cluster's REST API answers again (`ScriptedFault::RestUnreachable`).
    RestBack {
        cluster: u16,
    },
    /// A DNS answer's time to live ran out: clients may now reach a VM's new place.
    DnsReady {
        vm: u16,
    },
    /// An initial replication (or resynchronisation) of `vm` from `host` has transferred.
    ReplicationTransferred {
        vm: u16,
        host: u16,
    },
    LeaseExpiry {
        lease: u16,
        generation: u64,
    },
    LeaseWaitOver {
        task: TaskId,
    },
    /// A fault domain fails, one of its members goes down, it is repaired.
    DomainFails {
        domain: u16,
    },
    DomainMemberDown {
        domain: u16,
        member: u16,
        generation: u32,
    },
    DomainRestored {
        domain: u16,
        generation: u32,
    },
    OperatorArrives {
        vm: u16,
        generation: u32,
    },
    /// With sticky failed cycles: a VM's next replication cycle since it stopped replicating
    /// healthily is due.
    CycleDue {
        vm: u16,
        generation: u32,
    },
    /// A host's VMs have been paused for lack of storage for the critical-error timeout.
    CriticalPauseOver {
        host: u16,
        generation: u32,
    },
    Inject(u32),
}

impl FromClusterEvent for Event {
    fn from_cluster_event(cluster: u16, event: ClusterEvent) -> Self {
        Event::Cluster { cluster, event }
    }
}

/// How long a VM that lost its storage stays paused before Hyper-V turns it off
/// (`AutomaticCriticalErrorActionTimeout`). ASSUMPTION: the commonly quoted 30 minutes; the
/// cmdlet's documentation gives no default.
const CRITICAL_PAUSE_TIMEOUT: Micros = 30 * crate::time::MICROS_PER_MINUTE;

/// A fault domain's draws and its outage in progress.
struct DomainRt {
    ttf: Stream,
    /// Its repair times and its members' spreads.
    ttr: Stream,
    outage: Timer,
}

impl DomainRt {
    fn new(seed: u64, replication: u64, name: &str) -> DomainRt {
        DomainRt {
            ttf: component_stream(seed, replication, &format!("fault_domain/{name}/ttf")),
            ttr: component_stream(seed, replication, &format!("fault_domain/{name}/ttr")),
            outage: Timer::default(),
        }
    }
}

pub(super) struct RestNames {
    pub group: Name,
    pub resources: std::sync::Arc<[Name]>,
    /// `current` of the group while it is active nowhere.
    pub no_server: Name,
    /// The FIP's name, as an unanswered call names it (a master polling a lost cluster).
    pub fip: String,
}

/// What a replication recorded beside its results (each only if asked for).
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub trace: Vec<TraceEntry>,
    pub scripts: Vec<ScriptRecord>,
    pub history: Vec<VmHistory>,
}

/// What the world last told the Hyper-V mock about one cluster.
#[derive(Debug, Clone)]
pub(super) struct ClusterSync {
    powered: Vec<bool>,
    reachable: Vec<bool>,
    /// The server holding the group's disk.
    holder: Option<usize>,
    activations: u32,
    stop_runs: u32,
    up: bool,
    np_seen: u64,
}

pub struct World<'s> {
    pub(super) scenario: &'s Scenario,
    pub(super) cal: Calendar<Event>,
    pub(super) clusters: Vec<ClusterSim<'s>>,
    witness: Option<WitnessSim<'s>>,
    pub(super) master: Option<MasterRt<'s>>,
    pub(super) vms: Vec<VmRt>,
    pub(super) farm: HyperVFarm,
    pub(super) synced: Vec<ClusterSync>,
    /// Script resources: the executor, each live task, its call in flight.
    pub(super) exec: Executor<ScriptOutcome>,
    pub(super) tasks: IdTable<ScriptTask>,
    pub(super) pending: IdTable<Op>,
    /// The id of each script's one call in flight.
    pub(super) script_calls: IdTable<CallId>,
    /// Live activation (or failback stop) scripts per cluster.
    pub(super) live_scripts: Vec<u32>,
    pub(super) leases: LeaseTable,
    pub(super) lease_names: Vec<String>,
    pub(super) lease_ids: BTreeMap<String, u16>,
    pub(super) cluster_by_name: NameMap<usize>,
    /// Each cluster's group and resource names, as its REST API reports them.
    pub(super) rest_names: Vec<RestNames>,
    pub(super) vm_index: NameMap<usize>,
    /// Server name -> (cluster, index in the cluster); and by global index.
    pub(super) servers: NameMap<(usize, usize)>,
    /// Shared, so a call's caller is named without copying the name.
    pub(super) server_names: Vec<Name>,
    pub(super) server_ids: Vec<Vec<u16>>,
    /// Each server's place among the farm's hosts (`NameMap::place`), by global index.
    host_places: Vec<usize>,
    /// The VMs with a copy on each cluster.
    pub(super) vms_of_cluster: Vec<Vec<u16>>,
    dirty_clusters: Vec<usize>,
    cluster_dirty: Vec<bool>,
    dirty_vms: Vec<usize>,
    vm_dirty: Vec<bool>,
    /// Counts the changes to the clusters (their states and the groups' synced holders) that
    /// a VM's view reads: with the farm's change count, it tells a cached view still holds.
    cluster_changes: u64,
    /// The calls a task just made, moved out of the mailbox (kept to reuse its memory).
    pub(super) call_buffer: Vec<Call>,
    pub(super) contexts: ScriptContexts,
    /// Each VM's last view and what it was read from (most events leave it as it was).
    view_cache: Vec<Cell<Option<(ViewInputs, VmView)>>>,
    /// An initial replication of the VM completed in this event.
    pub(super) resynchronised: Vec<bool>,
    /// Per VM: its calls' durations (scripts' and master's alike), the flaky removal, its
    /// transfers and checkpoints. A VM's draws never depend on another VM's.
    pub(super) rng_calls: Vec<Stream>,
    pub(super) rng_flaky: Vec<Stream>,
    pub(super) rng_vms: Vec<Stream>,
    domains: Vec<DomainRt>,
    /// Live tasks (scripts, repairs) and replication transfers in flight, per VM.
    pub(super) vm_tasks: Vec<u32>,
    pub(super) transfers: Vec<u32>,
    pub(super) operators: Vec<OperatorRt>,
    /// Per host: the critical pause of VMs that lost their storage there.
    critical_pause: Vec<Timer>,
    /// Per VM: the next cycle is watched (a `CycleDue` of the timer's generation is due).
    cycle_watched: Vec<bool>,
    cycle_timer: Vec<Timer>,
    faults: &'s [(Micros, ScriptedFault)],
    /// Per cluster: its REST API does not answer before this time (`rest_unreachable`).
    pub(super) rest_down_until: Vec<Micros>,
    events: u64,
    /// The timeline, when asked for (`trace_replication`).
    pub(super) trace: Option<Vec<TraceEntry>>,
    /// Every script's result and every VM's changes, when asked for (`record`).
    pub(super) script_records: Option<Vec<ScriptRecord>>,
    pub(super) history: Option<Vec<VmHistory>>,
    /// Script calls complete only when a driver picks them (`probe::choose`): the exhaustive
    /// race explorer.
    pub(super) chosen: bool,
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
        let mut clusters = build_clusters(
            scenario,
            seed,
            replication,
            keep_outages,
            witness_up,
            &mut cal,
        );
        let mut vms_of_cluster = vec![Vec::new(); clusters.len()];
        for (i, v) in scenario.vms.iter().enumerate() {
            vms_of_cluster[v.cluster].push(i as u16);
            vms_of_cluster[v.replica_cluster].push(i as u16);
        }
        for (c, cluster) in clusters.iter_mut().enumerate() {
            if !vms_of_cluster[c].is_empty() {
                cluster.set_scripted();
            }
        }
        let shares = link_shares(scenario, seed, replication);
        let vms = scenario
            .vms
            .iter()
            .zip(shares)
            .map(|(v, share)| {
                let tracker = ServiceTracker::new(sim.warmup, sim.horizon, keep_outages);
                let seed = stream_seed(seed, replication, &format!("vm/{}/cycles", v.name));
                let sync =
                    SyncClock::new(v.replication_interval, v.cycle.clone(), seed).over_link(share);
                VmRt::new([v.cluster, v.replica_cluster], sync, tracker)
            })
            .collect();
        let farm = initial_farm(scenario);
        for (i, (at, _)) in faults.iter().enumerate() {
            cal.schedule_at(*at, Event::Inject(i as u32));
        }
        let mut servers = NameMap::new();
        let mut server_names = Vec::new();
        let mut server_ids = Vec::new();
        for (c, spec) in scenario.clusters.iter().enumerate() {
            let mut ids = Vec::new();
            for (s, name) in spec.servers.iter().enumerate() {
                servers.insert(name.clone(), (c, s));
                ids.push(server_names.len() as u16);
                server_names.push(Name::from(name.as_str()));
            }
            server_ids.push(ids);
        }
        let synced = clusters
            .iter()
            .map(|c| {
                let n = c.server_count();
                ClusterSync {
                    powered: vec![true; n],
                    reachable: vec![true; n],
                    holder: Some(0),
                    activations: 0,
                    stop_runs: 0,
                    up: true,
                    np_seen: 0,
                }
            })
            .collect();
        let master = scenario
            .master
            .as_ref()
            .map(|spec| MasterRt::new(spec, scenario, seed, replication));
        let domains: Vec<DomainRt> = scenario
            .fault_domains
            .iter()
            .map(|d| DomainRt::new(seed, replication, &d.name))
            .collect();
        let host_places = (server_names.iter())
            .map(|name| farm.hosts.place(name).expect("every server is a host"))
            .collect();
        let n_vms = scenario.vms.len();
        let n_servers = server_names.len();
        let n_clusters = clusters.len();
        let mut world = World {
            scenario,
            cal,
            live_scripts: vec![0; n_clusters],
            clusters,
            witness,
            master,
            vms,
            farm,
            synced,
            exec: Executor::default(),
            tasks: IdTable::default(),
            pending: IdTable::default(),
            script_calls: IdTable::default(),
            leases: LeaseTable::default(),
            lease_names: Vec::new(),
            lease_ids: BTreeMap::new(),
            vm_index: (scenario.vms.iter().enumerate())
                .map(|(i, v)| (v.name.clone(), i))
                .collect(),
            rest_names: (scenario.clusters.iter())
                .map(|c| {
                    let info = EcxCluster::new(&c.name, &group_name(&c.name), vec![]).group_info();
                    RestNames {
                        group: info.name,
                        resources: info.resources,
                        no_server: NO_SERVER.into(),
                        fip: fip_name(&c.name),
                    }
                })
                .collect(),
            cluster_by_name: scenario
                .clusters
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect(),
            servers,
            server_names,
            server_ids,
            host_places,
            vms_of_cluster,
            dirty_clusters: Vec::new(),
            cluster_dirty: vec![false; n_clusters],
            dirty_vms: Vec::new(),
            vm_dirty: vec![false; n_vms],
            cluster_changes: 0,
            call_buffer: Vec::new(),
            contexts: ScriptContexts::default(),
            view_cache: vec![Cell::new(None); n_vms],
            resynchronised: vec![false; n_vms],
            rng_calls: vm_streams(scenario, seed, replication, "calls"),
            rng_flaky: vm_streams(scenario, seed, replication, "flaky-remove"),
            rng_vms: scenario
                .vms
                .iter()
                .map(|v| component_stream(seed, replication, &format!("vm/{}", v.name)))
                .collect(),
            domains,
            critical_pause: vec![Timer::default(); n_servers],
            cycle_watched: vec![false; n_vms],
            cycle_timer: vec![Timer::default(); n_vms],
            vm_tasks: vec![0; n_vms],
            transfers: vec![0; n_vms],
            operators: scenario
                .vms
                .iter()
                .map(|v| {
                    let name = format!("operations/{}", v.name);
                    OperatorRt::new(component_stream(seed, replication, &name))
                })
                .collect(),
            faults,
            rest_down_until: vec![0; n_clusters],
            events: 0,
            trace: None,
            script_records: None,
            history: None,
            chosen: false,
        };
        for d in 0..world.domains.len() {
            world.schedule_domain_failure(d);
        }
        if let Some(m) = world.master.as_mut() {
            m.spawn();
            world.poll_master();
        }
        world
    }

    /// Records a timeline from now on.
    pub fn record_trace(&mut self) {
        self.trace = Some(Vec::new());
    }

    pub(super) fn note(&mut self, kind: TraceKind, server: &str, text: impl FnOnce() -> String) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(TraceEntry {
                at: self.cal.now(),
                kind,
                server: server.to_string(),
                text: text(),
            });
        }
    }

    /// Runs to the horizon and returns the timeline (`record_trace` first).
    pub fn run_traced(mut self) -> Vec<TraceEntry> {
        self.run_to_horizon();
        self.trace.unwrap_or_default()
    }

    pub fn run_to_horizon(&mut self) {
        let horizon = self.scenario.simulation.horizon;
        while self.step_until(horizon) {}
    }

    /// Handles the next event if it is due by `until`; false if none is.
    pub(super) fn step_until(&mut self, until: Micros) -> bool {
        match self.cal.pop_until(until) {
            Some((_, event)) => {
                self.events += 1;
                self.handle(event);
                self.after_event();
                true
            }
            None => false,
        }
    }

    /// Brings everything in line after a change made from outside the event loop.
    pub(super) fn settle(&mut self) {
        self.after_event();
    }

    pub fn run(mut self, index: u64) -> ReplicationResult {
        self.run_to_horizon();
        self.finish(index).0
    }

    /// Ends the replication where it stands: its results, and what it recorded.
    pub fn finish(self, index: u64) -> (ReplicationResult, Records) {
        let records = Records {
            trace: self.trace.unwrap_or_default(),
            scripts: self.script_records.unwrap_or_default(),
            history: self.history.unwrap_or_default(),
        };
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
        let result = ReplicationResult {
            index,
            services,
            events: self.events,
        };
        (result, records)
    }

    /// Acts on one cluster with its view of the calendar, and marks it for syncing.
    pub(super) fn with_cluster(
        &mut self,
        c: usize,
        act: impl FnOnce(&mut ClusterSim<'s>, &mut Scoped<'_, Event>),
    ) {
        let mut scope = Scoped {
            calendar: &mut self.cal,
            cluster: c as u16,
        };
        act(&mut self.clusters[c], &mut scope);
        self.touch_cluster(c);
    }

    pub(super) fn touch_cluster(&mut self, cluster: usize) {
        self.cluster_changes += 1;
        if !self.cluster_dirty[cluster] {
            self.cluster_dirty[cluster] = true;
            self.dirty_clusters.push(cluster);
        }
    }

    pub(super) fn touch_vm(&mut self, vm: usize) {
        if !self.vm_dirty[vm] {
            self.vm_dirty[vm] = true;
            self.dirty_vms.push(vm);
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Cluster { cluster, event } => {
                self.with_cluster(cluster as usize, |sim, scope| sim.handle(event, scope))
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
            Event::OpDone { task } => self.script_op_done(task),
            Event::ScriptTimeout { task } => self.script_timed_out(task),
            Event::MasterCallDone { call } => self.master_op_done(call),
            Event::Wake { generation } => {
                let Some(m) = self.master.as_mut() else {
                    return;
                };
                if !m.wake.is_current(generation) {
                    return;
                }
                if let (Some(idle), Some(task)) = (m.idle.take(), m.task) {
                    m.pending.remove(idle.call);
                    let woke = idle.ordinal(self.cal.now());
                    m.exec.deliver(task, idle.call, Ok(OpOutput::Ticks(woke)));
                    self.poll_master();
                }
            }
            Event::DnsReady { vm } => self.touch_vm(vm as usize),
            Event::RestBack { cluster } => self.touch_cluster(cluster as usize),
            Event::ReplicationTransferred { vm, host } => self.replication_transferred(vm, host),
            Event::LeaseExpiry { lease, generation } => self.lease_expired(lease, generation),
            Event::LeaseWaitOver { task } => self.lease_wait_over(task),
            Event::DomainFails { domain } => self.domain_fails(domain as usize),
            Event::OperatorArrives { vm, generation } => {
                self.operator_arrives(vm as usize, generation)
            }
            Event::CycleDue { vm, generation } => self.cycle_due(vm as usize, generation),
            Event::CriticalPauseOver { host, generation } => {
                if self.critical_pause[host as usize].is_current(generation) {
                    let (c, _) = self.servers[&*self.server_names[host as usize]];
                    self.farm
                        .power_off_without_disk(&self.server_names[host as usize]);
                    self.touch_cluster(c);
                }
            }
            Event::DomainMemberDown {
                domain,
                member,
                generation,
            } => {
                let d = domain as usize;
                if self.domains[d].outage.is_current(generation) {
                    let (c, server) = self.scenario.fault_domains[d].members[member as usize];
                    let fault = ClusterFault::ServerOutage { server };
                    self.with_cluster(c, |sim, scope| sim.inject(fault, scope));
                }
            }
            Event::DomainRestored { domain, generation } => {
                let d = domain as usize;
                if self.domains[d].outage.is_current(generation) {
                    self.domain_restored(d);
                }
            }
            Event::Inject(i) => self.inject(self.faults[i as usize].1),
        }
    }

    pub(super) fn inject(&mut self, fault: ScriptedFault) {
        if self.trace.is_some() {
            let label = self.describe(fault);
            self.note(TraceKind::Inject, "", || format!("inject {label}"));
        }
        let refused = match fault {
            ScriptedFault::Cluster { cluster, fault } => {
                self.with_cluster(cluster, |sim, scope| sim.inject(fault, scope));
                None
            }
            ScriptedFault::Group { cluster, command } => {
                let mut result = Ok(());
                self.with_cluster(cluster, |sim, scope| result = sim.command(command, scope));
                result.err()
            }
            ScriptedFault::Witness { up } => {
                if let Some(w) = self.witness.as_mut() {
                    w.set_up(up);
                }
                self.witness_changed(up);
                None
            }
            ScriptedFault::RestUnreachable { cluster, duration } => {
                let back = self.cal.now().saturating_add(duration);
                self.rest_down_until[cluster] = back;
                // The master's polls find the change, both ways.
                self.touch_cluster(cluster);
                self.cal.schedule_at(
                    back,
                    Event::RestBack {
                        cluster: cluster as u16,
                    },
                );
                None
            }
            ScriptedFault::ScriptRestart { cluster } => {
                if matches!(self.clusters[cluster].group(), Group::Online(_)) {
                    for i in 0..self.vms_of_cluster[cluster].len() {
                        let vm = self.vms_of_cluster[cluster][i] as usize;
                        self.launch_restart(cluster, vm, None);
                    }
                    None
                } else {
                    Some("the script resource cannot be restarted now".to_string())
                }
            }
        };
        if let Some(reason) = refused {
            self.note(TraceKind::Inject, "", || format!("refused: {reason}"));
        }
    }

    /// A scripted fault as a scenario file writes it (`server_crash c1s1`): the `Fault` it
    /// was made from, whose `Display` says it.
    fn describe(&self, fault: ScriptedFault) -> String {
        let clusters = &self.scenario.clusters;
        let cluster = |c: usize| clusters[c].name.clone();
        let server = |c: usize, s: usize| clusters[c].servers[s].clone();
        let named = |c: usize, s: Option<usize>| s.map(|s| server(c, s));
        let fault = match fault {
            ScriptedFault::Cluster { cluster: c, fault } => match fault {
                ClusterFault::ServerCrash { server: s } => Fault::ServerCrash {
                    server: server(c, s),
                },
                ClusterFault::ServerPowerOn { server: s } => Fault::PowerOn {
                    server: server(c, s),
                },
                ClusterFault::ServerCutOff { server: s } => Fault::NetworkCut {
                    server: server(c, s),
                },
                ClusterFault::ServerReconnected { server: s } => Fault::Reconnect {
                    server: server(c, s),
                },
                // A fault domain's, never injected: no scenario file writes them.
                ClusterFault::ServerOutage { server: s } => {
                    return format!("outage {}", server(c, s))
                }
                ClusterFault::ServerRestored { server: s } => {
                    return format!("restored {}", server(c, s))
                }
                ClusterFault::InterconnectDown => Fault::InterconnectDown {
                    cluster: cluster(c),
                },
                ClusterFault::InterconnectUp => Fault::InterconnectUp {
                    cluster: cluster(c),
                },
                ClusterFault::DiskFailure => Fault::DiskFailure {
                    cluster: cluster(c),
                },
                ClusterFault::DiskRepair => Fault::DiskRepair {
                    cluster: cluster(c),
                },
            },
            ScriptedFault::Group {
                cluster: c,
                command,
            } => match command {
                GroupCommand::Stop => Fault::GroupStop {
                    cluster: cluster(c),
                },
                GroupCommand::Start { server: s } => Fault::GroupStart {
                    cluster: cluster(c),
                    target: named(c, s),
                },
                GroupCommand::Move { server: s } => Fault::GroupMove {
                    cluster: cluster(c),
                    target: named(c, s),
                },
            },
            ScriptedFault::Witness { up: true } => Fault::WitnessUp,
            ScriptedFault::Witness { up: false } => Fault::WitnessDown,
            ScriptedFault::RestUnreachable {
                cluster: c,
                duration,
            } => Fault::RestUnreachable {
                cluster: cluster(c),
                duration,
            },
            ScriptedFault::ScriptRestart { cluster: c } => Fault::ScriptRestart {
                cluster: cluster(c),
            },
        };
        fault.to_string()
    }

    fn schedule_domain_failure(&mut self, d: usize) {
        let spec = &self.scenario.fault_domains[d];
        let ttf = spec.ttf.sample(&mut self.domains[d].ttf);
        let domain = d as u16;
        self.cal.schedule_in(ttf, Event::DomainFails { domain });
    }

    /// Every member goes down after its own spread; the domain returns after its repair.
    fn domain_fails(&mut self, d: usize) {
        let spec = &self.scenario.fault_domains[d];
        let rt = &mut self.domains[d];
        let generation = rt.outage.arm();
        let domain = d as u16;
        for member in 0..spec.members.len() {
            let delay = spec.spread.sample(&mut rt.ttr);
            let member = member as u16;
            self.cal.schedule_in(
                delay,
                Event::DomainMemberDown {
                    domain,
                    member,
                    generation,
                },
            );
        }
        let ttr = spec.ttr.sample(&mut rt.ttr);
        self.cal
            .schedule_in(ttr, Event::DomainRestored { domain, generation });
        let name = &spec.name;
        self.note(TraceKind::Inject, name, || "fault domain fails".to_string());
    }

    fn domain_restored(&mut self, d: usize) {
        // Members whose crash was still to come are spared.
        self.domains[d].outage.cancel();
        let spec = &self.scenario.fault_domains[d];
        for &(c, server) in &spec.members {
            let fault = ClusterFault::ServerRestored { server };
            self.with_cluster(c, |sim, scope| sim.inject(fault, scope));
        }
        let name = &spec.name;
        self.note(TraceKind::Inject, name, || {
            "fault domain restored".to_string()
        });
        self.schedule_domain_failure(d);
    }

    fn witness_changed(&mut self, up: bool) {
        for c in 0..self.clusters.len() {
            self.with_cluster(c, |sim, scope| sim.set_witness(up, scope));
        }
    }

    /// Brings the Hyper-V mock, the scripts, the master and the VMs in line with the clusters
    /// the event touched. Syncing a cluster may finish its scripts and touch it again.
    fn after_event(&mut self) {
        let mut worker_changed = false;
        while let Some(c) = self.dirty_clusters.pop() {
            self.cluster_dirty[c] = false;
            self.sync_cluster(c);
            worker_changed = worker_changed || self.master_view_stale(Some(c));
        }
        if worker_changed {
            let now = self.cal.now();
            self.wake_idle_master(now);
        }
        while let Some(v) = self.dirty_vms.pop() {
            self.vm_dirty[v] = false;
            self.refresh_vm(v);
        }
    }

    /// Applies one cluster's changes to the Hyper-V mock and launches its scripts.
    fn sync_cluster(&mut self, c: usize) {
        let now = self.cal.now();
        for s in 0..self.synced[c].powered.len() {
            let host = &self.server_names[self.server_ids[c][s] as usize];
            let powered = self.clusters[c].server_powered(s);
            if powered != self.synced[c].powered[s] {
                self.synced[c].powered[s] = powered;
                if powered {
                    self.farm.power_on(host);
                } else {
                    self.farm
                        .crash(host, self.scenario.backend.assumptions.crash_state);
                    let host = self.server_ids[c][s];
                    self.kill_scripts(|t| t.host == host);
                }
            }
            let reachable = self.clusters[c].server_reachable(s) || !powered;
            if reachable != self.synced[c].reachable[s] {
                self.synced[c].reachable[s] = reachable;
                let host = &self.server_names[self.server_ids[c][s] as usize];
                self.farm.set_connected(host, reachable);
            }
        }
        let cluster = &self.clusters[c];
        let holder = cluster.resource_server().filter(|_| cluster.disk_up());
        let old = self.synced[c].holder;
        if holder != old {
            self.synced[c].holder = holder;
            self.cluster_changes += 1;
            if let Some(a) = old {
                // The group left the server: ECX ends the resources' scripts there, and a VM
                // running there pauses (Paused-Critical) until its storage returns or the
                // critical-error timeout turns it off.
                let id = self.server_ids[c][a];
                self.farm.detach_disk(&self.server_names[id as usize]);
                self.kill_scripts(|t| t.cluster == c);
                let generation = self.critical_pause[id as usize].arm();
                self.cal.schedule_in(
                    CRITICAL_PAUSE_TIMEOUT,
                    Event::CriticalPauseOver {
                        host: id,
                        generation,
                    },
                );
            }
            if let Some(b) = holder {
                let id = self.server_ids[c][b];
                self.critical_pause[id as usize].cancel();
                self.farm.attach_disk(&self.server_names[id as usize]);
            }
        }
        let (activations, stop_runs, event) = self.clusters[c].script_runs();
        if activations != self.synced[c].activations {
            self.synced[c].activations = activations;
            if let Some(server) = holder {
                self.launch_activation(c, server, event);
            }
        }
        if stop_runs != self.synced[c].stop_runs {
            self.synced[c].stop_runs = stop_runs;
            if let Some(server) = holder {
                let factor = self.clusters[c].stop_factor();
                self.launch_stop(c, server, factor);
            }
        }
        for i in 0..self.vms_of_cluster[c].len() {
            let v = self.vms_of_cluster[c][i] as usize;
            self.touch_vm(v);
        }
        let resolutions = self.clusters[c].np_resolutions();
        if resolutions > self.synced[c].np_seen {
            self.synced[c].np_seen = resolutions;
            for i in 0..self.vms_of_cluster[c].len() {
                let v = self.vms_of_cluster[c][i] as usize;
                if self.vms[v].placed() == c {
                    self.vms[v].tracker.np_shutdown(now);
                }
            }
        }
        let up = self.clusters[c].is_up();
        if up == self.synced[c].up {
            return;
        }
        self.synced[c].up = up;
        let group = self.clusters[c].group();
        let name = &self.scenario.clusters[c].name;
        self.note(TraceKind::Cluster, name, || {
            let state = match group {
                Group::Online(_) | Group::SplitBrain => "online",
                Group::Detecting => "down: detecting the failure",
                Group::Starting(_) | Group::Scripts(_) => "down: starting",
                Group::Waiting => "down: no server up",
                Group::SyncWait => "down: server sync wait",
                Group::DiskWait => "down: shared disk failed",
                Group::Stopping(_) => "down: stopping",
                Group::Offline => "offline (stopped)",
            };
            format!("group {} {state}", group_name(name))
        });
        let master_cluster = self.master.as_ref().map(|m| m.spec.cluster);
        if master_cluster == Some(c) {
            self.master_group_changed(up);
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
            for v in 0..self.vms.len() {
                if self.vms[v].failing_over {
                    self.vms[v].failing_over = false;
                    self.touch_vm(v);
                }
            }
        }
    }

    /// Whether a poll by the idle master would now find something its last poll of that
    /// worker did not: of worker `changed`, or of any worker if `changed` is the master's
    /// own cluster or `None`.
    fn master_view_stale(&self, changed: Option<usize>) -> bool {
        let Some(m) = self.master.as_ref() else {
            return false;
        };
        if m.idle.is_none_or(|idle| idle.wake_armed) {
            return false;
        }
        let stale = |c: usize| m.observed[c] != self.master_view(c);
        match changed {
            Some(c) if c != m.spec.cluster => m.is_worker[c] && stale(c),
            _ => m.worker_clusters.iter().any(|&c| stale(c)),
        }
    }

    pub(super) fn wake_idle_master(&mut self, now: Micros) {
        let Some(m) = self.master.as_mut() else {
            return;
        };
        let Some(idle) = m.idle.as_mut() else {
            return;
        };
        if !idle.wake_armed {
            idle.wake_armed = true;
            let at = idle.tick_from(now);
            let generation = m.wake.arm();
            self.cal.schedule_at(at, Event::Wake { generation });
        }
    }

    /// The host of a cluster's server holding the group's disk.
    pub(super) fn holder_host(&self, c: usize) -> Option<&str> {
        self.holder_name(c).map(|name| &**name)
    }

    /// The name of the server of cluster `c` holding the group's disk.
    fn holder_name(&self, c: usize) -> Option<&Name> {
        let s = self.synced[c].holder?;
        Some(&self.server_names[self.server_ids[c][s] as usize])
    }

    pub(super) fn synced_holder(&self, c: usize) -> Option<usize> {
        self.synced[c].holder
    }

    fn refresh_vm(&mut self, v: usize) {
        let now = self.cal.now();
        let mut view = self.vm_view(v);
        view.resynchronised = std::mem::take(&mut self.resynchronised[v]);
        let before = (
            self.vms[v].tracker.cause(),
            self.vms[v].sync.is_healthy(),
            self.vms[v].is_twice(),
        );
        self.vms[v].refresh(now, view);
        let after = (
            self.vms[v].tracker.cause(),
            self.vms[v].sync.is_healthy(),
            view.twice,
        );
        if before != after {
            if let Some(history) = self.history.as_mut() {
                let h = &mut history[v];
                if before.0.is_none() != after.0.is_none() {
                    h.availability_changes.push((now, after.0.is_none()));
                }
                let healthy = |state: (_, bool, bool)| state.1 && !state.2;
                if healthy(before) != healthy(after) {
                    h.health_changes.push((now, healthy(after)));
                }
            }
            let scenario = self.scenario;
            let name = &scenario.vms[v].name;
            let copy = view
                .serving
                .map_or("none", |c| &scenario.clusters[self.vms[v].clusters[c]].name);
            self.note(TraceKind::Replication, name, || {
                let state = after
                    .0
                    .map_or("up".to_string(), |c| format!("down ({})", c.name()));
                let protection = if after.1 { "protected" } else { "unprotected" };
                let twice = if after.2 { ", RUNNING TWICE" } else { "" };
                format!("{state}, {protection}, serving from {copy}{twice}")
            });
        }
        self.watch_cycles(v, &view);
        self.check_operations(v, &view);
    }

    /// With sticky failed cycles (`[backend] failed_cycle`): while a VM runs from a
    /// replicating Primary relationship whose cycles cannot be delivered (the replica server
    /// down, cut off or without its disk, or the pair no longer consistent), its next cycle
    /// is watched; it fails if they still cannot be delivered then.
    fn watch_cycles(&mut self, v: usize, view: &VmView) {
        if self.scenario.backend.assumptions.failed_cycle != FailedCycle::Sticky {
            return;
        }
        if view.healthy && self.cycles_deliverable(v, view) {
            if std::mem::take(&mut self.cycle_watched[v]) {
                self.cycle_timer[v].cancel();
            }
            return;
        }
        if self.cycle_watched[v] {
            return;
        }
        let Some((_, rel)) = self.replicating_primary(v, view) else {
            return;
        };
        // The cycle grid of the healthy period that is ending; one interval on without one.
        let now = self.cal.now();
        let every = u64::from(rel.frequency_s) * crate::time::MICROS_PER_SECOND;
        let at = self.vms[v].sync.next_cycle(now).unwrap_or(now + every);
        let generation = self.cycle_timer[v].arm();
        self.cycle_watched[v] = true;
        let vm = v as u16;
        self.cal.schedule_at(at, Event::CycleDue { vm, generation });
    }

    /// The serving primary's replica server answers and holds its disk.
    fn cycles_deliverable(&self, v: usize, view: &VmView) -> bool {
        let Some((primary, rel)) = self.replicating_primary(v, view) else {
            return true;
        };
        let replica = self.farm.hosts.get(&rel.replica);
        self.farm.reach(primary, &rel.replica).is_ok() && replica.is_some_and(|h| h.disk)
    }

    /// The host a VM serves from and its relationship there, if that is a replicating
    /// Primary.
    fn replicating_primary(&self, v: usize, view: &VmView) -> Option<(&str, &Relationship)> {
        let host = &*self.server_names[view.serving_host? as usize];
        let rel = self.farm.relationship(host, &self.scenario.vms[v].name)?;
        let replicating =
            rel.mode == ReplicationMode::Primary && rel.state == ReplicationState::Replicating;
        replicating.then_some((host, rel))
    }

    fn cycle_due(&mut self, v: usize, generation: u32) {
        if !self.cycle_timer[v].is_current(generation) {
            return;
        }
        self.cycle_watched[v] = false;
        let view = self.vm_view(v);
        if view.healthy && self.cycles_deliverable(v, &view) {
            return;
        }
        if let Some((host, _)) = self.replicating_primary(v, &view) {
            let host = host.to_string();
            let vm = self.scenario.vms[v].name.clone();
            if self.farm.fail_cycle(&host, &vm) {
                self.note(TraceKind::Replication, &host, || {
                    format!("a replication cycle of {vm} failed: Error until resumed")
                });
            }
        }
        self.touch_vm(v);
    }

    /// What the Hyper-V mock and the two clusters say of a VM now: the cached view while
    /// nothing it is read from changed.
    pub(super) fn vm_view(&self, v: usize) -> VmView {
        let inputs = ViewInputs {
            farm: self.farm.changes(),
            clusters: self.cluster_changes,
            dns_target: self.vms[v].dns_target,
        };
        if let Some((cached, view)) = self.view_cache[v].get() {
            if cached == inputs {
                debug_assert_eq!(view, self.read_vm_view(v), "a stale view of a VM");
                return view;
            }
        }
        let view = self.read_vm_view(v);
        self.view_cache[v].set(Some((inputs, view)));
        view
    }

    fn read_vm_view(&self, v: usize) -> VmView {
        let name = &self.scenario.vms[v].name;
        let vm = &self.vms[v];
        let mut serving: Option<usize> = None;
        let mut serving_host: Option<u16> = None;
        let mut twice = false;
        // The hosts it runs on, as far as classifying needs them (is there one, more than
        // one, which is first), and the first one's copy.
        let mut running: [&str; 2] = [""; 2];
        let mut runs = 0;
        let mut first: Option<&crate::backend::sim::VmOnHost> = None;
        // Each copy's cluster's active server, with the VM's relationship there: found in
        // the same pass, so that classifying looks nothing up again.
        let mut active: [Option<(&str, Option<&Relationship>)>; 2] = [None; 2];
        for (copy, &c) in vm.clusters.iter().enumerate() {
            let holder = self.synced[c].holder;
            for (s, &id) in self.server_ids[c].iter().enumerate() {
                let host = &*self.server_names[id as usize];
                let h = self.farm.hosts.at(self.host_places[id as usize]);
                let is_holder = holder == Some(s);
                // A host that cannot serve is read only for the active server's relationship.
                let on = if h.can_serve() || is_holder {
                    h.vms.get(name)
                } else {
                    None
                };
                if is_holder {
                    active[copy] = Some((host, on.and_then(|on| on.replication.as_ref())));
                }
                let Some(on) = on.filter(|on| h.serves_copy(on)) else {
                    continue;
                };
                if runs < running.len() {
                    running[runs] = host;
                }
                runs += 1;
                first = first.or(Some(on));
                twice |= serving.is_some_and(|s| s != copy);
                // Running twice, clients reach the copy DNS sends them to.
                let preferred = vm.clusters[copy] == vm.dns_target;
                if serving.is_none() || preferred {
                    serving = Some(copy);
                    serving_host = Some(id);
                }
            }
        }
        // The relationship's own frequency: a re-pointing without -ReplicationFrequencySec
        // falls back to Hyper-V's 300 s.
        let interval = first.and_then(|on| on.replication.as_ref()).map_or(0, |r| {
            u64::from(r.frequency_s) * crate::time::MICROS_PER_SECOND
        });
        let running = &running[..runs.min(running.len())];
        let healthy = serving.is_some_and(|copy| {
            crate::world::classify_running(running, active[copy], active[1 - copy])
                == crate::world::EndState::Healthy
        });
        VmView {
            serving,
            serving_host,
            twice,
            healthy,
            cluster_up: vm.clusters.map(|c| self.clusters[c].is_up()),
            cluster_cause: vm.clusters.map(|c| self.clusters[c].down_cause()),
            split_brain: vm.clusters.map(|c| self.clusters[c].is_split_brain()),
            resynchronised: false,
            interval,
        }
    }

    // ----- the master's task -----

    /// Runs the master task until it waits on a call, and times the call.
    pub(super) fn poll_master(&mut self) {
        let now = self.cal.now();
        let Some(m) = self.master.as_mut() else {
            return;
        };
        let Some(task) = m.task else {
            return;
        };
        m.exec.set_now(self.cal.now());
        m.exec.poll(task);
        m.exec.take_logs();
        let mut calls = std::mem::take(&mut self.call_buffer);
        m.exec.take_submitted(&mut calls);
        for call in calls.drain(..) {
            let op = call.op;
            self.mark_failover_start(&op);
            let caller = self.master_host();
            let m = self.master.as_mut().expect("checked above");
            match op {
                Op::Idle {
                    sleep,
                    period,
                    ticks,
                } => {
                    let idle = Idle::new(call.id, now, sleep, period, ticks);
                    m.idle = Some(idle);
                    if self.master_view_stale(None) {
                        self.wake_idle_master(now);
                    } else if let Some(last) = idle.last {
                        // Unless the world changes first, the master wakes on its last tick.
                        let m = self.master.as_mut().expect("checked above");
                        let generation = m.wake.arm();
                        self.cal.schedule_at(last, Event::Wake { generation });
                    }
                }
                _ => {
                    let vm = op.vm().and_then(|name| self.vm_index.get(name).copied());
                    let unanswered = self.unanswered(&caller, &op);
                    let m = self.master.as_mut().expect("checked above");
                    let stream = match vm {
                        Some(v) => &mut self.rng_calls[v],
                        None => &mut m.call_stream,
                    };
                    let delay = m.calls.sample_or_fail(&op, &caller, unanswered, stream);
                    self.cal
                        .schedule_in(delay, Event::MasterCallDone { call: call.id });
                }
            }
            let m = self.master.as_mut().expect("checked above");
            m.pending.insert(call.id, op);
        }
        self.call_buffer = calls;
    }

    /// The server the master controller runs on (its cluster's active server).
    pub(super) fn master_host(&self) -> Name {
        let server = self
            .master
            .as_ref()
            .and_then(|m| self.holder_name(m.spec.cluster));
        server.cloned().unwrap_or_else(|| Name::from(""))
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
        if let Some(&v) = self.vm_index.get(vm) {
            if self.vms[v].placed() != cluster {
                self.vms[v].failing_over = true;
                self.touch_vm(v);
            }
        }
    }

    fn master_op_done(&mut self, call: CallId) {
        let Some(m) = self.master.as_mut() else {
            return;
        };
        let Some(task) = m.task else {
            return;
        };
        // A call of a master that died with its group finds nothing.
        let Some(op) = m.pending.remove(call) else {
            return;
        };
        let caller = self.master_host();
        let Some(result) = self.apply(task, true, &caller, &op) else {
            return;
        };
        self.note(TraceKind::Call, &caller, || {
            format!(
                "master: {} -> {}",
                op.render(),
                crate::backend::sim::op::render_result(&result)
            )
        });
        if result.is_err() {
            if let Op::Hv {
                cmd: HvCmd::StartFailover { vm, .. } | HvCmd::StartVm { vm },
                ..
            } = &op
            {
                if let Some(&v) = self.vm_index.get(vm) {
                    self.vms[v].failing_over = false;
                    self.touch_vm(v);
                }
            }
        }
        let m = self.master.as_mut().expect("checked above");
        m.exec.deliver(task, call, result);
        self.poll_master();
    }
}

fn vm_streams(scenario: &Scenario, seed: u64, replication: u64, what: &str) -> Vec<Stream> {
    let name = |vm: &str| format!("vm/{vm}/{what}");
    (scenario.vms.iter())
        .map(|v| component_stream(seed, replication, &name(&v.name)))
        .collect()
}

/// The Hyper-V hosts at time 0: every server of every cluster, each group's disk on its first
/// server, every VM running on its home cluster's first server and replicating to the replica
/// cluster's first server.
fn initial_farm(scenario: &Scenario) -> HyperVFarm {
    use crate::backend::sim::hyperv::{initial_pair, vmcx_path};
    use crate::control::Side;
    let mut farm = HyperVFarm::default();
    for spec in &scenario.clusters {
        for s in &spec.servers {
            farm.add_host(s, &spec.name);
        }
        if let Some(h) = farm.hosts.get_mut(&spec.servers[0]) {
            h.disk = true;
        }
    }
    for vm in &scenario.vms {
        let (home, replica) = (
            &scenario.clusters[vm.cluster],
            &scenario.clusters[vm.replica_cluster],
        );
        for (cluster, side) in [(home, Side::Primary), (replica, Side::Replica)] {
            farm.paths.insert(
                vmcx_path(&cluster.name, &vm.name, side),
                (cluster.name.clone(), vm.name.clone()),
            );
        }
        let every = super::scripts::frequency_s(vm.replication_interval);
        initial_pair(
            &mut farm,
            &vm.name,
            &home.servers[0],
            &replica.servers[0],
            every,
        );
    }
    farm
}
