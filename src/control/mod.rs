//! Production control logic for the two-cluster Hyper-V Replica design (reference/ecx.md §1A):
//! the script resources' start and stop logic, written once against the backend traits.
//!
//! This module knows nothing of the simulator: it may import only `crate::backend`'s traits and
//! types (never `backend::sim`), `crate::time`, and itself. A test greps the imports.

pub mod as_shipped;
pub mod context;
pub mod coordinated;
pub mod script;

pub use context::{ClpEvent, ClpFactor, ScriptContext, ScriptName, ScriptOutcome, Side};
pub use coordinated::CoordinationConfig;
pub use script::{start_script, stop_script, ControlVariant};
