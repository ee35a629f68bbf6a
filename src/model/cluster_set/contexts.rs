//! What each script resource run is given (`ScriptContext`): the same for every run of one
//! VM's script on one host, so built once per host and VM and shared by the runs, instead of
//! formatting its names and paths again at every activation.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::backend::sim::hyperv::vmcx_path;
use crate::control::{ScriptContext, Side};

use super::master_rt::group_name;
use super::scripts::frequency_s;
use super::world::World;

/// The contexts built so far, by (world server id, VM).
#[derive(Default)]
pub(super) struct ScriptContexts(BTreeMap<(u16, usize), Rc<ScriptContext>>);

impl World<'_> {
    /// The context of VM `vm`'s script on server `host` of cluster `c`, on the cluster's
    /// `side` of the VM, facing cluster `opposite`.
    pub(super) fn script_context(
        &mut self,
        (c, host): (usize, u16),
        vm: usize,
        (side, opposite): (Side, usize),
    ) -> Rc<ScriptContext> {
        let scenario = self.scenario;
        let names = &self.server_names;
        let ctx = self.contexts.0.entry((host, vm)).or_insert_with(|| {
            let spec = &scenario.vms[vm];
            let own_name = &scenario.clusters[c].name;
            let opposite_name = &scenario.clusters[opposite].name;
            let other_side = match side {
                Side::Primary => Side::Replica,
                Side::Replica => Side::Primary,
            };
            Rc::new(ScriptContext {
                own_server: names[host as usize].to_string(),
                own_cluster: own_name.clone(),
                vm: spec.name.clone(),
                opposite_cluster: opposite_name.clone(),
                opposite_group: group_name(opposite_name),
                vmcx_path: vmcx_path(own_name, &spec.name, side),
                opposite_vmcx_path: vmcx_path(opposite_name, &spec.name, other_side),
                replication_frequency_s: frequency_s(spec.replication_interval),
            })
        });
        Rc::clone(ctx)
    }
}
