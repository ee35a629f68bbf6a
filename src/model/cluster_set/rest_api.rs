//! The world seen from outside, as `ecxsim serve` exposes it: each cluster's ECX REST API
//! answered from the same view the control logic's calls get, administrators' group commands,
//! injected faults, and the clock driven by the wall clock.

use crate::backend::sim::{HvCmd, Op, OpResult};
use crate::time::Micros;
use crate::world::EndState;

use super::dispatch::EXTERNAL_CLIENT;
use super::world::World;
use super::ScriptedFault;

impl World<'_> {
    /// Processes every event due by `t` and moves the clock to `t`.
    pub fn advance_to(&mut self, t: Micros) {
        while self.step_until(t) {}
        if t > self.cal.now() {
            self.cal.advance_to(t);
        }
    }

    pub fn now(&self) -> Micros {
        self.cal.now()
    }

    /// When the next event is due, if any.
    pub fn next_event(&self) -> Option<Micros> {
        self.cal.peek_time()
    }

    /// Answers a REST call (`Op::Rest*`) addressed to one of the clusters from outside the
    /// world: the client's own reachability is not in question, the cluster's is.
    pub fn external_rest(&mut self, op: &Op) -> OpResult {
        let result = self
            .apply(0, false, EXTERNAL_CLIENT, op)
            .expect("REST calls never wait");
        self.settle();
        result
    }

    /// Runs a Hyper-V cmdlet on `host` as PowerShell on `caller` (one of the world's servers)
    /// would: through the same mock as the control logic's calls, now.
    pub fn external_hyperv(&mut self, caller: &str, host: &str, cmd: &HvCmd) -> OpResult {
        let result = self.hyperv(caller, &crate::backend::Name::from(host), cmd);
        self.settle();
        result
    }

    /// Each VM's name, end state, and the servers it serves from, as a test judges them.
    pub fn vm_states(&self) -> Vec<(String, EndState, Vec<String>)> {
        self.scenario
            .vms
            .iter()
            .enumerate()
            .map(|(v, vm)| {
                let serving = self.farm.serving_hosts(&vm.name);
                let serving = serving.into_iter().map(str::to_string).collect();
                (vm.name.clone(), self.end_state(v), serving)
            })
            .collect()
    }

    /// `name` is one of the world's servers.
    pub fn is_server(&self, name: &str) -> bool {
        self.servers.contains_key(name)
    }

    /// Applies a fault or an administrator's action now.
    pub fn inject_now(&mut self, fault: ScriptedFault) {
        self.inject(fault);
        self.settle();
    }
}
