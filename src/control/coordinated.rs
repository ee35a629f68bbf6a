//! The corrected re-pointing: one re-pointing at a time, on a fresh view of the peer.
//!
//! Why the published scripts break when both clusters fail over together: each script reads
//! the peer once, from REST, possibly while the peer's FIP is moving, and then tears down and
//! rebuilds *both* ends of the relationship. Two such scripts overlapping undo each other.
//! The correction:
//! 1. Wait until the peer cluster answers and its shared disk is online on `current` (a peer
//!    that is mid-failover has no disk, so every call there would fail or act on a stale node).
//! 2. Take a lease held at the witness, so only one script in the whole deployment re-points
//!    a VM's replication at a time; a holder that dies loses it when its time to live expires.
//! 3. Re-read the peer after acquiring the lease: it may have failed over while we waited.
//! 4. Converge idempotently: if the pair (primary cluster's active node, replica cluster's
//!    active node) is already configured, do nothing; otherwise rebuild it, retrying the
//!    flaky local removal. Whichever script runs second finds the work done.
//! 5. On the primary side, start the VM *before* touching replication: service does not wait
//!    for the replica cluster, which may be down altogether.
//! 6. End in time: ECX takes a start script that outlives the resource's timeout as stalled
//!    and shuts the server down, so every wait ends at a deadline below that timeout. What is
//!    left undone then is the peer's start script's when its cluster is back, or the
//!    operator's after the alert.

use serde::{Deserialize, Serialize};

use crate::backend::hyperv_types::same_host;
use crate::backend::traits::BackendResult;
use crate::backend::{
    AlertLog, BackendError, Clock, Ecx, GroupStatus, HyperV, Lease, LogLevel, PowerState,
    ReplicationMode, ReplicationState, VmReplication, VM_STATUS_CREATING_CHECKPOINT,
};
use crate::control::context::{ScriptContext, Side};
use crate::time::{Micros, MICROS_PER_MINUTE, MICROS_PER_SECOND};

/// Exit bits of the coordinated scripts.
pub const BIT_IMPORT_FAILED: u32 = 1;
pub const BIT_PEER_NOT_READY: u32 = 32;
pub const BIT_LEASE_NOT_ACQUIRED: u32 = 64;
pub const BIT_NOT_CONVERGED: u32 = 128;
pub const BIT_VM_NOT_STARTED: u32 = 256;

/// Tunables of the coordinated logic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordinationConfig {
    /// A holder that dies keeps the lease this long at most.
    pub lease_ttl: Micros,
    /// How long one acquisition waits before giving up.
    pub lease_wait: Micros,
    /// Pause between two looks at a peer cluster that is not ready.
    pub peer_poll: Micros,
    /// Give up waiting for the peer after this long; its own start script re-points later.
    pub peer_wait: Micros,
    /// Rounds of (wait for peer, lease, converge).
    pub attempts: u32,
    /// Retries of one removal (the documented flaky local Remove-VMReplication).
    pub remove_retries: u32,
    /// Pause between retries.
    pub retry_pause: Micros,
    /// The start script stops waiting this long after it began, whatever is left: it must
    /// end before the script resource's start timeout.
    pub deadline: Micros,
}

impl Default for CoordinationConfig {
    fn default() -> Self {
        CoordinationConfig {
            lease_ttl: 10 * MICROS_PER_MINUTE,
            lease_wait: 30 * MICROS_PER_MINUTE,
            peer_poll: 10 * MICROS_PER_SECOND,
            peer_wait: 30 * MICROS_PER_MINUTE,
            attempts: 5,
            remove_retries: 6,
            retry_pause: 30 * MICROS_PER_SECOND,
            // Ten minutes under the 30-minute resource timeout, for the calls in flight when
            // it passes (a Start-VM, a connect to a dead host).
            deadline: 20 * MICROS_PER_MINUTE,
        }
    }
}

/// When a script must stop waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Micros);

impl Deadline {
    /// No deadline: an operator's repair takes as long as it takes.
    pub const NEVER: Deadline = Deadline(Micros::MAX);

    pub fn after<C: Clock>(b: &C, duration: Micros) -> Deadline {
        Deadline(b.now().saturating_add(duration))
    }

    /// What is left of it (zero once it has passed).
    fn left<C: Clock>(self, b: &C) -> Micros {
        self.0.saturating_sub(b.now())
    }

    fn passed<C: Clock>(self, b: &C) -> bool {
        self.left(b) == 0
    }

    /// `duration`, cut at the deadline: how long a wait may still last.
    fn cap<C: Clock>(self, b: &C, duration: Micros) -> Micros {
        duration.min(self.left(b))
    }

    /// Sleeps `duration`, or until the deadline if that comes first.
    async fn sleep<C: Clock>(self, b: &C, duration: Micros) {
        b.sleep(self.cap(b, duration)).await
    }
}

/// Start script of either side.
pub async fn start<B>(b: &B, ctx: &ScriptContext, side: Side, cfg: &CoordinationConfig) -> u32
where
    B: Ecx + HyperV + Clock + Lease + AlertLog,
{
    let until = Deadline::after(b, cfg.deadline);
    let own = ctx.own_server.as_str();
    let vm = ctx.vm.as_str();
    if ensure_registered(b, own, vm, &ctx.vmcx_path).await.is_err() {
        b.log(LogLevel::Error, "Import-VM failed");
        return BIT_IMPORT_FAILED;
    }
    let lease = lease_name(ctx);
    // Start first, to keep the outage short, under the lease: the master moves the role
    // record and fails the VM over under the same lease, so the two never both start it.
    let mut started = false;
    let wait = until.cap(b, cfg.lease_wait);
    if let Ok(true) = b.acquire(&lease, own, cfg.lease_ttl, wait).await {
        if current_side(b, ctx, side, until).await == Side::Primary {
            // This node may still hold a Replica relationship from when this cluster held the
            // replica: the disk holds the primary's data now, so drop it rather than wait for
            // a peer that may be down; the pair is rebuilt below.
            drop_stale_replica(b, own, vm, cfg, until).await;
            started = start_vm_when_ready(b, own, vm, until).await.is_ok();
        }
        let _ = b.release(&lease, own).await;
    }
    match reconcile(b, ctx, side, cfg, !started, until).await {
        Ok(()) => 0,
        Err(bit) => {
            b.log(LogLevel::Error, "replication not re-pointed");
            bit
        }
    }
}

/// Which side this cluster holds now. The deployment fixes the roles only until the master
/// fails the VM over to the other cluster: from then on the role record at the master (written
/// by the master before it starts the VM elsewhere) says which cluster holds the primary, so a
/// cluster coming back never starts a VM that runs on the other. While the record cannot be
/// read (the master unreachable), the script asks again every ten seconds for five minutes
/// (or until its deadline), then keeps the deployment's role.
async fn current_side<B>(b: &B, ctx: &ScriptContext, deployed: Side, until: Deadline) -> Side
where
    B: Lease + Clock + AlertLog,
{
    let mut waited = 0;
    loop {
        match b.role(&ctx.vm).await {
            Ok(None) => return deployed,
            Ok(Some(record)) => {
                let mine = record.primary.eq_ignore_ascii_case(&ctx.own_cluster);
                return if mine { Side::Primary } else { Side::Replica };
            }
            Err(e) if waited >= PEER_WAIT_FOR_ROLE || until.passed(b) => {
                b.log_fmt(
                    LogLevel::Error,
                    format_args!("role record unreadable ({e}); keeping the deployed role"),
                );
                return deployed;
            }
            Err(_) => {
                until.sleep(b, ROLE_POLL).await;
                waited += ROLE_POLL;
            }
        }
    }
}

/// How long the start script waits for an unreadable role record, and how often it asks.
const PEER_WAIT_FOR_ROLE: Micros = 5 * MICROS_PER_MINUTE;
const ROLE_POLL: Micros = 10 * MICROS_PER_SECOND;

/// Stop script on a group move (primary side): turn the VM off while this node still has the
/// disk, and drop the local relationship now, when removal still works. The node taking over
/// re-points the pair.
pub async fn stop_on_move<B>(b: &B, ctx: &ScriptContext) -> u32
where
    B: HyperV + AlertLog,
{
    let own = ctx.own_server.as_str();
    let vm = ctx.vm.as_str();
    let mut ret = 0;
    if let Ok(Some(info)) = b.get_vm(own, vm).await {
        if info.state != PowerState::Off && b.stop_vm(own, vm).await.is_err() {
            ret |= BIT_VM_NOT_STARTED;
        }
    }
    if let Ok(Some(_)) = b.get_vm_replication(own, vm).await {
        let _ = b.remove_vm_replication(own, vm).await;
    }
    ret
}

/// Registers the VM on `host` if it is not. Another script may register it between our look
/// and our import (the peer's re-pointing imports remotely, outside our own steps): "already
/// exists" is then success, not failure. The exhaustive explorer found this race.
async fn ensure_registered<H: HyperV>(
    b: &H,
    host: &str,
    vm: &str,
    path: &str,
) -> BackendResult<()> {
    if b.get_vm(host, vm).await?.is_none() {
        match b.import_vm(host, vm, path).await {
            Ok(()) | Err(BackendError::VmAlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes a plain Replica relationship from `host`, which is to run the VM as the primary.
pub async fn drop_stale_replica<B: HyperV + Clock + AlertLog>(
    b: &B,
    host: &str,
    vm: &str,
    cfg: &CoordinationConfig,
    until: Deadline,
) {
    if let Ok(Some(rel)) = relationship(b, host, vm).await {
        let failed_over = matches!(
            rel.state,
            ReplicationState::FailedOver | ReplicationState::FailedOverWaitingCompletion
        );
        if rel.mode == ReplicationMode::Replica && !failed_over {
            let _ = remove_with_retries(b, host, vm, cfg, until).await;
        }
    }
}

/// Rebuilds replication from `primary` to `replica` from whatever state it is in.
pub async fn repoint<B: HyperV + Clock + AlertLog>(
    b: &B,
    vm: &str,
    (primary, primary_path): (&str, &str),
    (replica, replica_path): (&str, &str),
    frequency_s: u32,
    cfg: &CoordinationConfig,
) -> BackendResult<()> {
    let pair = Pair {
        primary,
        replica,
        primary_path,
        replica_path,
        frequency_s,
    };
    converge(b, vm, &pair, cfg, Deadline::NEVER).await
}

pub async fn start_vm_when_ready<B: HyperV + Clock>(
    b: &B,
    host: &str,
    vm: &str,
    until: Deadline,
) -> BackendResult<()> {
    let mut last = Ok(());
    for _ in 0..3 {
        // A bounded wait for a checkpoint in progress (the published poll has no bound).
        for _ in 0..60 {
            match b.get_vm(host, vm).await? {
                Some(info) if info.status == VM_STATUS_CREATING_CHECKPOINT => {
                    if until.passed(b) {
                        break;
                    }
                    until.sleep(b, 5 * MICROS_PER_SECOND).await
                }
                Some(info) if info.state == PowerState::Running => return Ok(()),
                _ => break,
            }
        }
        last = b.start_vm(host, vm).await;
        if last.is_ok() || until.passed(b) {
            return last;
        }
        until.sleep(b, 5 * MICROS_PER_SECOND).await;
    }
    last
}

/// The opposite cluster's active server, once its disk is online there.
async fn ready_peer<E: Ecx>(b: &E, ctx: &ScriptContext) -> Option<String> {
    let group = b
        .group(&ctx.opposite_cluster, &ctx.opposite_group)
        .await
        .ok()?;
    if !matches!(
        group.status,
        GroupStatus::Online | GroupStatus::OnlinePending
    ) {
        return None;
    }
    let current = group.active_server()?.to_string();
    let resources = b.resources(&ctx.opposite_cluster).await.ok()?;
    resources
        .iter()
        .any(|r| {
            *r.group == *group.name
                && r.kind == "sd"
                && r.status == GroupStatus::Online
                && r.current == current
        })
        .then_some(current)
}

async fn wait_for_peer<B: Ecx + Clock>(
    b: &B,
    ctx: &ScriptContext,
    cfg: &CoordinationConfig,
    until: Deadline,
) -> Option<String> {
    let mut waited = 0;
    loop {
        if let Some(peer) = ready_peer(b, ctx).await {
            return Some(peer);
        }
        if waited >= cfg.peer_wait || until.passed(b) {
            return None;
        }
        until.sleep(b, cfg.peer_poll).await;
        waited += cfg.peer_poll;
    }
}

/// The lease that serialises every change to one VM's replication and placement.
pub fn lease_name(ctx: &ScriptContext) -> String {
    vm_lease(&ctx.vm)
}

pub fn vm_lease(vm: &str) -> String {
    // Joined, not formatted: every re-pointing names it, and formatting costs ten times more.
    ["replication/", vm].concat()
}

/// Re-points the pair under the lease; `start`: the VM still has to be started here if this
/// cluster holds the primary (it is started before the lease is released).
async fn reconcile<B>(
    b: &B,
    ctx: &ScriptContext,
    deployed: Side,
    cfg: &CoordinationConfig,
    start: bool,
    until: Deadline,
) -> Result<(), u32>
where
    B: Ecx + HyperV + Clock + Lease + AlertLog,
{
    let lease = lease_name(ctx);
    let own = ctx.own_server.as_str();
    for _ in 0..cfg.attempts {
        let Some(peer) = wait_for_peer(b, ctx, cfg, until).await else {
            return Err(BIT_PEER_NOT_READY);
        };
        let wait = until.cap(b, cfg.lease_wait);
        match b.acquire(&lease, own, cfg.lease_ttl, wait).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return Err(BIT_LEASE_NOT_ACQUIRED),
        }
        // The roles may have moved, and the peer failed over, while we waited for the lease.
        let side = current_side(b, ctx, deployed, until).await;
        let outcome = match ready_peer(b, ctx).await {
            Some(fresh) if fresh == peer => {
                let pair = match side {
                    Side::Primary => Pair {
                        primary: own,
                        replica: &peer,
                        primary_path: &ctx.vmcx_path,
                        replica_path: &ctx.opposite_vmcx_path,
                        frequency_s: ctx.replication_frequency_s,
                    },
                    Side::Replica => Pair {
                        primary: &peer,
                        replica: own,
                        primary_path: &ctx.opposite_vmcx_path,
                        replica_path: &ctx.vmcx_path,
                        frequency_s: ctx.replication_frequency_s,
                    },
                };
                let converged = converge(b, &ctx.vm, &pair, cfg, until).await;
                if converged.is_ok() && start && side == Side::Primary {
                    if let Err(e) = start_vm_when_ready(b, own, &ctx.vm, until).await {
                        b.log_fmt(LogLevel::Error, format_args!("Start-VM failed: {e}"));
                        let _ = b.release(&lease, own).await;
                        return Err(BIT_VM_NOT_STARTED);
                    }
                }
                converged
            }
            _ => Err(BackendError::InvalidState {
                vm: ctx.vm.clone(),
                operation: "re-point".into(),
                detail: "the peer changed while waiting for the lease".into(),
            }),
        };
        let _ = b.release(&lease, own).await;
        match outcome {
            Ok(()) => return Ok(()),
            Err(e) => {
                if until.passed(b) {
                    b.log_fmt(
                        LogLevel::Error,
                        format_args!("re-pointing failed: {e}; out of time"),
                    );
                    break;
                }
                b.log_fmt(
                    LogLevel::Error,
                    format_args!("re-pointing failed: {e}; retrying"),
                );
                until.sleep(b, cfg.retry_pause).await;
            }
        }
    }
    Err(BIT_NOT_CONVERGED)
}

struct Pair<'a> {
    primary: &'a str,
    replica: &'a str,
    primary_path: &'a str,
    replica_path: &'a str,
    /// `-ReplicationFrequencySec` of the VM.
    frequency_s: u32,
}

/// The relationship on `host`; an unregistered VM has none.
async fn relationship<H: HyperV>(
    b: &H,
    host: &str,
    vm: &str,
) -> BackendResult<Option<VmReplication>> {
    match b.get_vm_replication(host, vm).await {
        Err(BackendError::VmNotFound { .. }) => Ok(None),
        other => other,
    }
}

fn points_at(
    rel: &Option<VmReplication>,
    mode: ReplicationMode,
    peer: &str,
    healthy: &[ReplicationState],
) -> bool {
    rel.as_ref().is_some_and(|r| {
        let partner = match mode {
            ReplicationMode::Primary => &r.replica_server,
            ReplicationMode::Replica => &r.primary_server,
        };
        r.mode == mode && same_host(partner, peer) && healthy.contains(&r.state)
    })
}

async fn converge<B>(
    b: &B,
    vm: &str,
    pair: &Pair<'_>,
    cfg: &CoordinationConfig,
    until: Deadline,
) -> BackendResult<()>
where
    B: HyperV + Clock + AlertLog,
{
    use ReplicationState::*;
    let (p, r) = (pair.primary, pair.replica);
    let rel_p = relationship(b, p, vm).await?;
    let rel_r = relationship(b, r, vm).await?;
    let progressing = [
        Replicating,
        InitialReplicationInProgress,
        WaitingForInitialReplication,
    ];
    if points_at(&rel_r, ReplicationMode::Replica, p, &progressing) {
        if points_at(&rel_p, ReplicationMode::Primary, r, &progressing) {
            b.log(
                LogLevel::Info,
                "replication already points at the active nodes",
            );
            return Ok(());
        }
        if points_at(
            &rel_p,
            ReplicationMode::Primary,
            r,
            &[ReadyForInitialReplication],
        ) {
            return b.start_vm_initial_replication(p, vm).await;
        }
    }
    // Rebuild the pair from nothing; every step below is safe to repeat.
    if rel_r.is_some() {
        remove_with_retries(b, r, vm, cfg, until).await?;
    }
    if rel_p.is_some() {
        remove_with_retries(b, p, vm, cfg, until).await?;
    }
    ensure_registered(b, r, vm, pair.replica_path).await?;
    if let Some(info) = b.get_vm(r, vm).await? {
        // A replica copy never runs; one that does would be the VM running twice.
        if info.state != PowerState::Off {
            b.stop_vm(r, vm).await?;
        }
    }
    ensure_registered(b, p, vm, pair.primary_path).await?;
    b.enable_vm_replication_as_replica(r, vm).await?;
    // The VM's own frequency: the published scripts' Enable-VMReplication gives none, and
    // every re-pointing falls back to Hyper-V's 5 minutes.
    b.enable_vm_replication(p, vm, r, Some(pair.frequency_s))
        .await?;
    b.start_vm_initial_replication(p, vm).await
}

async fn remove_with_retries<B: HyperV + Clock>(
    b: &B,
    host: &str,
    vm: &str,
    cfg: &CoordinationConfig,
    until: Deadline,
) -> BackendResult<()> {
    let mut result = b.remove_vm_replication(host, vm).await;
    for _ in 0..cfg.remove_retries {
        match &result {
            Ok(()) | Err(BackendError::NotReplicating { .. }) => return Ok(()),
            Err(_) if until.passed(b) => break,
            Err(_) => {}
        }
        until.sleep(b, cfg.retry_pause).await;
        result = b.remove_vm_replication(host, vm).await;
    }
    result
}
