//! One replication of a scenario of standalone clusters: every cluster on one calendar.

use crate::engine::Calendar;
use crate::metrics::{OutageRecord, TrackerTotals};
use crate::scenario::Scenario;
use crate::time::Micros;

use super::cluster::{ClusterCalendar, ClusterEvent, ClusterSim};

/// A cluster event addressed to one cluster of the world.
#[derive(Debug, Clone, Copy)]
struct WorldEvent {
    cluster: u16,
    event: ClusterEvent,
}

/// The world calendar seen from one cluster.
struct Scoped<'c> {
    calendar: &'c mut Calendar<WorldEvent>,
    cluster: u16,
}

impl ClusterCalendar for Scoped<'_> {
    fn schedule(&mut self, delay: Micros, event: ClusterEvent) {
        let cluster = self.cluster;
        self.calendar
            .schedule_in(delay, WorldEvent { cluster, event });
    }
    fn now(&self) -> Micros {
        self.calendar.now()
    }
}

/// What one service saw in one replication.
#[derive(Debug, Clone, Default)]
pub struct ServiceResult {
    pub totals: TrackerTotals,
    pub outages: Vec<OutageRecord>,
}

/// One replication: a result per service, in the scenario's service order.
#[derive(Debug, Clone, Default)]
pub struct ReplicationResult {
    pub index: u64,
    pub services: Vec<ServiceResult>,
    /// Events processed, for throughput measurements.
    pub events: u64,
}

/// Runs replication `index` of `scenario` with `seed`; a pure function of its arguments.
pub fn simulate_replication(
    scenario: &Scenario,
    seed: u64,
    index: u64,
    keep_outages: bool,
) -> ReplicationResult {
    let sim = &scenario.simulation;
    let mut calendar: Calendar<WorldEvent> =
        Calendar::with_capacity(8 * scenario.clusters.len() + 8);
    let mut clusters: Vec<ClusterSim> = scenario
        .clusters
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut scope = Scoped {
                calendar: &mut calendar,
                cluster: i as u16,
            };
            ClusterSim::new(
                spec,
                seed,
                index,
                sim.warmup,
                sim.horizon,
                keep_outages,
                &mut scope,
            )
        })
        .collect();
    let mut events = 0;
    while let Some((_, WorldEvent { cluster, event })) = calendar.pop_until(sim.horizon) {
        events += 1;
        let mut scope = Scoped {
            calendar: &mut calendar,
            cluster,
        };
        clusters[cluster as usize].handle(event, &mut scope);
    }
    let per_cluster: Vec<(TrackerTotals, Vec<OutageRecord>)> =
        clusters.into_iter().map(ClusterSim::finish).collect();
    let services = scenario
        .services
        .iter()
        .map(|service| {
            let (totals, outages) = &per_cluster[service.cluster];
            ServiceResult {
                totals: totals.clone(),
                outages: outages.clone(),
            }
        })
        .collect();
    ReplicationResult {
        index,
        services,
        events,
    }
}
