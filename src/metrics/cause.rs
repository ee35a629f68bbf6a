//! Why a service is down. The names are the keys of `downtime_by_cause_minutes_per_year`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// The active server failed; the group is being detected or restarted elsewhere.
    ServerFailover,
    /// No server was up to take the group (includes sync wait and start after one returns).
    AllServersDown,
    /// The shared disk failed; the group waits for it and then starts again.
    SharedDisk,
    /// A returning higher-priority server takes the group back (stop + start).
    Failback,
    /// Network-partition resolution shut servers down (emergency shutdown after every
    /// heartbeat was lost, or the multi-activation rule after a split brain): the time until
    /// they are back and the group runs again.
    NetworkPartition,
    /// Cluster set: from the master's decision to fail a VM over to its replica cluster until
    /// the VM runs there.
    ClusterFailover,
    /// Cluster set: the VM runs in its new place, but clients still resolve the old address
    /// until their cached DNS record expires.
    Dns,
    /// Cluster set: the VM's cluster group is online but the VM does not run there: the
    /// control logic left it off (or stopped it), until a script or an operator starts it.
    ScriptFailure,
    /// An administrator stopped or moved the group (`clpgrp`, the REST API, a test's
    /// `group_stop` / `group_move`): planned downtime, until the group runs again.
    Maintenance,
}

pub const CAUSES: [Cause; 9] = [
    Cause::ServerFailover,
    Cause::AllServersDown,
    Cause::SharedDisk,
    Cause::Failback,
    Cause::NetworkPartition,
    Cause::ClusterFailover,
    Cause::Dns,
    Cause::ScriptFailure,
    Cause::Maintenance,
];

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::ServerFailover => "server_failover",
            Cause::AllServersDown => "all_servers_down",
            Cause::SharedDisk => "shared_disk",
            Cause::Failback => "failback",
            Cause::NetworkPartition => "network_partition",
            Cause::ClusterFailover => "cluster_failover",
            Cause::Dns => "dns",
            Cause::ScriptFailure => "script_failure",
            Cause::Maintenance => "maintenance",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}
