//! Is a VM's replication healthy, and if not, how is it broken?

use serde::{Deserialize, Serialize};

use crate::backend::sim::{HostState, HyperVFarm, Relationship};
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
pub fn classify<'a>(
    farm: &'a HyperVFarm,
    vm: &str,
    primary_active: Option<&'a str>,
    replica_active: Option<&'a str>,
) -> EndState {
    let running = farm.serving_hosts(vm);
    let active = |name: &'a str| (name, relationship(farm.hosts.get(name), vm));
    classify_running(
        &running,
        primary_active.map(active),
        replica_active.map(active),
    )
}

/// `classify` given the hosts the VM serves from, and each active server with the VM's
/// relationship there if it has one (the caller knows where to look).
pub fn classify_running(
    running: &[&str],
    primary_active: Option<(&str, Option<&Relationship>)>,
    replica_active: Option<(&str, Option<&Relationship>)>,
) -> EndState {
    if running.len() > 1 {
        return EndState::VmRunningTwice;
    }
    let (Some((p, rel_p)), Some((r, rel_r))) = (primary_active, replica_active) else {
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
    let (Some(rel_p), Some(rel_r)) = (rel_p, rel_r) else {
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

fn relationship<'a>(host: Option<&'a HostState>, vm: &str) -> Option<&'a Relationship> {
    host?.vms.get(vm)?.replication.as_ref()
}
