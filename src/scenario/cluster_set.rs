//! Scenario types of the cluster set: witness, interconnects and network-partition
//! resolution, the master cluster, DNS, and replicated VMs.

use crate::dist::Dist;
use crate::rate::BytesPerSecond;
use crate::time::{Micros, MICROS_PER_SECOND};

/// The witness server (`[witness]`), shared by every cluster that resolves partitions with it.
#[derive(Debug, Clone)]
pub struct Witness {
    pub ttf: Dist,
    pub ttr: Dist,
}

/// A cluster's interconnect: the heartbeat LAN between its servers.
#[derive(Debug, Clone)]
pub struct Interconnect {
    pub ttf: Dist,
    pub ttr: Dist,
}

/// What a cluster does when every heartbeat between its live servers is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpResolution {
    /// Each server asks the witness; one that cannot reach it shuts down (emergency shutdown),
    /// and if the witness is down too every server shuts down.
    Witness,
    /// No resolution: every side activates the group (dual activation, split brain) until the
    /// link returns and the multi-activation rule shuts every server down.
    None,
}

/// `[master]`: the ECX cluster whose failover group runs the master controller.
#[derive(Debug, Clone)]
pub struct Master {
    /// Index into `Scenario::clusters`.
    pub cluster: usize,
    /// How often the controller polls each worker cluster through the ECX REST API.
    pub poll_interval: Micros,
    /// Consecutive failed or non-Online polls before a VM is failed over.
    pub failure_threshold: u32,
    /// Unplanned Hyper-V failover (Start-VMFailover) on the replica cluster's active server.
    pub failover: Dist,
    /// Start-VM of the failed-over VM, to the guest answering.
    pub vm_start: Dist,
    /// Re-protection once the home cluster is back: reverse replication plus resynchronisation.
    pub reprotect: Dist,
}

/// `[dns]`: clients reach a VM's new place only after their cached record expires.
#[derive(Debug, Clone)]
pub struct Dns {
    pub ttl: Micros,
}

/// `[[vm]]`: a VM carried by its home cluster's failover group and replicated (Hyper-V Replica,
/// asynchronous) to its replica cluster.
#[derive(Debug, Clone)]
pub struct Vm {
    pub name: String,
    /// Index into `Scenario::clusters`: the home (primary) cluster.
    pub cluster: usize,
    /// Index into `Scenario::clusters`: where the replica lives.
    pub replica_cluster: usize,
    /// 30 s, 5 min or 15 min in Hyper-V.
    pub replication_interval: Micros,
    pub initial_replication: Dist,
    /// How long `Start-VMInitialReplication` shows "Creating checkpoint".
    pub checkpoint: Dist,
    /// The transfer time of one replication cycle (the changes of one interval).
    pub cycle: Dist,
    /// `churn`: the rate the VM writes to its disks, in bytes per second (drawn once per
    /// replication); absent, writes never limit replication.
    pub churn: Option<Dist>,
    /// Index into `Scenario::links`: the link between its two clusters, if there is one.
    pub link: Option<usize>,
}

/// `[[link]]`: the network carrying Hyper-V Replica between two clusters, in both directions,
/// shared by every VM that replicates between them.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    /// Indexes into `Scenario::clusters`, in the file's order.
    pub clusters: [usize; 2],
    /// Greater than zero.
    pub bandwidth: BytesPerSecond,
}

impl Link {
    /// Whether the link joins these two clusters (in either order).
    pub fn joins(&self, a: usize, b: usize) -> bool {
        self.clusters == [a, b] || self.clusters == [b, a]
    }
}

impl Vm {
    /// ASSUMPTION: a production checkpoint of a running VM takes seconds.
    pub fn default_checkpoint() -> Dist {
        Dist::uniform(2 * MICROS_PER_SECOND, 8 * MICROS_PER_SECOND).expect("valid default")
    }
}

/// `[[fault_domain]]`: servers the administrator expects to fail together (a rack, a PDU, a
/// room), as in Windows Server 2019 cluster sets. When the domain fails, each member server
/// goes down after its own draw of `spread`; all come back when the domain is repaired.
#[derive(Debug, Clone)]
pub struct FaultDomain {
    pub name: String,
    /// (cluster index, server index) of each member.
    pub members: Vec<(usize, usize)>,
    pub ttf: Dist,
    /// How long the domain stays down (from its failure).
    pub ttr: Dist,
    /// Each member's delay from the domain's failure to its crash.
    pub spread: Dist,
}

/// `[operations]`: the people who repair what the control logic leaves broken.
#[derive(Debug, Clone)]
pub struct Operations {
    /// From the alert (a VM left off, replication broken, a VM running twice) until an
    /// operator acts.
    pub response: Dist,
    /// Whether anyone answers alerts. Off in `ecxsim race`, which judges what the scripts
    /// alone leave behind.
    pub staffed: bool,
}

impl Default for Operations {
    /// ASSUMPTION: an on-call administrator acts within hours (median 4 h), a day at worst.
    fn default() -> Self {
        Operations {
            response: Dist::lognormal(4 * crate::time::MICROS_PER_HOUR, 0.6)
                .expect("valid default"),
            staffed: true,
        }
    }
}
