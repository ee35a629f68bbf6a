//! Streaming mean and variance (Welford) and Student-t confidence intervals.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Running mean and variance, numerically stable, fed in a fixed order for reproducibility.
/// A run feeds each chunk of replications into its own `Welford` and merges the chunks in
/// chunk order, so a sharded run merged afterwards gives the same bits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Adds the values of `later` as if they had been pushed after these (Chan et al.'s
    /// pairwise update). Not bit-identical to pushing them one by one, but always the same
    /// bits for the same two operands, which is what makes chunked runs reproducible.
    pub fn merge(&mut self, later: &Welford) {
        if later.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = later.clone();
            return;
        }
        let n = self.n + later.n;
        let delta = later.mean - self.mean;
        let (na, nb) = (self.n as f64, later.n as f64);
        self.mean += delta * nb / n as f64;
        self.m2 += later.m2 + delta * delta * na * nb / n as f64;
        self.n = n;
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Sample variance (n - 1 in the denominator); zero with fewer than two values.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Two-sided Student-t interval for the mean; `None` with fewer than two values.
    pub fn confidence_interval(&self, level: f64) -> Option<(f64, f64)> {
        let half = t_half_width(self.variance().sqrt(), self.n, level)?;
        Some((self.mean - half, self.mean + half))
    }
}

/// Half-width of the Student-t interval for a mean from `n` values with sample sd `sd`.
pub fn t_half_width(sd: f64, n: u64, level: f64) -> Option<f64> {
    if n < 2 {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
    let quantile = t.inverse_cdf(0.5 + level / 2.0);
    Some(quantile * sd / (n as f64).sqrt())
}

/// "Number of nines" of an availability: -log10(1 - A); `None` for a perfect record.
pub fn nines(availability: f64) -> Option<f64> {
    nines_of_unavailability(1.0 - availability)
}

/// The same from the unavailability, which keeps its precision when it is tiny (1e-9).
pub fn nines_of_unavailability(unavailability: f64) -> Option<f64> {
    (unavailability > 0.0).then(|| -unavailability.log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_two_pass() {
        let xs = [0.999, 0.9995, 0.99, 1.0, 0.98];
        let mut w = Welford::default();
        xs.iter().for_each(|&x| w.push(x));
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!((w.mean() - mean).abs() < 1e-15);
        assert!((w.variance() - var).abs() < 1e-15);
    }

    #[test]
    fn merged_chunks_match_one_stream() {
        let xs: Vec<f64> = (0..100).map(|i| 0.99 + f64::from(i % 7) * 1e-3).collect();
        let mut whole = Welford::default();
        xs.iter().for_each(|&x| whole.push(x));
        let mut merged = Welford::default();
        for chunk in xs.chunks(30) {
            let mut w = Welford::default();
            chunk.iter().for_each(|&x| w.push(x));
            merged.merge(&w);
        }
        assert_eq!(merged.count(), 100);
        assert!((merged.mean() - whole.mean()).abs() < 1e-15);
        assert!((merged.variance() / whole.variance() - 1.0).abs() < 1e-9);
        // An empty side changes nothing, and the first chunk is taken as it is.
        let mut first = Welford::default();
        xs[..30].iter().for_each(|&x| first.push(x));
        let mut from_empty = Welford::default();
        from_empty.merge(&first);
        assert_eq!(from_empty, first);
        from_empty.merge(&Welford::default());
        assert_eq!(from_empty, first);
    }

    #[test]
    fn its_json_reads_back_to_the_bit() {
        // Values whose shortest decimal form needs all 17 digits, subnormals, extremes.
        let hard = [
            0.1 + 0.2,
            1.0 - f64::EPSILON,
            f64::MIN_POSITIVE / 3.0,
            5e-324,
            f64::MAX,
            -0.0,
            0.999_999_999_999_999_9,
            std::f64::consts::PI * 1e-300,
        ];
        let text = serde_json::to_string(&hard).unwrap();
        let back: Vec<f64> = serde_json::from_str(&text).unwrap();
        for (a, b) in hard.iter().zip(&back) {
            assert_eq!(a.to_bits(), b.to_bits(), "{a:e} read back as {b:e}");
        }
        let mut w = Welford::default();
        (1..1000).for_each(|i| w.push(1.0 - 1.0 / f64::from(i).powf(1.7)));
        let back: Welford = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
        assert_eq!(back.n, w.n);
        assert_eq!(back.mean.to_bits(), w.mean.to_bits());
        assert_eq!(back.m2.to_bits(), w.m2.to_bits());
    }

    #[test]
    fn t_interval_uses_the_t_quantile() {
        // t(0.975, 4 dof) = 2.7764451051977987.
        let half = t_half_width(2.0, 5, 0.95).unwrap();
        assert!((half - 2.776_445_105_197_799 * 2.0 / 5f64.sqrt()).abs() < 1e-9);
        assert!(t_half_width(1.0, 1, 0.95).is_none());
    }

    #[test]
    fn nines_of_availability() {
        assert!((nines(0.999).unwrap() - 3.0).abs() < 1e-9);
        assert!(nines(1.0).is_none());
    }
}
