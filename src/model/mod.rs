//! The simulated world of availability scenarios.

mod cluster;
pub mod cluster_set;
pub mod scripted;
mod standalone;
mod witness;

pub use cluster::{ClusterCalendar, ClusterEvent, ClusterFault, ClusterSim, Group, ServerState};
pub use standalone::{simulate_replication, ReplicationResult, ServiceResult};
pub use witness::{WitnessEvent, WitnessSim};

#[cfg(test)]
mod tests;
