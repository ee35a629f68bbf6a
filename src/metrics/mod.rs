//! Streaming up/down accounting per service, downtime by cause, data loss.

mod cause;
mod data_loss;
mod tracker;

pub use cause::{Cause, CAUSES};
pub use data_loss::{DataLossHistogram, DataLossSummary};
pub use tracker::{OutageRecord, ReplicationLag, ServiceTracker, TrackerTotals};
