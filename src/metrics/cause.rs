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
}

pub const CAUSES: [Cause; 4] = [
    Cause::ServerFailover,
    Cause::AllServersDown,
    Cause::SharedDisk,
    Cause::Failback,
];

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::ServerFailover => "server_failover",
            Cause::AllServersDown => "all_servers_down",
            Cause::SharedDisk => "shared_disk",
            Cause::Failback => "failback",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}
