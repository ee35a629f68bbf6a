//! The cluster-set master (the planned Master/Worker design of EXPRESSCLUSTER/Cluster-Set): it runs in
//! the master cluster's failover group, polls every worker cluster's failover group through
//! the ECX REST API, fails a VM over to its replica cluster with Hyper-V Replica when the VM's
//! cluster has been failing for `failure_threshold` polls in a row, points the VM's DNS name at
//! its new place, and re-protects the VM (reverse replication and resynchronisation) once the
//! cluster it left is back.
//!
//! The controller keeps nothing on disk: when it starts (and whenever the master group fails
//! over, it starts again) it learns where each VM runs from Hyper-V itself.
//!
//! Polling and idling: rounds start on a fixed grid of `poll_interval`, and a round asks
//! every worker once. Until some worker changes, the next rounds would see what this one saw
//! and change nothing but the failing workers' counts, so the controller waits for its next
//! round through `Clock::idle`, saying how many rounds could pass so (until the first failing
//! worker would reach the threshold; without limit if none is failing). In production that
//! is a sleep until the next tick, and every tick is polled; the simulated clock may skip the
//! rounds in which no worker changed, and wakes the controller on the first tick after a
//! change (or on the round that reaches the threshold), counting the skipped rounds as the
//! failed polls they would have been. Detection latency is exactly that of polling every
//! tick, at a cost of a few events per change instead of one per poll (31 million polls in
//! 10 years at 10 s).

use crate::backend::traits::BackendResult;
use crate::backend::{
    AlertLog, BackendError, Clock, Dns, Ecx, GroupStatus, HyperV, Lease, LogLevel, PowerState,
    ReplicationMode, ReplicationState, VmReplication,
};
use crate::control::coordinated::vm_lease;
use crate::time::Micros;

/// One worker cluster, reached at its FIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCluster {
    pub name: String,
    /// The failover group that carries the VMs.
    pub group: String,
    /// What the VMs' DNS records point at while the VM runs there.
    pub address: String,
}

/// A VM protected by Hyper-V Replica between two worker clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedVm {
    pub name: String,
    /// Indices into `MasterConfig::workers`.
    pub home: usize,
    pub replica: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterConfig {
    pub poll_interval: Micros,
    /// Consecutive failed or non-Online polls before the VMs of a cluster fail over.
    pub failure_threshold: u32,
    pub workers: Vec<WorkerCluster>,
    pub vms: Vec<ProtectedVm>,
}

/// What the controller knows of one VM.
#[derive(Debug, Clone, Copy)]
struct Placement {
    /// Where the VM runs (index into workers), once known.
    primary: Option<usize>,
    /// Replication has to be rebuilt towards the other cluster.
    needs_reprotect: bool,
    /// The last attempt to act failed; try again when one of its clusters changes.
    blocked: bool,
    /// Just learnt from the role record (this controller started): a failover the previous
    /// one began may have to be finished.
    recovered: bool,
}

/// The master controller: polls forever (it ends when its group stops).
pub async fn run<B>(b: &B, cfg: &MasterConfig)
where
    B: Ecx + HyperV + Clock + Dns + Lease + AlertLog,
{
    let workers = cfg.workers.len();
    let mut failures = vec![0u32; workers];
    let mut active: Vec<Option<String>> = vec![None; workers];
    let mut placements = vec![
        Placement {
            primary: None,
            needs_reprotect: false,
            blocked: false,
            recovered: false,
        };
        cfg.vms.len()
    ];
    let mut first_round = true;
    // Kept from round to round: a round allocates nothing while nothing changes.
    let mut changed = vec![true; workers];
    // Rounds start on a fixed grid, whatever their calls take: a worker is failed over
    // `failure_threshold` polls, that is (threshold - 1) x `poll_interval`, after its first
    // failed poll.
    let grid = PollGrid {
        start: b.now(),
        period: cfg.poll_interval,
    };
    loop {
        changed.fill(first_round);
        for (i, w) in cfg.workers.iter().enumerate() {
            let was_online = failures[i] == 0;
            match b.group(&w.name, &w.group).await {
                Ok(g) if g.status == GroupStatus::Online && g.active_server().is_some() => {
                    failures[i] = 0;
                    if active[i].as_deref() != g.active_server() {
                        active[i] = g.active_server().map(str::to_string);
                    }
                }
                _ => {
                    failures[i] = failures[i].saturating_add(1);
                    active[i] = None;
                }
            }
            changed[i] |= was_online != (failures[i] == 0);
        }
        first_round = false;
        // Every VM is handled at once (the VMs of a lost cluster fail over together): no VM
        // waits for another's failover, whatever their order in the configuration. (In a
        // block: the actions borrow the counts, which the wait below updates.)
        {
            let mut actions = cfg
                .vms
                .iter()
                .zip(placements.iter_mut())
                .filter_map(|(vm, place)| {
                    if changed[vm.home] || changed[vm.replica] {
                        place.blocked = false;
                    } else if place.blocked {
                        return None;
                    }
                    let (failures, active, changed) = (&failures, &active, &changed);
                    Some(async move {
                        if let Err(e) = act(b, cfg, vm, place, failures, active, changed).await {
                            b.log_fmt(LogLevel::Error, format_args!("{}: {e}", vm.name));
                            place.blocked = true;
                        }
                    })
                })
                .peekable();
            // One VM to act on (the usual case) needs no joining.
            if let Some(first) = actions.next() {
                if actions.peek().is_none() {
                    first.await;
                } else {
                    futures_util::future::join_all(std::iter::once(first).chain(actions)).await;
                }
            }
        }
        // Until a worker changes, the next rounds see what this one saw, and change nothing
        // but the failing workers' counts: the clock may sleep through them, up to the round
        // in which the first failing worker reaches the threshold (that one must be polled).
        let until_threshold = failures
            .iter()
            .filter(|&&f| f > 0 && f < cfg.failure_threshold)
            .map(|&f| cfg.failure_threshold - f)
            .min()
            .unwrap_or(u32::MAX);
        let woke = b
            .idle(grid.next_after(b.now()), cfg.poll_interval, until_threshold)
            .await;
        let unchanged_rounds = woke.saturating_sub(1);
        for f in failures.iter_mut().filter(|f| **f > 0) {
            *f = f.saturating_add(unchanged_rounds);
        }
    }
}

/// The ticks the master's rounds start on: `start + k * period`.
struct PollGrid {
    start: Micros,
    period: Micros,
}

impl PollGrid {
    /// The first tick after `now`: a round that overran its period starts at the next tick,
    /// not at once, and the grid never shifts.
    fn next_after(&self, now: Micros) -> Micros {
        if self.period == 0 {
            return now;
        }
        let k = now.saturating_sub(self.start) / self.period + 1;
        self.start.saturating_add(k.saturating_mul(self.period))
    }
}

/// One VM's decision for this round.
async fn act<B>(
    b: &B,
    cfg: &MasterConfig,
    vm: &ProtectedVm,
    place: &mut Placement,
    failures: &[u32],
    active: &[Option<String>],
    changed: &[bool],
) -> BackendResult<()>
where
    B: Ecx + HyperV + Clock + Dns + Lease + AlertLog,
{
    if place.primary.is_none() {
        let recorded = b.role(&vm.name).await?.and_then(|r| {
            cfg.workers
                .iter()
                .position(|w| w.name.eq_ignore_ascii_case(&r.primary))
        });
        place.recovered = recorded.is_some();
        place.primary = match recorded {
            Some(cluster) => Some(cluster),
            None => discover(b, vm, active).await?,
        };
        // Whatever state replication is in, the re-protection below converges from it.
        place.needs_reprotect = true;
    }
    let Some(primary) = place.primary else {
        return Ok(());
    };
    let other = if primary == vm.home {
        vm.replica
    } else {
        vm.home
    };
    if failures[primary] >= cfg.failure_threshold {
        // The VM's cluster is down: fail over if the other cluster is up.
        let Some(target) = &active[other] else {
            return Ok(());
        };
        // Under the VM's lease (a start script re-pointing it holds the same lease: its
        // cluster is alive after all), the role record moves first, so that a home cluster
        // coming back reads it and does not start the VM again (the coordinated scripts), and
        // a restarted master finds it.
        let lease = vm_lease(&vm.name);
        if !b.acquire(&lease, MASTER_HOLDER, LEASE_TTL, 0).await? {
            return Err(BackendError::InvalidState {
                vm: vm.name.clone(),
                operation: "fail over".into(),
                detail: "a script on its cluster is re-pointing it".into(),
            });
        }
        let moved = claim_and_fail_over(b, cfg, vm, (primary, other), target).await;
        let _ = b.release(&lease, MASTER_HOLDER).await;
        moved?;
        b.log_fmt(
            LogLevel::Info,
            format_args!("{} failed over to {}", vm.name, cfg.workers[other].name),
        );
        place.primary = Some(other);
        place.needs_reprotect = true;
        return Ok(());
    }
    if std::mem::take(&mut place.recovered) {
        if let Some(p) = &active[primary] {
            // The record says the VM belongs here; if it does not run while its other cluster
            // is failing, the previous master died during its failover: finish it.
            let running = b
                .get_vm(p, &vm.name)
                .await?
                .is_some_and(|v| v.state == PowerState::Running);
            if !running && failures[other] > 0 {
                fail_over(b, &vm.name, p, &cfg.workers[primary].address).await?;
            }
        }
    }
    let (Some(p), Some(r)) = (&active[primary], &active[other]) else {
        return Ok(());
    };
    if !place.needs_reprotect && (changed[primary] || changed[other]) {
        // Both sides are up after a change: check that replication survived it.
        let mine = b.get_vm_replication(p, &vm.name).await?;
        place.needs_reprotect = !replicating_primary(mine.as_ref());
    }
    if place.needs_reprotect {
        reprotect(b, &vm.name, p, r).await?;
        place.needs_reprotect = false;
    }
    Ok(())
}

/// The holder name of the master's leases, and how long one may be held.
const MASTER_HOLDER: &str = "master";
const LEASE_TTL: Micros = 10 * crate::time::MICROS_PER_MINUTE;

/// Moves the role record to `other`, then fails the VM over there; if the VM did not start
/// there (no recovery point, the host went away...), the record moves back to `from`, so that
/// no script later takes the failed target for the primary.
async fn claim_and_fail_over<B>(
    b: &B,
    cfg: &MasterConfig,
    vm: &ProtectedVm,
    (from, other): (usize, usize),
    target: &str,
) -> BackendResult<()>
where
    B: HyperV + Dns + Lease,
{
    let epoch = b.role(&vm.name).await?.map_or(0, |r| r.epoch) + 1;
    if !b
        .claim_role(&vm.name, &cfg.workers[other].name, epoch)
        .await?
    {
        return Err(BackendError::InvalidState {
            vm: vm.name.clone(),
            operation: "claim the primary role".into(),
            detail: "another writer holds a later epoch".into(),
        });
    }
    let moved = fail_over(b, &vm.name, target, &cfg.workers[other].address).await;
    if moved.is_err() {
        let started = b
            .get_vm(target, &vm.name)
            .await
            .ok()
            .flatten()
            .is_some_and(|v| v.state == PowerState::Running);
        if !started {
            let _ = b
                .claim_role(&vm.name, &cfg.workers[from].name, epoch + 1)
                .await;
        }
    }
    moved
}

fn replicating_primary(rel: Option<&VmReplication>) -> bool {
    rel.is_some_and(|r| {
        r.mode == ReplicationMode::Primary
            && matches!(
                r.state,
                ReplicationState::Replicating | ReplicationState::InitialReplicationInProgress
            )
    })
}

/// Where the VM runs now, from Hyper-V: the cluster where it is powered on; else the cluster
/// holding its primary (or failed-over) copy; else the partner of a cluster holding a plain
/// replica. The replica cluster is asked first, since it knows of a failover. `None` while
/// neither cluster answers.
async fn discover<B>(
    b: &B,
    vm: &ProtectedVm,
    active: &[Option<String>],
) -> BackendResult<Option<usize>>
where
    B: HyperV,
{
    let mut guess = None;
    for (cluster, partner) in [(vm.replica, vm.home), (vm.home, vm.replica)] {
        let Some(host) = &active[cluster] else {
            continue;
        };
        if let Some(info) = b.get_vm(host, &vm.name).await? {
            if info.state == PowerState::Running {
                return Ok(Some(cluster));
            }
        }
        let Some(rel) = b.get_vm_replication(host, &vm.name).await? else {
            continue;
        };
        let holds = rel.mode == ReplicationMode::Primary
            || matches!(
                rel.state,
                ReplicationState::FailedOverWaitingCompletion | ReplicationState::FailedOver
            );
        guess = guess.or(Some(if holds { cluster } else { partner }));
    }
    Ok(guess)
}

/// Unplanned failover on the target cluster's active server (Hyper-V's documented sequence):
/// Start-VMFailover, Start-VM, Complete-VMFailover; then DNS. A target that holds a primary
/// copy of its own (the VM left it and it was never re-protected) is started as it is: the
/// writes made since elsewhere are lost, which the model counts.
async fn fail_over<B>(b: &B, vm: &str, target: &str, address: &str) -> BackendResult<()>
where
    B: HyperV + Dns,
{
    // Each step is skipped if done already: a master that restarts mid-failover finishes it.
    let rel =
        b.get_vm_replication(target, vm)
            .await?
            .ok_or_else(|| BackendError::NotReplicating {
                vm: vm.into(),
                host: target.into(),
            })?;
    let failed_over = matches!(
        rel.state,
        ReplicationState::FailedOverWaitingCompletion | ReplicationState::FailedOver
    );
    if rel.mode == ReplicationMode::Replica && !failed_over {
        b.start_vm_failover(target, vm, false).await?;
    }
    let running = b
        .get_vm(target, vm)
        .await?
        .is_some_and(|v| v.state == PowerState::Running);
    if !running {
        b.start_vm(target, vm).await?;
    }
    if rel.mode == ReplicationMode::Replica && rel.state != ReplicationState::FailedOver {
        b.complete_vm_failover(target, vm).await?;
    }
    b.update_record(vm, address).await
}

/// Rebuilds replication from the VM's running copy on `primary` towards `replica`, from
/// whatever state the pair is in.
async fn reprotect<B>(b: &B, vm: &str, primary: &str, replica: &str) -> BackendResult<()>
where
    B: HyperV,
{
    let Some(mine) = b.get_vm_replication(primary, vm).await? else {
        return Err(BackendError::NotReplicating {
            vm: vm.into(),
            host: primary.into(),
        });
    };
    if replicating_primary(Some(&mine)) {
        return Ok(());
    }
    let mut state = mine.state;
    if mine.mode == ReplicationMode::Replica
        && state == ReplicationState::FailedOverWaitingCompletion
    {
        b.complete_vm_failover(primary, vm).await?;
        state = ReplicationState::FailedOver;
    }
    let theirs = b.get_vm_replication(replica, vm).await?;
    let waiting = theirs.is_some_and(|t| {
        t.mode == ReplicationMode::Replica
            && t.state == ReplicationState::WaitingForInitialReplication
    });
    if !waiting {
        b.set_vm_replication_as_replica(replica, vm).await?;
    }
    match (mine.mode, state) {
        (ReplicationMode::Replica, _) => {
            b.reverse_vm_replication(primary, vm, replica).await?;
            b.start_vm_initial_replication(primary, vm).await
        }
        (ReplicationMode::Primary, ReplicationState::ReadyForInitialReplication) => {
            b.start_vm_initial_replication(primary, vm).await
        }
        (ReplicationMode::Primary, _) => b.resume_vm_replication(primary, vm, true).await,
    }
}
