//! The inputs of a control run: clusters, VMs, control variant, call durations, faults,
//! expectations.

use crate::backend::sim::CallDurations;
use crate::control::{ControlVariant, CoordinationConfig};
use crate::dist::Dist;
use crate::time::{Micros, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};

use super::expect::Expect;

/// One ECX cluster with one failover group (fip + sd + the script resources of its VMs).
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub name: String,
    pub group: String,
    /// Failover priority order, highest first. The first is active at time zero.
    pub servers: Vec<String>,
    pub heartbeat_timeout: Dist,
    /// Activation of fip and sd (the script resource follows them).
    pub group_start: Dist,
    /// Deactivation of sd and fip after the stop scripts.
    pub group_stop: Dist,
}

impl ClusterSpec {
    /// ECX defaults: 30 s heartbeat timeout, fip+sd up in 20-60 s, down in 10 s.
    pub fn new(name: &str, servers: &[&str]) -> ClusterSpec {
        ClusterSpec {
            name: name.into(),
            group: format!("failover-{name}"),
            servers: servers.iter().map(|s| s.to_string()).collect(),
            heartbeat_timeout: Dist::Fixed(30 * MICROS_PER_SECOND),
            group_start: Dist::Uniform {
                min: 20 * MICROS_PER_SECOND,
                max: 60 * MICROS_PER_SECOND,
            },
            group_stop: Dist::Fixed(10 * MICROS_PER_SECOND),
        }
    }
}

/// A VM replicated from its primary cluster to its replica cluster (Hyper-V Replica between
/// the two active servers).
#[derive(Debug, Clone)]
pub struct VmSpec {
    pub name: String,
    /// The cluster carrying the `primary/` scripts.
    pub cluster: String,
    /// The cluster carrying the `replica/` scripts.
    pub replica_cluster: String,
    /// 30 s, 5 min or 15 min in Hyper-V.
    pub replication_interval: Micros,
    pub initial_replication: Dist,
    /// How long `Start-VMInitialReplication` shows "Creating checkpoint".
    pub checkpoint: Dist,
}

impl VmSpec {
    pub fn new(name: &str, cluster: &str, replica_cluster: &str) -> VmSpec {
        VmSpec {
            name: name.into(),
            cluster: cluster.into(),
            replica_cluster: replica_cluster.into(),
            replication_interval: 30 * MICROS_PER_SECOND,
            initial_replication: Dist::Uniform {
                min: 2 * MICROS_PER_MINUTE,
                max: 10 * MICROS_PER_MINUTE,
            },
            checkpoint: crate::scenario::Vm::default_checkpoint(),
        }
    }
}

/// A scripted fault or operator action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The server dies (power loss): its VMs stop, its disk is gone with it.
    ServerCrash {
        server: String,
    },
    /// A dead server boots again (as a standby; no failback).
    PowerOn {
        server: String,
    },
    /// `clpgrp -m`: stop script with GROUPMOVE on the old server, start on the target
    /// (the next server in priority order if none).
    GroupMove {
        cluster: String,
        target: Option<String>,
    },
    /// Stop script with GROUPSTOP, then resources down.
    GroupStop {
        cluster: String,
    },
    GroupStart {
        cluster: String,
        target: Option<String>,
    },
    /// The cluster's shared disk fails: the group goes "Online Failure".
    DiskFailure {
        cluster: String,
    },
    DiskRepair {
        cluster: String,
    },
    /// The server is cut off the network: nobody reaches it; after the heartbeat timeout its
    /// cluster fails over and the server shuts itself down (NP resolution's default action).
    NetworkCut {
        server: String,
    },
    /// The cluster's REST API does not answer for `duration`.
    RestUnreachable {
        cluster: String,
        duration: Micros,
    },
    /// The documented manual remedy: stop the script resource and start it again.
    ScriptRestart {
        cluster: String,
    },
    /// The server's cables are plugged back in (after `NetworkCut`). Availability model only.
    Reconnect {
        server: String,
    },
    /// The cluster's heartbeat LAN fails / returns. Availability model only.
    InterconnectDown {
        cluster: String,
    },
    InterconnectUp {
        cluster: String,
    },
    /// The witness server goes down / comes back. Availability model only.
    WitnessDown,
    WitnessUp,
}

impl Fault {
    /// Faults that only the availability model (partitions, witness) acts on.
    pub fn is_partition_fault(&self) -> bool {
        matches!(
            self,
            Fault::Reconnect { .. }
                | Fault::InterconnectDown { .. }
                | Fault::InterconnectUp { .. }
                | Fault::WitnessDown
                | Fault::WitnessUp
        )
    }
}

impl std::fmt::Display for Fault {
    /// As a scenario file writes it: `server_crash c1s1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::ServerCrash { server } => write!(f, "server_crash {server}"),
            Fault::PowerOn { server } => write!(f, "power_on {server}"),
            Fault::GroupMove { cluster, target } => match target {
                Some(t) => write!(f, "group_move {cluster} to {t}"),
                None => write!(f, "group_move {cluster}"),
            },
            Fault::GroupStop { cluster } => write!(f, "group_stop {cluster}"),
            Fault::GroupStart { cluster, target } => match target {
                Some(t) => write!(f, "group_start {cluster} on {t}"),
                None => write!(f, "group_start {cluster}"),
            },
            Fault::DiskFailure { cluster } => write!(f, "disk_failure {cluster}"),
            Fault::DiskRepair { cluster } => write!(f, "disk_repair {cluster}"),
            Fault::NetworkCut { server } => write!(f, "network_cut {server}"),
            Fault::RestUnreachable { cluster, duration } => write!(
                f,
                "rest_unreachable {cluster} for {}s",
                crate::time::seconds(*duration)
            ),
            Fault::ScriptRestart { cluster } => write!(f, "script_restart {cluster}"),
            Fault::Reconnect { server } => write!(f, "reconnect {server}"),
            Fault::InterconnectDown { cluster } => write!(f, "interconnect_down {cluster}"),
            Fault::InterconnectUp { cluster } => write!(f, "interconnect_up {cluster}"),
            Fault::WitnessDown => f.write_str("witness_down"),
            Fault::WitnessUp => f.write_str("witness_up"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inject {
    pub at: Micros,
    pub fault: Fault,
}

/// Everything one control run needs.
#[derive(Debug, Clone)]
pub struct ControlScenario {
    pub clusters: Vec<ClusterSpec>,
    pub vms: Vec<VmSpec>,
    pub control: ControlVariant,
    pub call_durations: CallDurations,
    pub injects: Vec<Inject>,
    pub expects: Vec<Expect>,
    pub seed: u64,
    pub horizon: Micros,
    /// Probability that the documented flaky local Remove-VMReplication fails.
    pub flaky_remove_probability: f64,
    /// Record every backend call in the trace (off for large sweeps).
    pub trace_calls: bool,
}

impl ControlScenario {
    /// The reference topology of the EXPRESSCLUSTER/Cluster-Set two-cluster Hyper-V Replica design: cluster1 (c1s1, c1s2) carries the
    /// primary, cluster2 (c2s1, c2s2) the replica of one VM, healthy at time zero.
    pub fn two_clusters(control: ControlVariant) -> ControlScenario {
        ControlScenario {
            clusters: vec![
                ClusterSpec::new("cluster1", &["c1s1", "c1s2"]),
                ClusterSpec::new("cluster2", &["c2s1", "c2s2"]),
            ],
            vms: vec![VmSpec::new("TestVM1", "cluster1", "cluster2")],
            control,
            call_durations: CallDurations::default(),
            injects: vec![],
            expects: vec![],
            seed: 1,
            horizon: MICROS_PER_HOUR,
            flaky_remove_probability: 0.5,
            trace_calls: true,
        }
    }

    pub fn coordinated() -> ControlVariant {
        ControlVariant::Coordinated(CoordinationConfig::default())
    }

    pub fn inject(mut self, at: Micros, fault: Fault) -> Self {
        self.injects.push(Inject { at, fault });
        self
    }

    pub fn expect(mut self, expect: Expect) -> Self {
        self.expects.push(expect);
        self
    }

    /// Names that refer to nothing, duplicates, a VM whose clusters are not distinct.
    pub fn validate(&self) -> Result<(), String> {
        let mut servers = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for c in &self.clusters {
            if !names.insert(c.name.clone()) {
                return Err(format!("duplicate cluster {:?}", c.name));
            }
            if c.servers.is_empty() {
                return Err(format!("cluster {:?} has no servers", c.name));
            }
            for s in &c.servers {
                if !servers.insert(s.clone()) {
                    return Err(format!("server {s:?} appears twice"));
                }
            }
        }
        for vm in &self.vms {
            for c in [&vm.cluster, &vm.replica_cluster] {
                if !names.contains(c) {
                    return Err(format!("VM {:?} refers to unknown cluster {c:?}", vm.name));
                }
            }
            if vm.cluster == vm.replica_cluster {
                return Err(format!("VM {:?} replicates within one cluster", vm.name));
            }
            if vm.replication_interval == 0 {
                return Err(format!("VM {:?} has a zero replication interval", vm.name));
            }
        }
        for inject in &self.injects {
            let (server, cluster) = match &inject.fault {
                Fault::ServerCrash { server }
                | Fault::PowerOn { server }
                | Fault::NetworkCut { server }
                | Fault::Reconnect { server } => (Some(server), None),
                Fault::WitnessDown | Fault::WitnessUp => (None, None),
                Fault::GroupMove { cluster, .. }
                | Fault::GroupStop { cluster }
                | Fault::GroupStart { cluster, .. }
                | Fault::DiskFailure { cluster }
                | Fault::DiskRepair { cluster }
                | Fault::RestUnreachable { cluster, .. }
                | Fault::ScriptRestart { cluster }
                | Fault::InterconnectDown { cluster }
                | Fault::InterconnectUp { cluster } => (None, Some(cluster)),
            };
            if let Some(s) = server.filter(|s| !servers.contains(*s)) {
                return Err(format!(
                    "inject at {} names unknown server {s:?}",
                    inject.at
                ));
            }
            if let Some(c) = cluster.filter(|c| !names.contains(*c)) {
                return Err(format!(
                    "inject at {} names unknown cluster {c:?}",
                    inject.at
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.flaky_remove_probability) {
            return Err("flaky_remove_probability must lie in [0, 1]".into());
        }
        Ok(())
    }
}
