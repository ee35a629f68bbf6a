//! A cluster set: a master cluster, a witness and worker clusters, with VMs replicated by
//! Hyper-V Replica between worker clusters and failed over across clusters by the master
//! controller (`control::master`), which runs here unchanged against the simulated backends.
//!
//! Cost: nothing is simulated per heartbeat, per replication cycle or per idle poll, so a
//! replication costs a few events per component failure (hundreds in ten years), not one per
//! poll or cycle. Replication cycles are derived (`vm::SyncClock`); the master sleeps through
//! `Clock::idle` while nothing changes (see `control::master`).
//!
//! Simplifications, each a documented choice:
//! - A VM is part of the failover group of the cluster it runs on: the group starts it (its
//!   start is in `group_start`), and a cluster the VM has left does not start it again.
//! - Replication runs while the VM runs and both clusters' groups are up; an intra-cluster
//!   failover pauses it and it resumes with the next cycle (no resynchronisation).
//! - The master's REST polls, replication settings and DNS update take one microsecond; the
//!   failover (`[master] failover`), VM start (`vm_start`) and resynchronisation
//!   (`reprotect`) take what the scenario says.

mod dispatch;
mod master_rt;
mod operations;
mod scripts;
mod vm;
mod world;

pub use vm::SyncClock;

use crate::model::{ClusterFault, ReplicationResult};
use crate::scenario::Scenario;
use crate::time::Micros;

/// A scripted fault of a cluster-set scenario (regression tests, `[[inject]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptedFault {
    /// `cluster` indexes the scenario's clusters.
    Cluster { cluster: usize, fault: ClusterFault },
    /// The witness server goes down or comes back.
    Witness { up: bool },
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
mod tests;
