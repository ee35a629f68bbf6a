//! Looking into a running world, and driving it by hand: what `ecxsim test` checks
//! (`[[expect]]`), what `ecxsim race` classifies, and the exhaustive explorer's mode in which
//! each script call completes only when the explorer picks it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use crate::backend::sim::{Executor, TaskId};
use crate::backend::{PowerState, ReplicationMode, ReplicationState};
use crate::time::Micros;
use crate::world::{classify, Check, EndState, VmHistory};

use super::world::World;

impl World<'_> {
    /// Keeps every script's result and every VM's changes from now on, and the timeline if
    /// `trace`.
    pub fn record(&mut self, trace: bool) {
        self.script_records = Some(Vec::new());
        self.history = Some(vec![VmHistory::default(); self.vms.len()]);
        if trace {
            self.record_trace();
        }
    }

    /// From now on, script calls complete only through `complete_chosen`.
    pub fn set_chosen(&mut self) {
        self.chosen = true;
        self.exec = Executor::with_history();
    }

    /// Checkpoints that read "Creating checkpoint" for exactly `answers` Get-VM answers (see
    /// `HyperVFarm::counted_checkpoints`): in chosen mode no time passes between calls.
    pub fn count_checkpoints(&mut self, answers: u32) {
        self.farm.counted_checkpoints = Some(answers);
    }

    /// Chosen mode: processes the next event due now, or, if no call is pending, the next
    /// one up to `until`. False when there is none.
    pub fn step_calendar(&mut self, until: Micros) -> bool {
        let limit = if self.pending.is_empty() {
            until
        } else {
            self.cal.now()
        };
        self.step_until(limit)
    }

    /// Script tasks with a call ready to complete (not parked on a lease).
    pub fn enabled_tasks(&self) -> Vec<TaskId> {
        self.pending.ids().collect()
    }

    /// Chosen mode: completes `task`'s pending call now.
    pub fn complete_chosen(&mut self, task: TaskId) {
        self.script_op_done(task);
        self.settle();
    }

    /// A hash of everything that decides the rest of a Chosen-mode run: Hyper-V, the
    /// clusters, leases and roles, each live script's received results, the calls pending and
    /// the replications in flight.
    pub fn state_key(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.farm.hash(&mut h);
        self.leases.hash(&mut h);
        for c in &self.clusters {
            c.state_hash(&mut h);
        }
        self.exec.histories().hash(&mut h);
        self.pending.hash(&mut h);
        self.transfers.hash(&mut h);
        self.rest_down_until.hash(&mut h);
        h.finish()
    }

    /// How VM `v`'s protection stands: judged from the copy it serves from (its home cluster
    /// if none), towards the other cluster's active server.
    pub fn end_state(&self, v: usize) -> EndState {
        let vm = &self.vms[v];
        let copy = self.vm_view(v).serving.unwrap_or(0);
        let (p, r) = (vm.clusters[copy], vm.clusters[1 - copy]);
        let name = &self.scenario.vms[v].name;
        classify(&self.farm, name, self.holder_host(p), self.holder_host(r))
    }

    /// Answers an expectation about the world's state now (`vm`: the VM it concerns); `None`
    /// for checks on the accumulated results (availability, outages, causes...).
    pub fn check_state(&self, check: &Check, vm: usize) -> Option<(bool, String)> {
        let name = self.scenario.vms.get(vm).map_or("", |v| v.name.as_str());
        let relationship = |server: &str| self.farm.relationship(server, name);
        let show = |r: Option<&crate::backend::sim::Relationship>| {
            r.map_or("no relationship".to_string(), |r| r.to_string())
        };
        Some(match check {
            Check::ReplicationHealthy(want) => {
                let state = self.vm_state(vm);
                ((state == EndState::Healthy) == *want, state.name())
            }
            Check::EndState(want) => {
                let state = self.vm_state(vm);
                (state == *want, state.name())
            }
            Check::ReplicationDirection { primary, replica } => {
                let (p, r) = (relationship(primary), relationship(replica));
                let ok = p.is_some_and(|p| {
                    p.mode == ReplicationMode::Primary
                        && *p.replica == **replica
                        && p.state == ReplicationState::Replicating
                }) && r.is_some_and(|r| {
                    r.mode == ReplicationMode::Replica
                        && *r.primary == **primary
                        && r.state == ReplicationState::Replicating
                });
                (
                    ok,
                    format!("{primary}: {}; {replica}: {}", show(p), show(r)),
                )
            }
            Check::ReplicationOn {
                server,
                mode,
                state,
            } => {
                let rel = relationship(server);
                let ok = match rel {
                    None => mode.is_none() && state.is_none(),
                    Some(r) => {
                        mode.is_none_or(|m| m == r.mode)
                            && state.is_none_or(|s| s == r.state)
                            && (mode.is_some() || state.is_some())
                    }
                };
                let shown = rel.map_or("none".to_string(), |r| format!("{}/{}", r.mode, r.state));
                (ok, shown)
            }
            Check::VmRunningOn { server } => {
                let running = self.farm.running_hosts(name);
                let ok = running == [server.clone()];
                (ok, format!("running on {}", list(&running)))
            }
            Check::VmPower { server, power } => {
                let p = self
                    .farm
                    .vm(server, name)
                    .map_or(PowerState::Off, |v| v.power);
                (p == *power, p.to_string())
            }
            Check::VmRunningCount(n) => {
                let running = self.farm.running_hosts(name);
                (
                    running.len() == *n,
                    format!("running on {}", list(&running)),
                )
            }
            Check::GroupStatus {
                cluster,
                status,
                current,
            } => match self.cluster_by_name.get(cluster) {
                Some(&c) => {
                    let ecx = self.ecx_view(c);
                    let on = ecx.current_name();
                    let ok = ecx.status == *status && current.as_ref().is_none_or(|cur| *cur == on);
                    (ok, format!("{} on {on}", ecx.status))
                }
                None => (false, format!("no cluster {cluster}")),
            },
            Check::ScriptsSucceeded => {
                let failed: Vec<String> = self
                    .scripts()
                    .iter()
                    .filter(|s| s.bitmask != 0)
                    .map(|s| format!("{} on {} = {}", s.script, s.server, s.bitmask))
                    .collect();
                (failed.is_empty(), format!("failed: {}", list(&failed)))
            }
            Check::ScriptResult {
                server,
                script,
                bitmask,
            } => {
                let last = self
                    .scripts()
                    .iter()
                    .rev()
                    .find(|s| &s.server == server && s.script == *script);
                (
                    last.is_some_and(|s| s.bitmask == *bitmask),
                    last.map_or("no run".to_string(), |s| s.bitmask.to_string()),
                )
            }
            Check::ServiceUp(_)
            | Check::DataLostAtMost(_)
            | Check::AvailabilityAtLeast(_)
            | Check::UnprotectedAtMost(_)
            | Check::OutagesAtMost(_)
            | Check::NpShutdowns(_)
            | Check::SplitBrain { .. }
            | Check::CauseDowntime { .. } => return None,
        })
    }

    /// `end_state` of a VM index that may be out of range (a scenario without VMs).
    fn vm_state(&self, vm: usize) -> EndState {
        if vm < self.vms.len() {
            self.end_state(vm)
        } else {
            EndState::VmNotRunning
        }
    }

    fn scripts(&self) -> &[crate::world::ScriptRecord] {
        self.script_records.as_deref().unwrap_or_default()
    }
}

/// A list of names for a check's observed value (`none` if empty).
fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
