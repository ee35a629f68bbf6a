//! The double-failover race: the active servers of both clusters fail at about the same time,
//! and both clusters' start scripts re-point replication at once.
//!
//! `sweep` samples it: for each offset between the two crashes, many seeded runs with drawn
//! call durations. `exhaustive` enumerates it: every order in which the two scripts' backend
//! calls can complete, for one double failover.

mod exhaustive;
mod sweep;

pub use exhaustive::{exhaustive, ExhaustiveReport};
pub use sweep::{double_failover, sweep, OffsetResult, SweepConfig, SweepReport};
