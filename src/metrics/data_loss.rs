//! Data lost on unplanned cross-cluster failovers, in seconds of writes.
//!
//! Across replications the losses go into a `LogHistogram`, so memory stays constant however
//! many replications or simulated years a run has: the mean and the maximum are exact,
//! quantiles are read to within half a bucket (0.6% of the value).

use serde::{Deserialize, Serialize};

use super::log_histogram::LogHistogram;
use crate::time::{seconds, Micros};

/// Distribution of the writes lost per failover, in seconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DataLossSummary {
    pub failovers: u64,
    pub mean_seconds: f64,
    pub p50_seconds: f64,
    pub p95_seconds: f64,
    pub max_seconds: f64,
}

impl DataLossSummary {
    /// `None` when there was no failover.
    pub fn from_samples(samples: &[Micros]) -> Option<DataLossSummary> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let total: u128 = sorted.iter().map(|&s| s as u128).sum();
        let mean = total as f64 / sorted.len() as f64;
        Some(DataLossSummary {
            failovers: sorted.len() as u64,
            mean_seconds: seconds(mean.round() as Micros),
            p50_seconds: seconds(quantile(&sorted, 0.50)),
            p95_seconds: seconds(quantile(&sorted, 0.95)),
            max_seconds: seconds(*sorted.last().expect("not empty")),
        })
    }
}

/// Every cross-cluster failover's lost writes, in constant memory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataLossHistogram {
    losses: LogHistogram,
}

impl DataLossHistogram {
    pub fn push(&mut self, loss: Micros) {
        self.losses.push(loss);
    }

    pub fn count(&self) -> u64 {
        self.losses.count()
    }

    /// Adds the failovers counted in `other` (sums and counts: exact in any order).
    pub fn merge(&mut self, other: &DataLossHistogram) {
        self.losses.absorb(&other.losses);
    }

    /// `None` when there was no failover.
    pub fn summary(&self) -> Option<DataLossSummary> {
        let n = self.losses.count();
        if n == 0 {
            return None;
        }
        let us = |x: f64| x / crate::time::MICROS_PER_SECOND as f64;
        Some(DataLossSummary {
            failovers: n,
            mean_seconds: us(self.losses.mean()),
            p50_seconds: us(self.losses.quantile(0.50)),
            p95_seconds: us(self.losses.quantile(0.95)),
            max_seconds: seconds(self.losses.max()),
        })
    }

    /// `n` evenly spaced quantiles in seconds, the last one the maximum: a bounded stand-in for
    /// the samples in a chart (whose curve then ends where the summary's maximum says).
    pub fn quantiles_seconds(&self, n: usize) -> Vec<f64> {
        (self.losses.quantiles(n).into_iter())
            .map(|us| us / crate::time::MICROS_PER_SECOND as f64)
            .collect()
    }
}

/// The nearest-rank quantile of sorted samples: the smallest value with at least a share `q`
/// of the samples at or below it.
fn quantile(sorted: &[Micros], q: f64) -> Micros {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::MICROS_PER_SECOND as S;

    #[test]
    fn summarises_samples_by_nearest_rank() {
        let samples: Vec<Micros> = (1..=20).map(|i| i * S).collect();
        let d = DataLossSummary::from_samples(&samples).unwrap();
        assert_eq!(d.failovers, 20);
        assert_eq!(d.mean_seconds, 10.5);
        assert_eq!(d.p50_seconds, 10.0);
        assert_eq!(d.p95_seconds, 19.0);
        assert_eq!(d.max_seconds, 20.0);
        assert!(DataLossSummary::from_samples(&[]).is_none());
    }

    #[test]
    fn the_histogram_agrees_with_the_exact_summary() {
        // Uniform losses over one 5-minute interval plus a heavy tail, as a cluster set sees.
        let mut samples: Vec<Micros> = (0..10_000u64).map(|i| i * 300 * S / 10_000).collect();
        samples.extend([72 * 3600 * S, 20 * 3600 * S]);
        let exact = DataLossSummary::from_samples(&samples).unwrap();
        let mut h = DataLossHistogram::default();
        samples.iter().for_each(|&s| h.push(s));
        let approx = h.summary().unwrap();
        assert_eq!(approx.failovers, exact.failovers);
        // The exact summary rounds its mean to a whole microsecond.
        assert!((approx.mean_seconds - exact.mean_seconds).abs() <= 1e-6);
        assert_eq!(approx.max_seconds, exact.max_seconds);
        for (a, e) in [
            (approx.p50_seconds, exact.p50_seconds),
            (approx.p95_seconds, exact.p95_seconds),
        ] {
            assert!((a / e - 1.0).abs() < 0.007, "{a} vs {e}");
        }
        let curve = h.quantiles_seconds(100);
        assert_eq!(curve.len(), 100);
        assert_eq!(curve[99], exact.max_seconds);
        assert!(DataLossHistogram::default().summary().is_none());
    }

    #[test]
    fn merged_histograms_and_their_json_are_exact() {
        let mut a = DataLossHistogram::default();
        let (mut b, mut both) = (a.clone(), a.clone());
        for (i, loss) in [0, 5 * S, 300 * S, 7, 72 * 3600 * S]
            .into_iter()
            .enumerate()
        {
            let h = if i % 2 == 0 { &mut a } else { &mut b };
            h.push(loss);
            both.push(loss);
        }
        let mut merged = a.clone();
        merged.merge(&b);
        assert_eq!(merged, both);
        let text = serde_json::to_string(&merged).unwrap();
        assert!(text.len() < 200, "sparse: {text}");
        let back: DataLossHistogram = serde_json::from_str(&text).unwrap();
        assert_eq!(back, merged);
        let outside = text.replacen("\"counts\":[[", "\"counts\":[[99999,1],[", 1);
        let err = serde_json::from_str::<DataLossHistogram>(&outside).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }
}
