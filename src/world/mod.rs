//! The simulated world of the two-cluster Hyper-V Replica design: ECX clusters (servers,
//! one failover group with fip, sd and script resources, heartbeat timeout, failover, moves),
//! per-cluster shared disks visible only to the active server, Hyper-V hosts, VMs and their
//! replication, faults injected at given times, expectations checked at given times, a trace.
//! The control logic runs in it unchanged, through the simulated backends.

mod classify;
mod expect;
mod metrics;
mod run;
mod scenario;
mod sim;
pub mod trace;

pub use classify::{classify, classify_running, EndState};
pub use expect::{Check, Expect, ExpectResult, When};
pub use metrics::{ScriptRecord, VmMetrics};
pub use run::{run, ControlRun};
pub use scenario::{ClusterSpec, ControlScenario, Fault, Inject, VmSpec};
pub use sim::{OpMode, World};
pub use trace::{TraceEntry, TraceKind};
