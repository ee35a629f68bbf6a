//! One standalone ECX failover cluster: servers, repair crews, one failover group, an optional
//! shared disk, the interconnect between the servers, and the service that the group carries.
//!
//! The rules are those of docs/scenario.md ("What the simulator does with a cluster"); the exact CTMC in
//! `analysis::standalone_ctmc` encodes the same rules independently, and the tests hold the two
//! together. Heartbeats are not simulated one by one: detection is a single delay.
//!
//! Network partitions, as ECX resolves them, are in `network.rs`. A cluster whose interconnect
//! never fails, with no witness and no scripted cut-off, never meets them: it schedules no
//! event and draws no number more than before they existed, so its results are bit-identical.

mod network;
mod streams;

use std::collections::VecDeque;

use crate::control::{ClpEvent, ClpFactor};
use crate::dist::Dist;
use crate::engine::{Calendar, Stream, Timer};
use crate::metrics::{Cause, OutageRecord, ServiceTracker, TrackerTotals};
use crate::scenario::Cluster;
use crate::time::Micros;

use network::Network;
use streams::Streams;

/// What the failover group is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Up, active on this server (index in priority order).
    Online(usize),
    /// The active server died; the heartbeat timeout is running.
    Detecting,
    /// Starting on this server.
    Starting(usize),
    /// No server is up to take the group.
    Waiting,
    /// A server came back alone and waits for its peers (server sync wait).
    SyncWait,
    /// The shared disk is down.
    DiskWait,
    /// Fip and sd are online on this server; its script resources are activating (the
    /// control logic runs). Only in clusters with script resources.
    Scripts(usize),
    /// Stopping on this server before a failback, a move or an administrator's stop (stop
    /// scripts first, if any).
    Stopping(usize),
    /// Stopped by an administrator: offline until started again.
    Offline,
    /// Dual activation: the servers cannot see each other and every side runs the group
    /// (`np_resolution = "none"`). Up while any server is.
    SplitBrain,
}

/// Where a server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Up and in the cluster: it can take the group.
    Member,
    /// Failed hardware, waiting for or under repair.
    Failed,
    /// Booting again after an emergency shutdown (network-partition resolution).
    Rebooting,
    /// Booted, but out of the cluster: it reaches neither a peer nor the witness.
    Isolated,
}

/// Events of a cluster; `cluster` indexes the world's clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterEvent {
    /// `life` is the server's failure generation: a scripted crash makes the pending natural
    /// failure stale.
    ServerFails {
        server: u16,
        life: u32,
    },
    ServerRepaired {
        server: u16,
    },
    DiskFails,
    DiskRepaired,
    /// End of the group's current step (detection, start, stop, sync wait).
    GroupStep {
        generation: u32,
    },
    InterconnectFails,
    InterconnectRepaired,
    /// A server is back from an emergency shutdown.
    ServerRebooted {
        server: u16,
        generation: u32,
    },
    /// The heartbeat timeout after the servers lost each other ran out: NP resolution acts.
    PartitionDetected {
        generation: u32,
    },
}

/// A scripted fault on one cluster (regression tests, `[[inject]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterFault {
    /// The server dies (power loss, or the forced stop of a hung server).
    ServerCrash {
        server: usize,
    },
    /// A failed server that no crew repairs boots again.
    ServerPowerOn {
        server: usize,
    },
    /// Every network cable of the server is pulled: it reaches neither its peers nor the
    /// witness (NP-Test "pull NIC1+NIC2").
    ServerCutOff {
        server: usize,
    },
    ServerReconnected {
        server: usize,
    },
    InterconnectDown,
    InterconnectUp,
    /// The server goes down with its fault domain: it is not repaired by a crew, it comes
    /// back with the domain (`ServerRestored`).
    ServerOutage {
        server: usize,
    },
    ServerRestored {
        server: usize,
    },
    /// The shared disk fails, and stays failed until `DiskRepair` (no scheduled repair).
    DiskFailure,
    DiskRepair,
}

/// An administrator's command to the failover group (`clpgrp`, the REST API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupCommand {
    /// Stop scripts with CLP_FACTOR=GROUPSTOP, then the resources go offline.
    Stop,
    /// Start on the server (the highest-priority member if none).
    Start { server: Option<usize> },
    /// Stop scripts with CLP_FACTOR=GROUPMOVE, then start on the server (the next member in
    /// priority order if none).
    Move { server: Option<usize> },
}

/// What follows the group's stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AfterStop {
    /// Start again on the highest-priority member (a failback).
    Restart,
    MoveTo(usize),
    Offline,
}

pub struct ClusterSim<'s> {
    spec: &'s Cluster,
    server_up: Vec<bool>,
    server_state: Vec<ServerState>,
    life: Vec<u32>,
    /// Failed servers waiting for a repair crew, in failure order.
    repair_queue: VecDeque<usize>,
    in_repair: usize,
    disk_up: bool,
    group: Group,
    step: Timer,
    tracker: ServiceTracker,
    streams: Streams,
    net: Network,
    /// The group carries script resources (the control logic of the VMs on this cluster): it
    /// is online only once the world reports them started (`scripts_finished`).
    scripted: bool,
    /// How many times the group's resources were activated (`Scripts`) and its stop scripts
    /// were started (`Stopping` with scripts), so far: the world launches the scripts of each.
    activations: u32,
    stop_runs: u32,
    /// `CLP_EVENT` of the activation in progress.
    start_event: ClpEvent,
    /// The stop scripts of a failback are running; the stop step waits for them.
    stop_scripts_pending: bool,
    /// Down with a fault domain: no crew repairs it.
    held: Vec<bool>,
    /// The stop in progress: what follows it, and the stop scripts' CLP_FACTOR.
    after_stop: AfterStop,
    stop_factor: ClpFactor,
    /// A detection armed by the event being handled ends then (see `fuse_failover`).
    detection_due: Option<Micros>,
    /// A draw of `group_start` taken ahead by `fuse_failover` and not used there: the next
    /// start takes it, so the stream's draws go to the same starts as without fusing.
    start_draw: Option<Micros>,
    /// The armed step is a detection and the start after it, as one event.
    fused: bool,
}

/// Schedules cluster events on a world calendar whose event type wraps `ClusterEvent`.
pub trait ClusterCalendar {
    fn schedule(&mut self, delay: Micros, event: ClusterEvent);
    fn now(&self) -> Micros;
}

/// A world's event type that can carry an event addressed to one of its clusters.
pub trait FromClusterEvent {
    fn from_cluster_event(cluster: u16, event: ClusterEvent) -> Self;
}

/// A world calendar seen from one of its clusters.
pub struct Scoped<'c, E> {
    pub calendar: &'c mut Calendar<E>,
    pub cluster: u16,
}

impl<E: FromClusterEvent + Copy> ClusterCalendar for Scoped<'_, E> {
    // Inline: every failure, repair and step schedules through here (four hundred times a
    // replication), and the calendar's part of it is a few instructions but for the sift.
    #[inline(always)]
    fn schedule(&mut self, delay: Micros, event: ClusterEvent) {
        let wrapped = E::from_cluster_event(self.cluster, event);
        self.calendar.schedule_in(delay, wrapped);
    }
    fn now(&self) -> Micros {
        self.calendar.now()
    }
}

/// Every cluster of a scenario, each scheduling on the shared world calendar, for one
/// replication.
pub fn build_clusters<'s, E: FromClusterEvent + Copy>(
    scenario: &'s crate::scenario::Scenario,
    seed: u64,
    replication: u64,
    keep_outages: bool,
    witness_up: bool,
    calendar: &mut Calendar<E>,
) -> Vec<ClusterSim<'s>> {
    let sim = &scenario.simulation;
    scenario
        .clusters
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut scope = Scoped {
                calendar: &mut *calendar,
                cluster: i as u16,
            };
            ClusterSim::new(
                spec,
                seed,
                replication,
                sim.warmup,
                sim.horizon,
                keep_outages,
                witness_up,
                &mut scope,
            )
        })
        .collect()
}

/// A calendar of bare cluster events (one cluster in its own world).
impl ClusterCalendar for Calendar<ClusterEvent> {
    fn schedule(&mut self, delay: Micros, event: ClusterEvent) {
        self.schedule_in(delay, event);
    }
    fn now(&self) -> Micros {
        Calendar::now(self)
    }
}

impl<'s> ClusterSim<'s> {
    /// A cluster with every server up and the group online on the first server at time 0.
    /// `witness_up`: whether the scenario's witness server is up at time 0 (false if none).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: &'s Cluster,
        seed: u64,
        replication: u64,
        warmup: Micros,
        horizon: Micros,
        keep_outages: bool,
        witness_up: bool,
        calendar: &mut impl ClusterCalendar,
    ) -> ClusterSim<'s> {
        let servers = spec.servers.len();
        let mut sim = ClusterSim {
            spec,
            server_up: vec![true; servers],
            server_state: vec![ServerState::Member; servers],
            life: vec![0; servers],
            repair_queue: VecDeque::new(),
            in_repair: 0,
            disk_up: true,
            group: Group::Online(0),
            step: Timer::default(),
            tracker: ServiceTracker::new(warmup, horizon, keep_outages),
            streams: Streams::new(spec, seed, replication),
            net: Network::new(servers, witness_up),
            scripted: false,
            activations: 0,
            stop_runs: 0,
            start_event: ClpEvent::Start,
            stop_scripts_pending: false,
            held: vec![false; servers],
            after_stop: AfterStop::Restart,
            stop_factor: ClpFactor::GroupMove,
            detection_due: None,
            start_draw: None,
            fused: false,
        };
        for server in 0..servers {
            sim.schedule_failure(server, calendar);
        }
        if let Some(disk) = &spec.shared_disk {
            let ttf = disk.ttf.sample(&mut sim.streams.disk_ttf);
            calendar.schedule(ttf, ClusterEvent::DiskFails);
        }
        if let Some(link) = &spec.interconnect {
            let ttf = link.ttf.sample(&mut sim.streams.network.interconnect_ttf);
            calendar.schedule(ttf, ClusterEvent::InterconnectFails);
        }
        sim
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn group(&self) -> Group {
        self.group
    }

    pub fn is_up(&self) -> bool {
        !self.tracker.is_down()
    }

    /// Why the group is down, while it is.
    pub fn down_cause(&self) -> Option<Cause> {
        self.tracker.cause()
    }

    /// The server the group runs on while it is up (in a split brain: the first member).
    pub fn active_server(&self) -> Option<usize> {
        match self.group {
            Group::Online(server) => Some(server),
            Group::SplitBrain => self.server_up.iter().position(|&up| up),
            _ => None,
        }
    }

    pub fn server_count(&self) -> usize {
        self.server_state.len()
    }

    pub fn server_state(&self, server: usize) -> ServerState {
        self.server_state[server]
    }

    /// The server is powered on and reaches the network (a cut-off or isolated server is
    /// up but unreachable).
    pub fn server_reachable(&self, server: usize) -> bool {
        self.server_state[server] == ServerState::Member && !self.net.cut_off[server]
    }

    /// The server powered on (a member, or isolated from the cluster).
    pub fn server_powered(&self, server: usize) -> bool {
        matches!(
            self.server_state[server],
            ServerState::Member | ServerState::Isolated
        )
    }

    /// The server where the group's fip and sd are online (activating its scripts, online,
    /// or stopping), if any; the disk is attached there while it is up.
    pub fn resource_server(&self) -> Option<usize> {
        match self.group {
            Group::Scripts(server) | Group::Stopping(server) => Some(server),
            _ => self.active_server(),
        }
    }

    pub fn disk_up(&self) -> bool {
        self.disk_up
    }

    /// Marks the group as carrying script resources (before the first event).
    pub fn set_scripted(&mut self) {
        self.scripted = true;
    }

    /// Activations and stop-script runs so far, and the `CLP_EVENT` of the last activation.
    pub fn script_runs(&self) -> (u32, u32, ClpEvent) {
        (self.activations, self.stop_runs, self.start_event)
    }

    /// The `CLP_FACTOR` of the last stop-script run.
    pub fn stop_factor(&self) -> ClpFactor {
        self.stop_factor
    }

    /// Everything that decides the cluster's future apart from its random streams and its
    /// accounting: the exhaustive race explorer merges runs whose states hash alike.
    pub fn state_hash(&self, h: &mut impl std::hash::Hasher) {
        use std::hash::Hash;
        self.group.hash(h);
        self.server_state.hash(h);
        self.server_up.hash(h);
        self.disk_up.hash(h);
        self.net.cut_off.hash(h);
        self.after_stop.hash(h);
        (self.activations, self.stop_runs, self.stop_scripts_pending).hash(h);
    }

    /// Carries out an administrator's command, or says why the group refuses it.
    pub fn command(
        &mut self,
        command: GroupCommand,
        calendar: &mut impl ClusterCalendar,
    ) -> Result<(), String> {
        let n = self.server_count();
        let member = |s: usize| s < n && self.server_up[s];
        match command {
            GroupCommand::Stop => {
                let Group::Online(active) = self.group else {
                    return Err("the group is not online".into());
                };
                self.tracker.down(calendar.now(), Cause::Maintenance);
                self.begin_stop(active, AfterStop::Offline, ClpFactor::GroupStop, calendar);
            }
            GroupCommand::Move { server } => {
                let Group::Online(active) = self.group else {
                    return Err("the group is not online".into());
                };
                let target = match server {
                    Some(t) => Some(t).filter(|&t| t != active && member(t)),
                    None => (0..n).find(|&s| s != active && member(s)),
                };
                let Some(target) = target else {
                    return Err("no server to move the group to".into());
                };
                self.tracker.down(calendar.now(), Cause::Maintenance);
                let after = AfterStop::MoveTo(target);
                self.begin_stop(active, after, ClpFactor::GroupMove, calendar);
            }
            GroupCommand::Start { server } => {
                if self.group != Group::Offline {
                    return Err("the group is already started".into());
                }
                match server {
                    Some(t) if member(t) => self.start_on(t, ClpEvent::Start, calendar),
                    Some(_) => return Err("that server cannot start the group".into()),
                    None => self.try_start(calendar),
                }
            }
        }
        Ok(())
    }

    /// The group goes offline on `active`: its stop scripts first, if it has any.
    fn begin_stop(
        &mut self,
        active: usize,
        after: AfterStop,
        factor: ClpFactor,
        calendar: &mut impl ClusterCalendar,
    ) {
        self.group = Group::Stopping(active);
        self.after_stop = after;
        self.stop_factor = factor;
        if self.scripted {
            self.stop_runs += 1;
            self.stop_scripts_pending = true;
        } else {
            self.arm_step(StepKind::Stop, calendar);
        }
    }

    fn start_on(&mut self, server: usize, event: ClpEvent, calendar: &mut impl ClusterCalendar) {
        if !self.disk_up {
            self.try_start(calendar);
            return;
        }
        self.start_event = event;
        self.group = Group::Starting(server);
        self.arm_step(StepKind::Start, calendar);
    }

    /// The script resources of the activation in progress have all ended: the group is
    /// online. ECX's default "normal return value" does not check the exit code.
    pub fn scripts_finished(&mut self, calendar: &mut impl ClusterCalendar) {
        if let Group::Scripts(server) = self.group {
            self.group = Group::Online(server);
            self.tracker.up(calendar.now());
        }
    }

    /// The stop scripts before a failback have ended: the resources go offline.
    pub fn stop_scripts_finished(&mut self, calendar: &mut impl ClusterCalendar) {
        if matches!(self.group, Group::Stopping(_)) && self.stop_scripts_pending {
            self.stop_scripts_pending = false;
            self.arm_step(StepKind::Stop, calendar);
        }
    }

    pub fn is_split_brain(&self) -> bool {
        self.group == Group::SplitBrain
    }

    /// Network-partition resolutions that shut servers down so far (whole replication).
    pub fn np_resolutions(&self) -> u64 {
        self.net.resolutions
    }

    pub fn handle(&mut self, event: ClusterEvent, calendar: &mut impl ClusterCalendar) {
        match event {
            ClusterEvent::ServerFails { server, life } => {
                if self.life[server as usize] == life {
                    self.server_fails(server as usize, calendar)
                }
            }
            ClusterEvent::ServerRepaired { server } => {
                self.server_repaired(server as usize, calendar)
            }
            ClusterEvent::DiskFails => self.disk_fails(calendar),
            ClusterEvent::DiskRepaired => self.disk_repaired(calendar),
            ClusterEvent::GroupStep { generation } => {
                if self.step.is_current(generation) {
                    if std::mem::take(&mut self.fused) {
                        self.fused_start();
                    }
                    self.group_step_done(calendar);
                }
            }
            ClusterEvent::InterconnectFails => self.interconnect_fails(calendar),
            ClusterEvent::InterconnectRepaired => self.interconnect_repaired(calendar),
            ClusterEvent::ServerRebooted { server, generation } => {
                self.server_rebooted(server as usize, generation, calendar)
            }
            ClusterEvent::PartitionDetected { generation } => {
                self.partition_detected(generation, calendar)
            }
        }
    }

    /// Applies a scripted fault now.
    pub fn inject(&mut self, fault: ClusterFault, calendar: &mut impl ClusterCalendar) {
        match fault {
            ClusterFault::ServerCrash { server } => {
                if self.server_state[server] != ServerState::Failed {
                    self.server_fails(server, calendar);
                }
            }
            ClusterFault::ServerPowerOn { server } => {
                let repairing = self.spec.server_ttr.is_some();
                if self.server_state[server] == ServerState::Failed && !repairing {
                    self.schedule_failure(server, calendar);
                    self.boot(server, calendar);
                }
            }
            ClusterFault::ServerCutOff { server } => self.set_cut_off(server, true, calendar),
            ClusterFault::ServerReconnected { server } => self.set_cut_off(server, false, calendar),
            ClusterFault::InterconnectDown => self.set_interconnect(false, calendar),
            ClusterFault::InterconnectUp => self.set_interconnect(true, calendar),
            ClusterFault::ServerOutage { server } => {
                // A server already failed stays with its own repair.
                if self.server_state[server] != ServerState::Failed {
                    self.held[server] = true;
                    self.server_fails(server, calendar);
                }
            }
            ClusterFault::DiskFailure => {
                if self.disk_up {
                    self.disk_lost(calendar);
                }
            }
            ClusterFault::DiskRepair => {
                if !self.disk_up {
                    self.disk_back(calendar);
                }
            }
            ClusterFault::ServerRestored { server } => {
                if std::mem::take(&mut self.held[server])
                    && self.server_state[server] == ServerState::Failed
                {
                    self.schedule_failure(server, calendar);
                    self.boot(server, calendar);
                }
            }
        }
    }

    pub fn finish(self) -> (TrackerTotals, Vec<OutageRecord>) {
        self.tracker.finish()
    }

    /// Servers without a time-to-failure distribution never fail by themselves.
    #[inline(always)]
    fn schedule_failure(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        if let Some(dist) = &self.spec.server_ttf {
            let ttf = dist.sample(&mut self.streams.server_ttf[server]);
            let life = self.life[server];
            let server = server as u16;
            calendar.schedule(ttf, ClusterEvent::ServerFails { server, life });
        }
    }

    #[inline(always)]
    fn start_repair(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        let Some(ttr) = &self.spec.server_ttr else {
            return;
        };
        self.in_repair += 1;
        let ttr = ttr.sample(&mut self.streams.server_ttr[server]);
        calendar.schedule(
            ttr,
            ClusterEvent::ServerRepaired {
                server: server as u16,
            },
        );
    }

    fn crew_free(&self) -> bool {
        self.spec
            .repair_crews
            .is_none_or(|crews| self.in_repair < crews)
    }

    /// Arms the group's single step timer with a draw from `dist`; returns the delay.
    /// Inline, so that each call site keeps only its own kind's arm (a failover's detection
    /// is one per failure of the active server).
    #[inline(always)]
    fn arm_step(&mut self, kind: StepKind, calendar: &mut impl ClusterCalendar) -> Micros {
        let ahead = match kind {
            StepKind::Start => self.start_draw.take(),
            _ => None,
        };
        let (dist, stream): (&Dist, &mut Stream) = match kind {
            StepKind::Detection => (&self.spec.heartbeat_timeout, &mut self.streams.heartbeat),
            StepKind::Start => (&self.spec.group_start, &mut self.streams.group_start),
            StepKind::Stop => (&self.spec.group_stop, &mut self.streams.group_stop),
            StepKind::SyncWait => (&self.spec.server_sync_wait, &mut self.streams.sync_wait),
        };
        let delay = ahead.unwrap_or_else(|| dist.sample(stream));
        let generation = self.step.arm();
        self.fused = false;
        calendar.schedule(delay, ClusterEvent::GroupStep { generation });
        delay
    }

    fn start_detection(&mut self, calendar: &mut impl ClusterCalendar) {
        self.group = Group::Detecting;
        let delay = self.arm_step(StepKind::Detection, calendar);
        self.detection_due = Some(calendar.now().saturating_add(delay));
    }

    /// Called by a world after each event it handled on this cluster: if that event armed
    /// a detection, and no other event at all is due before the detection and the start
    /// after it would both be over, nothing can happen in between. Then the detection's
    /// event is moved to the end of the start and does both: one event instead of two.
    ///
    /// The results are exactly those of the two events: the start's duration is the same
    /// draw of the same stream (kept for the next start if it is not used here), the group
    /// starts on the server it would have chosen at the end of the detection (nothing
    /// changed), and the moved event keeps its sequence number, which no other event due at
    /// the same time can be ordered against (none is due before it).
    #[inline]
    pub fn fuse_failover<E: Copy>(&mut self, calendar: &mut Calendar<E>) {
        // Inline, as it is called after every event and most arm nothing.
        if let Some(due) = self.detection_due.take() {
            self.fuse_detection(due, calendar);
        }
    }

    #[inline(never)]
    fn fuse_detection<E: Copy>(&mut self, due: Micros, calendar: &mut Calendar<E>) {
        if self.group != Group::Detecting || !self.disk_up || !self.server_up.contains(&true) {
            return;
        }
        let start = *self
            .start_draw
            .get_or_insert_with(|| self.spec.group_start.sample(&mut self.streams.group_start));
        if calendar.postpone_next(due, due.saturating_add(start)) {
            self.start_draw = None;
            self.fused = true;
        }
    }

    /// The detection of a fused failover ended (nothing happened since it began): the
    /// start on the highest-priority member, which has just ended too, as `try_start`
    /// would have begun it.
    fn fused_start(&mut self) {
        debug_assert_eq!(self.group, Group::Detecting);
        let server = self
            .server_up
            .iter()
            .position(|&up| up)
            .expect("a fused failover has a member to start on");
        self.start_event = ClpEvent::Failover;
        self.group = Group::Starting(server);
    }

    /// Starts the group on the highest-priority server that is up, or waits for the disk or
    /// for a server.
    fn try_start(&mut self, calendar: &mut impl ClusterCalendar) {
        let now = calendar.now();
        // ECX starts a group after a failure detection with CLP_EVENT=FAILOVER.
        self.start_event = if self.group == Group::Detecting {
            ClpEvent::Failover
        } else {
            ClpEvent::Start
        };
        if !self.disk_up {
            self.step.cancel();
            self.group = Group::DiskWait;
            self.tracker.down(now, Cause::SharedDisk);
        } else if let Some(server) = self.server_up.iter().position(|&up| up) {
            self.group = Group::Starting(server);
            self.arm_step(StepKind::Start, calendar);
        } else {
            self.step.cancel();
            self.group = Group::Waiting;
            self.tracker.down(now, Cause::AllServersDown);
        }
    }

    #[inline]
    fn server_fails(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        let was_member = self.server_up[server];
        self.server_up[server] = false;
        self.server_state[server] = ServerState::Failed;
        self.life[server] = self.life[server].wrapping_add(1);
        self.net.cancel_reboot(server);
        if self.spec.server_ttr.is_none() || self.held[server] {
            // Never repaired by a crew (scripted scenarios, or down with its fault domain):
            // it waits for a power-on or for the domain.
        } else if self.crew_free() {
            self.start_repair(server, calendar);
        } else {
            self.repair_queue.push_back(server);
        }
        match self.group {
            Group::Online(active) | Group::Starting(active) | Group::Scripts(active)
                if active == server =>
            {
                self.tracker.down(calendar.now(), Cause::ServerFailover);
                self.start_detection(calendar);
            }
            Group::SyncWait if !self.server_up.contains(&true) => {
                self.step.cancel();
                self.group = Group::Waiting;
            }
            Group::SplitBrain if !self.server_up.contains(&true) => {
                self.tracker.down(calendar.now(), Cause::AllServersDown);
                self.group = Group::Waiting;
            }
            _ => {}
        }
        if was_member {
            self.membership_changed(calendar);
        }
    }

    #[inline]
    fn server_repaired(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        self.in_repair -= 1;
        self.schedule_failure(server, calendar);
        if let Some(next) = self.repair_queue.pop_front() {
            self.start_repair(next, calendar);
        }
        self.boot(server, calendar);
    }

    /// The server joins the cluster (after a repair, a reboot, or when it can see the cluster
    /// again) and takes the group if it waits.
    #[inline(always)]
    fn join(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        self.server_up[server] = true;
        self.server_state[server] = ServerState::Member;
        match self.group {
            Group::Waiting => {
                if self.spec.server_sync_wait.is_zero() || self.all_servers_up() {
                    self.try_start(calendar);
                } else {
                    self.group = Group::SyncWait;
                    self.arm_step(StepKind::SyncWait, calendar);
                }
            }
            // Every peer is back: nobody is left to wait for.
            Group::SyncWait if self.all_servers_up() => self.try_start(calendar),
            Group::Online(active) if self.spec.failback && server < active => {
                self.tracker.down(calendar.now(), Cause::Failback);
                self.begin_stop(active, AfterStop::Restart, ClpFactor::GroupMove, calendar);
            }
            _ => {}
        }
    }

    fn all_servers_up(&self) -> bool {
        self.server_up.iter().all(|&up| up)
    }

    fn disk_fails(&mut self, calendar: &mut impl ClusterCalendar) {
        let disk = self
            .spec
            .shared_disk
            .as_ref()
            .expect("disk events only with a disk");
        let ttr = disk.ttr.sample(&mut self.streams.disk_ttr);
        calendar.schedule(ttr, ClusterEvent::DiskRepaired);
        self.disk_lost(calendar);
    }

    fn disk_lost(&mut self, calendar: &mut impl ClusterCalendar) {
        self.disk_up = false;
        if self.group == Group::Offline {
            // Nothing runs on it; starting the group will find it failed.
            return;
        }
        if self.group == Group::SplitBrain {
            // Neither side runs anything without the disk: the dual activation is over.
            self.tracker.set_split_brain(calendar.now(), false);
        }
        self.step.cancel();
        self.group = Group::DiskWait;
        self.tracker.down(calendar.now(), Cause::SharedDisk);
    }

    fn disk_repaired(&mut self, calendar: &mut impl ClusterCalendar) {
        let disk = self
            .spec
            .shared_disk
            .as_ref()
            .expect("disk events only with a disk");
        let ttf = disk.ttf.sample(&mut self.streams.disk_ttf);
        calendar.schedule(ttf, ClusterEvent::DiskFails);
        self.disk_back(calendar);
    }

    fn disk_back(&mut self, calendar: &mut impl ClusterCalendar) {
        self.disk_up = true;
        if self.group == Group::DiskWait {
            self.try_start(calendar);
        }
    }

    fn group_step_done(&mut self, calendar: &mut impl ClusterCalendar) {
        match self.group {
            Group::Starting(server) if self.scripted => {
                // Fip and sd are online; the script resources follow (the world runs them).
                self.group = Group::Scripts(server);
                self.activations += 1;
            }
            Group::Starting(server) => {
                self.group = Group::Online(server);
                self.tracker.up(calendar.now());
            }
            Group::Stopping(_) => match std::mem::replace(&mut self.after_stop, AfterStop::Restart)
            {
                AfterStop::Restart => self.try_start(calendar),
                AfterStop::Offline => self.group = Group::Offline,
                AfterStop::MoveTo(target) if self.server_up[target] => {
                    self.start_on(target, ClpEvent::Start, calendar)
                }
                AfterStop::MoveTo(_) => self.try_start(calendar),
            },
            Group::Detecting | Group::SyncWait => self.try_start(calendar),
            Group::Online(_)
            | Group::Scripts(_)
            | Group::Waiting
            | Group::DiskWait
            | Group::SplitBrain
            | Group::Offline => {
                unreachable!("no step is armed in state {:?}", self.group)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum StepKind {
    Detection,
    Start,
    Stop,
    SyncWait,
}

#[cfg(test)]
mod tests;
