//! `ecxsim compare`: several scenarios on common random numbers, side by side, with the paired
//! differences of each against the first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::cost::CostModel;
use crate::analysis::sla::PairedBreaches;
use crate::analysis::stats::Welford;
use crate::analysis::summary::{Estimate, Report, MINUTES_PER_YEAR};
use crate::model::ReplicationResult;
use crate::run::{
    run_folded, service_names, Merge, RunError, RunOptions, ScenarioAccumulator, ScenarioLabel,
};
use crate::scenario::Scenario;

/// Per-replication differences (scenario minus baseline) of one service.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceDifference {
    pub availability: Estimate,
    pub downtime_minutes_per_year: Estimate,
    /// P(a year breaches) minus the baseline's, paired by replication-year, against the
    /// baseline's `[sla]`, with Newcombe's paired 95% interval; `null` when the baseline has
    /// no `[sla]`.
    pub sla_breach_probability: Option<Estimate>,
    /// The same against each common budget, by availability ("99.95%").
    pub breach_probability_by_budget: BTreeMap<String, Estimate>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Difference {
    pub scenario: String,
    pub baseline: String,
    /// Services present in both, by name.
    pub services: BTreeMap<String, ServiceDifference>,
    /// Expected yearly cost minus the baseline's, paired by replication, each scenario
    /// priced by its own `[cost]`; `null` unless both have one.
    pub cost_per_year: Option<Estimate>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CompareReport {
    pub scenarios: Vec<Report>,
    pub differences: Vec<Difference>,
}

/// For scenario `k` against the baseline: the services of `other` that the baseline has too,
/// each with its index in `other` and in the baseline, and empty accumulators of their
/// per-replication differences (breaches judged against the baseline's `[sla]`).
fn shared_services(baseline: &Scenario, other: &Scenario) -> Vec<PairedService> {
    let base = service_names(baseline);
    let sla = baseline.sla.map(|s| s.downtime);
    service_names(other)
        .into_iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let baseline_index = base.iter().position(|b| *b == name)?;
            Some(PairedService {
                name,
                index,
                baseline_index,
                availability: Welford::default(),
                downtime_per_year: Welford::default(),
                breaches: PairedBreaches::new(sla),
            })
        })
        .collect()
}

/// One service's per-replication differences, scenario minus baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedService {
    name: String,
    /// The service's position in the scenario's results and in the baseline's.
    index: usize,
    baseline_index: usize,
    availability: Welford,
    downtime_per_year: Welford,
    /// Years of the two breaching a budget, paired by replication and year.
    breaches: PairedBreaches,
}

/// The accumulators of scenarios run together: each scenario's services, and the paired
/// differences of each scenario after the first against the first. Its JSON (derived) is the
/// exact state a partial result of a sharded `compare` or `sweep` carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareAccumulator {
    scenarios: Vec<ScenarioAccumulator>,
    /// `[k - 1]`: scenario `k` against the first.
    differences: Vec<Vec<PairedService>>,
    /// `[k - 1]`: scenario `k`'s yearly cost minus the first's, when both have a `[cost]`.
    cost_differences: Vec<Option<Welford>>,
    /// Each scenario's prices, to price a replication as it comes (not needed to merge).
    #[serde(skip)]
    costs: Vec<Option<CostModel>>,
}

impl CompareAccumulator {
    pub fn new(scenarios: &[&Scenario]) -> CompareAccumulator {
        let costs: Vec<Option<CostModel>> = scenarios.iter().map(|s| CostModel::of(s)).collect();
        CompareAccumulator {
            cost_differences: costs
                .iter()
                .skip(1)
                .map(|c| (c.is_some() && costs[0].is_some()).then(Welford::default))
                .collect(),
            costs,
            scenarios: scenarios
                .iter()
                .map(|s| ScenarioAccumulator::new(s))
                .collect(),
            differences: scenarios
                .iter()
                .skip(1)
                .map(|s| shared_services(scenarios[0], s))
                .collect(),
        }
    }

    /// One replication's results, one per scenario in order.
    pub fn push(&mut self, results: &[ReplicationResult]) {
        for (acc, result) in self.scenarios.iter_mut().zip(results) {
            acc.push(result);
        }
        for (shared, other) in self.differences.iter_mut().zip(&results[1..]) {
            for slot in shared {
                let (other, base) = (
                    &other.services[slot.index],
                    &results[0].services[slot.baseline_index],
                );
                slot.availability
                    .push(other.totals.availability() - base.totals.availability());
                slot.downtime_per_year.push(
                    other.totals.downtime_minutes_per_year()
                        - base.totals.downtime_minutes_per_year(),
                );
                slot.breaches
                    .push(&other.totals.down_by_year, &base.totals.down_by_year);
            }
        }
        for (k, difference) in self.cost_differences.iter_mut().enumerate() {
            if let (Some(w), Some(Some(model)), Some(Some(base))) = (
                difference.as_mut(),
                self.costs.get(k + 1),
                self.costs.first(),
            ) {
                w.push(model.yearly(&results[k + 1]).total - base.yearly(&results[0]).total);
            }
        }
    }

    /// Whether `other` accumulates the same scenarios, services and pairs (a partial result
    /// read from a file must, before it is merged into this).
    pub fn same_shape(&self, other: &CompareAccumulator) -> bool {
        let names = |a: &CompareAccumulator| -> Vec<Vec<String>> {
            a.scenarios
                .iter()
                .map(|s| s.service_names().map(str::to_string).collect())
                .collect()
        };
        let pairs = |a: &CompareAccumulator| -> Vec<Vec<(String, usize, usize)>> {
            a.differences
                .iter()
                .map(|d| {
                    d.iter()
                        .map(|p| (p.name.clone(), p.index, p.baseline_index))
                        .collect()
                })
                .collect()
        };
        names(self) == names(other) && pairs(self) == pairs(other)
    }

    /// The comparison's report; `scenarios` labels the accumulated scenarios in order.
    pub fn report(&self, scenarios: &[ScenarioLabel], options: &RunOptions) -> CompareReport {
        let baseline = scenarios
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let differences = self
            .differences
            .iter()
            .zip(scenarios.iter().skip(1))
            .zip(&self.cost_differences)
            .map(|((shared, scenario), cost)| Difference {
                scenario: scenario.name.clone(),
                baseline: baseline.clone(),
                cost_per_year: cost.as_ref().map(Estimate::from_replications),
                services: shared
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            ServiceDifference {
                                // A difference of two availabilities lies in [-1, 1], of two
                                // downtimes within a year of minutes either way.
                                availability: Estimate::from_replications_within(
                                    &p.availability,
                                    -1.0,
                                    1.0,
                                ),
                                downtime_minutes_per_year: Estimate::from_replications_within(
                                    &p.downtime_per_year,
                                    -MINUTES_PER_YEAR,
                                    MINUTES_PER_YEAR,
                                ),
                                sla_breach_probability: p.breaches.sla_difference(),
                                breach_probability_by_budget: p.breaches.common_differences(),
                            },
                        )
                    })
                    .collect(),
            })
            .collect();
        let mut report = CompareReport {
            scenarios: self
                .scenarios
                .iter()
                .zip(scenarios)
                .map(|(acc, s)| acc.report(s, options))
                .collect(),
            differences,
        };
        disambiguate(&mut report);
        report
    }
}

impl Merge for CompareAccumulator {
    fn merge(&mut self, later: &CompareAccumulator) {
        for (acc, more) in self.scenarios.iter_mut().zip(&later.scenarios) {
            acc.merge(more);
        }
        for (shared, more) in self.differences.iter_mut().zip(&later.differences) {
            for (slot, add) in shared.iter_mut().zip(more) {
                slot.availability.merge(&add.availability);
                slot.downtime_per_year.merge(&add.downtime_per_year);
                slot.breaches.merge(&add.breaches);
            }
        }
        for (mine, more) in self
            .cost_differences
            .iter_mut()
            .zip(&later.cost_differences)
        {
            if let (Some(mine), Some(more)) = (mine.as_mut(), more.as_ref()) {
                mine.merge(more);
            }
        }
    }
}

/// Runs `scenarios` together: the same seed and replication indices for all.
pub fn compare(scenarios: &[Scenario], options: &RunOptions) -> Result<CompareReport, RunError> {
    let refs: Vec<&Scenario> = scenarios.iter().collect();
    let acc = run_folded(
        &refs,
        options,
        CompareAccumulator::new(&refs),
        |acc, results| {
            acc.push(results);
            Ok(())
        },
    )?;
    let labels: Vec<ScenarioLabel> = scenarios.iter().map(ScenarioLabel::of).collect();
    Ok(acc.report(&labels, options))
}

/// Two scenarios of the same name (two files with one `name`) would give two columns, two
/// charts' bars and two JSON entries that cannot be told apart: the second and later get
/// ` #2`, ` #3`... in the order given.
fn disambiguate(report: &mut CompareReport) {
    let original: Vec<String> = report
        .scenarios
        .iter()
        .map(|r| r.scenario.clone())
        .collect();
    let mut renamed = original.clone();
    for (i, name) in original.iter().enumerate() {
        let earlier = original[..i].iter().filter(|n| *n == name).count();
        if earlier > 0 {
            let mut k = earlier + 1;
            while original.contains(&format!("{name} #{k}"))
                || renamed.contains(&format!("{name} #{k}"))
            {
                k += 1;
            }
            renamed[i] = format!("{name} #{k}");
        }
    }
    for (r, name) in report.scenarios.iter_mut().zip(&renamed) {
        r.scenario = name.clone();
    }
    let baseline = renamed.first().cloned().unwrap_or_default();
    for (d, name) in report.differences.iter_mut().zip(renamed.iter().skip(1)) {
        d.scenario = name.clone();
        d.baseline = baseline.clone();
    }
}
