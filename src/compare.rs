//! `ecxsim compare`: several scenarios on common random numbers, side by side, with the paired
//! differences of each against the first.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::cost::CostModel;
use crate::analysis::sla::PairedBreaches;
use crate::analysis::stats::Welford;
use crate::analysis::summary::{Estimate, Report, MINUTES_PER_YEAR};
use crate::run::{run_together, service_names, RunError, RunOptions, ScenarioAccumulator};
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

/// For scenario `k` against the baseline: pairs of (service index in k, service index in the
/// baseline) with the same name.
fn shared_services(baseline: &Scenario, other: &Scenario) -> Vec<(String, usize, usize)> {
    let base = service_names(baseline);
    service_names(other)
        .into_iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let j = base.iter().position(|b| *b == name)?;
            Some((name, i, j))
        })
        .collect()
}

/// Runs `scenarios` together: the same seed and replication indices for all.
pub fn compare(scenarios: &[Scenario], options: &RunOptions) -> Result<CompareReport, RunError> {
    let refs: Vec<&Scenario> = scenarios.iter().collect();
    let mut accumulators: Vec<ScenarioAccumulator> =
        scenarios.iter().map(ScenarioAccumulator::new).collect();
    let pairs: Vec<Vec<(String, usize, usize)>> = scenarios
        .iter()
        .skip(1)
        .map(|s| shared_services(&scenarios[0], s))
        .collect();
    // [scenario k-1][shared service] -> (availability difference, downtime difference,
    // breaches paired by year)
    let baseline_sla = scenarios[0].sla.map(|s| s.downtime);
    let mut diffs: Vec<Vec<(Welford, Welford, PairedBreaches)>> = pairs
        .iter()
        .map(|p| {
            let slot = (
                Welford::default(),
                Welford::default(),
                PairedBreaches::new(baseline_sla),
            );
            vec![slot; p.len()]
        })
        .collect();
    let costs: Vec<Option<CostModel>> = scenarios.iter().map(CostModel::of).collect();
    // [scenario k-1] -> yearly cost difference, when both are priced
    let mut cost_diffs: Vec<Option<Welford>> = costs[1..]
        .iter()
        .map(|c| (c.is_some() && costs[0].is_some()).then(Welford::default))
        .collect();
    run_together(&refs, options, |results| {
        for (acc, result) in accumulators.iter_mut().zip(results) {
            acc.push(result);
        }
        for (k, shared) in pairs.iter().enumerate() {
            for (slot, (_, i, j)) in diffs[k].iter_mut().zip(shared) {
                let (other, base) = (&results[k + 1].services[*i], &results[0].services[*j]);
                slot.0
                    .push(other.totals.availability() - base.totals.availability());
                slot.1.push(
                    other.totals.downtime_minutes_per_year()
                        - base.totals.downtime_minutes_per_year(),
                );
                slot.2
                    .push(&other.totals.down_by_year, &base.totals.down_by_year);
            }
            if let (Some(w), Some(model), Some(base)) =
                (cost_diffs[k].as_mut(), &costs[k + 1], &costs[0])
            {
                w.push(model.yearly(&results[k + 1]).total - base.yearly(&results[0]).total);
            }
        }
        Ok(())
    })?;
    let differences = pairs
        .iter()
        .zip(&diffs)
        .enumerate()
        .map(|(k, (shared, slots))| Difference {
            cost_per_year: cost_diffs[k].as_ref().map(Estimate::from_replications),
            scenario: scenarios[k + 1].name.clone(),
            baseline: scenarios[0].name.clone(),
            services: shared
                .iter()
                .zip(slots)
                .map(|((name, _, _), (a, d, breaches))| {
                    (
                        name.clone(),
                        ServiceDifference {
                            // A difference of two availabilities lies in [-1, 1], of two
                            // downtimes within a year of minutes either way.
                            availability: Estimate::from_replications_within(a, -1.0, 1.0),
                            downtime_minutes_per_year: Estimate::from_replications_within(
                                d,
                                -MINUTES_PER_YEAR,
                                MINUTES_PER_YEAR,
                            ),
                            sla_breach_probability: breaches.sla_difference(),
                            breach_probability_by_budget: breaches.common_differences(),
                        },
                    )
                })
                .collect(),
        })
        .collect();
    let mut report = CompareReport {
        scenarios: scenarios
            .iter()
            .zip(&accumulators)
            .map(|(s, acc)| acc.report(s, options))
            .collect(),
        differences,
    };
    disambiguate(&mut report);
    Ok(report)
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
