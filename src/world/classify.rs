//! Is a VM's replication healthy, and if not, how is it broken?

use serde::{Deserialize, Serialize};

use crate::backend::sim::{HostState, HyperVFarm};
use crate::backend::{ReplicationMode, ReplicationState};

/// The end state of a VM's protection. `Healthy` means: the VM runs exactly once, on the
/// active server of its primary cluster, which holds a Primary relationship, Replicating,
/// towards the active server of the replica cluster, whose Replica relationship points back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndState {
    Healthy,
    /// A cluster has no active server with its disk: nothing to judge replication against.
    ClusterDown,
    VmRunningTwice,
    VmNotRunning,
    /// The VM runs, but not on the primary cluster's active server.
    VmOnWrongServer,
    /// No relationship on one or both active servers.
    Missing,
    BothPrimary,
    BothReplica,
    /// The replica cluster holds the Primary relationship.
    Reversed,
    /// A relationship points at a server that is not the peer's active server.
    StalePeer,
    /// Configured between the right servers but not Replicating (stuck pending, Error...).
    NotReplicating,
}

impl EndState {
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// Classifies `vm` given the active servers (group online there, with its disk); the VM
/// runs where it serves from (`HostState::serves`).
pub fn classify(
    farm: &HyperVFarm,
    vm: &str,
    primary_active: Option<&str>,
    replica_active: Option<&str>,
) -> EndState {
    let running = farm.serving_hosts(vm);
    let p = primary_active.map(|n| (n, farm.hosts.get(n)));
    let r = replica_active.map(|n| (n, farm.hosts.get(n)));
    classify_running(vm, &running, p, r)
}

/// `classify` given the hosts the VM serves from, and each active server with its host in the
/// farm if it has one (the caller knows where to look).
pub fn classify_running(
    vm: &str,
    running: &[&str],
    primary_active: Option<(&str, Option<&HostState>)>,
    replica_active: Option<(&str, Option<&HostState>)>,
) -> EndState {
    if running.len() > 1 {
        return EndState::VmRunningTwice;
    }
    let (Some((p, p_host)), Some((r, r_host))) = (primary_active, replica_active) else {
        return if running.is_empty() {
            EndState::VmNotRunning
        } else {
            EndState::ClusterDown
        };
    };
    match running.first() {
        None => return EndState::VmNotRunning,
        Some(&host) if host != p => return EndState::VmOnWrongServer,
        Some(_) => {}
    }
    let (Some(rel_p), Some(rel_r)) = (relationship(p_host, vm), relationship(r_host, vm)) else {
        return EndState::Missing;
    };
    use ReplicationMode::*;
    match (rel_p.mode, rel_r.mode) {
        (Primary, Primary) => return EndState::BothPrimary,
        (Replica, Replica) => return EndState::BothReplica,
        (Replica, Primary) => return EndState::Reversed,
        (Primary, Replica) => {}
    }
    if *rel_p.replica != *r || *rel_r.primary != *p {
        return EndState::StalePeer;
    }
    if rel_p.state != ReplicationState::Replicating || rel_r.state != ReplicationState::Replicating
    {
        return EndState::NotReplicating;
    }
    EndState::Healthy
}

fn relationship<'a>(
    host: Option<&'a HostState>,
    vm: &str,
) -> Option<&'a crate::backend::sim::Relationship> {
    host?.vms.get(vm)?.replication.as_ref()
}
