//! The random streams of one cluster, one per component and quantity, so that the same
//! component named in two scenarios draws the same times (common random numbers).
//!
//! The streams of the network (interconnect, reboots after an emergency shutdown, heartbeat
//! timeouts of a partition) are separate from those of the servers and the group, so adding
//! an interconnect to a cluster leaves its servers' and its group's draws unchanged.

use crate::engine::{ReplicationStreams, Stream};
use crate::scenario::Cluster;

pub(super) struct Streams {
    pub server_ttf: Vec<Stream>,
    pub server_ttr: Vec<Stream>,
    pub heartbeat: Stream,
    pub group_start: Stream,
    pub group_stop: Stream,
    pub sync_wait: Stream,
    pub disk_ttf: Stream,
    pub disk_ttr: Stream,
    pub network: NetworkStreams,
}

pub(super) struct NetworkStreams {
    pub interconnect_ttf: Stream,
    pub interconnect_ttr: Stream,
    /// Heartbeat timeouts of partitions (kept apart from the failover detections).
    pub partition_heartbeat: Stream,
    pub server_reboot: Vec<Stream>,
}

impl Streams {
    /// Seeded per replication (a dozen streams per cluster): the names' shared first parts
    /// are hashed once.
    pub fn new(spec: &Cluster, seed: u64, replication: u64) -> Streams {
        let streams = ReplicationStreams::new(seed, replication);
        let cluster = spec.name.as_str();
        let of = |kind: &str| ReplicationStreams::prefix(&[kind, cluster, "/"]);
        let (group, disk, interconnect) = (of("cluster/"), of("disk/"), of("interconnect/"));
        let servers = spec.servers.len();
        let (mut server_ttf, mut server_ttr, mut server_reboot) = (
            Vec::with_capacity(servers),
            Vec::with_capacity(servers),
            Vec::with_capacity(servers),
        );
        for s in &spec.servers {
            let server = ReplicationStreams::prefix(&["server/", s, "/"]);
            server_ttf.push(streams.stream(server, "ttf"));
            server_ttr.push(streams.stream(server, "ttr"));
            server_reboot.push(streams.stream(server, "reboot"));
        }
        Streams {
            server_ttf,
            server_ttr,
            heartbeat: streams.stream(group, "heartbeat_timeout"),
            group_start: streams.stream(group, "group_start"),
            group_stop: streams.stream(group, "group_stop"),
            sync_wait: streams.stream(group, "server_sync_wait"),
            disk_ttf: streams.stream(disk, "ttf"),
            disk_ttr: streams.stream(disk, "ttr"),
            network: NetworkStreams {
                interconnect_ttf: streams.stream(interconnect, "ttf"),
                interconnect_ttr: streams.stream(interconnect, "ttr"),
                partition_heartbeat: streams.stream(group, "partition_heartbeat"),
                server_reboot,
            },
        }
    }
}
