//! The Hyper-V mock: per host and VM the registration, power state and replication
//! relationship, with the cmdlets' documented preconditions and the documented behaviour of
//! a host that loses the VM's storage.

use std::collections::BTreeMap;

use rand::Rng;

use super::assumptions::CrashState;
use super::name_map::NameMap;
use super::op::{HvCmd, OpOutput, OpResult};
use crate::backend::{
    BackendError, Name, PowerState, ReplicationHealth, ReplicationMode, ReplicationState, VmInfo,
    VmReplication, VM_STATUS_CREATING_CHECKPOINT, VM_STATUS_OPERATING_NORMALLY,
};
use crate::control::Side;
use crate::time::Micros;

/// One side's replication relationship.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relationship {
    pub mode: ReplicationMode,
    pub state: ReplicationState,
    pub health: ReplicationHealth,
    /// Empty on a replica until a primary's Enable-VMReplication reaches it. Shared names:
    /// every Get-VMReplication hands them out.
    pub primary: Name,
    pub replica: Name,
    /// The host lost the VM's disk while holding this relationship: the documented source of
    /// the flaky "configuration was not accessible" removal later on.
    pub config_lost: bool,
    /// What the state was before the disk went away (restored if it comes back untouched).
    pub before_loss: Option<(ReplicationState, ReplicationHealth)>,
    /// How often a cycle ships the writes (`-ReplicationFrequencySec`; the replica side
    /// learns it from the primary).
    pub frequency_s: u32,
}

/// Hyper-V's replication frequency when `Enable-VMReplication` is given none.
pub const DEFAULT_REPLICATION_FREQUENCY_S: u32 = 300;

impl std::fmt::Display for Relationship {
    /// As `Get-VMReplication` would summarise it: `Primary/Replicating c1s1 -> c2s1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} {} -> {}",
            self.mode, self.state, self.primary, self.replica
        )
    }
}

/// The DNS domain of the mocked hosts: Hyper-V reports a relationship's primary server by
/// its FQDN, whatever name the control logic knows it by.
pub const MOCK_DNS_DOMAIN: &str = "ecx.example";

/// `host` in the mock's DNS domain, made in place: the name is built once, not copied again.
fn fqdn(host: &str) -> Name {
    let mut text = [0u8; 64];
    let len = host.len() + 1 + MOCK_DNS_DOMAIN.len();
    if len <= text.len() {
        text[..host.len()].copy_from_slice(host.as_bytes());
        text[host.len()] = b'.';
        text[host.len() + 1..len].copy_from_slice(MOCK_DNS_DOMAIN.as_bytes());
        if let Ok(name) = std::str::from_utf8(&text[..len]) {
            return Name::from(name);
        }
    }
    Name::from([host, ".", MOCK_DNS_DOMAIN].concat())
}

impl Relationship {
    /// What Get-VMReplication reports: `PrimaryServer` as the primary host's FQDN,
    /// `ReplicaServer` as the name replication was enabled with.
    fn view(&self, vm: Name, hosts: &NameMap<HostState>) -> VmReplication {
        let primary_server = match hosts.get(&self.primary) {
            Some(h) => Name::clone(&h.fqdn),
            None => fqdn(&self.primary),
        };
        VmReplication {
            vm_name: vm,
            mode: self.mode,
            state: self.state,
            health: self.health,
            primary_server,
            replica_server: Name::clone(&self.replica),
        }
    }

    fn set(&mut self, state: ReplicationState, health: ReplicationHealth) {
        self.state = state;
        self.health = health;
    }
}

/// A VM registered on a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VmOnHost {
    pub power: PowerState,
    /// `Get-VM .Status` reads "Creating checkpoint" until then.
    pub checkpoint_until: Micros,
    /// With counted checkpoints (`HyperVFarm::counted_checkpoints`): how many more Get-VM
    /// answers read "Creating checkpoint".
    pub checkpoint_answers: u32,
    pub replication: Option<Relationship>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostState {
    pub cluster: String,
    pub up: bool,
    /// False while cut off the network.
    pub connected: bool,
    /// The cluster's shared disk is attached here (this is the group's active server).
    pub disk: bool,
    pub vms: NameMap<VmOnHost>,
    /// The host's name in the mock's DNS domain, made once: every Get-VMReplication of a
    /// relationship whose primary it is reports it.
    fqdn: Name,
}

impl HostState {
    /// A host of `cluster` named `name`, up and connected, with no disk and no VMs.
    pub fn new(name: &str, cluster: &str) -> HostState {
        HostState {
            cluster: cluster.into(),
            up: true,
            connected: true,
            disk: false,
            vms: NameMap::new(),
            fqdn: fqdn(name),
        }
    }
}

impl VmOnHost {
    /// A checkpoint is being created: Get-VM says so and Start-VM is refused.
    fn creating_checkpoint(&self, now: Micros) -> bool {
        now < self.checkpoint_until || self.checkpoint_answers > 0
    }

    fn drop_checkpoint(&mut self) {
        self.checkpoint_until = 0;
        self.checkpoint_answers = 0;
    }
}

impl HostState {
    /// `vm` runs here with its disk: the copy clients can use. A VM left running on a host
    /// that lost the disk does no I/O, so it serves nothing (and is not a second copy).
    pub fn serves(&self, vm: &str) -> bool {
        self.serving(vm).is_some()
    }

    /// The copy of `vm` that serves from here, if it does (`serves`).
    pub fn serving(&self, vm: &str) -> Option<&VmOnHost> {
        if !self.can_serve() {
            return None;
        }
        self.vms.get(vm).filter(|on| self.serves_copy(on))
    }

    /// A copy here could serve: the host is up with the disk.
    pub fn can_serve(&self) -> bool {
        self.up && self.disk
    }

    /// `on`, one of this host's VMs, serves from here (`serves`).
    pub fn serves_copy(&self, on: &VmOnHost) -> bool {
        self.can_serve() && on.power == PowerState::Running
    }
}

/// What a cmdlet set in motion that the world must time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HvEffect {
    /// Initial replication of `vm` from `primary` started; the world completes it later.
    InitialReplicationStarted { vm: Name, primary: Name },
}

/// All Hyper-V hosts of the world.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HyperVFarm {
    pub hosts: NameMap<HostState>,
    /// Which cluster's disk holds each vmcx path.
    pub paths: BTreeMap<String, (String, String)>,
    /// Checkpoints measured in Get-VM answers instead of time: each one reads "Creating
    /// checkpoint" for exactly this many answers. The exhaustive race uses it, where calls
    /// complete in a chosen order rather than after a duration.
    pub counted_checkpoints: Option<u32>,
    changes: ChangeCount,
    /// The empty name a Replica relationship has for its primary until Enable-VMReplication
    /// reaches it (after `-AsReplica`, Enable or Set): one, shared, instead of one made each
    /// time.
    no_name: Name,
}

/// How many times the farm's methods may have changed it: a reader that derived something
/// from the farm can tell it still holds while the count stands. It is history, not state:
/// two farms in the same state compare and hash equal whatever their counts (the exhaustive
/// explorer merges such states).
#[derive(Debug, Clone, Copy, Default)]
struct ChangeCount(u64);

impl PartialEq for ChangeCount {
    fn eq(&self, _: &ChangeCount) -> bool {
        true
    }
}

impl Eq for ChangeCount {}

impl std::hash::Hash for ChangeCount {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// Where a VM's configuration file lives on a cluster's shared disk (`$VMPath\$vmcxid`).
pub fn vmcx_path(cluster: &str, vm: &str, side: Side) -> String {
    let folder = match side {
        Side::Primary => "Virtual Machines",
        Side::Replica => "Hyper-V Replica\\Virtual Machines",
    };
    // Joined, not formatted: an operator's repair builds two at every launch.
    ["\\\\", cluster, "\\T:\\VMs\\", folder, "\\", vm, ".vmcx"].concat()
}

/// A VM running on `primary` and replicating, healthy, to `replica` (the hosts exist).
pub fn initial_pair(
    farm: &mut HyperVFarm,
    vm: &str,
    primary: &str,
    replica: &str,
    frequency_s: u32,
) {
    let rel = |mode| Relationship {
        mode,
        state: ReplicationState::Replicating,
        health: ReplicationHealth::Normal,
        primary: primary.into(),
        replica: replica.into(),
        config_lost: false,
        before_loss: None,
        frequency_s,
    };
    for (host, power, mode) in [
        (primary, PowerState::Running, ReplicationMode::Primary),
        (replica, PowerState::Off, ReplicationMode::Replica),
    ] {
        if let Some(h) = farm.hosts.get_mut(host) {
            h.vms.insert(
                vm.to_string(),
                VmOnHost {
                    power,
                    checkpoint_until: 0,
                    checkpoint_answers: 0,
                    replication: Some(rel(mode)),
                },
            );
        }
    }
}

fn not_found(vm: &str, host: &str) -> BackendError {
    BackendError::VmNotFound {
        vm: vm.into(),
        host: host.into(),
    }
}

fn invalid(vm: &str, operation: &str, detail: impl Into<String>) -> BackendError {
    BackendError::InvalidState {
        vm: vm.into(),
        operation: operation.into(),
        detail: detail.into(),
    }
}

fn not_accessible(vm: &str) -> BackendError {
    BackendError::ConfigurationNotAccessible { vm: vm.into() }
}

impl HyperVFarm {
    /// The farm's change count (see `ChangeCount`): unchanged since a reading, the reading
    /// still holds.
    pub fn changes(&self) -> u64 {
        self.changes.0
    }

    fn changed(&mut self) {
        self.changes.0 += 1;
    }

    pub fn add_host(&mut self, name: &str, cluster: &str) {
        self.changed();
        self.hosts.insert(name, HostState::new(name, cluster));
    }

    /// Whether `caller` can run a command on `host` (itself, or over WinRM).
    pub fn reach(&self, caller: &str, host: &str) -> Result<(), BackendError> {
        self.reach_place(caller, host).map(|_| ())
    }

    /// `reach`, and `host`'s place if it can.
    fn reach_place(&self, caller: &str, host: &str) -> Result<usize, BackendError> {
        if host.is_empty() {
            return Err(BackendError::NoTarget);
        }
        let unreachable = || BackendError::Unreachable {
            target: host.to_string(),
        };
        let place = self.hosts.place(host).ok_or_else(unreachable)?;
        let target = self.hosts.at(place);
        if !target.up {
            return Err(unreachable());
        }
        if caller != host {
            let caller_connected = self.hosts.get(caller).is_none_or(|c| c.connected);
            if !target.connected || !caller_connected {
                return Err(unreachable());
            }
        }
        Ok(place)
    }

    pub fn vm(&self, host: &str, vm: &str) -> Option<&VmOnHost> {
        self.hosts.get(host)?.vms.get(vm)
    }

    pub fn relationship(&self, host: &str, vm: &str) -> Option<&Relationship> {
        self.vm(host, vm)?.replication.as_ref()
    }

    fn has_disk(&self, host: &str) -> bool {
        self.hosts.get(host).is_some_and(|h| h.disk && h.up)
    }

    /// Runs one cmdlet on `host` for `caller`, at `now`. `flaky` is the probability that the
    /// documented flaky removal fails; `checkpoint` how long Start-VMInitialReplication shows
    /// "Creating checkpoint".
    #[allow(clippy::too_many_arguments)]
    pub fn apply<R: Rng + ?Sized>(
        &mut self,
        caller: &str,
        host: &Name,
        cmd: &HvCmd,
        now: Micros,
        flaky: f64,
        checkpoint: Micros,
        rng: &mut R,
    ) -> (OpResult, Option<HvEffect>) {
        // The host is found once; the reads and Stop-VM use its place (the other commands
        // go through helpers that take names).
        let place = match self.reach_place(caller, host) {
            Ok(place) => place,
            Err(e) => return (Err(e), None),
        };
        if !cmd.only_reads() {
            self.changed();
        }
        let mut effect = None;
        let result = match cmd {
            HvCmd::GetVm { vm } => Ok(OpOutput::Vm(self.hosts.at_mut(place).vms.get_mut(vm).map(
                |v| {
                    let creating = v.creating_checkpoint(now);
                    // A counted checkpoint is used up by being read.
                    v.checkpoint_answers = v.checkpoint_answers.saturating_sub(1);
                    VmInfo {
                        name: Name::clone(vm),
                        state: v.power,
                        status: if creating {
                            VM_STATUS_CREATING_CHECKPOINT
                        } else {
                            VM_STATUS_OPERATING_NORMALLY
                        }
                        .into(),
                    }
                },
            ))),
            HvCmd::GetReplication { vm } => match self.hosts.at(place).vms.get(vm) {
                None => Err(not_found(vm, host)),
                Some(v) => Ok(OpOutput::Replication(
                    v.replication
                        .as_ref()
                        .map(|r| r.view(Name::clone(vm), &self.hosts)),
                )),
            },
            HvCmd::ListReplication => Ok(OpOutput::Replications(
                self.hosts
                    .at(place)
                    .vms
                    .iter()
                    .filter_map(|(name, v)| {
                        (v.replication.as_ref()).map(|r| r.view(Name::clone(name), &self.hosts))
                    })
                    .collect(),
            )),
            HvCmd::StartVm { vm } => self.start_vm(host, vm, now),
            HvCmd::StopVm { vm } => match self.hosts.at_mut(place).vms.get_mut(vm) {
                None => Err(not_found(vm, host)),
                Some(v) => {
                    v.power = PowerState::Off;
                    Ok(OpOutput::Unit)
                }
            },
            HvCmd::ImportVm { vm, path } => self.import(host, vm, path),
            HvCmd::RemoveReplication { vm } => {
                let has_disk = self.has_disk(host);
                match self.vm_mut(host, vm) {
                    None => Err(not_found(vm, host)),
                    Some(VmOnHost {
                        replication: None, ..
                    }) => Err(BackendError::NotReplicating {
                        vm: vm.to_string(),
                        host: host.to_string(),
                    }),
                    Some(_) if !has_disk => Err(not_accessible(vm)),
                    Some(v) => {
                        let rel = v.replication.as_ref().expect("checked above");
                        // Observed only on the cluster holding the Primary relationship.
                        let flaky_here = rel.config_lost && rel.mode == ReplicationMode::Primary;
                        if flaky_here && flaky > 0.0 && rng.random::<f64>() < flaky {
                            Err(not_accessible(vm))
                        } else {
                            v.replication = None;
                            Ok(OpOutput::Unit)
                        }
                    }
                }
            }
            HvCmd::EnableAsReplica { vm } => self.enable_as_replica(host, vm),
            HvCmd::EnableReplication {
                vm,
                replica,
                frequency_s,
            } => {
                let every = frequency_s.unwrap_or(DEFAULT_REPLICATION_FREQUENCY_S);
                self.enable(host, vm, replica, every)
            }
            HvCmd::StartInitialReplication { vm } => {
                let r = self.start_initial_replication(host, vm, now, checkpoint);
                if r.is_ok() {
                    effect = Some(HvEffect::InitialReplicationStarted {
                        vm: Name::clone(vm),
                        primary: Name::clone(host),
                    });
                }
                r
            }
            HvCmd::StartFailover { vm, prepare } => self.start_failover(host, vm, *prepare),
            HvCmd::CompleteFailover { vm } => self.complete_failover(host, vm),
            HvCmd::Reverse { vm, replica } => self.reverse(host, vm, replica),
            HvCmd::SetAsReplica { vm } => self.set_as_replica(host, vm),
            HvCmd::Resume { vm, resynchronize } => {
                let r = self.resume(host, vm, *resynchronize);
                if r.is_ok() && *resynchronize {
                    effect = Some(HvEffect::InitialReplicationStarted {
                        vm: Name::clone(vm),
                        primary: Name::clone(host),
                    });
                }
                r
            }
        };
        (result, effect)
    }

    fn vm_mut(&mut self, host: &str, vm: &str) -> Option<&mut VmOnHost> {
        self.hosts.get_mut(host)?.vms.get_mut(vm)
    }

    fn rel_mut(&mut self, host: &str, vm: &str) -> Option<&mut Relationship> {
        self.vm_mut(host, vm)?.replication.as_mut()
    }

    fn start_vm(&mut self, host: &str, vm: &str, now: Micros) -> OpResult {
        let has_disk = self.has_disk(host);
        let v = self.vm_mut(host, vm).ok_or_else(|| not_found(vm, host))?;
        if !has_disk {
            return Err(not_accessible(vm));
        }
        if v.creating_checkpoint(now) {
            return Err(invalid(vm, "Start-VM", "a checkpoint is being created"));
        }
        if let Some(rel) = &v.replication {
            if rel.mode == ReplicationMode::Replica
                && !matches!(
                    rel.state,
                    ReplicationState::FailedOverWaitingCompletion | ReplicationState::FailedOver
                )
            {
                return Err(invalid(
                    vm,
                    "Start-VM",
                    "a replica virtual machine cannot be started",
                ));
            }
            if rel.state == ReplicationState::PreparedForFailover {
                return Err(invalid(vm, "Start-VM", "prepared for planned failover"));
            }
        }
        v.power = PowerState::Running;
        Ok(OpOutput::Unit)
    }

    fn import(&mut self, host: &str, vm: &str, path: &str) -> OpResult {
        let cluster = self.hosts[host].cluster.clone();
        let accessible = self
            .paths
            .get(path)
            .is_some_and(|(c, v)| *c == cluster && v == vm)
            && self.has_disk(host);
        if self.vm(host, vm).is_some() {
            return Err(BackendError::VmAlreadyExists {
                vm: vm.into(),
                host: host.into(),
            });
        }
        if !accessible {
            return Err(BackendError::PathNotAccessible {
                path: path.into(),
                host: host.into(),
            });
        }
        self.hosts.get_mut(host).expect("reached").vms.insert(
            vm.to_string(),
            VmOnHost {
                power: PowerState::Off,
                checkpoint_until: 0,
                checkpoint_answers: 0,
                replication: None,
            },
        );
        Ok(OpOutput::Unit)
    }

    fn enable_as_replica(&mut self, host: &Name, vm: &str) -> OpResult {
        let has_disk = self.has_disk(host);
        let no_primary = Name::clone(&self.no_name);
        let v = self.vm_mut(host, vm).ok_or_else(|| not_found(vm, host))?;
        if v.replication.is_some() {
            return Err(BackendError::AlreadyReplicating {
                vm: vm.into(),
                host: host.to_string(),
            });
        }
        if !has_disk {
            return Err(not_accessible(vm));
        }
        if v.power != PowerState::Off {
            return Err(invalid(
                vm,
                "Enable-VMReplication -AsReplica",
                "the virtual machine is running",
            ));
        }
        v.replication = Some(Relationship {
            mode: ReplicationMode::Replica,
            state: ReplicationState::WaitingForInitialReplication,
            health: ReplicationHealth::Warning,
            primary: no_primary,
            replica: Name::clone(host),
            frequency_s: DEFAULT_REPLICATION_FREQUENCY_S,
            config_lost: false,
            before_loss: None,
        });
        Ok(OpOutput::Unit)
    }

    /// Names as the cmdlet carried them: the relationships keep them, without copies.
    fn enable(&mut self, host: &Name, vm: &Name, replica: &Name, frequency_s: u32) -> OpResult {
        if replica.is_empty() {
            return Err(BackendError::NoTarget);
        }
        let v = self.vm(host, vm).ok_or_else(|| not_found(vm, host))?;
        if v.replication.is_some() {
            return Err(BackendError::AlreadyReplicating {
                vm: vm.to_string(),
                host: host.to_string(),
            });
        }
        if !self.has_disk(host) {
            return Err(not_accessible(vm));
        }
        if replica == host {
            return Err(invalid(
                vm,
                "Enable-VMReplication",
                "the replica server is this server",
            ));
        }
        // The primary connects to the replica server over HTTP/Kerberos.
        self.reach(host, replica)?;
        match self.vm(replica, vm).map(|v| v.replication.as_ref()) {
            Some(Some(rel))
                if rel.mode == ReplicationMode::Replica
                    && rel.state == ReplicationState::WaitingForInitialReplication
                    && (rel.primary.is_empty() || *rel.primary == **host) =>
            {
                let rel = self.rel_mut(replica, vm).expect("present");
                rel.primary = Name::clone(host);
                rel.frequency_s = frequency_s;
            }
            Some(Some(rel)) => {
                return Err(invalid(
                    vm,
                    "Enable-VMReplication",
                    format!(
                        "'{replica}' already holds a {} relationship for it",
                        rel.mode
                    ),
                ))
            }
            Some(None) => {
                return Err(BackendError::VmAlreadyExists {
                    vm: vm.to_string(),
                    host: replica.to_string(),
                })
            }
            None => {
                // The replica server creates a placeholder VM in its storage location, which
                // in this design is on its cluster's shared disk.
                if !self.has_disk(replica) {
                    return Err(not_accessible(vm));
                }
                self.hosts.get_mut(replica).expect("reached").vms.insert(
                    Name::clone(vm),
                    VmOnHost {
                        power: PowerState::Off,
                        checkpoint_until: 0,
                        checkpoint_answers: 0,
                        replication: Some(Relationship {
                            mode: ReplicationMode::Replica,
                            state: ReplicationState::WaitingForInitialReplication,
                            health: ReplicationHealth::Warning,
                            primary: Name::clone(host),
                            replica: Name::clone(replica),
                            config_lost: false,
                            before_loss: None,
                            frequency_s,
                        }),
                    },
                );
            }
        }
        self.vm_mut(host, vm).expect("present").replication = Some(Relationship {
            mode: ReplicationMode::Primary,
            state: ReplicationState::ReadyForInitialReplication,
            health: ReplicationHealth::Warning,
            primary: Name::clone(host),
            replica: Name::clone(replica),
            config_lost: false,
            before_loss: None,
            frequency_s,
        });
        Ok(OpOutput::Unit)
    }

    fn start_initial_replication(
        &mut self,
        host: &str,
        vm: &str,
        now: Micros,
        checkpoint: Micros,
    ) -> OpResult {
        let v = self.vm(host, vm).ok_or_else(|| not_found(vm, host))?;
        let rel = v
            .replication
            .clone()
            .ok_or_else(|| BackendError::NotReplicating {
                vm: vm.into(),
                host: host.into(),
            })?;
        if rel.mode != ReplicationMode::Primary
            || rel.state != ReplicationState::ReadyForInitialReplication
        {
            return Err(invalid(
                vm,
                "Start-VMInitialReplication",
                format!(
                    "initial replication is not pending ({} {})",
                    rel.mode, rel.state
                ),
            ));
        }
        if !self.has_disk(host) {
            return Err(not_accessible(vm));
        }
        self.reach(host, &rel.replica)?;
        if !self.pair_bound(host, &rel.replica, vm) {
            return Err(invalid(
                vm,
                "Start-VMInitialReplication",
                format!("'{}' is not a replica of '{host}'", rel.replica),
            ));
        }
        let counted = self.counted_checkpoints;
        let v = self.vm_mut(host, vm).expect("present");
        match counted {
            Some(answers) => v.checkpoint_answers = answers,
            None => v.checkpoint_until = now + checkpoint,
        }
        v.replication.as_mut().expect("present").set(
            ReplicationState::InitialReplicationInProgress,
            ReplicationHealth::Warning,
        );
        Ok(OpOutput::Unit)
    }

    /// `replica` holds a Replica relationship whose primary is `primary`.
    fn pair_bound(&self, primary: &str, replica: &str, vm: &str) -> bool {
        self.relationship(replica, vm)
            .is_some_and(|r| r.mode == ReplicationMode::Replica && *r.primary == *primary)
    }

    /// Both ends can talk and hold matching relationships, with their disks.
    pub fn pair_intact(&self, primary: &str, vm: &str) -> bool {
        let Some(rel) = self.relationship(primary, vm) else {
            return false;
        };
        rel.mode == ReplicationMode::Primary
            && self.has_disk(primary)
            && self.has_disk(&rel.replica)
            && self.reach(primary, &rel.replica).is_ok()
            && self.pair_bound(primary, &rel.replica, vm)
    }

    /// Initial replication started on `primary` has transferred: both ends replicate, or the
    /// primary records an error if the pair came apart meanwhile. True on success.
    pub fn finish_initial_replication(&mut self, primary: &str, vm: &str) -> bool {
        self.changed();
        let in_progress = self.relationship(primary, vm).is_some_and(|r| {
            r.mode == ReplicationMode::Primary
                && r.state == ReplicationState::InitialReplicationInProgress
        });
        if !in_progress || !self.hosts[primary].up {
            return false;
        }
        if self.pair_intact(primary, vm) {
            let replica = self
                .relationship(primary, vm)
                .expect("present")
                .replica
                .clone();
            for host in [primary, &*replica] {
                let rel = self.rel_mut(host, vm).expect("present");
                rel.set(ReplicationState::Replicating, ReplicationHealth::Normal);
            }
            true
        } else {
            self.rel_mut(primary, vm)
                .expect("present")
                .set(ReplicationState::Error, ReplicationHealth::Critical);
            false
        }
    }

    /// The shared disk leaves `host`: its relationships go to Error/Critical; a running VM
    /// keeps its power state (the documented "VM keeps running") but has no storage.
    pub fn detach_disk(&mut self, host: &str) {
        self.changed();
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        h.disk = false;
        for v in h.vms.values_mut() {
            if let Some(rel) = v.replication.as_mut() {
                if rel.before_loss.is_none() {
                    rel.before_loss = Some((rel.state, rel.health));
                }
                rel.config_lost = true;
                rel.set(ReplicationState::Error, ReplicationHealth::Critical);
            }
        }
    }

    /// The shared disk comes (back) to `host`. A relationship whose partner still points back
    /// resumes where it was; one whose pair was re-pointed meanwhile stays in Error.
    pub fn attach_disk(&mut self, host: &str) {
        self.changed();
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        h.disk = true;
        let vms: Vec<Name> = h.vms.keys().cloned().collect();
        for vm in vms {
            let Some(rel) = self.relationship(host, &vm).cloned() else {
                continue;
            };
            let Some((state, health)) = rel.before_loss else {
                continue;
            };
            let partner_points_back = match rel.mode {
                ReplicationMode::Primary => self.pair_bound(host, &rel.replica, &vm),
                ReplicationMode::Replica => self
                    .relationship(&rel.primary, &vm)
                    .is_some_and(|p| p.mode == ReplicationMode::Primary && *p.replica == *host),
            };
            let rel = self.rel_mut(host, &vm).expect("present");
            rel.before_loss = None;
            if partner_points_back {
                rel.set(state, health);
            }
        }
    }

    /// The critical pause of the VMs that lost their storage on `host` ran out: they are
    /// turned off (`AutomaticCriticalErrorActionTimeout`).
    pub fn power_off_without_disk(&mut self, host: &str) {
        self.changed();
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        if !h.disk {
            for v in h.vms.values_mut() {
                v.power = PowerState::Off;
                v.drop_checkpoint();
            }
        }
    }

    /// A cycle of `vm`'s Primary relationship on `host` could not be delivered and the
    /// failure sticks: Error, health Critical, until Resume-VMReplication or a re-pointing.
    /// False if there was no replicating Primary relationship there to fail.
    pub fn fail_cycle(&mut self, host: &str, vm: &str) -> bool {
        let Some(rel) = self.rel_mut(host, vm) else {
            return false;
        };
        if rel.mode != ReplicationMode::Primary || rel.state != ReplicationState::Replicating {
            return false;
        }
        rel.set(ReplicationState::Error, ReplicationHealth::Critical);
        self.changed();
        true
    }

    /// The host dies: every VM on it stops; its disk is gone with it. `leaves` is what its
    /// primary relationships come back to with the disk (see `CrashState`).
    pub fn crash(&mut self, host: &str, leaves: CrashState) {
        self.changed();
        self.detach_disk(host);
        if let Some(h) = self.hosts.get_mut(host) {
            h.up = false;
            h.connected = true;
            for v in h.vms.values_mut() {
                v.power = PowerState::Off;
                v.drop_checkpoint();
                let primary = v.replication.as_mut().filter(|r| {
                    r.mode == ReplicationMode::Primary
                        && leaves == CrashState::ResynchronizationRequired
                });
                if let Some(rel) = primary {
                    rel.before_loss = Some((
                        ReplicationState::WaitingForStartResynchronize,
                        ReplicationHealth::Critical,
                    ));
                }
            }
        }
    }

    pub fn power_on(&mut self, host: &str) {
        self.changed();
        if let Some(h) = self.hosts.get_mut(host) {
            h.up = true;
            h.connected = true;
        }
    }

    pub fn set_connected(&mut self, host: &str, connected: bool) {
        self.changed();
        if let Some(h) = self.hosts.get_mut(host) {
            h.connected = connected;
        }
    }

    /// Hosts where `vm` is powered on.
    /// The hosts `vm` serves from (`HostState::serves`).
    pub fn serving_hosts(&self, vm: &str) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|(_, h)| h.serves(vm))
            .map(|(n, _)| &**n)
            .collect()
    }

    pub fn running_hosts(&self, vm: &str) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|(_, h)| h.up)
            .filter(|(_, h)| {
                h.vms
                    .get(vm)
                    .is_some_and(|v| v.power == PowerState::Running)
            })
            .map(|(n, _)| n.to_string())
            .collect()
    }

    fn start_failover(&mut self, host: &str, vm: &str, prepare: bool) -> OpResult {
        let v = self.vm(host, vm).ok_or_else(|| not_found(vm, host))?;
        let rel = v
            .replication
            .clone()
            .ok_or_else(|| BackendError::NotReplicating {
                vm: vm.into(),
                host: host.into(),
            })?;
        if prepare {
            if rel.mode != ReplicationMode::Primary || v.power != PowerState::Off {
                return Err(invalid(
                    vm,
                    "Start-VMFailover -Prepare",
                    "the primary virtual machine must be shut down",
                ));
            }
            self.rel_mut(host, vm).expect("present").set(
                ReplicationState::PreparedForFailover,
                ReplicationHealth::Normal,
            );
        } else {
            if rel.mode != ReplicationMode::Replica {
                return Err(invalid(vm, "Start-VMFailover", "not a replica"));
            }
            // Until its initial replication completes, a replica has no recovery point.
            if rel.state == ReplicationState::WaitingForInitialReplication {
                return Err(invalid(
                    vm,
                    "Start-VMFailover",
                    "the replica has no recovery point (initial replication not complete)",
                ));
            }
            self.rel_mut(host, vm).expect("present").set(
                ReplicationState::FailedOverWaitingCompletion,
                ReplicationHealth::Warning,
            );
        }
        Ok(OpOutput::Unit)
    }

    fn complete_failover(&mut self, host: &str, vm: &str) -> OpResult {
        let rel = self.rel_mut(host, vm).ok_or_else(|| not_found(vm, host))?;
        if rel.state != ReplicationState::FailedOverWaitingCompletion {
            return Err(invalid(
                vm,
                "Complete-VMFailover",
                "not FailedOverWaitingCompletion",
            ));
        }
        rel.set(ReplicationState::FailedOver, ReplicationHealth::Warning);
        Ok(OpOutput::Unit)
    }

    /// `Set-VMReplication -AsReplica` on an old primary (VM off): it waits for the reversed
    /// relationship's initial replication.
    fn set_as_replica(&mut self, host: &str, vm: &str) -> OpResult {
        let has_disk = self.has_disk(host);
        let no_primary = Name::clone(&self.no_name);
        let v = self.vm_mut(host, vm).ok_or_else(|| not_found(vm, host))?;
        if !has_disk {
            return Err(not_accessible(vm));
        }
        if v.power != PowerState::Off {
            return Err(invalid(
                vm,
                "Set-VMReplication -AsReplica",
                "the virtual machine is running",
            ));
        }
        let rel = v
            .replication
            .as_mut()
            .ok_or_else(|| BackendError::NotReplicating {
                vm: vm.into(),
                host: host.into(),
            })?;
        rel.mode = ReplicationMode::Replica;
        rel.primary = no_primary;
        rel.replica = host.into();
        rel.config_lost = false;
        rel.before_loss = None;
        rel.set(
            ReplicationState::WaitingForInitialReplication,
            ReplicationHealth::Warning,
        );
        Ok(OpOutput::Unit)
    }

    /// `Resume-VMReplication`: only from Suspended, Error or resynchronization required.
    /// With `-Resynchronize` the pair is compared and brought level first: the transfer takes
    /// time like an initial replication, which the world completes later.
    fn resume(&mut self, host: &str, vm: &str, resynchronize: bool) -> OpResult {
        if !self.has_disk(host) {
            return Err(not_accessible(vm));
        }
        let rel = self.rel_mut(host, vm).ok_or_else(|| not_found(vm, host))?;
        if !matches!(
            rel.state,
            ReplicationState::Suspended
                | ReplicationState::Error
                | ReplicationState::WaitingForStartResynchronize
        ) {
            return Err(invalid(
                vm,
                "Resume-VMReplication",
                "replication is not suspended, in error or waiting for resynchronization",
            ));
        }
        if resynchronize {
            rel.set(
                ReplicationState::InitialReplicationInProgress,
                ReplicationHealth::Warning,
            );
        } else {
            rel.set(ReplicationState::Replicating, ReplicationHealth::Normal);
        }
        Ok(OpOutput::Unit)
    }

    fn reverse(&mut self, host: &str, vm: &str, replica: &str) -> OpResult {
        let rel = self
            .relationship(host, vm)
            .cloned()
            .ok_or_else(|| not_found(vm, host))?;
        if rel.mode != ReplicationMode::Replica
            || !matches!(
                rel.state,
                ReplicationState::FailedOver | ReplicationState::FailedOverWaitingCompletion
            )
        {
            return Err(invalid(vm, "Set-VMReplication -Reverse", "not failed over"));
        }
        self.reach(host, replica)?;
        let other = self.relationship(replica, vm).cloned();
        let planned = other
            .as_ref()
            .is_some_and(|o| o.state == ReplicationState::PreparedForFailover);
        let unplanned = other.as_ref().is_some_and(|o| {
            o.mode == ReplicationMode::Replica
                && o.state == ReplicationState::WaitingForInitialReplication
        });
        if !planned && !unplanned {
            return Err(invalid(
                vm,
                "Set-VMReplication -Reverse",
                "the old primary is neither prepared nor a replica",
            ));
        }
        let (state, health) = if planned {
            (ReplicationState::Replicating, ReplicationHealth::Normal)
        } else {
            (
                ReplicationState::ReadyForInitialReplication,
                ReplicationHealth::Warning,
            )
        };
        let rel = self.rel_mut(host, vm).expect("present");
        // Reversing keeps the relationship's frequency.
        *rel = Relationship {
            mode: ReplicationMode::Primary,
            state,
            health,
            primary: host.into(),
            replica: replica.into(),
            config_lost: false,
            before_loss: None,
            frequency_s: rel.frequency_s,
        };
        let o = self.rel_mut(replica, vm).expect("present");
        o.mode = ReplicationMode::Replica;
        o.primary = host.into();
        o.replica = replica.into();
        if planned {
            o.set(ReplicationState::Replicating, ReplicationHealth::Normal);
        }
        Ok(OpOutput::Unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::HvCmd;
    use rand::SeedableRng;

    /// Hosts `p` and `r` of one cluster, each with its disk, `vm` running on `p` and
    /// replicating every 30 s to `r`.
    fn healthy_pair() -> HyperVFarm {
        let mut farm = HyperVFarm::default();
        for h in ["p", "r"] {
            farm.add_host(h, "c");
            farm.hosts.get_mut(h).unwrap().disk = true;
        }
        initial_pair(&mut farm, "vm", "p", "r", 30);
        farm
    }

    #[test]
    fn enable_without_a_frequency_replicates_every_five_minutes() {
        let mut farm = healthy_pair();
        assert_eq!(farm.relationship("p", "vm").unwrap().frequency_s, 30);
        let mut rng = crate::engine::Stream::seed_from_u64(1);
        let mut run = |farm: &mut HyperVFarm, host: &str, cmd: HvCmd| {
            let (result, _) = farm.apply(host, &Name::from(host), &cmd, 0, 0.0, 0, &mut rng);
            result.unwrap_or_else(|e| panic!("{e}"));
        };
        let vm = || crate::backend::Name::from("vm");
        run(&mut farm, "p", HvCmd::RemoveReplication { vm: vm() });
        run(&mut farm, "r", HvCmd::RemoveReplication { vm: vm() });
        run(&mut farm, "r", HvCmd::EnableAsReplica { vm: vm() });
        let enable = |frequency_s| HvCmd::EnableReplication {
            vm: vm(),
            replica: "r".into(),
            frequency_s,
        };
        run(&mut farm, "p", enable(None));
        assert_eq!(farm.relationship("p", "vm").unwrap().frequency_s, 300);
        assert_eq!(farm.relationship("r", "vm").unwrap().frequency_s, 300);
        run(&mut farm, "p", HvCmd::RemoveReplication { vm: vm() });
        run(&mut farm, "r", HvCmd::RemoveReplication { vm: vm() });
        run(&mut farm, "r", HvCmd::EnableAsReplica { vm: vm() });
        run(&mut farm, "p", enable(Some(30)));
        assert_eq!(farm.relationship("r", "vm").unwrap().frequency_s, 30);
    }

    /// Reads leave the change count; changes move it; and two farms in the same state are
    /// equal and hash alike whatever their histories (the exhaustive explorer merges them).
    #[test]
    fn the_change_count_follows_changes_and_is_not_state() {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut farm = healthy_pair();
        let mut rng = crate::engine::Stream::seed_from_u64(1);
        let before = farm.changes();
        let get = HvCmd::GetReplication { vm: "vm".into() };
        farm.apply("p", &Name::from("p"), &get, 0, 0.0, 0, &mut rng)
            .0
            .unwrap();
        farm.apply(
            "p",
            &Name::from("p"),
            &HvCmd::ListReplication,
            0,
            0.0,
            0,
            &mut rng,
        )
        .0
        .unwrap();
        assert_eq!(farm.changes(), before);
        let stop = HvCmd::StopVm { vm: "vm".into() };
        farm.apply("p", &Name::from("p"), &stop, 0, 0.0, 0, &mut rng)
            .0
            .unwrap();
        assert!(farm.changes() > before);
        // Stopped, then started again: the state of a fresh pair, reached another way.
        let start = HvCmd::StartVm { vm: "vm".into() };
        farm.apply("p", &Name::from("p"), &start, 0, 0.0, 0, &mut rng)
            .0
            .unwrap();
        let fresh = healthy_pair();
        assert_ne!(farm.changes(), fresh.changes());
        assert_eq!(farm, fresh);
        let hash = |f: &HyperVFarm| {
            let mut h = DefaultHasher::new();
            f.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&farm), hash(&fresh));
    }

    /// A counted checkpoint reads "Creating checkpoint" for exactly that many Get-VM answers,
    /// whatever the clock says, and Start-VM is refused until then.
    #[test]
    fn a_counted_checkpoint_lasts_its_answers() {
        let mut farm = healthy_pair();
        farm.counted_checkpoints = Some(2);
        let mut rng = crate::engine::Stream::seed_from_u64(1);
        let mut run = |farm: &mut HyperVFarm, host: &str, cmd: HvCmd| {
            farm.apply(host, &Name::from(host), &cmd, 0, 0.0, 0, &mut rng)
                .0
        };
        let vm = || crate::backend::Name::from("vm");
        // Re-pointed, as a start script does: the initial replication takes a checkpoint.
        run(&mut farm, "p", HvCmd::StopVm { vm: vm() }).unwrap();
        run(&mut farm, "p", HvCmd::RemoveReplication { vm: vm() }).unwrap();
        run(&mut farm, "r", HvCmd::RemoveReplication { vm: vm() }).unwrap();
        run(&mut farm, "r", HvCmd::EnableAsReplica { vm: vm() }).unwrap();
        let enable = HvCmd::EnableReplication {
            vm: vm(),
            replica: "r".into(),
            frequency_s: None,
        };
        run(&mut farm, "p", enable).unwrap();
        run(&mut farm, "p", HvCmd::StartInitialReplication { vm: vm() }).unwrap();
        let status = |out: OpResult| match out {
            Ok(OpOutput::Vm(Some(info))) => info.status,
            other => panic!("{other:?}"),
        };
        assert!(run(&mut farm, "p", HvCmd::StartVm { vm: vm() }).is_err());
        for _ in 0..2 {
            let s = status(run(&mut farm, "p", HvCmd::GetVm { vm: vm() }));
            assert_eq!(s, VM_STATUS_CREATING_CHECKPOINT);
        }
        let s = status(run(&mut farm, "p", HvCmd::GetVm { vm: vm() }));
        assert_eq!(s, VM_STATUS_OPERATING_NORMALLY);
        run(&mut farm, "p", HvCmd::StartVm { vm: vm() }).unwrap();
    }

    /// A crashed primary whose storage comes back: in Error it resumes replicating (its
    /// partner still points back); needing a resynchronisation, it does not.
    #[test]
    fn what_a_crash_leaves_decides_whether_replication_resumes_by_itself() {
        for (leaves, after) in [
            (CrashState::Error, ReplicationState::Replicating),
            (
                CrashState::ResynchronizationRequired,
                ReplicationState::WaitingForStartResynchronize,
            ),
        ] {
            let mut farm = healthy_pair();
            farm.crash("p", leaves);
            assert_eq!(
                farm.relationship("p", "vm").unwrap().state,
                ReplicationState::Error
            );
            farm.power_on("p");
            farm.attach_disk("p");
            assert_eq!(
                farm.relationship("p", "vm").unwrap().state,
                after,
                "{leaves}"
            );
            // The replica side is not the one that crashed.
            assert_eq!(
                farm.relationship("r", "vm").unwrap().state,
                ReplicationState::Replicating
            );
        }
    }
}
