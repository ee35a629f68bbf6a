//! The random streams of one cluster, one per component and quantity, so that the same
//! component named in two scenarios draws the same times (common random numbers).
//!
//! The streams of the network (interconnect, reboots after an emergency shutdown, heartbeat
//! timeouts of a partition) are separate from those of the servers and the group, so adding
//! an interconnect to a cluster leaves its servers' and its group's draws unchanged.

use crate::engine::{component_stream_of, Stream};
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
    pub fn new(spec: &Cluster, seed: u64, replication: u64) -> Streams {
        let stream = |parts: &[&str]| component_stream_of(seed, replication, parts);
        let cluster = spec.name.as_str();
        let per_server = |quantity: &str| -> Vec<Stream> {
            spec.servers
                .iter()
                .map(|s| stream(&["server/", s, "/", quantity]))
                .collect()
        };
        Streams {
            server_ttf: per_server("ttf"),
            server_ttr: per_server("ttr"),
            heartbeat: stream(&["cluster/", cluster, "/heartbeat_timeout"]),
            group_start: stream(&["cluster/", cluster, "/group_start"]),
            group_stop: stream(&["cluster/", cluster, "/group_stop"]),
            sync_wait: stream(&["cluster/", cluster, "/server_sync_wait"]),
            disk_ttf: stream(&["disk/", cluster, "/ttf"]),
            disk_ttr: stream(&["disk/", cluster, "/ttr"]),
            network: NetworkStreams {
                interconnect_ttf: stream(&["interconnect/", cluster, "/ttf"]),
                interconnect_ttr: stream(&["interconnect/", cluster, "/ttr"]),
                partition_heartbeat: stream(&["cluster/", cluster, "/partition_heartbeat"]),
                server_reboot: per_server("reboot"),
            },
        }
    }
}
