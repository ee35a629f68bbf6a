//! Simulated backends: the ECX and Hyper-V mocks acting on the simulated world, and the
//! virtual-time executor that runs the control logic against them.
//!
//! A backend call does not act when it is made: it becomes a pending operation (`Op`) that the
//! world completes later (after a drawn duration, or when the exhaustive explorer picks it),
//! applying its effect to the world as it is at that moment. Two scripts therefore interleave
//! exactly as their calls overlap.

pub mod assumptions;
pub mod clients;
pub mod durations;
pub mod ecx;
pub mod executor;
pub mod hyperv;
pub mod id_table;
pub mod lease;
pub mod name_map;
pub mod op;

pub use assumptions::{CrashState, FailedCycle, MockAssumptions};
pub use clients::SimBackend;
pub use durations::CallDurations;
pub use ecx::EcxCluster;
pub use executor::{Call, CallId, Executor, Mailbox, SharedMailbox, TaskId};
pub use hyperv::{HostState, HyperVFarm, Relationship, VmOnHost};
pub use id_table::IdTable;
pub use lease::LeaseTable;
pub use name_map::NameMap;
pub use op::{HvCmd, Op, OpKind, OpOutput, OpResult};

/// A value's hash with the standard library's default hasher: the tests that check a
/// replacement container hashes as the map it replaced.
#[cfg(test)]
pub(crate) fn hash_of(value: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}
