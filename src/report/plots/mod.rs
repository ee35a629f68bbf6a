//! Charts for architects, each written as `<stem>.png` and `<stem>.svg` into the output folder:
//! availability on a nines scale, MTBF beside MTTR, downtime by cause, data lost per
//! cross-cluster failover, the race curve and parameter sweeps.
//!
//! Every chart is deterministic (same input, same bytes), written atomically, drawn with the
//! embedded font (no system fonts needed), and says so in words when it has nothing to show.

mod availability;
mod canvas;
mod mtbf_mttr;
mod scale;
pub mod style;

pub use availability::availability_nines;
pub use canvas::with_extension;
pub use mtbf_mttr::mtbf_mttr;
