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

use serde::{Deserialize, Serialize};

use crate::backend::hyperv_types::short_name;
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
        }
    }
}

/// Start script of either side.
pub async fn start<B>(b: &B, ctx: &ScriptContext, side: Side, cfg: &CoordinationConfig) -> u32
where
    B: Ecx + HyperV + Clock + Lease + AlertLog,
{
    let own = ctx.own_server.as_str();
    let vm = ctx.vm.as_str();
    if ensure_registered(b, own, vm, &ctx.vmcx_path).await.is_err() {
        b.log(LogLevel::Error, "Import-VM failed");
        return BIT_IMPORT_FAILED;
    }
    let mut ret = 0;
    if side == Side::Primary && start_vm_when_ready(b, own, vm).await.is_err() {
        b.log(LogLevel::Error, "Start-VM failed");
        ret |= BIT_VM_NOT_STARTED;
    }
    if let Err(bit) = reconcile(b, ctx, side, cfg).await {
        b.log(LogLevel::Error, "replication not re-pointed");
        ret |= bit;
    }
    ret
}

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

async fn start_vm_when_ready<B: HyperV + Clock>(b: &B, host: &str, vm: &str) -> BackendResult<()> {
    let mut last = Ok(());
    for _ in 0..3 {
        // A bounded wait for a checkpoint in progress (the published poll has no bound).
        for _ in 0..60 {
            match b.get_vm(host, vm).await? {
                Some(info) if info.status == VM_STATUS_CREATING_CHECKPOINT => {
                    b.sleep(5 * MICROS_PER_SECOND).await
                }
                Some(info) if info.state == PowerState::Running => return Ok(()),
                _ => break,
            }
        }
        last = b.start_vm(host, vm).await;
        if last.is_ok() {
            return Ok(());
        }
        b.sleep(5 * MICROS_PER_SECOND).await;
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
            r.group == group.name
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
) -> Option<String> {
    let mut waited = 0;
    loop {
        if let Some(peer) = ready_peer(b, ctx).await {
            return Some(peer);
        }
        if waited >= cfg.peer_wait {
            return None;
        }
        b.sleep(cfg.peer_poll).await;
        waited += cfg.peer_poll;
    }
}

async fn reconcile<B>(
    b: &B,
    ctx: &ScriptContext,
    side: Side,
    cfg: &CoordinationConfig,
) -> Result<(), u32>
where
    B: Ecx + HyperV + Clock + Lease + AlertLog,
{
    let lease = format!("replication/{}", ctx.vm);
    let own = ctx.own_server.as_str();
    for _ in 0..cfg.attempts {
        let Some(peer) = wait_for_peer(b, ctx, cfg).await else {
            return Err(BIT_PEER_NOT_READY);
        };
        match b.acquire(&lease, own, cfg.lease_ttl, cfg.lease_wait).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return Err(BIT_LEASE_NOT_ACQUIRED),
        }
        // The peer may have failed over while we waited for the lease.
        let outcome = match ready_peer(b, ctx).await {
            Some(fresh) if fresh == peer => {
                let pair = match side {
                    Side::Primary => Pair {
                        primary: own,
                        replica: &peer,
                        primary_path: &ctx.vmcx_path,
                        replica_path: &ctx.opposite_vmcx_path,
                    },
                    Side::Replica => Pair {
                        primary: &peer,
                        replica: own,
                        primary_path: &ctx.opposite_vmcx_path,
                        replica_path: &ctx.vmcx_path,
                    },
                };
                converge(b, &ctx.vm, &pair, cfg).await
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
                b.log(
                    LogLevel::Error,
                    &format!("re-pointing failed: {e}; retrying"),
                );
                b.sleep(cfg.retry_pause).await;
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
        r.mode == mode && short_name(partner) == short_name(peer) && healthy.contains(&r.state)
    })
}

async fn converge<B>(
    b: &B,
    vm: &str,
    pair: &Pair<'_>,
    cfg: &CoordinationConfig,
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
        remove_with_retries(b, r, vm, cfg).await?;
    }
    if rel_p.is_some() {
        remove_with_retries(b, p, vm, cfg).await?;
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
    b.enable_vm_replication(p, vm, r).await?;
    b.start_vm_initial_replication(p, vm).await
}

async fn remove_with_retries<B: HyperV + Clock>(
    b: &B,
    host: &str,
    vm: &str,
    cfg: &CoordinationConfig,
) -> BackendResult<()> {
    let mut result = b.remove_vm_replication(host, vm).await;
    for _ in 0..cfg.remove_retries {
        match &result {
            Ok(()) | Err(BackendError::NotReplicating { .. }) => return Ok(()),
            Err(_) => {}
        }
        b.sleep(cfg.retry_pause).await;
        result = b.remove_vm_replication(host, vm).await;
    }
    result
}
