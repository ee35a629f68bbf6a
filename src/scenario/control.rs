//! The control-logic world's view of a scenario (`ecxsim test`, `ecxsim race`).

use super::Scenario;
use crate::world::{ClusterSpec, ControlScenario, VmSpec};

impl Scenario {
    /// The inputs of a control run of replication-independent parts of this scenario.
    pub fn control_scenario(&self) -> ControlScenario {
        let clusters = self
            .clusters
            .iter()
            .map(|c| {
                let servers: Vec<&str> = c.servers.iter().map(String::as_str).collect();
                let mut spec = ClusterSpec::new(&c.name, &servers);
                spec.heartbeat_timeout = c.heartbeat_timeout.clone();
                spec.group_start = c.group_start.clone();
                spec.group_stop = c.group_stop.clone();
                spec
            })
            .collect();
        let vms = self
            .vms
            .iter()
            .map(|vm| {
                let mut spec = VmSpec::new(
                    &vm.name,
                    &self.clusters[vm.cluster].name,
                    &self.clusters[vm.replica_cluster].name,
                );
                spec.replication_interval = vm.replication_interval;
                spec.initial_replication = vm.initial_replication.clone();
                spec
            })
            .collect();
        ControlScenario {
            clusters,
            vms,
            control: self.control.clone(),
            call_durations: self.backend.calls.clone(),
            injects: self.injects.clone(),
            expects: self.expects.clone(),
            seed: self.simulation.seed,
            horizon: self.simulation.horizon,
            flaky_remove_probability: self.backend.flaky_remove_probability,
            trace_calls: true,
        }
    }
}
