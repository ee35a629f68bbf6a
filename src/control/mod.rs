//! Production control logic, written once against the backend traits: the script resources'
//! start and stop logic of the two-cluster Hyper-V Replica design (the EXPRESSCLUSTER/Cluster-Set two-cluster Hyper-V Replica design), and
//! the cluster-set master (§3), and the operator's manual repair.
//!
//! This module knows nothing of the simulator: it may import only `crate::backend`'s traits and
//! types (never `backend::sim`), `crate::time`, and itself. A test greps the imports.

pub mod as_shipped;
pub mod context;
pub mod coordinated;
pub mod master;
pub mod operator;
pub mod script;

pub use context::{ClpEvent, ClpFactor, ScriptContext, ScriptName, ScriptOutcome, Side};
pub use coordinated::CoordinationConfig;
pub use script::{start_script, stop_script, ControlVariant};
