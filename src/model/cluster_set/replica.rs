//! Hyper-V Replica of one VM between two worker clusters, as the cmdlets see it.
//!
//! The VM's configuration and disks live on each cluster's shared disk, so a relationship
//! belongs to a cluster, not to a host: whichever server runs the cluster's group answers for
//! it (the `backend::sim` Hyper-V farm, which tracks hosts one by one for the re-pointing
//! scripts, is more than the cluster set needs). The cmdlet preconditions are those of
//! reference/hyperv.md §1.5; the types and error strings are the backend's.

use crate::backend::sim::{HvCmd, OpOutput};
use crate::backend::{
    BackendError, PowerState, ReplicationHealth, ReplicationMode, ReplicationState, VmInfo,
    VmReplication, VM_STATUS_OPERATING_NORMALLY,
};
use crate::time::Micros;

/// One cluster's copy of the VM.
#[derive(Debug, Clone)]
pub struct VmCopy {
    /// Index into the scenario's clusters.
    pub cluster: usize,
    pub mode: ReplicationMode,
    pub state: ReplicationState,
    /// Started by a cmdlet (or at time 0): the cluster's group runs it whenever it is up.
    pub started: bool,
    /// For a primary copy the VM left: the time its data is current to.
    pub current_to: Micros,
}

/// What a cmdlet set in motion that the world must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Start-VMFailover began a failover to this copy.
    FailoverStarted,
    /// The VM was started on this copy.
    Started,
    /// An initial replication or resynchronisation began from this copy.
    ResyncStarted,
}

#[derive(Debug, Clone)]
pub struct ReplicaPair {
    pub copies: [VmCopy; 2],
}

fn invalid(vm: &str, operation: &str, detail: &str) -> BackendError {
    BackendError::InvalidState {
        vm: vm.into(),
        operation: operation.into(),
        detail: detail.into(),
    }
}

impl ReplicaPair {
    /// Running on `home` and replicating to `replica`.
    pub fn new(home: usize, replica: usize) -> ReplicaPair {
        let copy = |cluster, mode, started| VmCopy {
            cluster,
            mode,
            state: ReplicationState::Replicating,
            started,
            current_to: 0,
        };
        ReplicaPair {
            copies: [
                copy(home, ReplicationMode::Primary, true),
                copy(replica, ReplicationMode::Replica, false),
            ],
        }
    }

    pub fn copy_on(&self, cluster: usize) -> Option<usize> {
        self.copies.iter().position(|c| c.cluster == cluster)
    }

    /// The copy the cluster groups run, if any.
    pub fn started(&self) -> Option<usize> {
        self.copies.iter().position(|c| c.started)
    }

    /// Both copies replicate from the primary to the replica.
    pub fn replicating(&self) -> bool {
        self.copies
            .iter()
            .all(|c| c.state == ReplicationState::Replicating)
    }

    /// Runs a cmdlet on copy `i`. `names` gives each copy's cluster name for the views.
    pub fn apply(
        &mut self,
        i: usize,
        vm: &str,
        cmd: &HvCmd,
        names: [&str; 2],
    ) -> Result<(OpOutput, Option<Effect>), BackendError> {
        let other = 1 - i;
        let me = &self.copies[i];
        let unit = Ok((OpOutput::Unit, None));
        match cmd {
            HvCmd::GetVm { .. } => Ok((
                OpOutput::Vm(Some(VmInfo {
                    name: vm.into(),
                    state: if me.started {
                        PowerState::Running
                    } else {
                        PowerState::Off
                    },
                    status: VM_STATUS_OPERATING_NORMALLY.into(),
                })),
                None,
            )),
            HvCmd::GetReplication { .. } => {
                let (primary, replica) = match me.mode {
                    ReplicationMode::Primary => (names[i], names[other]),
                    ReplicationMode::Replica => (names[other], names[i]),
                };
                Ok((
                    OpOutput::Replication(Some(VmReplication {
                        vm_name: vm.into(),
                        mode: me.mode,
                        state: me.state,
                        health: health(me.state),
                        primary_server: primary.into(),
                        replica_server: replica.into(),
                    })),
                    None,
                ))
            }
            HvCmd::StartFailover { prepare: false, .. } => {
                let has_copy = matches!(
                    me.state,
                    ReplicationState::Replicating
                        | ReplicationState::Error
                        | ReplicationState::Suspended
                        | ReplicationState::WaitingForStartResynchronize
                );
                if me.mode != ReplicationMode::Replica || !has_copy {
                    return Err(invalid(
                        vm,
                        "Start-VMFailover",
                        "not a replica with a recovery point",
                    ));
                }
                self.copies[i].state = ReplicationState::FailedOverWaitingCompletion;
                Ok((OpOutput::Unit, Some(Effect::FailoverStarted)))
            }
            HvCmd::StartVm { .. } => {
                let allowed = match me.mode {
                    ReplicationMode::Replica => matches!(
                        me.state,
                        ReplicationState::FailedOverWaitingCompletion
                            | ReplicationState::FailedOver
                    ),
                    ReplicationMode::Primary => me.state != ReplicationState::PreparedForFailover,
                };
                if !allowed {
                    return Err(invalid(
                        vm,
                        "Start-VM",
                        "a replica virtual machine cannot be started",
                    ));
                }
                if me.started {
                    return unit;
                }
                self.copies[i].started = true;
                self.copies[other].started = false;
                // The copy the VM left cannot replicate to a partner that took over.
                if self.copies[other].mode == ReplicationMode::Primary {
                    self.copies[other].state = ReplicationState::Error;
                }
                Ok((OpOutput::Unit, Some(Effect::Started)))
            }
            HvCmd::StopVm { .. } => {
                self.copies[i].started = false;
                unit
            }
            HvCmd::CompleteFailover { .. } => {
                if me.state != ReplicationState::FailedOverWaitingCompletion {
                    return Err(invalid(
                        vm,
                        "Complete-VMFailover",
                        "not FailedOverWaitingCompletion",
                    ));
                }
                self.copies[i].state = ReplicationState::FailedOver;
                unit
            }
            HvCmd::SetAsReplica { .. } => {
                if me.started {
                    return Err(invalid(
                        vm,
                        "Set-VMReplication -AsReplica",
                        "the virtual machine is running",
                    ));
                }
                let c = &mut self.copies[i];
                c.mode = ReplicationMode::Replica;
                c.state = ReplicationState::WaitingForInitialReplication;
                unit
            }
            HvCmd::Reverse { .. } => {
                let failed_over = me.mode == ReplicationMode::Replica
                    && matches!(
                        me.state,
                        ReplicationState::FailedOver
                            | ReplicationState::FailedOverWaitingCompletion
                    );
                if !failed_over || !self.partner_waits(other) {
                    return Err(invalid(
                        vm,
                        "Set-VMReplication -Reverse",
                        "not failed over, or the old primary is not a replica",
                    ));
                }
                let c = &mut self.copies[i];
                c.mode = ReplicationMode::Primary;
                c.state = ReplicationState::ReadyForInitialReplication;
                unit
            }
            HvCmd::StartInitialReplication { .. } => {
                let pending = me.mode == ReplicationMode::Primary
                    && me.state == ReplicationState::ReadyForInitialReplication;
                if !pending || !self.partner_waits(other) {
                    return Err(invalid(
                        vm,
                        "Start-VMInitialReplication",
                        "initial replication is not pending",
                    ));
                }
                self.copies[i].state = ReplicationState::InitialReplicationInProgress;
                Ok((OpOutput::Unit, Some(Effect::ResyncStarted)))
            }
            HvCmd::Resume { resynchronize, .. } => {
                let resumable = me.mode == ReplicationMode::Primary
                    && matches!(
                        me.state,
                        ReplicationState::Error
                            | ReplicationState::Suspended
                            | ReplicationState::WaitingForStartResynchronize
                    );
                if !resumable || !*resynchronize || !self.partner_waits(other) {
                    return Err(invalid(
                        vm,
                        "Resume-VMReplication",
                        "nothing to resynchronize with",
                    ));
                }
                self.copies[i].state = ReplicationState::InitialReplicationInProgress;
                Ok((OpOutput::Unit, Some(Effect::ResyncStarted)))
            }
            other_cmd => Err(invalid(
                vm,
                &format!("{other_cmd:?}"),
                "not used in a cluster set",
            )),
        }
    }

    fn partner_waits(&self, i: usize) -> bool {
        let c = &self.copies[i];
        c.mode == ReplicationMode::Replica
            && c.state == ReplicationState::WaitingForInitialReplication
    }

    /// The initial replication or resynchronisation from copy `i` has transferred.
    pub fn resync_done(&mut self, i: usize) -> bool {
        let c = &self.copies[i];
        let running = c.mode == ReplicationMode::Primary
            && c.state == ReplicationState::InitialReplicationInProgress;
        if running && self.partner_waits(1 - i) {
            for c in &mut self.copies {
                c.state = ReplicationState::Replicating;
            }
            true
        } else {
            false
        }
    }
}

fn health(state: ReplicationState) -> ReplicationHealth {
    match state {
        ReplicationState::Replicating => ReplicationHealth::Normal,
        ReplicationState::Error | ReplicationState::WaitingForStartResynchronize => {
            ReplicationHealth::Critical
        }
        _ => ReplicationHealth::Warning,
    }
}
