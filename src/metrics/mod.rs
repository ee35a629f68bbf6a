//! Streaming up/down accounting per service, downtime by cause and per year, data loss.

mod cause;
mod data_loss;
mod log_histogram;
mod tracker;

pub use cause::{Cause, CAUSES};
pub use data_loss::{DataLossHistogram, DataLossSummary};
pub use log_histogram::LogHistogram;
pub use tracker::{OutageRecord, ReplicationLag, ServiceTracker, TrackerTotals};
