//! Exact (Clopper-Pearson) confidence intervals for a proportion of independent trials.

use statrs::distribution::{Beta, ContinuousCDF};

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
}
