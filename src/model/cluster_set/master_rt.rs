//! The master controller's runtime in the simulated world: one task of `control::master::run`
//! on the deterministic executor, alive while the master cluster's group is up, and the
//! simulated clock's idle sleep.

use std::rc::Rc;

use crate::backend::sim::{CallDurations, CallId, Executor, IdTable, Op, SimBackend, TaskId};
use crate::control::master::{self, MasterConfig, ProtectedVm, WorkerCluster};
use crate::engine::{component_stream, Stream, Timer};
use crate::scenario::{Master, Scenario};
use crate::time::Micros;

/// The master's idle sleep in progress: it may be stretched over whole poll periods.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    /// The `Clock::idle` call that sleeps.
    pub call: CallId,
    /// The first tick it sleeps to.
    pub first: Micros,
    pub period: Micros,
    /// The last tick it may sleep to, if it is bounded.
    pub last: Option<Micros>,
    pub wake_armed: bool,
}

impl Idle {
    /// The sleep of `Op::Idle` made at `now`.
    pub fn new(call: CallId, now: Micros, sleep: Micros, period: Micros, ticks: u32) -> Idle {
        let first = now.saturating_add(sleep);
        let last = match ticks {
            u32::MAX => None,
            _ if period == 0 => Some(first),
            n => Some(first.saturating_add(u64::from(n.max(1) - 1).saturating_mul(period))),
        };
        Idle {
            call,
            first,
            period,
            last,
            wake_armed: false,
        }
    }

    /// The first tick of the grid at or after `now`.
    pub fn tick_from(&self, now: Micros) -> Micros {
        if now <= self.first || self.period == 0 {
            return self.first;
        }
        let k = (now - self.first).div_ceil(self.period);
        self.first.saturating_add(k.saturating_mul(self.period))
    }

    /// Which tick `at` is: 1 for the first.
    pub fn ordinal(&self, at: Micros) -> u32 {
        match at.saturating_sub(self.first).checked_div(self.period) {
            Some(k) => u32::try_from(k).unwrap_or(u32::MAX - 1) + 1,
            None => 1,
        }
    }
}

/// What a poll of a cluster's group by the master finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    NotPolled,
    /// The group is online on this server.
    Online(usize),
    /// The poll fails, or finds the group not online.
    Failing,
}

pub struct MasterRt<'s> {
    pub spec: &'s Master,
    pub config: Rc<MasterConfig>,
    pub exec: Executor<()>,
    pub task: Option<TaskId>,
    /// Calls in flight (several while it fails the VMs of a cluster over together).
    pub pending: IdTable<Op>,
    pub idle: Option<Idle>,
    /// What the master's last REST poll of each cluster's group found. An idle sleep may
    /// skip poll ticks only while a poll would still find this (`World::master_view`): a
    /// worker that changed during the round (while the master was failing a VM over, say)
    /// must be seen on the next tick, exactly as an ordinary sleep would.
    pub observed: Vec<Seen>,
    pub wake: Timer,
    /// How long the master's calls take: `[backend]`, with the failover and the VM start
    /// as `[master]` says.
    pub calls: CallDurations,
    pub call_stream: Stream,
    /// Scenario cluster index of each worker of `config`.
    pub worker_clusters: Vec<usize>,
    /// By scenario cluster index: whether it is a worker.
    pub is_worker: Vec<bool>,
}

/// The name of a cluster's failover group (one per cluster).
pub fn group_name(cluster: &str) -> String {
    format!("failover-{cluster}")
}

impl<'s> MasterRt<'s> {
    pub fn new(spec: &'s Master, scenario: &Scenario, seed: u64, replication: u64) -> Self {
        // Workers: every cluster a VM lives on, in the scenario's order.
        let worker_clusters: Vec<usize> = (0..scenario.clusters.len())
            .filter(|&c| {
                scenario
                    .vms
                    .iter()
                    .any(|v| v.cluster == c || v.replica_cluster == c)
            })
            .collect();
        let worker_of = |c: usize| {
            worker_clusters
                .iter()
                .position(|&w| w == c)
                .expect("a VM's cluster is a worker")
        };
        let config = MasterConfig {
            poll_interval: spec.poll_interval,
            failure_threshold: spec.failure_threshold,
            workers: worker_clusters
                .iter()
                .map(|&c| {
                    let name = &scenario.clusters[c].name;
                    WorkerCluster {
                        name: name.clone(),
                        group: group_name(name),
                        address: name.clone(),
                    }
                })
                .collect(),
            vms: scenario
                .vms
                .iter()
                .map(|v| ProtectedVm {
                    name: v.name.clone(),
                    home: worker_of(v.cluster),
                    replica: worker_of(v.replica_cluster),
                })
                .collect(),
        };
        MasterRt {
            spec,
            config: Rc::new(config),
            exec: Executor::default(),
            task: None,
            pending: IdTable::default(),
            idle: None,
            observed: vec![Seen::NotPolled; scenario.clusters.len()],
            wake: Timer::default(),
            calls: CallDurations {
                failover: spec.failover.clone(),
                start_vm: spec.vm_start.clone(),
                ..scenario.backend.calls.clone()
            },
            call_stream: component_stream(seed, replication, "master/calls"),
            is_worker: (0..scenario.clusters.len())
                .map(|c| worker_clusters.contains(&c))
                .collect(),
            worker_clusters,
        }
    }

    /// Starts a fresh controller (the master group came online).
    pub fn spawn(&mut self) -> TaskId {
        let id = self.exec.next_id();
        let backend = SimBackend::new(id, self.exec.mailbox());
        let config = Rc::clone(&self.config);
        self.exec.insert(
            id,
            Box::pin(async move { master::run(&backend, &config).await }),
        );
        self.task = Some(id);
        id
    }

    /// The controller dies with its group: its call in flight and its sleep are forgotten.
    pub fn kill(&mut self) {
        if let Some(id) = self.task.take() {
            self.exec.kill(id);
        }
        self.pending.clear();
        self.idle = None;
        self.wake.cancel();
        self.exec.drop_submitted();
        self.exec.take_logs();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_sleep_wakes_on_its_grid_and_counts_its_ticks() {
        // At 100, sleeping 10 to a grid of 30, for at most 3 ticks: 110, 140, 170.
        let idle = Idle::new(7, 100, 10, 30, 3);
        assert_eq!((idle.first, idle.last), (110, Some(170)));
        assert_eq!(idle.tick_from(50), 110);
        assert_eq!(idle.tick_from(110), 110);
        assert_eq!(idle.tick_from(111), 140);
        assert_eq!(idle.tick_from(140), 140);
        assert_eq!([110, 139, 140, 170].map(|t| idle.ordinal(t)), [1, 1, 2, 3]);
        assert_eq!(Idle::new(7, 100, 10, 30, u32::MAX).last, None);
        // One tick (or none asked for) is the sleep itself.
        assert_eq!(Idle::new(7, 100, 10, 30, 1).last, Some(110));
        assert_eq!(Idle::new(7, 100, 10, 30, 0).last, Some(110));
        assert_eq!(Idle::new(7, 100, 10, 0, 5).tick_from(500), 110);
    }
}
