//! SLA risk: the distribution of downtime per year, each whole year of each replication one
//! sample, and how often a year breaches a downtime budget.
//!
//! The distribution is kept in a `LogHistogram` (quantiles to within 0.6%); the breaches are
//! exact counts of years whose downtime exceeds each budget, so P(breach) and its
//! Clopper-Pearson interval are exact binomial figures, not read off the histogram. Everything is a fixed
//! number of counts that partial runs combine by adding.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::binomial::{clopper_pearson_95, PairedCounts};
use super::summary::Estimate;
use crate::metrics::LogHistogram;
use crate::time::{Micros, MICROS_PER_MINUTE, MICROS_PER_YEAR};

/// The budgets reported when a scenario has no `[sla]`: the common availability targets.
pub const COMMON_BUDGETS: [(&str, f64); 3] =
    [("99.9%", 0.999), ("99.95%", 0.9995), ("99.99%", 0.9999)];

/// The downtime a year may have at `availability`, in µs (to the nearest µs).
pub fn allowed_downtime(availability: f64) -> Micros {
    ((1.0 - availability) * MICROS_PER_YEAR as f64).round() as Micros
}

fn minutes(us: f64) -> f64 {
    us / MICROS_PER_MINUTE as f64
}

/// The yearly downtime, in minutes, that a share of the years stay within.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct DowntimeQuantiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

/// P(a year's downtime exceeds the budget), with its exact (Clopper-Pearson) 95% interval.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BreachProbability {
    pub mean: f64,
    pub ci95: [f64; 2],
    /// The years observed (replications times whole years per replication).
    pub years: u64,
    pub breaching_years: u64,
    /// The budget, in minutes of downtime a year.
    pub budget_minutes: f64,
}

/// A downtime budget and the years that exceeded it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetCount {
    pub budget: Micros,
    pub breaching_years: u64,
}

impl BudgetCount {
    fn new(budget: Micros) -> BudgetCount {
        BudgetCount {
            budget,
            breaching_years: 0,
        }
    }

    fn push(&mut self, downtime: Micros) {
        if downtime > self.budget {
            self.breaching_years += 1;
        }
    }

    fn absorb(&mut self, later: &BudgetCount) {
        self.breaching_years += later.breaching_years;
    }

    fn probability(&self, years: u64) -> Option<BreachProbability> {
        (years > 0).then(|| BreachProbability {
            mean: self.breaching_years as f64 / years as f64,
            ci95: clopper_pearson_95(self.breaching_years, years),
            years,
            breaching_years: self.breaching_years,
            budget_minutes: minutes(self.budget as f64),
        })
    }
}

/// One service's downtime per year over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearlyDowntime {
    histogram: LogHistogram,
    /// In the order of `COMMON_BUDGETS`.
    common: [BudgetCount; COMMON_BUDGETS.len()],
    /// The scenario's `[sla]`, when it has one.
    sla: Option<BudgetCount>,
}

/// No `[sla]`: the common budgets only.
impl Default for YearlyDowntime {
    fn default() -> Self {
        YearlyDowntime::new(None)
    }
}

impl YearlyDowntime {
    /// `sla`: the scenario's allowed downtime per year, if it sets one.
    pub fn new(sla: Option<Micros>) -> YearlyDowntime {
        YearlyDowntime {
            histogram: LogHistogram::default(),
            common: COMMON_BUDGETS.map(|(_, a)| BudgetCount::new(allowed_downtime(a))),
            sla: sla.map(BudgetCount::new),
        }
    }

    /// One replication's downtime in each of its whole years.
    pub fn push(&mut self, down_by_year: &[Micros]) {
        for &down in down_by_year {
            self.histogram.push(down);
            self.common.iter_mut().for_each(|b| b.push(down));
            if let Some(sla) = self.sla.as_mut() {
                sla.push(down);
            }
        }
    }

    /// Adds the years accumulated in `later` (counts: exact in any order).
    pub fn merge(&mut self, later: &YearlyDowntime) {
        self.histogram.absorb(&later.histogram);
        for (mine, theirs) in self.common.iter_mut().zip(&later.common) {
            mine.absorb(theirs);
        }
        if let (Some(mine), Some(theirs)) = (self.sla.as_mut(), later.sla.as_ref()) {
            mine.absorb(theirs);
        }
    }

    pub fn years(&self) -> u64 {
        self.histogram.count()
    }

    /// `None` when no replication observed a whole year.
    pub fn quantiles(&self) -> Option<DowntimeQuantiles> {
        let h = &self.histogram;
        (h.count() > 0).then(|| DowntimeQuantiles {
            p50: minutes(h.quantile(0.50)),
            p90: minutes(h.quantile(0.90)),
            p99: minutes(h.quantile(0.99)),
        })
    }

    /// `None` without `[sla]` or without a whole year.
    pub fn sla_breach(&self) -> Option<BreachProbability> {
        self.sla?.probability(self.years())
    }

    /// The common budgets by name ("99.95%"); empty without a whole year.
    pub fn common_breaches(&self) -> BTreeMap<String, BreachProbability> {
        COMMON_BUDGETS
            .iter()
            .zip(&self.common)
            .filter_map(|((name, _), count)| {
                Some((name.to_string(), count.probability(self.years())?))
            })
            .collect()
    }

    /// Evenly spaced quantiles of the yearly downtime in minutes, the last one the maximum:
    /// a bounded stand-in for every year in a chart.
    pub fn curve_minutes(&self, n: usize) -> Vec<f64> {
        self.histogram
            .quantiles(n)
            .into_iter()
            .map(minutes)
            .collect()
    }
}

/// The years of two scenarios side by side, paired by replication and year (common random
/// numbers make the same year of the same replication see the same failures where the
/// scenarios share components): how often one breaches a budget and the other not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedBreaches {
    common: [PairedCounts; COMMON_BUDGETS.len()],
    /// The baseline's `[sla]` budget, when it has one, and its pairs.
    sla: Option<(Micros, PairedCounts)>,
}

impl PairedBreaches {
    /// Differences are judged against `sla`, the baseline's allowed downtime per year.
    pub fn new(sla: Option<Micros>) -> PairedBreaches {
        PairedBreaches {
            common: Default::default(),
            sla: sla.map(|b| (b, PairedCounts::default())),
        }
    }

    /// One replication of each; years past the shorter of the two have no pair.
    pub fn push(&mut self, scenario: &[Micros], baseline: &[Micros]) {
        for (&s, &b) in scenario.iter().zip(baseline) {
            for ((_, a), counts) in COMMON_BUDGETS.iter().zip(self.common.iter_mut()) {
                let budget = allowed_downtime(*a);
                counts.push(s > budget, b > budget);
            }
            if let Some((budget, counts)) = self.sla.as_mut() {
                counts.push(s > *budget, b > *budget);
            }
        }
    }

    /// Adds the pairs accumulated in `later`.
    pub fn merge(&mut self, later: &PairedBreaches) {
        for (mine, theirs) in self.common.iter_mut().zip(&later.common) {
            mine.absorb(theirs);
        }
        if let (Some((_, mine)), Some((_, theirs))) = (self.sla.as_mut(), later.sla.as_ref()) {
            mine.absorb(theirs);
        }
    }

    /// P(scenario breaches) - P(baseline breaches) against the `[sla]`, with Newcombe's
    /// paired 95% interval.
    pub fn sla_difference(&self) -> Option<Estimate> {
        let (_, counts) = self.sla.as_ref()?;
        difference(counts)
    }

    /// The same for each common budget, by name.
    pub fn common_differences(&self) -> BTreeMap<String, Estimate> {
        COMMON_BUDGETS
            .iter()
            .zip(&self.common)
            .filter_map(|((name, _), counts)| Some((name.to_string(), difference(counts)?)))
            .collect()
    }
}

fn difference(counts: &PairedCounts) -> Option<Estimate> {
    let (mean, ci95) = counts.difference(0.95)?;
    Some(Estimate {
        mean,
        ci95: Some(ci95),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Micros = MICROS_PER_MINUTE;

    #[test]
    fn breaches_are_exact_counts_above_the_budget() {
        // 99.95% allows 262.8 minutes a year.
        assert_eq!(allowed_downtime(0.9995), 262 * MIN + 48 * MIN / 60);
        let mut y = YearlyDowntime::new(Some(100 * MIN));
        // A year exactly at the budget does not breach it; one microsecond more does.
        y.push(&[0, 100 * MIN, 100 * MIN + 1, 300 * MIN]);
        y.push(&[30 * MIN]);
        let sla = y.sla_breach().unwrap();
        assert_eq!((sla.years, sla.breaching_years), (5, 2));
        assert_eq!(sla.mean, 0.4);
        assert_eq!(sla.ci95, clopper_pearson_95(2, 5));
        assert_eq!(sla.budget_minutes, 100.0);
        let common = y.common_breaches();
        // 99.9% allows 525.6 min, 99.95% 262.8, 99.99% 52.56.
        assert_eq!(common["99.9%"].breaching_years, 0);
        assert_eq!(common["99.95%"].breaching_years, 1);
        assert_eq!(common["99.99%"].breaching_years, 3);
        let q = y.quantiles().unwrap();
        assert_eq!(q.p50, y.histogram.quantile(0.5) / MIN as f64);
        assert!((q.p99 - 300.0).abs() / 300.0 < 0.006);
        assert!(YearlyDowntime::new(None).sla_breach().is_none());
        assert!(YearlyDowntime::new(Some(MIN)).quantiles().is_none());
        assert!(YearlyDowntime::new(Some(MIN)).common_breaches().is_empty());
    }

    #[test]
    fn pairs_are_years_of_the_same_replication() {
        let mut p = PairedBreaches::new(Some(10 * MIN));
        // Year 1: both breach; year 2: only the baseline; the third year has no pair.
        p.push(&[20 * MIN, 0], &[20 * MIN, 11 * MIN, 50 * MIN]);
        let (_, counts) = p.sla.unwrap();
        assert_eq!(
            counts,
            PairedCounts {
                both: 1,
                second_only: 1,
                ..PairedCounts::default()
            }
        );
        assert_eq!(p.sla_difference().unwrap().mean, -0.5);
        assert!(PairedBreaches::new(None).sla_difference().is_none());
    }
}
