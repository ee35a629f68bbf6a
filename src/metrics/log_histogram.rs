//! A histogram of non-negative durations with logarithmic buckets: memory stays constant
//! however many samples a run has, the count, mean and maximum are exact, and quantiles are
//! read to within half a bucket (0.6% of the value). Two histograms of the same quantity
//! combine by adding their counts (`absorb`), so partial runs can be merged.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::Micros;

/// Buckets per factor of ten: each bucket spans 1.2% of its value.
const PER_DECADE: f64 = 200.0;
/// Durations from 1 µs to 10^15 µs (31 years) have their own bucket; outside that they share
/// the first or the last.
const BUCKETS: usize = 15 * PER_DECADE as usize + 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogHistogram {
    /// Samples below one microsecond (nothing at all).
    zero: u64,
    /// Written as `[bucket, count]` pairs of the buckets in use: most of them are empty.
    #[serde(with = "sparse_buckets")]
    counts: Vec<u64>,
    total: u128,
    max: Micros,
    n: u64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram {
            zero: 0,
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
            n: 0,
        }
    }
}

impl LogHistogram {
    pub fn push(&mut self, value: Micros) {
        self.n += 1;
        self.total += value as u128;
        self.max = self.max.max(value);
        if value == 0 {
            self.zero += 1;
        } else {
            let bucket = ((value as f64).log10() * PER_DECADE).floor() as usize;
            self.counts[bucket.min(BUCKETS - 1)] += 1;
        }
    }

    /// Adds another histogram's samples to this one.
    pub fn absorb(&mut self, other: &LogHistogram) {
        self.zero += other.zero;
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
        self.n += other.n;
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    /// The exact mean in µs; zero without samples.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.total as f64 / self.n as f64
        }
    }

    pub fn max(&self) -> Micros {
        self.max
    }

    /// The value (µs) below which a share `q` of the samples fall: the geometric middle of the
    /// nearest-rank sample's bucket, never above the largest sample seen.
    pub fn quantile(&self, q: f64) -> f64 {
        Walk::new(self).value(self.rank(q))
    }

    /// The nearest rank of quantile `q`, from 1 to the number of samples.
    fn rank(&self, q: f64) -> u64 {
        ((q * self.n as f64).ceil() as u64).clamp(1, self.n.max(1))
    }

    /// `n` evenly spaced quantiles in µs, the last one the maximum: a bounded stand-in for the
    /// samples in a chart (whose curve then ends where the summary's maximum says).
    pub fn quantiles(&self, n: usize) -> Vec<f64> {
        if self.n == 0 || n == 0 {
            return Vec::new();
        }
        // The ranks rise with `i`, so one walk over the buckets serves them all: a chart asks
        // for 2000 quantiles of 3001 buckets, which one walk each made millions of steps.
        let mut walk = Walk::new(self);
        let mut q: Vec<f64> = (0..n - 1)
            .map(|i| walk.value(self.rank((i as f64 + 0.5) / n as f64)))
            .collect();
        q.push(self.max as f64);
        q
    }
}

/// A pass over a histogram's buckets in order, for nearest ranks that never decrease.
struct Walk<'h> {
    histogram: &'h LogHistogram,
    /// The bucket reached, and the samples up to and including it (from the zeros on).
    bucket: usize,
    seen: u64,
}

impl<'h> Walk<'h> {
    fn new(histogram: &'h LogHistogram) -> Walk<'h> {
        Walk {
            histogram,
            bucket: 0,
            seen: histogram.zero + histogram.counts[0],
        }
    }

    /// The value of the sample of rank `rank`, not below the previous call's: the geometric
    /// middle of the first bucket whose samples so far reach the rank, capped at the maximum.
    fn value(&mut self, rank: u64) -> f64 {
        let h = self.histogram;
        if rank <= h.zero {
            return 0.0;
        }
        while self.seen < rank {
            self.bucket += 1;
            let Some(&count) = h.counts.get(self.bucket) else {
                self.bucket = h.counts.len();
                return h.max as f64;
            };
            self.seen += count;
        }
        let middle = 10f64.powf((self.bucket as f64 + 0.5) / PER_DECADE);
        middle.min(h.max as f64)
    }
}

/// The histogram's buckets as `[bucket, count]` pairs of the non-empty ones; read back into
/// the full array, refusing a bucket outside it.
mod sparse_buckets {
    use super::*;

    pub fn serialize<S: Serializer>(counts: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let used: Vec<(usize, u64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (i, c))
            .collect();
        used.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let used = Vec::<(usize, u64)>::deserialize(d)?;
        let mut counts = vec![0; BUCKETS];
        for (bucket, count) in used {
            let slot = counts.get_mut(bucket).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "histogram bucket {bucket} is out of range (0 to {})",
                    BUCKETS - 1
                ))
            })?;
            *slot = count;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorbing_is_pushing_the_same_samples() {
        let (mut a, mut b, mut both) = (
            LogHistogram::default(),
            LogHistogram::default(),
            LogHistogram::default(),
        );
        for i in 0..1000u64 {
            let v = i * i * 37;
            if i % 3 == 0 {
                a.push(v)
            } else {
                b.push(v)
            }
            both.push(v);
        }
        a.absorb(&b);
        assert_eq!(a, both);
        assert_eq!(a.quantile(0.9), both.quantile(0.9));
    }

    /// The one-walk quantiles are each the quantile computed on its own, to the bit: with
    /// zeros, empty buckets, samples in the last bucket, and more quantiles than samples.
    #[test]
    fn quantiles_are_the_single_quantiles() {
        let mut h = LogHistogram::default();
        for i in 0..500u64 {
            h.push(if i % 7 == 0 { 0 } else { i * i * i * 991 });
        }
        h.push(u64::MAX);
        for n in [1, 2, 3, 10, 499, 2000] {
            let single: Vec<f64> = (0..n - 1)
                .map(|i| h.quantile((i as f64 + 0.5) / n as f64))
                .chain([h.max() as f64])
                .collect();
            let walked = h.quantiles(n);
            assert_eq!(walked.len(), single.len());
            for (a, b) in walked.iter().zip(&single) {
                assert_eq!(a.to_bits(), b.to_bits(), "n = {n}");
            }
        }
        let mut zeros = LogHistogram::default();
        (0..5).for_each(|_| zeros.push(0));
        assert_eq!(zeros.quantiles(3), vec![0.0, 0.0, 0.0]);
        assert!(LogHistogram::default().quantiles(5).is_empty());
    }

    #[test]
    fn quantiles_are_within_half_a_bucket() {
        let mut h = LogHistogram::default();
        (1..=10_000u64).for_each(|i| h.push(i * 1_000));
        for q in [0.5, 0.9, 0.99] {
            let exact = (q * 10_000.0) * 1_000.0;
            assert!((h.quantile(q) / exact - 1.0).abs() < 0.006, "{q}");
        }
        assert_eq!(h.mean(), 5_000.5 * 1_000.0);
        assert_eq!(h.quantiles(4).last(), Some(&10_000_000.0));
    }
}
