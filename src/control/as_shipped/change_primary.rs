//! `primary/ChangePrimary.ps1`.

use super::opposite_current;
use crate::backend::hyperv_types::same_host;
use crate::backend::{
    AlertLog, Clock, Ecx, HyperV, LogLevel, PowerState, ReplicationState,
    VM_STATUS_CREATING_CHECKPOINT,
};
use crate::control::context::ScriptContext;
use crate::time::MICROS_PER_SECOND;

/// Returns the script's exit value (the bitmask, or 1 when Import-VM failed).
pub async fn change_primary<B>(b: &B, ctx: &ScriptContext) -> u32
where
    B: Ecx + HyperV + Clock + AlertLog,
{
    let vm = ctx.vm.as_str();
    let own = ctx.own_server.as_str();
    // 1. The peer is whatever the opposite cluster's REST API names as `current`.
    let opp = opposite_current(b, &ctx.opposite_cluster, &ctx.opposite_group).await;
    let mut ret = 0u32;

    // 2. Replication as the peer sees it.
    let rep_info = b.get_vm_replication(&opp, vm).await.ok().flatten();
    if let Some(info) = &rep_info {
        b.log_fmt(
            LogLevel::Info,
            format_args!("peer {opp} mode {}", info.mode),
        );
    }

    // 3. No-op test (the VM is not started on this path).
    if let Some(info) = &rep_info {
        if same_host(&info.primary_server, own)
            && same_host(&info.replica_server, &opp)
            && info.state == ReplicationState::Replicating
        {
            b.log(LogLevel::Info, "Replication is functioning normally");
            return 0;
        }
    }

    // 4. Test-Path of the vmcx only logs; nothing acts on it.
    // 5. Stop a locally running copy, without waiting for it to stop.
    let vm_info = b.get_vm(own, vm).await.ok().flatten();
    if let Some(info) = &vm_info {
        if info.state != PowerState::Off {
            let _ = b.stop_vm(own, vm).await;
        }
    }

    // 6. Remove replication on the peer.
    if rep_info.is_some() && b.remove_vm_replication(&opp, vm).await.is_err() {
        ret += 1;
    }

    // 7. Remove replication locally, after the 30 s pause the flaky removal taught.
    let local = b.list_vm_replication(own).await.unwrap_or_default();
    if !local.is_empty() {
        b.sleep(30 * MICROS_PER_SECOND).await;
        if b.remove_vm_replication(own, vm).await.is_err() {
            ret += 2;
        }
    }

    // 8. Register the VM from the shared disk if this node does not know it.
    if vm_info.is_none() && b.import_vm(own, vm, &ctx.vmcx_path).await.is_err() {
        b.log(LogLevel::Error, "Import-VM failed");
        return 1;
    }

    // 9. Make the peer's copy the replica.
    if b.enable_vm_replication_as_replica(&opp, vm).await.is_err() {
        ret += 4;
    }
    // 10. Enable replication from this node to the peer.
    // No -ReplicationFrequencySec: Hyper-V's default of 300 s, whatever the VM had.
    if b.enable_vm_replication(own, vm, &opp, None).await.is_err() {
        ret += 8;
    }
    // 11. Log the peer's state (ReadyForInitialReplication expected; nothing enforced).
    if let Ok(Some(info)) = b.get_vm_replication(&opp, vm).await {
        b.log_fmt(LogLevel::Info, format_args!("peer state {}", info.state));
    }
    // 12. Initial replication, without -UseBackup.
    if b.start_vm_initial_replication(own, vm).await.is_err() {
        ret += 16;
    }
    // 13. Log the local state: `$(Get-VMReplication).State` and `.PrimaryServer` in two
    //     messages, `$repstate`, then `$vminfo = Get-VM`. Each is a call of its own, and
    //     together they set how long the checkpoint poll below starts after the initial
    //     replication.
    for _ in 0..3 {
        let _ = b.list_vm_replication(own).await;
    }
    let _ = b.get_vm(own, vm).await;

    // 14. Wait out the checkpoint, with no bound.
    while let Ok(Some(info)) = b.get_vm(own, vm).await {
        if info.status != VM_STATUS_CREATING_CHECKPOINT {
            break;
        }
        b.sleep(5 * MICROS_PER_SECOND).await;
    }
    // 15. Start the VM; a failure is only logged.
    if let Err(e) = b.start_vm(own, vm).await {
        b.log_fmt(LogLevel::Error, format_args!("Start-VM failed: {e}"));
    }
    // 16. `$repstate` once more, then the exit.
    let _ = b.list_vm_replication(own).await;
    ret
}
