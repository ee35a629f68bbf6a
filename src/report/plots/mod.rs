//! Charts for architects, each written as `<stem>.png` and `<stem>.svg` into the output folder:
//! availability on a nines scale, MTBF beside MTTR, downtime by cause, data lost per
//! cross-cluster failover, the race curve and parameter sweeps.
//!
//! Every chart is deterministic (same input, same bytes), written atomically, drawn with the
//! embedded font (no system fonts needed), and says so in words when it has nothing to show.

mod availability;
mod canvas;
mod data_loss;
mod downtime;
mod lines;
mod mtbf_mttr;
mod panel;
mod race;
mod scale;
mod standard;
pub mod style;
mod sweep;

pub use availability::availability_nines;
pub use canvas::with_extension;
pub use data_loss::{data_loss, data_loss_counted, LossSeries};
pub use downtime::downtime_by_cause;
pub use mtbf_mttr::mtbf_mttr;
pub use race::{race_curve, RaceCurve};
pub use standard::{standard_charts, Figure};
pub use sweep::{sweep_lines, SweepMetric, SweepPoint, SWEEP_METRICS};
