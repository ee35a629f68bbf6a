//! One run of a control scenario.

use serde::Serialize;

use super::classify::EndState;
use super::expect::ExpectResult;
use super::metrics::{ScriptRecord, VmMetrics};
use super::scenario::ControlScenario;
use super::sim::{OpMode, World};
use super::trace::{self, TraceEntry};

/// What one run produced.
#[derive(Debug, Clone, Serialize)]
pub struct ControlRun {
    pub replication: u64,
    pub trace: Vec<TraceEntry>,
    pub expectations: Vec<ExpectResult>,
    pub scripts: Vec<ScriptRecord>,
    pub vms: Vec<VmMetrics>,
    /// Classification of each VM at the horizon.
    pub end_states: Vec<EndState>,
}

impl ControlRun {
    pub fn all_expectations_passed(&self) -> bool {
        self.expectations.iter().all(|e| e.passed)
    }

    pub fn timeline(&self) -> String {
        trace::render(&self.trace)
    }
}

/// Runs replication `replication` of `scenario` to its horizon. The scenario should have
/// passed `ControlScenario::validate`; names that refer to nothing are ignored here.
pub fn run(scenario: &ControlScenario, replication: u64) -> ControlRun {
    let mut world = World::new(scenario, replication, OpMode::Timed);
    world.run_until(scenario.horizon);
    world.finish();
    ControlRun {
        replication,
        trace: world.trace().to_vec(),
        expectations: world.expect_results().to_vec(),
        scripts: world.scripts().to_vec(),
        vms: world.vm_metrics(),
        end_states: (0..scenario.vms.len())
            .map(|i| world.classify_vm(i))
            .collect(),
    }
}
