//! The backends the control logic talks to, as traits, and their simulated implementations.
//!
//! `control/` sees only this module's traits and types (`traits`, `ecx_types`, `hyperv_types`,
//! `error`). `sim/` holds the mocked ECX and Hyper-V and the virtual-time executor; the
//! production implementations (ECX REST client, PowerShell runner...) are in `crate::production`.

pub mod ecx_types;
pub mod error;
pub mod hyperv_types;
pub mod leases;
pub mod roles;
pub mod sim;
pub mod traits;

/// A name a backend call or answer carries (a host, a VM, a cluster...): cloned without
/// copying, since one name travels from call to call. `Arc`, so that answers built by the
/// production backends' worker threads can carry it too.
pub type Name = std::sync::Arc<str>;

pub use ecx_types::{ClusterInfo, GroupInfo, GroupStatus, ResourceInfo, ServerInfo, NO_SERVER};
pub use error::BackendError;
pub use hyperv_types::{
    PowerState, ReplicationHealth, ReplicationMode, ReplicationState, VmInfo, VmReplication,
    VM_STATUS_CREATING_CHECKPOINT, VM_STATUS_OPERATING_NORMALLY,
};
pub use leases::Leases;
pub use roles::RoleRecords;
pub use traits::{AlertLog, Clock, Dns, Ecx, HyperV, Lease, LogLevel, RoleRecord};
