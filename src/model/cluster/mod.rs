//! One standalone ECX failover cluster: servers, repair crews, one failover group, an optional
//! shared disk, and the service that the group carries.
//!
//! The rules are those of SCENARIO.md ("Semantics of one standalone cluster"); the exact CTMC in
//! `analysis::standalone_ctmc` encodes the same rules independently, and the tests hold the two
//! together. Heartbeats are not simulated one by one: detection is a single delay.

use std::collections::VecDeque;

use crate::dist::Dist;
use crate::engine::{component_stream, Calendar, Stream, Timer};
use crate::metrics::{Cause, OutageRecord, ServiceTracker, TrackerTotals};
use crate::scenario::Cluster;
use crate::time::Micros;

/// What the failover group is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Stopping before a failback.
    Stopping,
}

/// Events of a cluster; `cluster` indexes the world's clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterEvent {
    ServerFails {
        server: u16,
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
}

/// The random streams of one cluster, one per component and quantity, so that the same
/// component named in two scenarios draws the same times (common random numbers).
struct Streams {
    server_ttf: Vec<Stream>,
    server_ttr: Vec<Stream>,
    heartbeat: Stream,
    group_start: Stream,
    group_stop: Stream,
    sync_wait: Stream,
    disk_ttf: Stream,
    disk_ttr: Stream,
}

impl Streams {
    fn new(spec: &Cluster, seed: u64, replication: u64) -> Streams {
        let stream = |name: String| component_stream(seed, replication, &name);
        let cluster = &spec.name;
        Streams {
            server_ttf: spec
                .servers
                .iter()
                .map(|s| stream(format!("server/{s}/ttf")))
                .collect(),
            server_ttr: spec
                .servers
                .iter()
                .map(|s| stream(format!("server/{s}/ttr")))
                .collect(),
            heartbeat: stream(format!("cluster/{cluster}/heartbeat_timeout")),
            group_start: stream(format!("cluster/{cluster}/group_start")),
            group_stop: stream(format!("cluster/{cluster}/group_stop")),
            sync_wait: stream(format!("cluster/{cluster}/server_sync_wait")),
            disk_ttf: stream(format!("disk/{cluster}/ttf")),
            disk_ttr: stream(format!("disk/{cluster}/ttr")),
        }
    }
}

pub struct ClusterSim<'s> {
    spec: &'s Cluster,
    server_up: Vec<bool>,
    /// Failed servers waiting for a repair crew, in failure order.
    repair_queue: VecDeque<usize>,
    in_repair: usize,
    disk_up: bool,
    group: Group,
    step: Timer,
    tracker: ServiceTracker,
    streams: Streams,
}

/// Schedules cluster events on a world calendar whose event type wraps `ClusterEvent`.
pub trait ClusterCalendar {
    fn schedule(&mut self, delay: Micros, event: ClusterEvent);
    fn now(&self) -> Micros;
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
    pub fn new(
        spec: &'s Cluster,
        seed: u64,
        replication: u64,
        warmup: Micros,
        horizon: Micros,
        keep_outages: bool,
        calendar: &mut impl ClusterCalendar,
    ) -> ClusterSim<'s> {
        let mut sim = ClusterSim {
            spec,
            server_up: vec![true; spec.servers.len()],
            repair_queue: VecDeque::new(),
            in_repair: 0,
            disk_up: true,
            group: Group::Online(0),
            step: Timer::default(),
            tracker: ServiceTracker::new(warmup, horizon, keep_outages),
            streams: Streams::new(spec, seed, replication),
        };
        for server in 0..spec.servers.len() {
            sim.schedule_failure(server, calendar);
        }
        if let Some(disk) = &spec.shared_disk {
            let ttf = disk.ttf.sample(&mut sim.streams.disk_ttf);
            calendar.schedule(ttf, ClusterEvent::DiskFails);
        }
        sim
    }

    pub fn group(&self) -> Group {
        self.group
    }

    pub fn is_up(&self) -> bool {
        !self.tracker.is_down()
    }

    pub fn handle(&mut self, event: ClusterEvent, calendar: &mut impl ClusterCalendar) {
        match event {
            ClusterEvent::ServerFails { server } => self.server_fails(server as usize, calendar),
            ClusterEvent::ServerRepaired { server } => {
                self.server_repaired(server as usize, calendar)
            }
            ClusterEvent::DiskFails => self.disk_fails(calendar),
            ClusterEvent::DiskRepaired => self.disk_repaired(calendar),
            ClusterEvent::GroupStep { generation } => {
                if self.step.is_current(generation) {
                    self.group_step_done(calendar);
                }
            }
        }
    }

    pub fn finish(self) -> (TrackerTotals, Vec<OutageRecord>) {
        self.tracker.finish()
    }

    /// Servers without a time-to-failure distribution never fail by themselves.
    fn schedule_failure(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        if let Some(dist) = &self.spec.server_ttf {
            let ttf = dist.sample(&mut self.streams.server_ttf[server]);
            let server = server as u16;
            calendar.schedule(ttf, ClusterEvent::ServerFails { server });
        }
    }

    fn start_repair(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        self.in_repair += 1;
        let ttr = self
            .spec
            .server_ttr
            .as_ref()
            .expect("a server that fails by itself has a repair time")
            .sample(&mut self.streams.server_ttr[server]);
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

    /// Arms the group's single step timer with a draw from `dist`.
    fn arm_step(&mut self, dist: StepKind, calendar: &mut impl ClusterCalendar) {
        let (dist, stream): (&Dist, &mut Stream) = match dist {
            StepKind::Detection => (&self.spec.heartbeat_timeout, &mut self.streams.heartbeat),
            StepKind::Start => (&self.spec.group_start, &mut self.streams.group_start),
            StepKind::Stop => (&self.spec.group_stop, &mut self.streams.group_stop),
            StepKind::SyncWait => (&self.spec.server_sync_wait, &mut self.streams.sync_wait),
        };
        let delay = dist.sample(stream);
        let generation = self.step.arm();
        calendar.schedule(delay, ClusterEvent::GroupStep { generation });
    }

    fn start_detection(&mut self, calendar: &mut impl ClusterCalendar) {
        self.group = Group::Detecting;
        self.arm_step(StepKind::Detection, calendar);
    }

    /// Starts the group on the highest-priority server that is up, or waits for the disk or
    /// for a server.
    fn try_start(&mut self, calendar: &mut impl ClusterCalendar) {
        let now = calendar.now();
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

    fn server_fails(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        self.server_up[server] = false;
        if self.crew_free() {
            self.start_repair(server, calendar);
        } else {
            self.repair_queue.push_back(server);
        }
        match self.group {
            Group::Online(active) | Group::Starting(active) if active == server => {
                self.tracker.down(calendar.now(), Cause::ServerFailover);
                self.start_detection(calendar);
            }
            Group::SyncWait if !self.server_up.contains(&true) => {
                self.step.cancel();
                self.group = Group::Waiting;
            }
            _ => {}
        }
    }

    fn server_repaired(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        self.server_up[server] = true;
        self.in_repair -= 1;
        self.schedule_failure(server, calendar);
        if let Some(next) = self.repair_queue.pop_front() {
            self.start_repair(next, calendar);
        }
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
                self.group = Group::Stopping;
                self.arm_step(StepKind::Stop, calendar);
            }
            _ => {}
        }
    }

    fn all_servers_up(&self) -> bool {
        self.server_up.iter().all(|&up| up)
    }

    fn disk_fails(&mut self, calendar: &mut impl ClusterCalendar) {
        self.disk_up = false;
        let disk = self
            .spec
            .shared_disk
            .as_ref()
            .expect("disk events only with a disk");
        let ttr = disk.ttr.sample(&mut self.streams.disk_ttr);
        calendar.schedule(ttr, ClusterEvent::DiskRepaired);
        self.step.cancel();
        self.group = Group::DiskWait;
        self.tracker.down(calendar.now(), Cause::SharedDisk);
    }

    fn disk_repaired(&mut self, calendar: &mut impl ClusterCalendar) {
        self.disk_up = true;
        let disk = self
            .spec
            .shared_disk
            .as_ref()
            .expect("disk events only with a disk");
        let ttf = disk.ttf.sample(&mut self.streams.disk_ttf);
        calendar.schedule(ttf, ClusterEvent::DiskFails);
        if self.group == Group::DiskWait {
            self.try_start(calendar);
        }
    }

    fn group_step_done(&mut self, calendar: &mut impl ClusterCalendar) {
        match self.group {
            Group::Starting(server) => {
                self.group = Group::Online(server);
                self.tracker.up(calendar.now());
            }
            Group::Detecting | Group::SyncWait | Group::Stopping => self.try_start(calendar),
            Group::Online(_) | Group::Waiting | Group::DiskWait => {
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
