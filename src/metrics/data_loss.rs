//! Data lost on unplanned cross-cluster failovers, in seconds of writes.
//!
//! Failovers are rare (a few per replication at most), so the samples are kept and the
//! quantiles computed exactly rather than estimated by a streaming sketch.

use serde::Serialize;

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
}
