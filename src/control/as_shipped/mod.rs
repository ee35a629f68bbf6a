//! The published scripts, step for step (the EXPRESSCLUSTER/Cluster-Set two-cluster Hyper-V Replica design), defects included: they are
//! what the race measures. Comments number the steps as the reference does.

mod change_primary;
mod change_replica;
mod stop;

pub use change_primary::change_primary;
pub use change_replica::change_replica;
pub use stop::stop;

use crate::backend::{Ecx, GroupInfo, Name};

/// `(curl <RestURI> | ConvertFrom-Json).groups.current`. A failed GET leaves `$null`: the
/// empty string here, which every later `-ComputerName` call rejects. An offline group yields
/// the literal `"None"`, used as a host name just the same: nothing checks `status`.
async fn opposite_current<E: Ecx>(ecx: &E, cluster: &str, group: &str) -> Name {
    match ecx.group(cluster, group).await {
        Ok(GroupInfo { current, .. }) => current,
        Err(_) => Name::from(""),
    }
}
