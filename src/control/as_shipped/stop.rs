//! `primary/Stop.ps1`: run only on a group move, on the node giving the group up.

use super::opposite_current;
use crate::backend::{AlertLog, Ecx, HyperV, LogLevel, PowerState};
use crate::control::context::ScriptContext;

pub async fn stop<B>(b: &B, ctx: &ScriptContext) -> u32
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
            format_args!("peer {opp} state {}", info.state),
        );
    }
    // 3.
    if let Ok(Some(info)) = b.get_vm(own, vm).await {
        if info.state != PowerState::Off {
            let _ = b.stop_vm(own, vm).await;
        }
    }
    // 4.
    if rep_info.is_some() && b.remove_vm_replication(&opp, vm).await.is_err() {
        ret += 1;
    }
    // 5. Local removal, with no pause here. The guard is an unfiltered
    // `Get-VMReplication -ComputerName <own>` tested with `-eq $null`: it holds whenever the
    // node holds any relationship, this VM's or another's (a failed listing is `$null` too).
    let local = b.list_vm_replication(own).await.unwrap_or_default();
    if !local.is_empty() && b.remove_vm_replication(own, vm).await.is_err() {
        ret += 2;
    }
    // 6.
    ret
}
