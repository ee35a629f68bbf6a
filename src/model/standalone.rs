//! One replication of a scenario of standalone clusters: every cluster on one calendar, plus
//! the witness server they may share.

use crate::engine::Calendar;
use crate::metrics::{OutageRecord, TrackerTotals};
use crate::scenario::Scenario;
use crate::time::Micros;

use super::cluster::{build_clusters, ClusterEvent, FromClusterEvent, Scoped};
use super::witness::{WitnessEvent, WitnessSim};

/// An event of the world: to one cluster, or to the witness.
#[derive(Debug, Clone, Copy)]
enum WorldEvent {
    Cluster { cluster: u16, event: ClusterEvent },
    Witness(WitnessEvent),
}

impl FromClusterEvent for WorldEvent {
    fn from_cluster_event(cluster: u16, event: ClusterEvent) -> Self {
        WorldEvent::Cluster { cluster, event }
    }
}

/// What one service saw in one replication.
#[derive(Debug, Clone, Default)]
pub struct ServiceResult {
    pub totals: TrackerTotals,
    pub outages: Vec<OutageRecord>,
    /// Cluster set: writes lost (time since the last completed replication cycle) at each
    /// unplanned cross-cluster failover of this VM that began in the observed window.
    pub data_loss: Vec<Micros>,
}

/// One replication: a result per service, in the scenario's service order (then, in a cluster
/// set, one per VM in the VMs' order).
#[derive(Debug, Clone, Default)]
pub struct ReplicationResult {
    pub index: u64,
    pub services: Vec<ServiceResult>,
    /// Events processed, for throughput measurements.
    pub events: u64,
}

/// Runs replication `index` of `scenario` with `seed`; a pure function of its arguments.
/// A scenario with a master, VMs or fault domains runs in the cluster-set world
/// (`cluster_set::simulate_replication`).
pub fn simulate_replication(
    scenario: &Scenario,
    seed: u64,
    index: u64,
    keep_outages: bool,
) -> ReplicationResult {
    if scenario.master.is_some() || !scenario.vms.is_empty() || !scenario.fault_domains.is_empty() {
        return super::cluster_set::simulate_replication(scenario, seed, index, keep_outages);
    }
    let sim = &scenario.simulation;
    let mut calendar: Calendar<WorldEvent> =
        Calendar::with_capacity(8 * scenario.clusters.len() + 8);
    // The witness first: it draws from its own streams, so its place changes no other draw.
    let mut witness = scenario.witness.as_ref().map(|spec| {
        let (witness, first) = WitnessSim::new(spec, seed, index);
        calendar.schedule_in(first, WorldEvent::Witness(WitnessEvent::Fails));
        witness
    });
    let witness_up = witness.is_some();
    let mut clusters = build_clusters(
        scenario,
        seed,
        index,
        keep_outages,
        witness_up,
        &mut calendar,
    );
    let mut events = 0;
    while let Some((_, event)) = calendar.pop_until(sim.horizon) {
        events += 1;
        match event {
            WorldEvent::Cluster { cluster, event } => {
                let mut scope = Scoped {
                    calendar: &mut calendar,
                    cluster,
                };
                let cluster = &mut clusters[cluster as usize];
                cluster.handle(event, &mut scope);
                cluster.fuse_failover(&mut calendar);
            }
            WorldEvent::Witness(event) => {
                let Some(w) = witness.as_mut() else { continue };
                let (next, delay) = w.handle(event);
                calendar.schedule_in(delay, WorldEvent::Witness(next));
                let up = w.is_up();
                for (i, cluster) in clusters.iter_mut().enumerate() {
                    let mut scope = Scoped {
                        calendar: &mut calendar,
                        cluster: i as u16,
                    };
                    cluster.set_witness(up, &mut scope);
                    cluster.fuse_failover(&mut calendar);
                }
            }
        }
    }
    let mut per_cluster: Vec<Option<(TrackerTotals, Vec<OutageRecord>)>> = clusters
        .into_iter()
        .map(|cluster| Some(cluster.finish()))
        .collect();
    let services = scenario
        .services
        .iter()
        .enumerate()
        .map(|(i, service)| {
            // The last service of a cluster takes its results, any before it a copy.
            let last = !scenario.services[i + 1..]
                .iter()
                .any(|later| later.cluster == service.cluster);
            let results = &mut per_cluster[service.cluster];
            let (totals, outages) = if last {
                results.take()
            } else {
                results.clone()
            }
            .expect("a cluster's results go to its services only");
            ServiceResult {
                totals,
                outages,
                data_loss: Vec::new(),
            }
        })
        .collect();
    ReplicationResult {
        index,
        services,
        events,
    }
}
