//! Failure, repair and duration distributions, sampled from a caller-given RNG.
//!
//! Parameters are held in microseconds; every sample is rounded to a whole microsecond, which
//! keeps virtual time integral (the rounding bias, at most half a microsecond, is far below any
//! duration a scenario can express meaningfully).

mod exp1;

use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Weibull};

use crate::engine::Stream;
use crate::time::Micros;

/// A validated distribution of durations. Construct through the `Dist::*` functions, which
/// reject parameters that would make a sampler panic or produce nonsense.
///
/// A plain tag byte (`repr(u8)`): otherwise the variant is encoded in the spare values of a
/// field, and telling it takes several instructions on every draw.
#[derive(Debug, Clone)]
#[repr(u8)]
pub enum Dist {
    Fixed(Micros),
    Exponential {
        mean: f64,
        sampler: Exp<f64>,
        /// What `sampler` multiplies its standard draw by (`1 / (1 / mean)`, as it computes it).
        scale: f64,
        /// The standard draw's common case, inline (see `exp1`), where it is rand_distr's.
        edges: Option<&'static exp1::Edges>,
    },
    Uniform {
        min: Micros,
        max: Micros,
    },
    Weibull {
        shape: f64,
        scale: f64,
        sampler: Weibull<f64>,
    },
    LogNormal {
        median: f64,
        sigma: f64,
        sampler: LogNormal<f64>,
    },
    Gamma {
        shape: f64,
        scale: f64,
        sampler: Gamma<f64>,
    },
    /// Resampled uniformly from the observed values (bootstrap of a field data set).
    Empirical(Arc<[Micros]>),
}

/// A parameter that makes no distribution; the scenario layer locates and reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DistError {
    #[error("`{0}` must be greater than zero")]
    NotPositive(&'static str),
    #[error("`min` must not exceed `max`")]
    MinAboveMax,
    #[error("`{0}` must be a finite number")]
    NotFinite(&'static str),
    #[error("the empirical data set is empty")]
    EmptyData,
}

fn positive(name: &'static str, value: f64) -> Result<f64, DistError> {
    if !value.is_finite() {
        Err(DistError::NotFinite(name))
    } else if value <= 0.0 {
        Err(DistError::NotPositive(name))
    } else {
        Ok(value)
    }
}

/// A continuous draw in whole microseconds. Saturates rather than wraps: a lognormal tail
/// draw longer than u64 microseconds is "never" for any horizon.
#[inline(always)]
fn to_micros(continuous: f64) -> Micros {
    if (0.0..TWO_52).contains(&continuous) {
        round_below_2_52(continuous)
    } else if continuous >= u64::MAX as f64 {
        u64::MAX
    } else {
        round_half_up(continuous.max(0.0))
    }
}

const TWO_52: f64 = 4_503_599_627_370_496.0;

/// `x.round() as u64` for `0 <= x < 2^52` (every draw of a realistic scenario: 2^52 us are
/// 142 years), in floating point alone, with no conversion to check for range: `x + 2^52`
/// has no fraction bits left, so it is `x` rounded to an integer (ties to even), and that
/// integer is the low bits of its representation. A tie rounded down, to even, is put up:
/// the sum less 2^52 and the difference to `x` are both exact.
#[inline(always)]
fn round_below_2_52(x: f64) -> Micros {
    let shifted = x + TWO_52;
    let to_even = shifted.to_bits() - TWO_52.to_bits();
    let tie_down = (shifted - TWO_52) - x == -0.5;
    to_even + Micros::from(tie_down)
}

/// `x.round() as u64` for `0 <= x < 2^64`, without the call into libm that `round` is on
/// x86-64 (one per draw, in the innermost loop). Exact: `x - floor(x)` is representable, and
/// from 2^52 up every double is an integer, whose fraction is 0. Below 2^63 (every draw of
/// a realistic scenario) through `i64`, whose conversions are one instruction each.
#[inline]
fn round_half_up(x: f64) -> Micros {
    // `i64::MAX as f64` is 2^63 exactly.
    if x < i64::MAX as f64 {
        let whole = x as i64;
        (whole + i64::from(x - whole as f64 >= 0.5)) as Micros
    } else {
        x as Micros
    }
}

impl Dist {
    pub fn fixed(value: Micros) -> Dist {
        Dist::Fixed(value)
    }

    pub fn exponential(mean: Micros) -> Result<Dist, DistError> {
        let mean = positive("mean", mean as f64)?;
        let rate = 1.0 / mean;
        let sampler = Exp::new(rate).map_err(|_| DistError::NotPositive("mean"))?;
        Ok(Dist::Exponential {
            mean,
            sampler,
            scale: 1.0 / rate,
            edges: exp1::edges(),
        })
    }

    pub fn uniform(min: Micros, max: Micros) -> Result<Dist, DistError> {
        if min > max {
            return Err(DistError::MinAboveMax);
        }
        Ok(Dist::Uniform { min, max })
    }

    pub fn weibull(shape: f64, scale: Micros) -> Result<Dist, DistError> {
        let shape = positive("shape", shape)?;
        let scale = positive("scale", scale as f64)?;
        let sampler = Weibull::new(scale, shape).map_err(|_| DistError::NotPositive("shape"))?;
        Ok(Dist::Weibull {
            shape,
            scale,
            sampler,
        })
    }

    /// `median` is the median duration; `sigma` the standard deviation of its logarithm.
    pub fn lognormal(median: Micros, sigma: f64) -> Result<Dist, DistError> {
        let median = positive("median", median as f64)?;
        let sigma = positive("sigma", sigma)?;
        let sampler =
            LogNormal::new(median.ln(), sigma).map_err(|_| DistError::NotPositive("sigma"))?;
        Ok(Dist::LogNormal {
            median,
            sigma,
            sampler,
        })
    }

    pub fn gamma(shape: f64, scale: Micros) -> Result<Dist, DistError> {
        let shape = positive("shape", shape)?;
        let scale = positive("scale", scale as f64)?;
        let sampler = Gamma::new(shape, scale).map_err(|_| DistError::NotPositive("shape"))?;
        Ok(Dist::Gamma {
            shape,
            scale,
            sampler,
        })
    }

    pub fn empirical(values: Vec<Micros>) -> Result<Dist, DistError> {
        if values.is_empty() {
            return Err(DistError::EmptyData);
        }
        Ok(Dist::Empirical(values.into()))
    }

    /// One draw from a model's stream, in whole microseconds.
    #[inline(always)]
    pub fn sample(&self, stream: &mut Stream) -> Micros {
        // The common cases inline at the call; the rest out of line, so that their larger
        // samplers do not weigh on every exponential draw.
        match self {
            Dist::Fixed(value) => *value,
            Dist::Exponential {
                edges: Some(edges),
                scale,
                ..
            } => to_micros(edges.draw(stream) * scale),
            _ => self.sample_other(stream),
        }
    }

    #[inline(never)]
    fn sample_other<R: Rng + ?Sized>(&self, rng: &mut R) -> Micros {
        let continuous = match self {
            Dist::Fixed(value) => return *value,
            Dist::Uniform { min, max } => {
                return if min == max {
                    *min
                } else {
                    rng.random_range(*min..=*max)
                }
            }
            Dist::Empirical(values) => return values[rng.random_range(0..values.len())],
            Dist::Exponential { sampler, .. } => sampler.sample(rng),
            Dist::Weibull { sampler, .. } => sampler.sample(rng),
            Dist::LogNormal { sampler, .. } => sampler.sample(rng),
            Dist::Gamma { sampler, .. } => sampler.sample(rng),
        };
        to_micros(continuous)
    }

    /// Exact mean in microseconds.
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(v) => *v as f64,
            Dist::Exponential { mean, .. } => *mean,
            // Discrete uniform over the integers min..=max has the same mean as the continuous one.
            Dist::Uniform { min, max } => (*min as f64 + *max as f64) / 2.0,
            Dist::Weibull { shape, scale, .. } => scale * gamma_fn(1.0 + 1.0 / shape),
            Dist::LogNormal { median, sigma, .. } => median * (sigma * sigma / 2.0).exp(),
            Dist::Gamma { shape, scale, .. } => shape * scale,
            Dist::Empirical(values) => {
                values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64
            }
        }
    }

    /// Exact variance in microseconds squared.
    pub fn variance(&self) -> f64 {
        match self {
            Dist::Fixed(_) => 0.0,
            Dist::Exponential { mean, .. } => mean * mean,
            Dist::Uniform { min, max } => {
                // Discrete uniform on n = max-min+1 integers: (n^2 - 1) / 12.
                let n = (*max - *min) as f64 + 1.0;
                (n * n - 1.0) / 12.0
            }
            Dist::Weibull { shape, scale, .. } => {
                let g1 = gamma_fn(1.0 + 1.0 / shape);
                let g2 = gamma_fn(1.0 + 2.0 / shape);
                scale * scale * (g2 - g1 * g1)
            }
            Dist::LogNormal { median, sigma, .. } => {
                let s2 = sigma * sigma;
                (s2.exp() - 1.0) * median * median * s2.exp()
            }
            Dist::Gamma { shape, scale, .. } => shape * scale * scale,
            Dist::Empirical(values) => {
                let mean = self.mean();
                values
                    .iter()
                    .map(|&v| (v as f64 - mean).powi(2))
                    .sum::<f64>()
                    / values.len() as f64
            }
        }
    }

    /// The rate (per microsecond) if this is an exponential distribution, for the exact CTMC.
    pub fn exponential_rate(&self) -> Option<f64> {
        match self {
            Dist::Exponential { mean, .. } => Some(1.0 / mean),
            _ => None,
        }
    }

    /// True for a fixed zero: an instantaneous step, which the CTMC treats as no state at all.
    pub fn is_zero(&self) -> bool {
        matches!(self, Dist::Fixed(0))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Dist::Fixed(_) => "fixed",
            Dist::Exponential { .. } => "exponential",
            Dist::Uniform { .. } => "uniform",
            Dist::Weibull { .. } => "weibull",
            Dist::LogNormal { .. } => "lognormal",
            Dist::Gamma { .. } => "gamma",
            Dist::Empirical(_) => "empirical",
        }
    }
}

fn gamma_fn(x: f64) -> f64 {
    statrs::function::gamma::gamma(x)
}

#[cfg(test)]
mod tests {
    //! Every distribution against its exact mean and variance (z-tests on 200,000 draws with a
    //! fixed seed) and, for the continuous ones, its CDF (Kolmogorov-Smirnov at the 1% level).
    use super::*;
    use crate::time::MICROS_PER_HOUR;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;
    use statrs::distribution::{ContinuousCDF, Exp as SExp, Gamma as SGamma, LogNormal as SLn};
    use statrs::distribution::{Uniform as SUniform, Weibull as SWeibull};

    const N: usize = 200_000;

    #[test]
    fn rounding_matches_round_half_away_from_zero() {
        let mut edges = vec![0.0, 0.5, 1.5, 2.5, 0.49999999999999994, 4503599627370495.5];
        edges.extend([2f64.powi(52), 2f64.powi(53) + 2.0, 2f64.powi(63), 1.8e19]);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let scaled = (0..100_000).map(|i| rng.random::<f64>() * 10f64.powi(i % 19));
        for x in edges.into_iter().chain(scaled) {
            assert_eq!(round_half_up(x), x.round() as Micros, "{x}");
            assert_eq!(to_micros(x), x.round() as Micros, "{x}");
        }
        // Ties on both sides of even, below and at 2^52, and what is no number of micros.
        for x in [
            0.5,
            1.5,
            2.5,
            1e15 + 0.5,
            1e15 + 1.5,
            TWO_52 - 0.5,
            TWO_52 - 1.5,
        ] {
            assert_eq!(to_micros(x), x.round() as Micros, "{x}");
        }
        assert_eq!(to_micros(-0.3), 0);
        assert_eq!(to_micros(f64::NAN), 0);
        assert_eq!(to_micros(f64::INFINITY), u64::MAX);
    }

    fn draws(dist: &Dist, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..N).map(|_| dist.sample(&mut rng) as f64).collect()
    }

    /// Sample mean within 4 standard errors of the exact mean, and sample variance within
    /// 4 standard errors of the exact variance (its standard error uses the fourth moment).
    fn check_moments(dist: &Dist, xs: &[f64]) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
        let se_mean = (dist.variance() / n).sqrt();
        assert!(
            (mean - dist.mean()).abs() <= 4.0 * se_mean + 1.0,
            "{}: mean {mean} vs exact {}",
            dist.kind(),
            dist.mean()
        );
        let se_var = ((m4 - var * var) / n).sqrt();
        assert!(
            (var - dist.variance()).abs() <= 4.0 * se_var + 1.0,
            "{}: variance {var} vs exact {}",
            dist.kind(),
            dist.variance()
        );
    }

    /// Kolmogorov-Smirnov statistic against a CDF; the 1% critical value is 1.628/sqrt(n).
    fn check_cdf(xs: &mut [f64], cdf: impl Fn(f64) -> f64) {
        xs.sort_by(f64::total_cmp);
        let n = xs.len() as f64;
        let d = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = cdf(x);
                (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.628 / n.sqrt(), "KS statistic {d}");
    }

    #[test]
    fn fixed_is_constant() {
        let d = Dist::fixed(42);
        assert!(draws(&d, 1).iter().all(|&x| x == 42.0));
        assert_eq!(d.mean(), 42.0);
        assert_eq!(d.variance(), 0.0);
    }

    #[test]
    fn exponential_matches_mean_variance_and_cdf() {
        let d = Dist::exponential(5_000 * MICROS_PER_HOUR).unwrap();
        let mut xs = draws(&d, 2);
        check_moments(&d, &xs);
        let exact = SExp::new(1.0 / d.mean()).unwrap();
        check_cdf(&mut xs, |x| exact.cdf(x));
    }

    #[test]
    fn exponential_draws_are_rand_distrs() {
        let d = Dist::exponential(24 * MICROS_PER_HOUR).unwrap();
        let Dist::Exponential { sampler, .. } = &d else {
            unreachable!()
        };
        let mut ours = Xoshiro256PlusPlus::seed_from_u64(8);
        let mut theirs = ours.clone();
        for _ in 0..N {
            assert_eq!(d.sample(&mut ours), to_micros(sampler.sample(&mut theirs)));
        }
    }

    #[test]
    fn uniform_matches_mean_variance_and_cdf() {
        let d = Dist::uniform(20_000_000, 60_000_000).unwrap();
        let mut xs = draws(&d, 3);
        check_moments(&d, &xs);
        let exact = SUniform::new(20e6, 60e6).unwrap();
        check_cdf(&mut xs, |x| exact.cdf(x));
    }

    #[test]
    fn weibull_matches_mean_variance_and_cdf() {
        let d = Dist::weibull(1.5, 1_000 * MICROS_PER_HOUR).unwrap();
        let mut xs = draws(&d, 4);
        check_moments(&d, &xs);
        let exact = SWeibull::new(1.5, 1_000.0 * MICROS_PER_HOUR as f64).unwrap();
        check_cdf(&mut xs, |x| exact.cdf(x));
    }

    #[test]
    fn lognormal_matches_mean_variance_and_cdf() {
        let d = Dist::lognormal(4 * MICROS_PER_HOUR, 0.6).unwrap();
        let mut xs = draws(&d, 5);
        check_moments(&d, &xs);
        let exact = SLn::new((4.0 * MICROS_PER_HOUR as f64).ln(), 0.6).unwrap();
        check_cdf(&mut xs, |x| exact.cdf(x));
    }

    #[test]
    fn gamma_matches_mean_variance_and_cdf() {
        let d = Dist::gamma(2.5, 3 * MICROS_PER_HOUR).unwrap();
        let mut xs = draws(&d, 6);
        check_moments(&d, &xs);
        // statrs parameterises gamma by rate.
        let exact = SGamma::new(2.5, 1.0 / (3.0 * MICROS_PER_HOUR as f64)).unwrap();
        check_cdf(&mut xs, |x| exact.cdf(x));
    }

    #[test]
    fn empirical_resamples_its_data() {
        let data = vec![1, 2, 2, 10, 50];
        let d = Dist::empirical(data.clone()).unwrap();
        let xs = draws(&d, 7);
        check_moments(&d, &xs);
        assert!(xs.iter().all(|x| data.contains(&(*x as u64))));
        // Each value appears with frequency 1/5 (2 appears twice): a chi-square-free check
        // that the resampling is uniform over rows, within 1% absolute.
        let twos = xs.iter().filter(|&&x| x == 2.0).count() as f64 / N as f64;
        assert!((twos - 0.4).abs() < 0.01, "{twos}");
    }

    #[test]
    fn rejects_bad_parameters() {
        assert_eq!(
            Dist::exponential(0).unwrap_err(),
            DistError::NotPositive("mean")
        );
        assert_eq!(Dist::uniform(5, 4).unwrap_err(), DistError::MinAboveMax);
        assert_eq!(
            Dist::weibull(0.0, 5).unwrap_err(),
            DistError::NotPositive("shape")
        );
        assert_eq!(
            Dist::lognormal(5, f64::NAN).unwrap_err(),
            DistError::NotFinite("sigma")
        );
        assert_eq!(
            Dist::gamma(1.0, 0).unwrap_err(),
            DistError::NotPositive("scale")
        );
        assert_eq!(Dist::empirical(vec![]).unwrap_err(), DistError::EmptyData);
    }
}
