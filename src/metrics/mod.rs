//! Streaming up/down accounting of a service within one replication.

mod cause;
mod tracker;

pub use cause::{Cause, CAUSES};
pub use tracker::{OutageRecord, ServiceTracker, TrackerTotals};
