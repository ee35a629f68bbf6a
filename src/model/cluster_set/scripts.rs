//! The script resources of the worker clusters: each VM's start script (ChangePrimary /
//! ChangeReplica, or the coordinated logic) runs on the group's server when the group
//! activates, its stop script before a failback, both as tasks of the production control
//! logic on the deterministic executor. A group activating is online once all its scripts
//! have ended; ECX's default "normal return value" does not check their exit codes.

use crate::backend::sim::SimBackend;
use crate::backend::sim::{OpResult, TaskId};
use crate::control::{start_script, stop_script, ClpEvent, ClpFactor, ScriptOutcome, Side};

use super::world::{Event, World};
use crate::backend::sim::op::render_result;
use crate::model::cluster::Group;
use crate::model::ClusterFault;
use crate::world::{ScriptRecord, TraceKind};

/// Why a script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// The group's activation: the group is online when every one has ended.
    Activation,
    /// Before the group stops (a failback, a move, an administrator's stop), on the server
    /// giving it up.
    Stop,
    /// An operator restarts the script resource (stop, then start, group online); then the
    /// one on the other cluster, if any.
    Restart { then: Option<usize> },
    /// An operator's manual repair (`control::operator`).
    Repair,
}

impl ScriptKind {
    /// Whether the group's activation or stop waits for it.
    fn gates_group(self) -> bool {
        matches!(self, ScriptKind::Activation | ScriptKind::Stop)
    }

    /// Whether ECX runs it as the script resource's start or stop, under the resource's
    /// timeout (an operator's manual repair is not ECX's).
    fn timed_by_ecx(self) -> bool {
        !matches!(self, ScriptKind::Repair)
    }
}

/// One live script resource run.
#[derive(Debug, Clone, Copy)]
pub struct ScriptTask {
    /// Global server index of the host it runs on.
    pub host: u16,
    pub cluster: usize,
    pub vm: usize,
    pub kind: ScriptKind,
    pub side: Side,
    pub event: ClpEvent,
    /// Set for stop scripts.
    pub factor: Option<ClpFactor>,
    pub started: crate::time::Micros,
}

/// A VM's configured replication interval as `-ReplicationFrequencySec`.
pub(super) fn frequency_s(interval: crate::time::Micros) -> u32 {
    (interval / crate::time::MICROS_PER_SECOND).clamp(1, u64::from(u32::MAX)) as u32
}

impl World<'_> {
    /// The group's fip and sd are online on `server`: start each VM's script resource.
    pub(super) fn launch_activation(&mut self, c: usize, server: usize, event: ClpEvent) {
        for i in 0..self.vms_of_cluster[c].len() {
            let vm = self.vms_of_cluster[c][i] as usize;
            self.launch(c, server, vm, ScriptKind::Activation, event, None);
        }
        if self.live_scripts[c] == 0 {
            self.activation_done(c);
        }
    }

    /// The group stops on `server` (GROUPMOVE for a failback or a move, GROUPSTOP for an
    /// administrator's stop): each VM's stop script there first.
    pub(super) fn launch_stop(&mut self, c: usize, server: usize, factor: ClpFactor) {
        for i in 0..self.vms_of_cluster[c].len() {
            let vm = self.vms_of_cluster[c][i] as usize;
            let factor = Some(factor);
            self.launch(c, server, vm, ScriptKind::Stop, ClpEvent::Start, factor);
        }
        if self.live_scripts[c] == 0 {
            self.stop_done(c);
        }
    }

    fn launch(
        &mut self,
        c: usize,
        server: usize,
        vm: usize,
        kind: ScriptKind,
        event: ClpEvent,
        factor: Option<ClpFactor>,
    ) {
        let spec = &self.scenario.vms[vm];
        let (side, opposite) = if spec.cluster == c {
            (Side::Primary, spec.replica_cluster)
        } else {
            (Side::Replica, spec.cluster)
        };
        let host = self.server_ids[c][server];
        let ctx = self.script_context((c, host), vm, (side, opposite));
        let id = self.exec.next_id();
        let backend = SimBackend::new(id, self.exec.mailbox());
        let variant = self.scenario.control.clone();
        let restart = matches!(kind, ScriptKind::Restart { .. });
        let future = Box::pin(async move {
            match factor {
                _ if restart => {
                    let f = ClpFactor::Resource;
                    stop_script(&variant, side, event, f, &ctx, &backend).await;
                    start_script(&variant, side, event, &ctx, &backend).await
                }
                None => start_script(&variant, side, event, &ctx, &backend).await,
                Some(f) => stop_script(&variant, side, event, f, &ctx, &backend).await,
            }
        });
        self.spawn(
            id,
            future,
            ScriptTask {
                host,
                cluster: c,
                vm,
                kind,
                side,
                event,
                factor,
                started: self.cal.now(),
            },
        );
        if kind.timed_by_ecx() {
            let timeout = self.scenario.backend.script_timeout;
            self.cal
                .schedule_in(timeout, Event::ScriptTimeout { task: id });
        }
        let host_name = self.server_names[host as usize].clone();
        let vm_name = &self.scenario.vms[vm].name;
        self.note(TraceKind::Script, &host_name, || {
            let what = match kind {
                ScriptKind::Activation => "start script",
                ScriptKind::Stop => "stop script",
                ScriptKind::Restart { .. } => "operator restarts the script resource",
                ScriptKind::Repair => "operator repair",
            };
            let side = match side {
                Side::Primary => "primary",
                Side::Replica => "replica",
            };
            let factor = factor.map_or(String::new(), |f| format!(" CLP_FACTOR={f}"));
            format!("{what} for {vm_name} ({side} side, CLP_EVENT={event}{factor})")
        });
        self.poll_script(id);
    }

    /// Starts a task of the control logic on a host of cluster `c`.
    pub(super) fn spawn(
        &mut self,
        id: TaskId,
        future: std::pin::Pin<Box<dyn std::future::Future<Output = ScriptOutcome>>>,
        task: ScriptTask,
    ) {
        self.exec.insert(id, future);
        if task.kind.gates_group() {
            self.live_scripts[task.cluster] += 1;
        }
        self.vm_tasks[task.vm] += 1;
        self.tasks.insert(id, task);
    }

    /// The operator restarts the VM's script resource on cluster `c` (its group online),
    /// then on `then`.
    pub(super) fn launch_restart(&mut self, c: usize, vm: usize, then: Option<usize>) {
        let (Group::Online(server), true) = (self.clusters[c].group(), self.clusters[c].disk_up())
        else {
            if let Some(next) = then {
                self.launch_restart(next, vm, None);
            }
            return;
        };
        let kind = ScriptKind::Restart { then };
        self.launch(c, server, vm, kind, ClpEvent::Start, None);
    }

    /// Runs a script until it waits on a call (timed by `[backend]`) or ends.
    pub(super) fn poll_script(&mut self, task: TaskId) {
        self.exec.set_now(self.cal.now());
        if let Some(outcome) = self.exec.poll(task) {
            self.script_ended(task, Some(outcome));
        }
        self.exec.take_logs();
        let mut calls = std::mem::take(&mut self.call_buffer);
        self.exec.take_submitted(&mut calls);
        for call in calls.drain(..) {
            let (id, op) = (call.task, call.op);
            let Some(meta) = self.tasks.get(id) else {
                continue;
            };
            self.script_calls.insert(id, call.id);
            if !self.chosen {
                let caller = &self.server_names[meta.host as usize];
                let unanswered = self.unanswered(caller, &op);
                let calls = &self.scenario.backend.calls;
                let rng = &mut self.rng_calls[meta.vm];
                let delay = calls.sample_or_fail(&op, caller, unanswered, rng);
                self.cal.schedule_in(delay, Event::OpDone { task: id });
            }
            self.pending.insert(id, op);
        }
        self.call_buffer = calls;
    }

    pub(super) fn script_op_done(&mut self, task: TaskId) {
        let Some(op) = self.pending.remove(task) else {
            return;
        };
        let Some(meta) = self.tasks.get(task).copied() else {
            return;
        };
        let caller = self.server_names[meta.host as usize].clone();
        if let Some(result) = self.apply(task, false, &caller, &op) {
            self.note(TraceKind::Call, &caller, || {
                format!("{} -> {}", op.render(), render_result(&result))
            });
            self.deliver_to_script(task, result);
        }
    }

    /// Hands the result of its one call in flight to a script, and runs it on.
    pub(super) fn deliver_to_script(&mut self, task: TaskId, result: OpResult) {
        if let Some(call) = self.script_calls.remove(task) {
            self.exec.deliver(task, call, result);
            self.poll_script(task);
        }
    }

    /// A script ended (`outcome`) or was killed (`None`) with its server or its group.
    pub(super) fn script_ended(&mut self, task: TaskId, outcome: Option<ScriptOutcome>) {
        self.pending.remove(task);
        self.script_calls.remove(task);
        self.leases.cancel_wait(task);
        let Some(meta) = self.tasks.remove(task) else {
            return;
        };
        let host = self.server_names[meta.host as usize].to_string();
        self.note(TraceKind::Script, &host, || match outcome {
            Some(o) => format!("{} exited with {}", o.script, o.bitmask),
            None => "script killed".to_string(),
        });
        if let (Some(records), Some(o)) = (self.script_records.as_mut(), outcome) {
            records.push(ScriptRecord {
                cluster: self.scenario.clusters[meta.cluster].name.clone(),
                server: host,
                vm: self.scenario.vms[meta.vm].name.clone(),
                side: meta.side,
                event: meta.event,
                factor: meta.factor,
                script: o.script,
                bitmask: o.bitmask,
                batch_exit: o.batch_exit,
                started: meta.started,
                finished: self.cal.now(),
            });
        }
        let c = meta.cluster;
        self.vm_tasks[meta.vm] -= 1;
        if meta.kind.gates_group() {
            self.live_scripts[c] -= 1;
        }
        match meta.kind {
            ScriptKind::Activation if self.live_scripts[c] == 0 => self.activation_done(c),
            ScriptKind::Stop if self.live_scripts[c] == 0 => self.stop_done(c),
            ScriptKind::Restart { then: Some(next) } if outcome.is_some() => {
                self.launch_restart(next, meta.vm, None)
            }
            _ => {}
        }
        self.touch_vm(meta.vm);
    }

    /// A script resource's start or stop outlived its timeout. ECX takes that as an
    /// activation or deactivation stall, whose default action on Windows is an emergency
    /// shutdown of the server running it: the script dies with the server, the other server
    /// takes the group over as after a crash, and the server is back when it is repaired.
    pub(super) fn script_timed_out(&mut self, task: TaskId) {
        // A script that ended in time left its timeout behind.
        let Some(meta) = self.tasks.get(task).copied() else {
            return;
        };
        let c = meta.cluster;
        let Some(server) = self.server_ids[c].iter().position(|&h| h == meta.host) else {
            return;
        };
        let host = self.server_names[meta.host as usize].clone();
        let vm = &self.scenario.vms[meta.vm].name;
        let timeout = self.scenario.backend.script_timeout;
        self.note(TraceKind::Script, &host, || {
            format!(
                "the script resource for {vm} has not ended after {} s: stall, emergency shutdown of {host}",
                crate::time::seconds(timeout)
            )
        });
        let fault = ClusterFault::ServerCrash { server };
        self.with_cluster(c, |sim, scope| sim.inject(fault, scope));
    }

    fn activation_done(&mut self, c: usize) {
        self.with_cluster(c, |sim, scope| sim.scripts_finished(scope));
    }

    fn stop_done(&mut self, c: usize) {
        self.with_cluster(c, |sim, scope| sim.stop_scripts_finished(scope));
    }

    /// Kills the live scripts `doomed` selects (their host died, or their group left it).
    pub(super) fn kill_scripts(&mut self, doomed: impl Fn(&ScriptTask) -> bool) {
        let ids: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, t)| doomed(t))
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            self.exec.kill(id);
            self.script_ended(id, None);
        }
    }
}
