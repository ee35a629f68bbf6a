//! The operator: alerted when a VM is left off while its cluster is up, when its replication
//! stays broken with both clusters up and nothing at work on it, when it runs where DNS does
//! not send its clients, or when it runs on both clusters, an administrator acts after
//! `[operations] response`: first the documented remedy
//! (restart the VM's script resources, the primary's side first), then, if the VM is still
//! broken at the next visit (or runs twice, which a restart does not cure), the manual repair
//! of `control::operator`.

use crate::backend::sim::hyperv::vmcx_path;
use crate::backend::sim::SimBackend;
use crate::control::operator::{repair, Copy};
use crate::control::{CoordinationConfig, ScriptName, ScriptOutcome, Side};
use crate::engine::{Stream, Timer};
use crate::world::TraceKind;

use super::scripts::{ScriptKind, ScriptTask};
use super::vm::VmView;
use super::world::{Event, World};

/// One VM's operator.
pub(super) struct OperatorRt {
    pub stream: Stream,
    pub visit: Timer,
    pub armed: bool,
    /// Visits that found the VM still broken since it was last fine.
    pub attempts: u32,
}

impl OperatorRt {
    pub fn new(stream: Stream) -> OperatorRt {
        OperatorRt {
            stream,
            visit: Timer::default(),
            armed: false,
            attempts: 0,
        }
    }
}

impl World<'_> {
    /// Whether the VM needs an operator now.
    fn needs_operator(&self, v: usize, view: &VmView) -> bool {
        let vm = &self.vms[v];
        let quiet = self.vm_tasks[v] == 0 && self.transfers[v] == 0 && !vm.failing_over;
        let left_off = view.serving.is_none() && view.cluster_up[vm.last_copy];
        let broken = view.serving.is_some() && !view.healthy && view.cluster_up.iter().all(|&u| u);
        // It runs, but not where DNS sends the clients (and no failover is moving it there).
        let now = self.cal.now();
        let unreachable =
            view.serving.is_some() && vm.placed() != vm.dns_target && now >= vm.dns_ready_at;
        view.twice || (quiet && (left_off || broken || unreachable))
    }

    /// After a VM's refresh: raise or clear its alert.
    pub(super) fn check_operations(&mut self, v: usize, view: &VmView) {
        if !self.scenario.operations.staffed {
            return;
        }
        let needed = self.needs_operator(v, view);
        let op = &mut self.operators[v];
        if needed && !op.armed {
            op.armed = true;
            let delay = self.scenario.operations.response.sample(&mut op.stream);
            let generation = op.visit.arm();
            let vm = v as u16;
            self.cal
                .schedule_in(delay, Event::OperatorArrives { vm, generation });
        } else if !needed && self.vm_tasks[v] == 0 {
            op.visit.cancel();
            op.armed = false;
            op.attempts = 0;
        }
    }

    pub(super) fn operator_arrives(&mut self, v: usize, generation: u32) {
        if !self.operators[v].visit.is_current(generation) {
            return;
        }
        self.operators[v].armed = false;
        let view = self.vm_view(v);
        if !self.needs_operator(v, &view) {
            self.operators[v].attempts = 0;
            return;
        }
        self.operators[v].attempts += 1;
        let primary = self.primary_copy(v);
        let clusters = self.vms[v].clusters;
        let name = self.scenario.vms[v].name.clone();
        if self.operators[v].attempts == 1 && !view.twice {
            self.note(TraceKind::Inject, &name, || {
                "operator restarts the script resources".to_string()
            });
            self.launch_restart(clusters[primary], v, Some(clusters[1 - primary]));
        } else {
            self.note(TraceKind::Inject, &name, || {
                "operator repairs by hand".to_string()
            });
            self.launch_repair(v, primary);
        }
        // Nothing may have started (no cluster could take it): look again later.
        let view = self.vm_view(v);
        self.check_operations(v, &view);
    }

    /// The copy the operator makes the primary: the role record's (the master's last
    /// decision), or the home cluster's.
    fn primary_copy(&self, v: usize) -> usize {
        let vm = &self.scenario.vms[v];
        let replica_name = &self.scenario.clusters[vm.replica_cluster].name;
        match self.leases.role(&vm.name) {
            Some(r) if r.primary.eq_ignore_ascii_case(replica_name) => 1,
            _ => 0,
        }
    }

    fn launch_repair(&mut self, v: usize, primary: usize) {
        let spec = &self.scenario.vms[v];
        let clusters = self.vms[v].clusters;
        let sides = [Side::Primary, Side::Replica];
        let copy = |w: &World, i: usize| {
            let c = clusters[i];
            w.holder_host(c).map(|host| Copy {
                host: host.to_string(),
                vmcx_path: vmcx_path(&w.scenario.clusters[c].name, &spec.name, sides[i]),
                address: w.scenario.clusters[c].name.clone(),
            })
        };
        let Some(p) = copy(self, primary) else {
            return;
        };
        let r = copy(self, 1 - primary);
        let c = clusters[primary];
        let server = self.synced_holder(c).expect("the primary copy has a host");
        let host = self.server_ids[c][server];
        let id = self.exec.next_id();
        let backend = SimBackend::new(id, self.exec.mailbox());
        let vm = spec.name.clone();
        let frequency_s = super::scripts::frequency_s(spec.replication_interval);
        let cfg = match &self.scenario.control {
            crate::control::ControlVariant::Coordinated(cfg) => cfg.clone(),
            crate::control::ControlVariant::AsShipped => CoordinationConfig::default(),
        };
        let future = Box::pin(async move {
            let bitmask = match repair(&backend, &vm, &p, r.as_ref(), frequency_s, &cfg).await {
                Ok(()) => 0,
                Err(_) => 1,
            };
            ScriptOutcome {
                script: ScriptName::Nothing,
                bitmask,
                batch_exit: 0,
            }
        });
        let task = ScriptTask {
            host,
            cluster: c,
            vm: v,
            kind: ScriptKind::Repair,
            side: Side::Primary,
            event: crate::control::ClpEvent::Start,
            factor: None,
            started: self.cal.now(),
        };
        self.spawn(id, future, task);
        self.poll_script(id);
    }
}
