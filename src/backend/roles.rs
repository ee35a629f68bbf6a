//! The VMs' role records: which cluster holds each VM's primary copy, as of an epoch that only
//! grows. The coordination service keeps them with its leases (`leases::Leases`), simulated
//! and in production alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::RoleRecord;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoleRecords(BTreeMap<String, RoleRecord>);

impl RoleRecords {
    pub fn get(&self, vm: &str) -> Option<RoleRecord> {
        self.0.get(vm).cloned()
    }

    /// Writes the record if `epoch` is later than the one held: a claim made on an older view
    /// (a master that lost its lease meanwhile) never overwrites a newer one.
    pub fn claim(&mut self, vm: &str, cluster: &str, epoch: u64) -> bool {
        if self.0.get(vm).is_some_and(|r| r.epoch >= epoch) {
            return false;
        }
        let primary = cluster.to_string();
        self.0.insert(vm.to_string(), RoleRecord { primary, epoch });
        true
    }
}
