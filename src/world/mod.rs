//! The vocabulary of regression tests and timelines on the one simulated world
//! (`model::cluster_set`): scripted faults (`[[inject]]`), expectations (`[[expect]]`), how a
//! VM's protection is judged (`EndState`), script records and the timeline.

mod classify;
mod expect;
mod metrics;
mod scenario;
pub mod trace;

pub use classify::{classify, classify_running, EndState};
pub use expect::{Check, Expect, ExpectResult, When};
pub use metrics::{ScriptRecord, VmHistory};
pub use scenario::{Fault, Inject};
pub use trace::{TraceEntry, TraceKind};
