//! The simulated world of availability scenarios.

mod cluster;
mod standalone;

pub use cluster::{ClusterCalendar, ClusterEvent, ClusterSim, Group};
pub use standalone::{simulate_replication, ReplicationResult, ServiceResult};

#[cfg(test)]
mod tests;
