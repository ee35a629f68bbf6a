//! Per-run records: script results, and each VM's availability and protection changes.

use serde::{Deserialize, Serialize};

use crate::control::{ClpEvent, ClpFactor, ScriptName, Side};
use crate::time::Micros;

/// One script resource run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptRecord {
    pub cluster: String,
    pub server: String,
    pub vm: String,
    pub side: Side,
    pub event: ClpEvent,
    /// Set for stop scripts.
    pub factor: Option<ClpFactor>,
    pub script: ScriptName,
    pub bitmask: u32,
    pub batch_exit: i32,
    pub started: Micros,
    pub finished: Micros,
}

/// When one VM became available or unavailable, protected or unprotected, over one run
/// (recorded on request: the race measures recovery times from it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmHistory {
    /// (time, available) whenever availability changed.
    pub availability_changes: Vec<(Micros, bool)>,
    /// (time, healthy) whenever replication health changed.
    pub health_changes: Vec<(Micros, bool)>,
}

impl VmHistory {
    /// First time at or after `t` when replication was healthy (and stayed so to the end).
    pub fn healthy_since(&self, t: Micros) -> Option<Micros> {
        match self.health_changes.last() {
            Some((at, true)) => Some((*at).max(t)),
            Some((_, false)) => None,
            None => Some(t),
        }
    }

    /// First time at or after `t` when the VM became available.
    pub fn available_again_after(&self, t: Micros) -> Option<Micros> {
        self.availability_changes
            .iter()
            .find(|(at, up)| *at >= t && *up)
            .map(|(at, _)| *at)
    }
}
