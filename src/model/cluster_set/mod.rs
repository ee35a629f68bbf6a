//! The world of every scenario with VMs, a master or fault domains: clusters (the master's
//! too), the witness, the Hyper-V hosts, the VMs, and the production control logic running
//! against them on the deterministic executor: each worker cluster's script resources (the
//! published scripts or the coordinated logic), the master controller (`control::master`) and
//! the operator (`control::operator`).
//!
//! Cost: nothing is simulated per heartbeat, per replication cycle or per idle poll: replication
//! cycles are derived (`vm::SyncClock`), the master sleeps through `Clock::idle` while nothing
//! changes; an event costs the same whatever the number of clusters and VMs (the world syncs
//! only the clusters it touched and refreshes only their VMs). What does cost events is every
//! backend call of the scripts and of the master: each completes at its own time, so that the
//! race of two scripts emerges from how their calls overlap.

mod contexts;
mod dispatch;
mod link;
mod master_rt;
mod operations;
mod probe;
mod rest_api;
mod scripts;
mod vm;
mod world;

pub use link::LinkShare;
pub use master_rt::group_name;
pub use vm::SyncClock;
pub use world::{Records, World};

use crate::model::cluster::GroupCommand;
use crate::model::{ClusterFault, ReplicationResult};
use crate::scenario::Scenario;
use crate::time::Micros;

/// A scripted fault of a cluster-set scenario (regression tests, `[[inject]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptedFault {
    /// `cluster` indexes the scenario's clusters.
    Cluster { cluster: usize, fault: ClusterFault },
    /// An administrator's command to the cluster's failover group.
    Group {
        cluster: usize,
        command: GroupCommand,
    },
    /// The witness server goes down or comes back.
    Witness { up: bool },
    /// The cluster's REST API does not answer for `duration`.
    RestUnreachable { cluster: usize, duration: Micros },
    /// The documented manual remedy: stop each script resource of the cluster's group and
    /// start it again.
    ScriptRestart { cluster: usize },
}

impl ScriptedFault {
    /// Server `server` of cluster `cluster` dies.
    pub fn server_crash(cluster: usize, server: usize) -> ScriptedFault {
        let fault = ClusterFault::ServerCrash { server };
        ScriptedFault::Cluster { cluster, fault }
    }

    /// A failed server that no crew repairs boots again.
    pub fn server_power_on(cluster: usize, server: usize) -> ScriptedFault {
        let fault = ClusterFault::ServerPowerOn { server };
        ScriptedFault::Cluster { cluster, fault }
    }
}

/// Runs replication `index` of a cluster-set scenario with `seed`; a pure function of its
/// arguments. Services: the scenario's `[[service]]` entries, then one per VM, in order.
pub fn simulate_replication(
    scenario: &Scenario,
    seed: u64,
    index: u64,
    keep_outages: bool,
) -> ReplicationResult {
    simulate_replication_with(scenario, seed, index, keep_outages, &[])
}

/// Like `simulate_replication`, with scripted faults applied at their times (sorted or not:
/// equal times apply in the given order).
pub fn simulate_replication_with(
    scenario: &Scenario,
    seed: u64,
    index: u64,
    keep_outages: bool,
    faults: &[(Micros, ScriptedFault)],
) -> ReplicationResult {
    world::World::new(scenario, seed, index, keep_outages, faults).run(index)
}

/// The timeline of replication `index` (scripts, calls, cluster groups), for reading what
/// happened.
pub fn trace_replication(
    scenario: &Scenario,
    seed: u64,
    index: u64,
    faults: &[(Micros, ScriptedFault)],
) -> Vec<crate::world::TraceEntry> {
    let mut world = world::World::new(scenario, seed, index, false, faults);
    world.record_trace();
    world.run_traced()
}

#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod tests;
