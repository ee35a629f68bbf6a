//! The world's state and event loop.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use crate::backend::sim::hyperv::{initial_pair, vmcx_path, HvEffect};
use crate::backend::sim::lease::Grant;
use crate::backend::sim::op::render_result;
use crate::backend::sim::{
    CallId, EcxCluster, Executor, HyperVFarm, LeaseTable, Op, OpOutput, OpResult, SimBackend,
    TaskId,
};
use crate::backend::{BackendError, GroupStatus, PowerState, ReplicationMode, ReplicationState};
use crate::control::{
    start_script, stop_script, ClpEvent, ClpFactor, ScriptContext, ScriptOutcome, Side,
};
use crate::engine::{component_stream, Calendar, Stream, Timer};
use crate::time::Micros;

use super::classify::{classify, EndState};
use super::expect::{Check, ExpectResult, When};
use super::metrics::{ScriptRecord, VmMetrics};
use super::scenario::{ControlScenario, Fault};
use super::trace::{TraceEntry, TraceKind};

/// How pending backend calls complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpMode {
    /// After a duration drawn from `CallDurations`.
    Timed,
    /// When a driver picks them (`complete_chosen`): the exhaustive explorer.
    Chosen,
}

#[derive(Debug, Clone)]
enum Event {
    Inject(usize),
    Expect(usize),
    OpDone(TaskId),
    Detect { cluster: usize, gen: u32 },
    ResourcesOnline { cluster: usize, gen: u32 },
    ResourcesOffline { cluster: usize, gen: u32 },
    ShutdownIsolated { server: String },
    InitialReplicationDone { vm: usize, primary: String },
    ReplicationTick { vm: usize },
    LeaseExpiry { name: String, generation: u64 },
    LeaseWaitOver { task: TaskId },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Phase {
    Idle,
    Starting,
    Stopping,
    /// The active server died; the cluster is waiting out the heartbeat timeout.
    Failing,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AfterStop {
    Nothing,
    MoveTo(String),
}

struct ClusterRt {
    ecx: EcxCluster,
    timer: Timer,
    phase: Phase,
    after_stop: AfterStop,
    scripts: BTreeSet<TaskId>,
    disk_failed: bool,
    /// No server was up when the group had to start: the first to boot starts it.
    waiting: bool,
    /// The CLP_EVENT of the start in progress.
    start_event: ClpEvent,
}

struct TaskMeta {
    server: String,
    cluster: usize,
    vm: usize,
    side: Side,
    event: ClpEvent,
    factor: Option<ClpFactor>,
    started: Micros,
}

/// Running accounting of one VM.
struct VmTrack {
    metrics: VmMetrics,
    last_sync: Micros,
    available: bool,
    healthy: bool,
}

/// One replication of a control scenario.
pub struct World<'s> {
    sc: &'s ControlScenario,
    cal: Calendar<Event>,
    exec: Executor<ScriptOutcome>,
    farm: HyperVFarm,
    clusters: Vec<ClusterRt>,
    leases: LeaseTable,
    pending: BTreeMap<TaskId, Op>,
    /// The id of each script's one call in flight.
    calls: BTreeMap<TaskId, CallId>,
    tasks: BTreeMap<TaskId, TaskMeta>,
    mode: OpMode,
    rng_calls: Stream,
    rng_flaky: Stream,
    rng_clusters: Vec<Stream>,
    rng_vms: Vec<Stream>,
    vms: Vec<VmTrack>,
    last_observed: Micros,
    trace: Vec<TraceEntry>,
    scripts: Vec<ScriptRecord>,
    expect_results: Vec<ExpectResult>,
    /// Grants and lease timeouts to hand to waiting tasks after the current step.
    wakeups: Vec<(TaskId, OpResult)>,
    /// Initial replications started and not yet finished, per (VM, primary): part of the
    /// state the exhaustive explorer compares, since they decide the future.
    ir_outstanding: BTreeMap<(usize, String), u32>,
}

impl<'s> World<'s> {
    /// The healthy initial state: every group online on its first server, every VM running on
    /// its primary cluster's first server and replicating to the replica cluster's first.
    pub fn new(sc: &'s ControlScenario, replication: u64, mode: OpMode) -> World<'s> {
        let mut farm = HyperVFarm::default();
        let mut clusters = vec![];
        for spec in &sc.clusters {
            for s in &spec.servers {
                farm.add_host(s, &spec.name);
            }
            let mut ecx = EcxCluster::new(&spec.name, &spec.group, spec.servers.clone());
            let first = spec.servers[0].clone();
            ecx.status = GroupStatus::Online;
            ecx.current = Some(first.clone());
            ecx.fip_online = true;
            ecx.sd_online = true;
            ecx.script_online = true;
            farm.hosts.get_mut(&first).expect("added").disk = true;
            clusters.push(ClusterRt {
                ecx,
                timer: Timer::default(),
                phase: Phase::Idle,
                after_stop: AfterStop::Nothing,
                scripts: BTreeSet::new(),
                disk_failed: false,
                waiting: false,
                start_event: ClpEvent::Start,
            });
        }
        let first_of = |name: &str| {
            sc.clusters
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.servers[0].clone())
                .unwrap_or_default()
        };
        let mut vms = vec![];
        for vm in &sc.vms {
            let (p, r) = (first_of(&vm.cluster), first_of(&vm.replica_cluster));
            for (cluster, side) in [
                (&vm.cluster, Side::Primary),
                (&vm.replica_cluster, Side::Replica),
            ] {
                farm.paths.insert(
                    vmcx_path(cluster, &vm.name, side),
                    (cluster.clone(), vm.name.clone()),
                );
            }
            initial_pair(&mut farm, &vm.name, &p, &r);
            vms.push(VmTrack {
                metrics: VmMetrics {
                    vm: vm.name.clone(),
                    availability_changes: vec![(0, true)],
                    health_changes: vec![(0, true)],
                    ..VmMetrics::default()
                },
                last_sync: 0,
                available: true,
                healthy: true,
            });
        }
        let mut cal = Calendar::new();
        for (i, inject) in sc.injects.iter().enumerate() {
            cal.schedule_at(inject.at, Event::Inject(i));
        }
        for (i, e) in sc.expects.iter().enumerate() {
            if let When::At(at) = e.when {
                cal.schedule_at(at, Event::Expect(i));
            }
        }
        for (i, vm) in sc.vms.iter().enumerate() {
            cal.schedule_at(vm.replication_interval, Event::ReplicationTick { vm: i });
        }
        World {
            sc,
            cal,
            exec: Executor::with_history(),
            farm,
            clusters,
            leases: LeaseTable::default(),
            pending: BTreeMap::new(),
            calls: BTreeMap::new(),
            tasks: BTreeMap::new(),
            mode,
            rng_calls: component_stream(sc.seed, replication, "backend-calls"),
            rng_flaky: component_stream(sc.seed, replication, "hyperv-flaky-remove"),
            rng_clusters: sc
                .clusters
                .iter()
                .map(|c| component_stream(sc.seed, replication, &format!("cluster/{}", c.name)))
                .collect(),
            rng_vms: sc
                .vms
                .iter()
                .map(|v| component_stream(sc.seed, replication, &format!("vm/{}", v.name)))
                .collect(),
            vms,
            last_observed: 0,
            trace: vec![],
            scripts: vec![],
            expect_results: vec![],
            wakeups: vec![],
            ir_outstanding: BTreeMap::new(),
        }
    }

    pub fn now(&self) -> Micros {
        self.cal.now()
    }

    pub fn farm(&self) -> &HyperVFarm {
        &self.farm
    }

    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    pub fn scripts(&self) -> &[ScriptRecord] {
        &self.scripts
    }

    pub fn set_mode(&mut self, mode: OpMode) {
        self.mode = mode;
    }

    fn note(&mut self, kind: TraceKind, server: &str, text: String) {
        if kind == TraceKind::Call && !self.sc.trace_calls {
            return;
        }
        self.trace.push(TraceEntry {
            at: self.cal.now(),
            kind,
            server: server.to_string(),
            text,
        });
    }

    fn cluster_index(&self, name: &str) -> Option<usize> {
        self.clusters.iter().position(|c| c.ecx.name == name)
    }

    fn cluster_of_server(&self, server: &str) -> Option<usize> {
        self.clusters
            .iter()
            .position(|c| c.ecx.servers.iter().any(|s| s == server))
    }

    /// The server where `cluster`'s group is active with its disk, if any.
    pub fn active_server(&self, cluster: &str) -> Option<String> {
        let c = &self.clusters[self.cluster_index(cluster)?];
        let s = c.ecx.current.as_ref()?;
        (c.ecx.sd_online && self.farm.hosts.get(s).is_some_and(|h| h.up && h.disk))
            .then(|| s.clone())
    }

    pub fn classify_vm(&self, vm: usize) -> EndState {
        let spec = &self.sc.vms[vm];
        classify(
            &self.farm,
            &spec.name,
            self.active_server(&spec.cluster).as_deref(),
            self.active_server(&spec.replica_cluster).as_deref(),
        )
    }

    fn vm_available(&self, vm: usize) -> bool {
        let name = &self.sc.vms[vm].name;
        self.farm
            .running_hosts(name)
            .iter()
            .any(|h| self.farm.hosts[h].disk)
    }

    // ----- the run loop -----

    /// Processes every event up to `until` (Timed mode).
    pub fn run_until(&mut self, until: Micros) {
        while let Some((at, event)) = self.cal.pop_until(until) {
            self.observe_to(at);
            self.handle(event);
            self.after_step();
        }
        self.observe_to(until.max(self.cal.now()));
        self.cal.advance_to(until.max(self.cal.now()));
    }

    /// Chosen mode: processes the calendar's events that are due now, then, if no call is
    /// pending, the next one. Returns false when the calendar is empty or past `until`.
    pub fn step_calendar(&mut self, until: Micros) -> bool {
        let now = self.cal.now();
        let limit = if self.enabled_tasks().is_empty() {
            until
        } else {
            now
        };
        match self.cal.pop_until(limit) {
            Some((at, event)) => {
                self.observe_to(at);
                self.handle(event);
                self.after_step();
                true
            }
            None => false,
        }
    }

    /// Tasks with a call ready to complete (not parked on a lease).
    pub fn enabled_tasks(&self) -> Vec<TaskId> {
        self.pending.keys().copied().collect()
    }

    /// Chosen mode: completes `task`'s pending call now.
    pub fn complete_chosen(&mut self, task: TaskId) {
        self.complete(task);
        self.after_step();
    }

    /// A hash of everything that decides the rest of a Chosen-mode run: Hyper-V, clusters,
    /// leases, and each live script's state (the results it has received).
    pub fn state_key(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.farm.hash(&mut h);
        self.leases.hash(&mut h);
        for c in &self.clusters {
            c.ecx.hash(&mut h);
            c.phase.hash(&mut h);
            c.scripts.hash(&mut h);
        }
        self.exec.histories().hash(&mut h);
        self.pending.hash(&mut h);
        self.ir_outstanding.hash(&mut h);
        h.finish()
    }

    fn after_step(&mut self) {
        for i in 0..self.vms.len() {
            let available = self.vm_available(i);
            let healthy = self.classify_vm(i) == EndState::Healthy;
            let now = self.cal.now();
            let track = &mut self.vms[i];
            if available != track.available {
                if !available {
                    track.metrics.outages += 1;
                }
                track.metrics.availability_changes.push((now, available));
                track.available = available;
            }
            if healthy != track.healthy {
                track.metrics.health_changes.push((now, healthy));
                track.healthy = healthy;
            }
        }
    }

    fn observe_to(&mut self, at: Micros) {
        let dt = at.saturating_sub(self.last_observed);
        if dt == 0 {
            return;
        }
        for track in &mut self.vms {
            track.metrics.observed += dt;
            if track.available {
                track.metrics.up += dt;
                let risk = at.saturating_sub(track.last_sync);
                track.metrics.max_data_at_risk = track.metrics.max_data_at_risk.max(risk);
            }
            if !track.healthy {
                track.metrics.unprotected += dt;
            }
        }
        self.last_observed = at;
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Inject(i) => self.inject(i),
            Event::Expect(i) => self.check_expect(i),
            Event::OpDone(task) => self.complete(task),
            Event::Detect { cluster, gen } => {
                if self.clusters[cluster].timer.is_current(gen) {
                    self.detect_failure(cluster);
                }
            }
            Event::ResourcesOnline { cluster, gen } => {
                if self.clusters[cluster].timer.is_current(gen) {
                    self.resources_online(cluster);
                }
            }
            Event::ResourcesOffline { cluster, gen } => {
                if self.clusters[cluster].timer.is_current(gen) {
                    self.resources_offline(cluster);
                }
            }
            Event::ShutdownIsolated { server } => {
                let up = self.farm.hosts.get(&server).is_some_and(|h| h.up);
                if up {
                    self.note(
                        TraceKind::Cluster,
                        &server,
                        "NP resolution: emergency shutdown".into(),
                    );
                    self.crash(&server, true);
                }
            }
            Event::InitialReplicationDone { vm, primary } => {
                if let Some(n) = self.ir_outstanding.get_mut(&(vm, primary.clone())) {
                    *n -= 1;
                    if *n == 0 {
                        self.ir_outstanding.remove(&(vm, primary.clone()));
                    }
                }
                let name = self.sc.vms[vm].name.clone();
                if self.farm.finish_initial_replication(&primary, &name) {
                    self.vms[vm].last_sync = self.cal.now();
                    self.note(
                        TraceKind::Replication,
                        &primary,
                        format!("initial replication of {name} done"),
                    );
                } else {
                    self.note(
                        TraceKind::Replication,
                        &primary,
                        format!("initial replication of {name} failed"),
                    );
                }
            }
            Event::ReplicationTick { vm } => {
                let name = self.sc.vms[vm].name.clone();
                let primary = self.active_server(&self.sc.vms[vm].cluster);
                let delivered = self.farm.replication_cycle(&name);
                if primary.is_some_and(|p| delivered.contains(&p)) {
                    self.vms[vm].last_sync = self.cal.now();
                }
                self.cal.schedule_in(
                    self.sc.vms[vm].replication_interval,
                    Event::ReplicationTick { vm },
                );
            }
            Event::LeaseExpiry { name, generation } => {
                let now = self.cal.now();
                if let Some(grant) = self.leases.expire(&name, generation, now) {
                    self.grant(grant);
                }
                self.flush_wakeups();
            }
            Event::LeaseWaitOver { task } => {
                if self.leases.cancel_wait(task) {
                    self.wakeups.push((task, Ok(OpOutput::Granted(false))));
                }
                self.flush_wakeups();
            }
        }
    }

    // ----- scripts and their calls -----

    fn launch(
        &mut self,
        cluster: usize,
        server: &str,
        vm: usize,
        event: ClpEvent,
        factor: Option<ClpFactor>,
    ) {
        let spec = &self.sc.vms[vm];
        let own_cluster = self.clusters[cluster].ecx.name.clone();
        let (side, opposite) = if spec.cluster == own_cluster {
            (Side::Primary, spec.replica_cluster.clone())
        } else {
            (Side::Replica, spec.cluster.clone())
        };
        let Some(opp) = self.cluster_index(&opposite) else {
            return;
        };
        let other_side = match side {
            Side::Primary => Side::Replica,
            Side::Replica => Side::Primary,
        };
        let ctx = ScriptContext {
            own_server: server.to_string(),
            own_cluster: own_cluster.clone(),
            vm: spec.name.clone(),
            opposite_cluster: opposite.clone(),
            opposite_group: self.clusters[opp].ecx.group.clone(),
            vmcx_path: vmcx_path(&own_cluster, &spec.name, side),
            opposite_vmcx_path: vmcx_path(&opposite, &spec.name, other_side),
        };
        let id = self.exec.next_id();
        let backend = SimBackend::new(id, self.exec.mailbox());
        let variant = self.sc.control.clone();
        let future = Box::pin(async move {
            match factor {
                None => start_script(&variant, side, event, &ctx, &backend).await,
                Some(f) => stop_script(&variant, side, event, f, &ctx, &backend).await,
            }
        });
        self.exec.insert(id, future);
        self.tasks.insert(
            id,
            TaskMeta {
                server: server.to_string(),
                cluster,
                vm,
                side,
                event,
                factor,
                started: self.cal.now(),
            },
        );
        self.clusters[cluster].scripts.insert(id);
        let what = match factor {
            None => format!("start script for {} (CLP_EVENT={event})", spec.name),
            Some(f) => format!(
                "stop script for {} (CLP_EVENT={event}, CLP_FACTOR={f})",
                spec.name
            ),
        };
        self.note(TraceKind::Script, server, what);
        self.poll(id);
    }

    fn poll(&mut self, task: TaskId) {
        if let Some(outcome) = self.exec.poll(task) {
            self.script_done(task, outcome);
        }
        self.collect_logs();
        for call in self.exec.take_submitted() {
            let (id, op) = (call.task, call.op);
            self.calls.insert(id, call.id);
            if self.mode == OpMode::Timed {
                let caller = self
                    .tasks
                    .get(&id)
                    .map(|m| m.server.clone())
                    .unwrap_or_default();
                let d = self
                    .sc
                    .call_durations
                    .sample(&op, &caller, &mut self.rng_calls);
                self.cal.schedule_in(d, Event::OpDone(id));
            }
            self.pending.insert(id, op);
        }
    }

    fn collect_logs(&mut self) {
        for (task, level, message) in self.exec.take_logs() {
            let server = self
                .tasks
                .get(&task)
                .map(|m| m.server.clone())
                .unwrap_or_default();
            self.note(TraceKind::Log, &server, format!("[{level:?}] {message}"));
        }
    }

    fn complete(&mut self, task: TaskId) {
        let Some(op) = self.pending.remove(&task) else {
            return;
        };
        if !self.exec.is_live(task) {
            return;
        }
        let caller = self.tasks[&task].server.clone();
        let result = self.apply(task, &caller, &op);
        if let Some(result) = result {
            self.note(
                TraceKind::Call,
                &caller,
                format!("{} -> {}", op.render(), render_result(&result)),
            );
            self.deliver(task, result);
            self.poll(task);
        } else {
            self.note(
                TraceKind::Call,
                &caller,
                format!("{} -> waiting", op.render()),
            );
        }
        self.flush_wakeups();
    }

    /// Hands the result of its one call in flight to a script.
    fn deliver(&mut self, task: TaskId, result: OpResult) {
        if let Some(call) = self.calls.remove(&task) {
            self.exec.deliver(task, call, result);
        }
    }

    fn flush_wakeups(&mut self) {
        while !self.wakeups.is_empty() {
            for (task, result) in std::mem::take(&mut self.wakeups) {
                if self.exec.is_live(task) {
                    let server = self.tasks[&task].server.clone();
                    self.note(
                        TraceKind::Call,
                        &server,
                        format!("lease wait -> {}", render_result(&result)),
                    );
                    self.deliver(task, result);
                    self.poll(task);
                }
            }
        }
    }

    fn grant(&mut self, grant: Grant) {
        self.cal.schedule_at(
            grant.expires,
            Event::LeaseExpiry {
                name: grant.name.clone(),
                generation: grant.generation,
            },
        );
        self.wakeups.push((grant.task, Ok(OpOutput::Granted(true))));
    }

    /// Applies a completed call to the world; `None` if the task is now waiting (lease).
    fn apply(&mut self, task: TaskId, caller: &str, op: &Op) -> Option<OpResult> {
        let now = self.cal.now();
        Some(match op {
            // This world has no DNS, and times an idle sleep as an ordinary one.
            Op::Sleep(_) | Op::Idle(_) | Op::DnsUpdate { .. } => Ok(OpOutput::Unit),
            Op::RestGroup { cluster, .. }
            | Op::RestCluster { cluster }
            | Op::RestServers { cluster }
            | Op::RestResources { cluster } => self.rest_get(caller, cluster, op),
            Op::RestStartGroup {
                cluster, target, ..
            } => self.rest_post(caller, cluster, |w, c| {
                w.group_start(c, target.as_deref(), ClpEvent::Start)
            }),
            Op::RestStopGroup { cluster, .. } => self.rest_post(caller, cluster, |w, c| {
                w.group_stop(c, ClpFactor::GroupStop, AfterStop::Nothing)
            }),
            Op::RestMoveGroup {
                cluster, target, ..
            } => self.rest_post(caller, cluster, |w, c| w.group_move(c, target.as_deref())),
            Op::Hv { host, cmd } => {
                let vm = self.sc.vms.iter().position(|v| {
                    matches!(cmd, crate::backend::sim::HvCmd::StartInitialReplication { vm } if *vm == v.name)
                });
                let checkpoint = match vm {
                    Some(i) => self.sc.vms[i].checkpoint.sample(&mut self.rng_vms[i]),
                    None => 0,
                };
                let (result, effect) = self.farm.apply(
                    caller,
                    host,
                    cmd,
                    now,
                    self.sc.flaky_remove_probability,
                    checkpoint,
                    &mut self.rng_flaky,
                );
                if let Some(HvEffect::InitialReplicationStarted { vm, primary }) = effect {
                    if let Some(i) = self.sc.vms.iter().position(|v| v.name == vm) {
                        let d = self.sc.vms[i]
                            .initial_replication
                            .sample(&mut self.rng_vms[i]);
                        *self.ir_outstanding.entry((i, primary.clone())).or_default() += 1;
                        self.cal
                            .schedule_in(d, Event::InitialReplicationDone { vm: i, primary });
                    }
                }
                result
            }
            Op::LeaseAcquire {
                name,
                holder,
                ttl,
                wait,
            } => match self.leases.acquire(name, holder, task, *ttl, now) {
                Some(grant) => {
                    self.cal.schedule_at(
                        grant.expires,
                        Event::LeaseExpiry {
                            name: grant.name,
                            generation: grant.generation,
                        },
                    );
                    Ok(OpOutput::Granted(true))
                }
                None => {
                    self.cal.schedule_in(*wait, Event::LeaseWaitOver { task });
                    return None;
                }
            },
            Op::RoleGet { vm } => Ok(OpOutput::Role(self.leases.role(vm))),
            Op::RoleClaim { vm, cluster, epoch } => Ok(OpOutput::Granted(
                self.leases.claim_role(vm, cluster, *epoch),
            )),
            Op::LeaseRelease { name, holder } => {
                if let Some(grant) = self.leases.release(name, holder, now) {
                    self.grant(grant);
                }
                Ok(OpOutput::Unit)
            }
        })
    }

    fn server_reachable(&self, server: &str) -> bool {
        self.farm
            .hosts
            .get(server)
            .is_some_and(|h| h.up && h.connected)
    }

    fn rest_get(&self, caller: &str, cluster: &str, op: &Op) -> OpResult {
        let unreachable = || BackendError::Unreachable {
            target: format!("fip-{cluster}"),
        };
        if !self.server_reachable(caller) {
            return Err(unreachable());
        }
        let c = self.cluster_index(cluster).ok_or_else(unreachable)?;
        let ecx = &self.clusters[c].ecx;
        ecx.answers(self.cal.now(), |s| self.server_reachable(s))?;
        Ok(match op {
            Op::RestCluster { .. } => OpOutput::Cluster(ecx.cluster_info()),
            Op::RestServers { .. } => {
                OpOutput::Servers(ecx.server_infos(|s| self.server_reachable(s)))
            }
            Op::RestResources { .. } => OpOutput::Resources(ecx.resource_infos()),
            _ => OpOutput::Group(ecx.group_info()),
        })
    }

    fn rest_post(
        &mut self,
        caller: &str,
        cluster: &str,
        action: impl FnOnce(&mut Self, usize) -> Result<(), BackendError>,
    ) -> OpResult {
        let op = Op::RestCluster {
            cluster: cluster.to_string(),
        };
        self.rest_get(caller, cluster, &op)?;
        let c = self.cluster_index(cluster).ok_or(BackendError::NoTarget)?;
        action(self, c).map(|_| OpOutput::Unit)
    }

    fn script_done(&mut self, task: TaskId, outcome: ScriptOutcome) {
        let Some(meta) = self.tasks.remove(&task) else {
            return;
        };
        self.pending.remove(&task);
        let cluster = meta.cluster;
        self.note(
            TraceKind::Script,
            &meta.server,
            format!(
                "{:?} exited with {} (batch exit {})",
                outcome.script, outcome.bitmask, outcome.batch_exit
            ),
        );
        self.scripts.push(ScriptRecord {
            cluster: self.clusters[cluster].ecx.name.clone(),
            server: meta.server,
            vm: self.sc.vms[meta.vm].name.clone(),
            side: meta.side,
            event: meta.event,
            factor: meta.factor,
            script: outcome.script,
            bitmask: outcome.bitmask,
            batch_exit: outcome.batch_exit,
            started: meta.started,
            finished: self.cal.now(),
        });
        let c = &mut self.clusters[cluster];
        c.scripts.remove(&task);
        if c.scripts.is_empty() {
            match c.phase {
                Phase::Starting => self.finish_start(cluster),
                Phase::Stopping => self.schedule_offline(cluster),
                Phase::Idle | Phase::Failing => {}
            }
        }
    }

    fn kill_tasks_on(&mut self, server: &str) {
        let doomed: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, m)| m.server == server)
            .map(|(id, _)| *id)
            .collect();
        for id in doomed {
            self.exec.kill(id);
            self.pending.remove(&id);
            self.leases.cancel_wait(id);
            if let Some(meta) = self.tasks.remove(&id) {
                self.clusters[meta.cluster].scripts.remove(&id);
                self.note(
                    TraceKind::Script,
                    server,
                    "script killed with its server".into(),
                );
            }
        }
    }

    // ----- the ECX cluster -----

    fn pick_server(&self, cluster: usize, exclude: Option<&str>) -> Option<String> {
        self.clusters[cluster]
            .ecx
            .servers
            .iter()
            .find(|s| Some(s.as_str()) != exclude && self.server_reachable(s))
            .cloned()
    }

    fn begin_start(&mut self, cluster: usize, server: String, event: ClpEvent) {
        let c = &mut self.clusters[cluster];
        c.ecx.status = GroupStatus::OnlinePending;
        c.ecx.current = Some(server.clone());
        c.phase = Phase::Starting;
        c.start_event = event;
        c.waiting = false;
        let gen = c.timer.arm();
        let d = self.sc.clusters[cluster]
            .group_start
            .sample(&mut self.rng_clusters[cluster]);
        self.cal
            .schedule_in(d, Event::ResourcesOnline { cluster, gen });
        self.note(
            TraceKind::Cluster,
            &server,
            format!(
                "group {} Online Pending ({event:?})",
                self.clusters[cluster].ecx.group
            ),
        );
    }

    fn resources_online(&mut self, cluster: usize) {
        let Some(server) = self.clusters[cluster].ecx.current.clone() else {
            return;
        };
        let c = &mut self.clusters[cluster];
        c.ecx.fip_online = true;
        if c.disk_failed {
            c.ecx.status = GroupStatus::OnlineFailure;
            c.phase = Phase::Idle;
            self.note(
                TraceKind::Cluster,
                &server,
                "sd activation failed: Online Failure".into(),
            );
            return;
        }
        c.ecx.sd_online = true;
        let event = c.start_event;
        self.farm.attach_disk(&server);
        self.note(TraceKind::Cluster, &server, "fip and sd online".into());
        let name = self.clusters[cluster].ecx.name.clone();
        let vms: Vec<usize> = (0..self.sc.vms.len())
            .filter(|&i| self.sc.vms[i].cluster == name || self.sc.vms[i].replica_cluster == name)
            .collect();
        for vm in &vms {
            self.launch(cluster, &server, *vm, event, None);
        }
        if vms.is_empty() {
            self.finish_start(cluster);
        }
    }

    fn finish_start(&mut self, cluster: usize) {
        let c = &mut self.clusters[cluster];
        c.ecx.status = GroupStatus::Online;
        c.ecx.script_online = true;
        c.phase = Phase::Idle;
        let server = c.ecx.current_name();
        self.note(
            TraceKind::Cluster,
            &server,
            format!("group {} Online", self.clusters[cluster].ecx.group),
        );
    }

    fn group_start(
        &mut self,
        cluster: usize,
        target: Option<&str>,
        event: ClpEvent,
    ) -> Result<(), BackendError> {
        let c = &self.clusters[cluster];
        if c.phase != Phase::Idle || c.ecx.current.is_some() {
            return Err(BackendError::Rest {
                code: 1,
                message: format!("group {} is already started", c.ecx.group),
            });
        }
        let server = match target {
            Some(t) if c.ecx.servers.iter().any(|s| s == t) && self.server_reachable(t) => {
                Some(t.to_string())
            }
            Some(t) => {
                return Err(BackendError::Rest {
                    code: 2,
                    message: format!("server {t} cannot start the group"),
                })
            }
            None => self.pick_server(cluster, None),
        };
        match server {
            Some(s) => self.begin_start(cluster, s, event),
            None => self.clusters[cluster].waiting = true,
        }
        Ok(())
    }

    fn group_stop(
        &mut self,
        cluster: usize,
        factor: ClpFactor,
        after: AfterStop,
    ) -> Result<(), BackendError> {
        let c = &mut self.clusters[cluster];
        if c.phase != Phase::Idle || c.ecx.current.is_none() {
            return Err(BackendError::Rest {
                code: 3,
                message: format!("group {} is not online", c.ecx.group),
            });
        }
        c.ecx.status = GroupStatus::OfflinePending;
        c.ecx.script_online = false;
        c.phase = Phase::Stopping;
        c.after_stop = after;
        let server = c.ecx.current_name();
        let name = c.ecx.name.clone();
        self.note(
            TraceKind::Cluster,
            &server,
            format!(
                "group {} Offline Pending ({factor:?})",
                self.clusters[cluster].ecx.group
            ),
        );
        let vms: Vec<usize> = (0..self.sc.vms.len())
            .filter(|&i| self.sc.vms[i].cluster == name || self.sc.vms[i].replica_cluster == name)
            .collect();
        for vm in &vms {
            self.launch(cluster, &server, *vm, ClpEvent::Start, Some(factor));
        }
        if self.clusters[cluster].scripts.is_empty()
            && self.clusters[cluster].phase == Phase::Stopping
        {
            self.schedule_offline(cluster);
        }
        Ok(())
    }

    fn group_move(&mut self, cluster: usize, target: Option<&str>) -> Result<(), BackendError> {
        let current = self.clusters[cluster].ecx.current.clone();
        let target = match target {
            Some(t) => Some(t.to_string())
                .filter(|t| self.server_reachable(t) && Some(t) != current.as_ref()),
            None => self.pick_server(cluster, current.as_deref()),
        };
        let Some(target) = target else {
            return Err(BackendError::Rest {
                code: 4,
                message: "no server to move the group to".into(),
            });
        };
        self.group_stop(cluster, ClpFactor::GroupMove, AfterStop::MoveTo(target))
    }

    fn schedule_offline(&mut self, cluster: usize) {
        let gen = self.clusters[cluster].timer.arm();
        let d = self.sc.clusters[cluster]
            .group_stop
            .sample(&mut self.rng_clusters[cluster]);
        self.cal
            .schedule_in(d, Event::ResourcesOffline { cluster, gen });
    }

    fn resources_offline(&mut self, cluster: usize) {
        let c = &mut self.clusters[cluster];
        let server = c.ecx.current.take();
        c.ecx.fip_online = false;
        c.ecx.sd_online = false;
        c.ecx.status = GroupStatus::Offline;
        c.phase = Phase::Idle;
        let after = std::mem::replace(&mut c.after_stop, AfterStop::Nothing);
        if let Some(s) = &server {
            self.farm.detach_disk(s);
            self.note(
                TraceKind::Cluster,
                s,
                format!("group {} Offline", self.clusters[cluster].ecx.group),
            );
        }
        if let AfterStop::MoveTo(target) = after {
            if self.server_reachable(&target) {
                self.begin_start(cluster, target, ClpEvent::Start);
            } else if let Some(s) = self.pick_server(cluster, None) {
                self.begin_start(cluster, s, ClpEvent::Start);
            }
        }
    }

    /// A server dies. `detected`: its cluster already knows (NP resolution ran).
    fn crash(&mut self, server: &str, detected: bool) {
        self.farm.crash(server);
        self.kill_tasks_on(server);
        let Some(cluster) = self.cluster_of_server(server) else {
            return;
        };
        let c = &mut self.clusters[cluster];
        if c.ecx.current.as_deref() == Some(server) {
            c.ecx.fip_online = false;
            c.ecx.sd_online = false;
            c.ecx.script_online = false;
            c.phase = Phase::Failing;
            c.scripts.clear();
            let gen = c.timer.arm();
            let d = if detected {
                0
            } else {
                self.sc.clusters[cluster]
                    .heartbeat_timeout
                    .sample(&mut self.rng_clusters[cluster])
            };
            self.cal.schedule_in(d, Event::Detect { cluster, gen });
        }
    }

    fn detect_failure(&mut self, cluster: usize) {
        let c = &mut self.clusters[cluster];
        let dead = c.ecx.current.take().unwrap_or_default();
        c.ecx.status = GroupStatus::Offline;
        c.phase = Phase::Idle;
        self.note(
            TraceKind::Cluster,
            &dead,
            "heartbeat timeout: failing over".into(),
        );
        match self.pick_server(cluster, None) {
            Some(s) => self.begin_start(cluster, s, ClpEvent::Failover),
            None => self.clusters[cluster].waiting = true,
        }
    }

    fn inject(&mut self, i: usize) {
        let fault = self.sc.injects[i].fault.clone();
        let label = format!("inject {fault}");
        self.note(TraceKind::Inject, "", label);
        let result = match fault {
            // The parser refuses these in control-world scenarios; say so if one arrives anyway.
            Fault::Reconnect { .. }
            | Fault::InterconnectDown { .. }
            | Fault::InterconnectUp { .. }
            | Fault::WitnessDown
            | Fault::WitnessUp => {
                let text = "partitions and the witness are not modelled in the control world";
                self.note(TraceKind::Log, "", text.to_string());
                Ok(())
            }
            Fault::ServerCrash { server } => {
                self.crash(&server, false);
                Ok(())
            }
            Fault::PowerOn { server } => {
                self.farm.power_on(&server);
                if let Some(c) = self.cluster_of_server(&server) {
                    if self.clusters[c].waiting {
                        self.clusters[c].waiting = false;
                        self.begin_start(c, server, ClpEvent::Start);
                    }
                }
                Ok(())
            }
            Fault::GroupMove { cluster, target } => match self.cluster_index(&cluster) {
                Some(c) => self.group_move(c, target.as_deref()),
                None => Err(BackendError::NoTarget),
            },
            Fault::GroupStop { cluster } => match self.cluster_index(&cluster) {
                Some(c) => self.group_stop(c, ClpFactor::GroupStop, AfterStop::Nothing),
                None => Err(BackendError::NoTarget),
            },
            Fault::GroupStart { cluster, target } => match self.cluster_index(&cluster) {
                Some(c) => self.group_start(c, target.as_deref(), ClpEvent::Start),
                None => Err(BackendError::NoTarget),
            },
            Fault::DiskFailure { cluster } => {
                self.disk_failure(&cluster);
                Ok(())
            }
            Fault::DiskRepair { cluster } => {
                if let Some(c) = self.cluster_index(&cluster) {
                    let rt = &mut self.clusters[c];
                    rt.disk_failed = false;
                    if rt.ecx.status == GroupStatus::OnlineFailure {
                        if let Some(s) = rt.ecx.current.clone() {
                            rt.ecx.sd_online = true;
                            rt.ecx.status = GroupStatus::Online;
                            self.farm.attach_disk(&s);
                        }
                    }
                }
                Ok(())
            }
            Fault::NetworkCut { server } => {
                self.farm.set_connected(&server, false);
                if let Some(c) = self.cluster_of_server(&server) {
                    let d = self.sc.clusters[c]
                        .heartbeat_timeout
                        .sample(&mut self.rng_clusters[c]);
                    self.cal.schedule_in(d, Event::ShutdownIsolated { server });
                }
                Ok(())
            }
            Fault::RestUnreachable { cluster, duration } => {
                if let Some(c) = self.cluster_index(&cluster) {
                    self.clusters[c].ecx.rest_down_until = self.cal.now() + duration;
                }
                Ok(())
            }
            Fault::ScriptRestart { cluster } => match self.cluster_index(&cluster) {
                Some(c)
                    if self.clusters[c].phase == Phase::Idle && self.clusters[c].ecx.sd_online =>
                {
                    let server = self.clusters[c].ecx.current_name();
                    self.clusters[c].phase = Phase::Starting;
                    self.clusters[c].ecx.script_online = false;
                    let name = self.clusters[c].ecx.name.clone();
                    let vms: Vec<usize> = (0..self.sc.vms.len())
                        .filter(|&i| {
                            self.sc.vms[i].cluster == name || self.sc.vms[i].replica_cluster == name
                        })
                        .collect();
                    for vm in vms {
                        self.launch(c, &server, vm, ClpEvent::Start, None);
                    }
                    if self.clusters[c].scripts.is_empty()
                        && self.clusters[c].phase == Phase::Starting
                    {
                        self.finish_start(c);
                    }
                    Ok(())
                }
                _ => Err(BackendError::Rest {
                    code: 5,
                    message: "the script resource cannot be restarted now".into(),
                }),
            },
        };
        if let Err(e) = result {
            self.note(TraceKind::Inject, "", format!("refused: {e}"));
        }
    }

    fn disk_failure(&mut self, cluster: &str) {
        let Some(c) = self.cluster_index(cluster) else {
            return;
        };
        let now = self.cal.now();
        for (i, vm) in self.sc.vms.iter().enumerate() {
            if vm.cluster == cluster && self.vms[i].available {
                let lost = now.saturating_sub(self.vms[i].last_sync);
                self.vms[i].metrics.data_lost += lost;
            }
        }
        let rt = &mut self.clusters[c];
        rt.disk_failed = true;
        if rt.ecx.sd_online {
            rt.ecx.sd_online = false;
            rt.ecx.status = GroupStatus::OnlineFailure;
            if let Some(s) = rt.ecx.current.clone() {
                self.farm.detach_disk(&s);
            }
        }
    }

    // ----- expectations -----

    fn check_expect(&mut self, i: usize) {
        let result = self.evaluate(i);
        self.expect_results.push(result);
    }

    /// Evaluates the `At` expectations not yet reached and every `End` one.
    pub fn finish(&mut self) {
        for i in 0..self.sc.expects.len() {
            if self.sc.expects[i].when == When::End {
                self.check_expect(i);
            }
        }
    }

    pub fn expect_results(&self) -> &[ExpectResult] {
        &self.expect_results
    }

    pub fn vm_metrics(&self) -> Vec<VmMetrics> {
        self.vms.iter().map(|v| v.metrics.clone()).collect()
    }

    fn evaluate(&self, i: usize) -> ExpectResult {
        let expect = &self.sc.expects[i];
        let vm_index = expect
            .vm
            .as_ref()
            .and_then(|name| self.sc.vms.iter().position(|v| &v.name == name))
            .unwrap_or(0);
        let vm = self
            .sc
            .vms
            .get(vm_index)
            .map(|v| v.name.clone())
            .unwrap_or_default();
        let metrics = self.vms.get(vm_index).map(|v| &v.metrics);
        let relationship = |server: &str| self.farm.relationship(server, &vm);
        let (passed, observed) = match &expect.check {
            Check::ReplicationHealthy(want) => {
                let state = self.classify_vm(vm_index);
                ((state == EndState::Healthy) == *want, state.name())
            }
            Check::EndState(want) => {
                let state = self.classify_vm(vm_index);
                (state == *want, state.name())
            }
            Check::ReplicationDirection { primary, replica } => {
                let p = relationship(primary);
                let r = relationship(replica);
                let ok = p.is_some_and(|p| {
                    p.mode == ReplicationMode::Primary
                        && &p.replica == replica
                        && p.state == ReplicationState::Replicating
                }) && r.is_some_and(|r| {
                    r.mode == ReplicationMode::Replica
                        && &r.primary == primary
                        && r.state == ReplicationState::Replicating
                });
                let show = |r: Option<&crate::backend::sim::Relationship>| {
                    r.map_or("no relationship".to_string(), |r| r.to_string())
                };
                (
                    ok,
                    format!("{primary}: {}; {replica}: {}", show(p), show(r)),
                )
            }
            Check::ReplicationOn {
                server,
                mode,
                state,
            } => {
                let rel = relationship(server);
                let ok = match rel {
                    None => mode.is_none() && state.is_none(),
                    Some(r) => {
                        mode.is_none_or(|m| m == r.mode)
                            && state.is_none_or(|s| s == r.state)
                            && (mode.is_some() || state.is_some())
                    }
                };
                let shown = rel.map_or("none".to_string(), |r| {
                    format!("{:?}/{:?}", r.mode, r.state)
                });
                (ok, shown)
            }
            Check::VmRunningOn { server } => {
                let running = self.farm.running_hosts(&vm);
                (
                    running == [server.clone()],
                    format!("running on {}", hosts(&running)),
                )
            }
            Check::VmPower { server, power } => {
                let p = self
                    .farm
                    .vm(server, &vm)
                    .map(|v| v.power)
                    .unwrap_or(PowerState::Off);
                (p == *power, format!("{p:?}"))
            }
            Check::VmRunningCount(n) => {
                let running = self.farm.running_hosts(&vm);
                (
                    running.len() == *n,
                    format!("running on {}", hosts(&running)),
                )
            }
            Check::GroupStatus {
                cluster,
                status,
                current,
            } => match self.cluster_index(cluster) {
                Some(c) => {
                    let ecx = &self.clusters[c].ecx;
                    let ok = ecx.status == *status
                        && current
                            .as_ref()
                            .is_none_or(|cur| *cur == ecx.current_name());
                    (ok, format!("{} on {}", ecx.status, ecx.current_name()))
                }
                None => (false, format!("no cluster {cluster}")),
            },
            Check::DataLostAtMost(limit) => {
                let lost = metrics.map(|m| m.data_lost).unwrap_or(0);
                (
                    lost <= *limit,
                    format!("{}s lost", crate::time::seconds(lost)),
                )
            }
            Check::ScriptsSucceeded => {
                let failed: Vec<String> = self
                    .scripts
                    .iter()
                    .filter(|s| s.bitmask != 0)
                    .map(|s| format!("{:?} on {} = {}", s.script, s.server, s.bitmask))
                    .collect();
                (failed.is_empty(), format!("failed: {}", hosts(&failed)))
            }
            Check::ScriptResult {
                server,
                script,
                bitmask,
            } => {
                let last = self
                    .scripts
                    .iter()
                    .rev()
                    .find(|s| &s.server == server && s.script == *script);
                (
                    last.is_some_and(|s| s.bitmask == *bitmask),
                    last.map_or("no run".to_string(), |s| s.bitmask.to_string()),
                )
            }
            Check::AvailabilityAtLeast(a) => {
                let got = metrics.map(|m| m.availability()).unwrap_or(0.0);
                (got >= *a, format!("availability {got:.6}"))
            }
            Check::UnprotectedAtMost(limit) => {
                let got = metrics.map(|m| m.unprotected).unwrap_or(0);
                (
                    got <= *limit,
                    format!("{}s unprotected", crate::time::seconds(got)),
                )
            }
            Check::OutagesAtMost(n) => {
                let got = metrics.map(|m| m.outages).unwrap_or(0);
                (got <= *n, format!("{got} outages"))
            }
            // The parser refuses these in control-world scenarios.
            Check::NpShutdowns(_)
            | Check::SplitBrain { .. }
            | Check::CauseDowntime { .. }
            | Check::ServiceUp(_) => (
                false,
                "not answered by the control world (a scenario with [[vm]] and no [master])"
                    .to_string(),
            ),
        };
        ExpectResult {
            expect: expect.clone(),
            checked_at: self.cal.now(),
            passed,
            observed,
        }
    }
}

/// A list of names for a check's observed value (`none` if empty).
fn hosts(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
