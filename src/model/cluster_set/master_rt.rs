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
    pub start: Micros,
    pub period: Micros,
    pub wake_armed: bool,
}

impl Idle {
    /// The first tick of the idle grid strictly after `now`.
    pub fn next_tick(&self, now: Micros) -> Micros {
        if self.period == 0 {
            return now;
        }
        let k = now.saturating_sub(self.start) / self.period + 1;
        self.start + k * self.period
    }
}

pub struct MasterRt<'s> {
    pub spec: &'s Master,
    pub config: Rc<MasterConfig>,
    pub exec: Executor<()>,
    pub task: Option<TaskId>,
    /// Calls in flight (several while it fails the VMs of a cluster over together).
    pub pending: IdTable<Op>,
    pub idle: Option<Idle>,
    /// Each cluster's group (up or not) as the master's last REST poll of it saw it. An idle
    /// sleep may skip poll ticks only while the world still looks like this: a worker that
    /// changed during the round (while the master was failing a VM over, say) must be seen on
    /// the next tick, exactly as an ordinary sleep would.
    pub observed: Vec<Option<bool>>,
    pub wake: Timer,
    /// How long the master's calls take: `[backend]`, with the failover and the VM start
    /// as `[master]` says.
    pub calls: CallDurations,
    pub call_stream: Stream,
    /// Scenario cluster index of each worker of `config`.
    pub worker_clusters: Vec<usize>,
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
            observed: vec![None; scenario.clusters.len()],
            wake: Timer::default(),
            calls: CallDurations {
                failover: spec.failover.clone(),
                start_vm: spec.vm_start.clone(),
                ..scenario.backend.calls.clone()
            },
            call_stream: component_stream(seed, replication, "master/calls"),
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
