//! The run report: per service, mean and 95% interval of availability and downtime per year,
//! pooled MTBF and MTTR, outages and downtime by cause. Its JSON is a contract: fields are added, never renamed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cost::CostReport;
use super::sla::{BreachProbability, DowntimeQuantiles, YearlyDowntime};
use super::stats::{nines, Welford};
use crate::metrics::{DataLossHistogram, DataLossSummary, CAUSES};
use crate::model::ServiceResult;
use crate::time::{MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_YEAR};

pub const MINUTES_PER_YEAR: f64 = (MICROS_PER_YEAR / MICROS_PER_MINUTE) as f64;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    /// Student-t 95% interval over replications; `null` with a single replication.
    pub ci95: Option<[f64; 2]>,
}

impl Estimate {
    /// The mean over replications with its Student-t 95% interval.
    pub fn from_replications(w: &Welford) -> Estimate {
        Estimate {
            mean: w.mean(),
            ci95: w.confidence_interval(0.95).map(|(lo, hi)| [lo, hi]),
        }
    }

    /// The same for a quantity that cannot leave `[min, max]` (an availability, a downtime):
    /// the symmetric t interval can reach past the bounds (100.54%, a negative downtime) with
    /// few replications or skewed values, so it is cut at them.
    pub fn from_replications_within(w: &Welford, min: f64, max: f64) -> Estimate {
        let e = Estimate::from_replications(w);
        Estimate {
            mean: e.mean.clamp(min, max),
            ci95: e
                .ci95
                .map(|[lo, hi]| [lo.clamp(min, max), hi.clamp(min, max)]),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ServiceReport {
    pub availability: Estimate,
    pub downtime_minutes_per_year: Estimate,
    /// Outages observed over all replications (0 for the exact solution, which runs nothing).
    pub outages: u64,
    /// Outages per year of observed time (for the exact solution: the steady-state rate).
    pub outages_per_year: f64,
    /// `null` when there was no outage (no failure observed).
    pub mtbf_hours: Option<f64>,
    pub mttr_hours: Option<f64>,
    /// -log10(1 - availability); `null` for a perfect record.
    pub nines: Option<f64>,
    pub downtime_by_cause_minutes_per_year: BTreeMap<String, f64>,
    /// Time with the group active on both sides of a partition (`np_resolution = "none"`).
    pub split_brain_minutes_per_year: f64,
    /// Network-partition resolutions that shut servers down, over all replications.
    pub np_shutdowns: u64,
    /// Cluster set: time the VM had no up-to-date replica.
    pub unprotected_minutes_per_year: f64,
    /// The part of it with both of the VM's clusters up (replication broken or rebuilding).
    pub replication_broken_minutes_per_year: f64,
    /// Times the VM began running on both clusters at once, over all replications.
    pub vm_running_twice: u64,
    /// Cluster set: seconds of writes lost per unplanned cross-cluster failover; `null` when
    /// there was none.
    pub data_loss: Option<DataLossSummary>,
    /// Cluster set: unplanned cross-cluster failovers per year of observed time (the count
    /// over all replications is `data_loss.failovers`).
    pub cross_cluster_failovers_per_year: f64,
    /// Cluster set, a VM whose writes cross a `[[link]]`: how its replication kept up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_link: Option<LinkReport>,
    /// The downtime of one year (each whole year of each replication a sample), in minutes;
    /// `null` when no replication observed a whole year.
    pub downtime_per_year_quantiles: Option<DowntimeQuantiles>,
    /// P(a year's downtime exceeds the `[sla]`), with its exact (Clopper-Pearson) 95%
    /// interval; `null` without `[sla]` (or without a whole year).
    pub sla_breach_probability: Option<BreachProbability>,
    /// The same against the common budgets, by availability ("99.95%").
    pub breach_probability_by_budget: BTreeMap<String, BreachProbability>,
}

/// A VM's replication over its link, across replications.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LinkReport {
    /// The link's bandwidth over the total churn of its VMs (below 1 the cycles cannot keep
    /// up), mean over replications.
    pub headroom: Estimate,
    /// Replications in which the link could not keep up (headroom below 1).
    pub replications_lagging: u64,
    /// Time cycles ran late for want of bandwidth; part of `unprotected_minutes_per_year`.
    pub lagging_minutes_per_year: f64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    pub scenario: String,
    /// `simulation`, or `exact-ctmc` for `ecxsim analytic`.
    pub method: String,
    pub seed: u64,
    pub replications: u64,
    pub horizon_hours: f64,
    pub warmup_hours: f64,
    pub services: BTreeMap<String, ServiceReport>,
    /// The scenario's `[sla]`; `null` without one.
    pub sla: Option<SlaReport>,
    /// The expected yearly cost under the scenario's `[cost]`; `null` without one.
    pub cost: Option<CostReport>,
    /// Writes lost per cross-cluster failover, per service (for the data-loss chart; the JSON
    /// carries the summary in each service's `data_loss`).
    #[serde(skip)]
    pub data_loss_seconds: BTreeMap<String, DataLossCurve>,
    /// Downtime per year, per service, as evenly spaced quantiles in minutes (the last one
    /// the maximum), for the yearly-downtime chart.
    #[serde(skip)]
    pub yearly_downtime_minutes: BTreeMap<String, Vec<f64>>,
}

/// The `[sla]` as the report states it: both forms of the one budget.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct SlaReport {
    pub availability: f64,
    pub downtime_minutes_per_year: f64,
}

impl SlaReport {
    pub fn of(sla: &crate::scenario::Sla) -> SlaReport {
        SlaReport {
            availability: sla.availability,
            downtime_minutes_per_year: sla.downtime as f64 / MICROS_PER_MINUTE as f64,
        }
    }
}

/// A distribution of lost writes as a chart draws it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataLossCurve {
    pub failovers: u64,
    /// Evenly spaced quantiles, in seconds, the last one the maximum.
    pub seconds: Vec<f64>,
    /// The numbers the JSON report carries (`data_loss`), for the chart's legend: one
    /// computation, so that the two never disagree.
    pub summary: Option<DataLossSummary>,
}

/// Accumulates one service's replications, in replication order. Its JSON (derived) is the
/// exact state a partial result of a sharded run carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccumulator {
    availability: Welford,
    downtime_per_year: Welford,
    up: u128,
    down: u128,
    outages: u64,
    down_by_cause: [u128; CAUSES.len()],
    split_brain: u128,
    np_shutdowns: u64,
    unprotected: u128,
    replication_broken: u128,
    vm_running_twice: u64,
    /// Every cross-cluster failover's lost writes, in constant memory.
    data_loss: DataLossHistogram,
    /// A VM on a link: headroom per replication, lagging time, replications lagging.
    link: Option<(Welford, u128, u64)>,
    /// Downtime per whole year, and the years over each budget.
    yearly: YearlyDowntime,
}

impl ServiceAccumulator {
    /// `sla`: the scenario's allowed downtime per year, if it has an `[sla]`.
    pub fn with_sla(sla: Option<crate::time::Micros>) -> ServiceAccumulator {
        ServiceAccumulator {
            yearly: YearlyDowntime::new(sla),
            ..ServiceAccumulator::default()
        }
    }

    pub fn push(&mut self, service: &ServiceResult) {
        let totals = &service.totals;
        self.availability.push(totals.availability());
        self.downtime_per_year
            .push(totals.downtime_minutes_per_year());
        self.up += totals.up as u128;
        self.down += totals.down as u128;
        self.outages += totals.outages;
        for (sum, &d) in self.down_by_cause.iter_mut().zip(&totals.down_by_cause) {
            *sum += d as u128;
        }
        self.split_brain += totals.split_brain as u128;
        self.np_shutdowns += totals.np_shutdowns;
        self.unprotected += totals.unprotected as u128;
        self.replication_broken += totals.replication_broken as u128;
        self.vm_running_twice += totals.vm_running_twice;
        if let Some(lag) = totals.replication_lag {
            let (headroom, lagging, behind) = self.link.get_or_insert_with(Default::default);
            headroom.push(lag.headroom);
            *lagging += lag.lagging as u128;
            *behind += u64::from(lag.headroom < 1.0);
        }
        service
            .data_loss
            .iter()
            .for_each(|&us| self.data_loss.push(us));
        self.yearly.push(&totals.down_by_year);
    }

    /// Downtime per year as a chart draws it: evenly spaced quantiles in minutes.
    pub fn yearly_downtime_curve(&self) -> Vec<f64> {
        self.yearly.curve_minutes(2000)
    }

    /// Adds the replications accumulated in `later`, as if pushed after these.
    pub fn merge(&mut self, later: &ServiceAccumulator) {
        self.availability.merge(&later.availability);
        self.downtime_per_year.merge(&later.downtime_per_year);
        self.up += later.up;
        self.down += later.down;
        self.outages += later.outages;
        for (sum, &d) in self.down_by_cause.iter_mut().zip(&later.down_by_cause) {
            *sum += d;
        }
        self.split_brain += later.split_brain;
        self.np_shutdowns += later.np_shutdowns;
        self.unprotected += later.unprotected;
        self.replication_broken += later.replication_broken;
        self.vm_running_twice += later.vm_running_twice;
        if let Some((headroom, lagging, behind)) = &later.link {
            let (h, l, b) = self.link.get_or_insert_with(Default::default);
            h.merge(headroom);
            *l += lagging;
            *b += behind;
        }
        self.data_loss.merge(&later.data_loss);
        self.yearly.merge(&later.yearly);
    }

    /// The distribution of writes lost per cross-cluster failover, for the chart.
    pub fn data_loss_curve(&self) -> DataLossCurve {
        DataLossCurve {
            failovers: self.data_loss.count(),
            seconds: self.data_loss.quantiles_seconds(2000),
            summary: self.data_loss.summary(),
        }
    }

    pub fn report(&self) -> ServiceReport {
        let observed = (self.up + self.down) as f64;
        let hours = |us: u128| us as f64 / MICROS_PER_HOUR as f64;
        let per_outage =
            |total: u128| (self.outages > 0).then(|| hours(total) / self.outages as f64);
        ServiceReport {
            availability: Estimate::from_replications_within(&self.availability, 0.0, 1.0),
            downtime_minutes_per_year: Estimate::from_replications_within(
                &self.downtime_per_year,
                0.0,
                MINUTES_PER_YEAR,
            ),
            outages: self.outages,
            outages_per_year: self.outages as f64 / (observed / MICROS_PER_YEAR as f64),
            mtbf_hours: per_outage(self.up),
            mttr_hours: per_outage(self.down),
            nines: nines(self.availability.mean()),
            downtime_by_cause_minutes_per_year: CAUSES
                .iter()
                .map(|c| {
                    let share = self.down_by_cause[c.index()] as f64 / observed;
                    (c.name().to_string(), share * MINUTES_PER_YEAR)
                })
                .collect(),
            split_brain_minutes_per_year: self.split_brain as f64 / observed * MINUTES_PER_YEAR,
            np_shutdowns: self.np_shutdowns,
            unprotected_minutes_per_year: self.unprotected as f64 / observed * MINUTES_PER_YEAR,
            replication_broken_minutes_per_year: self.replication_broken as f64 / observed
                * MINUTES_PER_YEAR,
            vm_running_twice: self.vm_running_twice,
            data_loss: self.data_loss.summary(),
            cross_cluster_failovers_per_year: self.data_loss.count() as f64
                / (observed / MICROS_PER_YEAR as f64),
            replication_link: self
                .link
                .as_ref()
                .map(|(headroom, lagging, behind)| LinkReport {
                    headroom: Estimate::from_replications(headroom),
                    replications_lagging: *behind,
                    lagging_minutes_per_year: *lagging as f64 / observed * MINUTES_PER_YEAR,
                }),
            downtime_per_year_quantiles: self.yearly.quantiles(),
            sla_breach_probability: self.yearly.sla_breach(),
            breach_probability_by_budget: self.yearly.common_breaches(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accumulator_state_reads_back_exactly_and_merges_in_order() {
        let mut acc = ServiceAccumulator::default();
        [0.999_9, 0.25, 1.0 / 3.0].iter().for_each(|&x| {
            acc.availability.push(x);
            acc.downtime_per_year.push(x * MINUTES_PER_YEAR);
        });
        // Sums past u64: centuries of microseconds over millions of replications.
        acc.up = u128::from(u64::MAX) * 1000 + 7;
        acc.down_by_cause[3] = u128::MAX / 5;
        acc.outages = 12;
        acc.data_loss.push(1_234_567);
        let text = serde_json::to_string(&acc).unwrap();
        let back: ServiceAccumulator = serde_json::from_str(&text).unwrap();
        assert_eq!(back, acc);
        let mut twice = back.clone();
        twice.merge(&acc);
        assert_eq!(twice.outages, 24);
        assert_eq!(twice.up, 2 * acc.up);
        assert_eq!(twice.data_loss.count(), 2);
        assert_eq!(twice.availability.count(), 6);
        assert_eq!(twice.availability.mean(), acc.availability.mean());
    }

    #[test]
    fn intervals_stay_inside_the_feasible_range() {
        // Two perfect replications and one at 96.5%: the t interval (2 dof) reaches past 100%.
        let mut w = Welford::default();
        [1.0, 1.0, 0.965].iter().for_each(|&x| w.push(x));
        let raw = Estimate::from_replications(&w).ci95.unwrap();
        assert!(raw[1] > 1.0 && raw[0] < 1.0);
        let e = Estimate::from_replications_within(&w, 0.0, 1.0);
        let [lo, hi] = e.ci95.unwrap();
        assert_eq!(hi, 1.0);
        assert_eq!(lo, raw[0]);
        assert_eq!(e.mean, w.mean());
    }
}
