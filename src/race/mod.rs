//! The double-failover race: the active servers of both clusters fail at about the same time,
//! and both clusters' start scripts re-point replication at once.
//!
//! `sweep` samples it: for each offset between the two crashes, many seeded runs with drawn
//! call durations. `exhaustive` enumerates it: every order in which the two scripts' backend
//! calls can complete, for one double failover.

mod exhaustive;
mod progress;
mod sensitivity;
mod sweep;

pub use exhaustive::{exhaustive, CheckpointCount, ExhaustiveReport, MAX_CHECKPOINT_ANSWERS};
pub use progress::TerminalProgress;
pub use sensitivity::{SensitivityPoint, SWEEPS as SENSITIVITY_SWEEPS};
pub use sweep::{
    crashed_servers, double_failover, raced_vms, sweep, OffsetResult, Progress, Silent,
    SweepConfig, SweepReport, DEFAULT_MAX_STATES,
};
