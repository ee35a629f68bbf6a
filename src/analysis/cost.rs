//! The expected yearly cost of a scenario under its `[cost]`: each replication's downtime and
//! lost writes per year priced, plus the infrastructure's fixed yearly cost; the mean over
//! replications with its Student-t 95% interval.

use serde::{Deserialize, Serialize};

use super::stats::Welford;
use super::summary::Estimate;
use crate::model::ReplicationResult;
use crate::scenario::{Cost, Scenario};
use crate::time::{MICROS_PER_MINUTE, MICROS_PER_YEAR};

/// A scenario's prices and the fixed yearly cost of what it is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    cost: Cost,
    infrastructure: f64,
}

/// One replication's cost per year of observed time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearlyCost {
    pub downtime: f64,
    pub lost_writes: f64,
    pub total: f64,
}

impl CostModel {
    /// `None` when the scenario has no `[cost]`.
    pub fn of(scenario: &Scenario) -> Option<CostModel> {
        let cost = scenario.cost?;
        let servers: usize = scenario.clusters.iter().map(|c| c.servers.len()).sum();
        // Every priced piece of infrastructure: (how many, yearly cost of one).
        let pieces = [
            (servers, cost.server_per_year),
            (scenario.clusters.len(), cost.cluster_per_year),
            (scenario.links.len(), cost.link_per_year),
        ];
        Some(CostModel {
            cost,
            infrastructure: pieces.iter().map(|&(n, each)| n as f64 * each).sum(),
        })
    }

    pub fn infrastructure(&self) -> f64 {
        self.infrastructure
    }

    /// Prices one replication: the downtime of every service and VM and the writes lost in
    /// every cross-cluster failover, per year of its observed window.
    pub fn yearly(&self, result: &ReplicationResult) -> YearlyCost {
        let observed = result
            .services
            .first()
            .map_or(0, |s| s.totals.up + s.totals.down);
        let years = observed.max(1) as f64 / MICROS_PER_YEAR as f64;
        let down_minutes: f64 = result
            .services
            .iter()
            .map(|s| s.totals.downtime_minutes_per_year())
            .sum();
        let lost_us: u128 = result
            .services
            .iter()
            .flat_map(|s| s.data_loss.iter())
            .map(|&us| us as u128)
            .sum();
        let lost_minutes = lost_us as f64 / MICROS_PER_MINUTE as f64 / years;
        let downtime = down_minutes * self.cost.downtime_per_minute;
        let lost_writes = lost_minutes * self.cost.lost_writes_per_minute;
        YearlyCost {
            downtime,
            lost_writes,
            total: downtime + lost_writes + self.infrastructure,
        }
    }
}

/// The yearly cost over replications.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostAccumulator {
    total: Welford,
    downtime: Welford,
    lost_writes: Welford,
    infrastructure: f64,
}

/// The report's `cost`: expected amounts per year, in the scenario's currency.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CostReport {
    pub total_per_year: Estimate,
    pub downtime_per_year: Estimate,
    pub lost_writes_per_year: Estimate,
    /// Servers and clusters: the same every year and replication.
    pub infrastructure_per_year: f64,
}

impl CostAccumulator {
    pub fn new(model: &CostModel) -> CostAccumulator {
        CostAccumulator {
            infrastructure: model.infrastructure,
            ..CostAccumulator::default()
        }
    }

    pub fn push(&mut self, cost: &YearlyCost) {
        self.total.push(cost.total);
        self.downtime.push(cost.downtime);
        self.lost_writes.push(cost.lost_writes);
    }

    /// Adds the replications accumulated in `later`, as if pushed after these.
    pub fn merge(&mut self, later: &CostAccumulator) {
        self.total.merge(&later.total);
        self.downtime.merge(&later.downtime);
        self.lost_writes.merge(&later.lost_writes);
    }

    pub fn report(&self) -> CostReport {
        // No cost goes below zero; a t interval on skewed costs could.
        let estimate =
            |w: &Welford, floor: f64| Estimate::from_replications_within(w, floor, f64::MAX);
        CostReport {
            total_per_year: estimate(&self.total, self.infrastructure),
            downtime_per_year: estimate(&self.downtime, 0.0),
            lost_writes_per_year: estimate(&self.lost_writes, 0.0),
            infrastructure_per_year: self.infrastructure,
        }
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;
    use crate::scenario::Cost;

    #[test]
    fn every_replication_link_is_priced_per_year() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cluster_set_wan.toml");
        let mut sc = crate::scenario::load(&path).unwrap();
        assert!(!sc.links.is_empty());
        sc.cost = Some(Cost {
            link_per_year: 7000.0,
            cluster_per_year: 100.0,
            ..Cost::default()
        });
        let model = CostModel::of(&sc).unwrap();
        let expected = 7000.0 * sc.links.len() as f64 + 100.0 * sc.clusters.len() as f64;
        assert_eq!(model.infrastructure(), expected);
    }
}
