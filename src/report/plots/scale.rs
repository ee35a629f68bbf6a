//! Value axes: linear with round ticks, or decades when the values span orders of magnitude
//! (an MTTR of 36 h beside one of 24 min would otherwise be a bar of nothing). Charts draw in
//! axis coordinates (log10 of the value on a log axis) and label ticks in the data's own unit,
//! so every chart controls its ticks the same way.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::style::tick_number;

/// Values spanning this ratio or more go on a log axis: beyond it the smaller bars would be
/// slivers.
const LOG_RATIO: f64 = 30.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub log: bool,
    /// Axis range, in axis coordinates.
    pub lo: f64,
    pub hi: f64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
    decimals: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// May the axis become logarithmic (all values positive and far apart)?
    pub allow_log: bool,
    /// Should a linear axis start at zero (bars measure from zero)?
    pub from_zero: bool,
    /// Room above the largest value, as a fraction of the span (for value labels).
    pub headroom: f64,
}

impl Scale {
    /// An axis for `values` (non-finite ones ignored); `None` when there is nothing to show.
    pub fn fit(values: &[f64], fit: Fit) -> Option<Scale> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let min = finite.iter().copied().reduce(f64::min)?;
        let max = finite.iter().copied().reduce(f64::max)?;
        if fit.allow_log && min > 0.0 && max / min >= LOG_RATIO {
            if fit.from_zero {
                // Bars stand on a whole decade.
                Some(Scale::decades(min.log10(), max.log10(), fit.headroom))
            } else {
                Some(Scale::tight_decades(min.log10(), max.log10(), fit.headroom))
            }
        } else {
            let lo = if fit.from_zero { min.min(0.0) } else { min };
            Some(Scale::linear(lo, max, fit.headroom))
        }
    }

    /// 0 to 1, for an axis with nothing on it.
    pub fn unit() -> Scale {
        Scale::linear(0.0, 1.0, 0.0)
    }

    fn decades(lo: f64, hi: f64, headroom: f64) -> Scale {
        let top = hi + (hi - lo).max(1.0) * headroom;
        let lo = lo.floor();
        let hi = top.ceil().max(lo + 1.0);
        let ticks: Vec<f64> = (lo as i32..=hi as i32).map(f64::from).collect();
        let minor = ticks
            .iter()
            .flat_map(|d| (2..10).map(move |m| d + f64::from(m).log10()))
            .filter(|m| *m < hi)
            .collect();
        Scale {
            log: true,
            lo,
            hi,
            ticks,
            minor,
            decimals: 0,
        }
    }

    /// A log axis that hugs the data (lines need no baseline): ticks at the decades inside,
    /// and at 2 and 5 times them when the range holds too few decades to read.
    fn tight_decades(lo: f64, hi: f64, headroom: f64) -> Scale {
        let pad = (hi - lo) * 0.03;
        let (lo, hi) = (lo - pad, hi + pad + (hi - lo) * headroom);
        let inside = |v: &f64| *v >= lo - 1e-9 && *v <= hi + 1e-9;
        let decades: Vec<f64> = (lo.floor() as i32..=hi.ceil() as i32)
            .map(f64::from)
            .collect();
        let mut ticks: Vec<f64> = decades.iter().copied().filter(inside).collect();
        if ticks.len() < 3 {
            ticks = decades
                .iter()
                .flat_map(|d| [*d, d + 2f64.log10(), d + 5f64.log10()])
                .filter(inside)
                .collect();
        }
        let minor = decades
            .iter()
            .flat_map(|d| (2..10).map(move |m| d + f64::from(m).log10()))
            .filter(inside)
            .collect();
        Scale {
            log: true,
            lo,
            hi,
            ticks,
            minor,
            decimals: 0,
        }
    }

    fn linear(lo: f64, hi: f64, headroom: f64) -> Scale {
        let (lo, hi) = if hi - lo > 0.0 {
            (lo, hi + (hi - lo) * headroom)
        } else if hi != 0.0 {
            // One value: show it in the middle of a range around it.
            (lo - hi.abs() * 0.5, hi + hi.abs() * 0.5)
        } else {
            (0.0, 1.0)
        };
        let step = nice_step((hi - lo) / 6.0);
        let first = (lo / step).floor() * step;
        let last = (hi / step).ceil() * step;
        let count = ((last - first) / step).round() as i64;
        let ticks = (0..=count).map(|i| first + i as f64 * step).collect();
        Scale {
            log: false,
            lo: first,
            hi: last,
            ticks,
            minor: Vec::new(),
            decimals: (-step.log10().floor()).max(0.0) as usize,
        }
    }

    /// A value in data units, as an axis coordinate.
    pub fn to_axis(&self, value: f64) -> f64 {
        if self.log {
            if value > 0.0 {
                value.log10()
            } else {
                self.lo
            }
        } else {
            value
        }
    }

    /// The plotters range for this axis, with its ticks.
    pub fn range(&self) -> Ticked {
        Ticked::new(self.lo..self.hi, self.ticks.clone()).with_minor(self.minor.clone())
    }

    /// The text of the tick at axis coordinate `at`, in data units.
    pub fn label(&self, at: f64) -> String {
        if self.log {
            // Ticks sit at 1, 2 or 5 times a power of ten: one significant digit.
            let value = 10f64.powf(at);
            let decimals = (-value.log10().floor()).max(0.0) as usize;
            format!("{value:.decimals$}")
        } else {
            tick_number(at, self.decimals)
        }
    }
}

/// A linear f64 axis whose ticks are given, not guessed. (Plotters' own `WithKeyPoints` does
/// the same but cannot take a label formatter, which every axis here needs.)
#[derive(Clone)]
pub struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
}

impl Ticked {
    pub fn new(range: Range<f64>, ticks: Vec<f64>) -> Ticked {
        Ticked {
            inner: range.into(),
            ticks,
            minor: Vec::new(),
        }
    }

    pub fn with_minor(mut self, minor: Vec<f64>) -> Ticked {
        self.minor = minor;
        self
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let mantissa = raw / power;
    let nice = if mantissa <= 1.0 {
        1.0
    } else if mantissa <= 2.0 {
        2.0
    } else if mantissa <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARS: Fit = Fit {
        allow_log: true,
        from_zero: true,
        headroom: 0.1,
    };

    #[test]
    fn far_apart_values_get_decades() {
        let s = Scale::fit(&[36.0, 0.4], BARS).unwrap();
        assert!(s.log);
        assert_eq!((s.lo, s.hi), (-1.0, 2.0));
        assert_eq!(s.label(-1.0), "0.1");
        assert_eq!(s.label(2.0), "100");
        assert_eq!(s.to_axis(0.0), -1.0);
    }

    #[test]
    fn close_values_get_round_linear_ticks_from_zero() {
        let s = Scale::fit(&[4416.0, 9000.0], BARS).unwrap();
        assert!(!s.log);
        assert_eq!(s.lo, 0.0);
        assert!(s.hi >= 9900.0 && s.hi <= 12000.0, "{s:?}");
        assert_eq!(s.label(2000.0), "2000");
        let small = Scale::fit(&[0.12, 0.3], BARS).unwrap();
        assert_eq!(
            small
                .ticks
                .iter()
                .map(|t| small.label(*t))
                .collect::<Vec<_>>(),
            ["0", "0.1", "0.2", "0.3", "0.4"]
        );
    }

    #[test]
    fn lines_get_a_log_axis_that_hugs_the_data() {
        let lines = Fit {
            allow_log: true,
            from_zero: false,
            headroom: 0.0,
        };
        let s = Scale::fit(&[1.0, 168.0], lines).unwrap();
        assert!(s.log && s.lo < 0.0 && s.hi < 2.5, "{s:?}");
        assert_eq!(s.ticks, vec![0.0, 1.0, 2.0]);
        let narrow = Scale::fit(&[30.0, 900.0], lines).unwrap();
        let labels: Vec<String> = narrow.ticks.iter().map(|t| narrow.label(*t)).collect();
        assert_eq!(labels, ["50", "100", "200", "500"]);
    }

    #[test]
    fn degenerate_inputs_still_give_an_axis() {
        assert!(Scale::fit(&[], BARS).is_none());
        assert!(Scale::fit(&[f64::NAN], BARS).is_none());
        let zero = Scale::fit(&[0.0, 0.0], BARS).unwrap();
        assert!(zero.hi > zero.lo);
        let one = Scale::fit(&[5.0], BARS).unwrap();
        assert!(one.lo <= 5.0 && one.hi > 5.0);
    }
}
