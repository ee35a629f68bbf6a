//! What an administrator does when the control logic left a VM broken (a VM left off,
//! replication broken, the VM running on both clusters), once alerted: first the documented
//! remedy, restarting the script resources (the world runs their stop and start scripts);
//! if that did not help, this manual repair.
//!
//! The repair: the copy clients must not reach is turned off, replication is rebuilt from
//! the copy that holds the primary (the VM's role record, or its home cluster) towards the
//! other cluster's active server, the VM is started where it belongs, and its DNS record
//! points there.

use crate::backend::traits::BackendResult;
use crate::backend::{AlertLog, Clock, Dns, HyperV, LogLevel, PowerState};
use crate::control::coordinated::{self, CoordinationConfig, Deadline};

/// One side of the repair: the active server of a cluster and the VM's file on its disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub host: String,
    pub vmcx_path: String,
    /// What the VM's DNS record points at while it runs there.
    pub address: String,
}

/// Repairs `vm`: `primary` runs it; `replica` (absent while that cluster is down) holds the
/// replica afterwards.
pub async fn repair<B>(
    b: &B,
    vm: &str,
    primary: &Copy,
    replica: Option<&Copy>,
    frequency_s: u32,
    cfg: &CoordinationConfig,
) -> BackendResult<()>
where
    B: HyperV + Clock + Dns + AlertLog,
{
    b.log_fmt(LogLevel::Info, format_args!("operator repairs {vm}"));
    match replica {
        Some(r) => {
            if let Some(info) = b.get_vm(&r.host, vm).await? {
                if info.state != PowerState::Off {
                    b.stop_vm(&r.host, vm).await?;
                }
            }
            coordinated::repoint(
                b,
                vm,
                (&primary.host, &primary.vmcx_path),
                (&r.host, &r.vmcx_path),
                frequency_s,
                cfg,
            )
            .await?;
        }
        None => coordinated::drop_stale_replica(b, &primary.host, vm, cfg, Deadline::NEVER).await,
    }
    coordinated::start_vm_when_ready(b, &primary.host, vm, Deadline::NEVER).await?;
    b.update_record(vm, &primary.address).await
}
