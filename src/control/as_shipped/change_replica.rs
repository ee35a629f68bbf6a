//! `replica/ChangeReplica.ps1`. It never starts or stops the VM.

use super::opposite_current;
use crate::backend::hyperv_types::same_host;
use crate::backend::{AlertLog, Ecx, HyperV, LogLevel, ReplicationState};
use crate::control::context::ScriptContext;

pub async fn change_replica<B>(b: &B, ctx: &ScriptContext) -> u32
where
    B: Ecx + HyperV + AlertLog,
{
    let vm = ctx.vm.as_str();
    let own = ctx.own_server.as_str();
    // 1.
    let opp = opposite_current(b, &ctx.opposite_cluster, &ctx.opposite_group).await;
    let mut ret = 0u32;
    // 2.
    let rep_info = b.get_vm_replication(&opp, vm).await.ok().flatten();
    if let Some(info) = &rep_info {
        b.log_fmt(
            LogLevel::Info,
            format_args!(
                "{} {} -> {} {}",
                info.mode, info.primary_server, info.replica_server, info.state
            ),
        );
        // 3. No-op test.
        if same_host(&info.primary_server, &opp)
            && same_host(&info.replica_server, own)
            && info.state == ReplicationState::Replicating
        {
            return 0;
        }
    }
    // 4. (only logging)
    // 5. Read again; if the remote call itself succeeded, remove on the primary.
    if b.get_vm_replication(&opp, vm).await.is_ok()
        && b.remove_vm_replication(&opp, vm).await.is_err()
    {
        ret += 1;
    }
    // 6. `Get-VMReplication -ComputerName <own>` without a VM filter, then `if ($?)`: the
    //    call succeeds with or without output, so the removal is attempted whenever the host
    //    answers, and fails (+2) where the node holds no relationship.
    if b.list_vm_replication(own).await.is_ok() && b.remove_vm_replication(own, vm).await.is_err() {
        ret += 2;
    }
    // 7. Register the replica copy from the shared disk.
    if b.get_vm(own, vm).await.ok().flatten().is_none()
        && b.import_vm(own, vm, &ctx.vmcx_path).await.is_err()
    {
        b.log(LogLevel::Error, "Import-VM failed");
        return 1;
    }
    // 8.
    if b.enable_vm_replication_as_replica(own, vm).await.is_err() {
        ret += 4;
    }
    // 9.
    // No -ReplicationFrequencySec: Hyper-V's default of 300 s, whatever the VM had.
    if b.enable_vm_replication(&opp, vm, own, None).await.is_err() {
        ret += 8;
    }
    // 10.
    let _ = b.get_vm_replication(own, vm).await;
    // 11.
    if b.start_vm_initial_replication(&opp, vm).await.is_err() {
        ret += 16;
    }
    // 12.
    let _ = b.get_vm_replication(own, vm).await;
    ret
}
