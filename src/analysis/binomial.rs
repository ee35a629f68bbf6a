//! Confidence intervals for proportions: the exact (Clopper-Pearson) interval of a proportion of
//! independent trials, and Newcombe's hybrid score interval (his method 10) for the difference
//! of two proportions measured on the same pairs, built on Wilson's score intervals. All keep
//! their coverage at counts of zero or n, where the normal (Wald) interval collapses to a point.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF, Normal};

/// The two-sided 95% Clopper-Pearson interval of a proportion of `k` successes in `n`
/// trials: conservative (it covers at least 95% for every true proportion), and meaningful at
/// `k = 0` and `k = n`, where the normal approximation collapses to a point. `[0, 1]` for
/// `n = 0`.
pub fn clopper_pearson_95(k: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let k = k.min(n);
    let quantile = |a: u64, b: u64, p: f64| {
        Beta::new(a as f64, b as f64)
            .expect("both shapes are positive")
            .inverse_cdf(p)
    };
    let lower = if k == 0 {
        0.0
    } else {
        quantile(k, n - k + 1, 0.025)
    };
    let upper = if k == n {
        1.0
    } else {
        quantile(k + 1, n - k, 0.975)
    };
    [lower, upper]
}

/// The two-sided standard normal quantile for a confidence `level` (1.96 for 0.95).
fn z(level: f64) -> f64 {
    Normal::new(0.0, 1.0)
        .expect("the standard normal")
        .inverse_cdf(0.5 + level / 2.0)
}

/// Wilson's score interval for `k` successes in `n` trials, the building block of Newcombe's
/// paired interval; `None` without trials.
fn wilson(k: u64, n: u64, level: f64) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let (n, p, z) = (n as f64, k as f64 / n as f64, z(level));
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At k = 0 (or n) the bound is 0 (or 1) exactly, not a rounding error away from it.
    let lower = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let upper = if p == 1.0 {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Some([lower, upper])
}

/// Pairs of yes/no outcomes (a year breaching in one scenario and in another), in counts, so
/// that partial runs combine by adding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedCounts {
    pub both: u64,
    pub first_only: u64,
    pub second_only: u64,
    pub neither: u64,
}

impl PairedCounts {
    pub fn push(&mut self, first: bool, second: bool) {
        match (first, second) {
            (true, true) => self.both += 1,
            (true, false) => self.first_only += 1,
            (false, true) => self.second_only += 1,
            (false, false) => self.neither += 1,
        }
    }

    pub fn absorb(&mut self, other: &PairedCounts) {
        self.both += other.both;
        self.first_only += other.first_only;
        self.second_only += other.second_only;
        self.neither += other.neither;
    }

    pub fn pairs(&self) -> u64 {
        self.both + self.first_only + self.second_only + self.neither
    }

    /// P(first) - P(second) with Newcombe's interval; `None` without pairs.
    pub fn difference(&self, level: f64) -> Option<(f64, [f64; 2])> {
        let n = self.pairs();
        let [l1, u1] = wilson(self.both + self.first_only, n, level)?;
        let [l2, u2] = wilson(self.both + self.second_only, n, level)?;
        let nf = n as f64;
        let p1 = (self.both + self.first_only) as f64 / nf;
        let p2 = (self.both + self.second_only) as f64 / nf;
        let (a, b, c, d) = (
            self.both as f64,
            self.first_only as f64,
            self.second_only as f64,
            self.neither as f64,
        );
        // The correlation of the pair's two outcomes, with Newcombe's continuity correction
        // (a positive correlation is shrunk by n/2, and one below n/2 counts as none); zero
        // when a margin is empty (then one of the proportions is 0 or 1 and its own
        // interval carries the uncertainty).
        let margins = (a + b) * (c + d) * (a + c) * (b + d);
        let cross = a * d - b * c;
        let corrected = if cross > nf / 2.0 {
            cross - nf / 2.0
        } else if cross >= 0.0 {
            0.0
        } else {
            cross
        };
        let phi = if margins > 0.0 {
            corrected / margins.sqrt()
        } else {
            0.0
        };
        let spread = |x: f64, y: f64| (x * x - 2.0 * phi * x * y + y * y).max(0.0).sqrt();
        let diff = p1 - p2;
        let lower = diff - spread(p1 - l1, u2 - p2);
        let upper = diff + spread(u1 - p1, p2 - l2);
        Some((diff, [lower.max(-1.0), upper.min(1.0)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_values() {
        // None in 100: the "rule of three" neighbourhood, exactly 1 - 0.025^(1/100).
        let [lo, hi] = clopper_pearson_95(0, 100);
        assert_eq!(lo, 0.0);
        assert!((hi - (1.0 - 0.025f64.powf(0.01))).abs() < 1e-9, "{hi}");
        // 58 of 2500: the binomial tail equations solved by bisection give
        // 0.0176627 .. 0.0298892.
        let [lo, hi] = clopper_pearson_95(58, 2500);
        assert!((lo - 0.017_662_7).abs() < 1e-6, "{lo}");
        assert!((hi - 0.029_889_2).abs() < 1e-6, "{hi}");
        // All of them: the mirror image of none.
        let [lo, hi] = clopper_pearson_95(100, 100);
        assert_eq!(hi, 1.0);
        assert!((lo - 0.025f64.powf(0.01)).abs() < 1e-9, "{lo}");
    }

    #[test]
    fn no_trials_says_nothing() {
        assert_eq!(clopper_pearson_95(0, 0), [0.0, 1.0]);
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998, single proportion) example: 81/263 gives [0.2553, 0.3662].
        let [lo, hi] = wilson(81, 263, 0.95).unwrap();
        assert!(
            (lo - 0.2553).abs() < 1e-4 && (hi - 0.3662).abs() < 1e-4,
            "{lo} {hi}"
        );
        // No success still has an upper bound: 0/10 gives [0, 0.2775].
        let [lo, hi] = wilson(0, 10, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.2775).abs() < 1e-4, "{hi}");
        assert!(wilson(0, 0, 0.95).is_none());
    }

    #[test]
    fn the_paired_difference_matches_a_published_example() {
        // Complete response before and after consolidation therapy (Cavo et al., 2012), as
        // worked in Fagerland, Lydersen and Laake, Statistical Analysis of Contingency
        // Tables, chapter 8: -0.0621 (95% CI -0.1186 to -0.0046).
        let counts = PairedCounts {
            both: 59,
            first_only: 6,
            second_only: 16,
            neither: 80,
        };
        let (d, [lo, hi]) = counts.difference(0.95).unwrap();
        for (got, want) in [(d, -0.0621), (lo, -0.1186), (hi, -0.0046)] {
            assert!((got - want).abs() < 5e-5, "{got} vs {want}");
        }
        // Swapping the two outcomes mirrors the interval.
        let swapped = PairedCounts {
            first_only: 16,
            second_only: 6,
            ..counts
        };
        let (d2, [lo2, hi2]) = swapped.difference(0.95).unwrap();
        assert!((d2 + d).abs() < 1e-12 && (lo2 + hi).abs() < 1e-12 && (hi2 + lo).abs() < 1e-12);
        // Identical outcomes: a difference of exactly zero, inside a narrow interval.
        let same = PairedCounts {
            both: 300,
            neither: 700,
            ..PairedCounts::default()
        };
        let (d, [lo, hi]) = same.difference(0.95).unwrap();
        assert_eq!(d, 0.0);
        assert!(lo <= 0.0 && hi >= 0.0 && hi - lo < 0.02, "{lo} {hi}");
        assert!(PairedCounts::default().difference(0.95).is_none());
    }
}
