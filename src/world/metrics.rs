//! Per-run measurements: availability, unprotected time, data at risk, script results.

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

/// Measurements of one VM over one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmMetrics {
    pub vm: String,
    pub observed: Micros,
    /// Time the VM ran on a live server that had its disk.
    pub up: Micros,
    pub outages: u32,
    /// Time replication was not healthy (see `EndState::Healthy`).
    pub unprotected: Micros,
    /// Largest amount of writes (as time) not yet replicated while the VM ran.
    pub max_data_at_risk: Micros,
    /// Writes lost when the primary cluster's disk failed (time since the last cycle).
    pub data_lost: Micros,
    /// (time, available) whenever availability changed.
    pub availability_changes: Vec<(Micros, bool)>,
    /// (time, healthy) whenever replication health changed.
    pub health_changes: Vec<(Micros, bool)>,
}

impl VmMetrics {
    pub fn availability(&self) -> f64 {
        if self.observed == 0 {
            1.0
        } else {
            self.up as f64 / self.observed as f64
        }
    }

    /// First time at or after `t` when replication was healthy (and stayed so to the end).
    pub fn healthy_since(&self, t: Micros) -> Option<Micros> {
        match self.health_changes.last() {
            Some((at, true)) => Some((*at).max(t)),
            _ => None,
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
