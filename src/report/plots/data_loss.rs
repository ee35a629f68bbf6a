//! Data lost per cross-cluster failover, as an empirical CDF per scenario: for any amount of
//! lost writes on the x axis, the share of failovers that lost no more than that. A CDF
//! compares scenarios with very different failover counts on one scale, and reads directly as
//! "in 95% of failovers we lose at most ...".

use std::io;
use std::path::Path;

use super::canvas;
use super::lines::{LinePlot, Series};
use super::scale::{Fit, Scale};
use crate::metrics::DataLossSummary;

/// Past this many failovers the curve keeps about this many steps: the picture is the same
/// and the SVG stays small.
const MAX_STEPS: usize = 1000;

/// Writes `<out_stem>.png` and `<out_stem>.svg`. `series`: per scenario, the seconds of
/// writes lost in each cross-cluster failover (empty: the scenario had none).
pub fn data_loss(series: &[(&str, &[f64])], out_stem: &Path) -> io::Result<()> {
    canvas::write(&data_loss_plot(series), out_stem)
}

/// One scenario's distribution as a run keeps it: a label, evenly spaced quantiles in seconds
/// (a bounded stand-in for every sample, the last one the maximum), and the summary the JSON
/// report carries (`None`: no failover).
pub type LossSeries<'a> = (&'a str, &'a [f64], Option<&'a DataLossSummary>);

/// The same from a summary of each distribution: the curve from the quantiles, the legend's
/// numbers from the summary, exactly as the JSON report gives them.
pub fn data_loss_counted(series: &[LossSeries], out_stem: &Path) -> io::Result<()> {
    canvas::write(&counted_plot(series), out_stem)
}

/// The legend's numbers of one scenario, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Legend {
    failovers: u64,
    p50: f64,
    p95: f64,
    max: f64,
}

impl From<&DataLossSummary> for Legend {
    fn from(d: &DataLossSummary) -> Legend {
        Legend {
            failovers: d.failovers,
            p50: d.p50_seconds,
            p95: d.p95_seconds,
            max: d.max_seconds,
        }
    }
}

/// A unit that keeps the axis numbers small: seconds, minutes or hours.
fn unit_for(max_seconds: f64) -> (f64, &'static str) {
    if max_seconds >= 2.0 * 3600.0 {
        (3600.0, "hours")
    } else if max_seconds >= 180.0 {
        (60.0, "minutes")
    } else {
        (1.0, "seconds")
    }
}

/// The value at quantile `q` of sorted data: the nearest rank, as the JSON report's summary
/// takes it.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Staircase vertices of the empirical CDF of `sorted`, ending at `x_end`.
fn staircase(sorted: &[f64], x_end: f64) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let stride = n.div_ceil(MAX_STEPS).max(1);
    let mut points = Vec::with_capacity(2 * MAX_STEPS + 3);
    let mut below = 0.0;
    let picked = (stride - 1..n)
        .step_by(stride)
        .chain(std::iter::once(n - 1));
    for i in picked {
        let x = sorted[i];
        let frac = (i + 1) as f64 / n as f64;
        if frac <= below {
            continue;
        }
        points.push((x, below));
        points.push((x, frac));
        below = frac;
    }
    points.push((x_end.max(sorted[n - 1]), 1.0));
    points
}

/// The plot of raw samples: the legend's numbers from the samples themselves.
pub fn data_loss_plot(series: &[(&str, &[f64])]) -> LinePlot {
    let legends: Vec<Option<Legend>> = series
        .iter()
        .map(|(_, values)| {
            let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| Legend {
                failovers: v.len() as u64,
                p50: quantile(&v, 0.5),
                p95: quantile(&v, 0.95),
                max: v[v.len() - 1],
            })
        })
        .collect();
    let counted: Vec<(&str, &[f64], Option<Legend>)> = series
        .iter()
        .zip(legends)
        .map(|((label, values), legend)| (*label, *values, legend))
        .collect();
    plot(&counted)
}

fn counted_plot(series: &[LossSeries]) -> LinePlot {
    let with_legend: Vec<(&str, &[f64], Option<Legend>)> = series
        .iter()
        .map(|(label, values, summary)| (*label, *values, summary.map(Legend::from)))
        .collect();
    plot(&with_legend)
}

fn plot(series: &[(&str, &[f64], Option<Legend>)]) -> LinePlot {
    let legends: Vec<Option<Legend>> = series.iter().map(|(_, _, l)| *l).collect();
    let cleaned: Vec<(String, Vec<f64>)> = series
        .iter()
        .map(|(label, values, _)| {
            let mut v: Vec<f64> = values
                .iter()
                .filter(|v| v.is_finite())
                .map(|v| v.max(0.0))
                .collect();
            v.sort_by(f64::total_cmp);
            (label.to_string(), v)
        })
        .collect();
    let max = cleaned
        .iter()
        .filter_map(|(_, v)| v.last().copied())
        .fold(0.0, f64::max);
    let (divisor, unit) = unit_for(max);
    // A heavy tail (a failover to a copy that was never re-protected loses hours while the
    // typical loss is part of one replication interval) flattens a linear axis into a wall:
    // then the axis is logarithmic, in seconds, with losses under a second drawn at 1 s.
    let all: Vec<f64> = cleaned
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let typical = if all.is_empty() {
        0.0
    } else {
        let mut sorted = all.clone();
        sorted.sort_by(f64::total_cmp);
        quantile(&sorted, 0.95)
    };
    let log_axis = typical > 0.0 && max / typical > 20.0;
    let (axis_divisor, axis_unit, floor) = if log_axis {
        (1.0, "seconds, log scale", 1.0)
    } else {
        (divisor, unit, 0.0)
    };
    let x = if log_axis {
        Scale::fit(
            &[floor, max],
            Fit {
                allow_log: true,
                from_zero: false,
                headroom: 0.0,
            },
        )
    } else {
        Scale::fit(
            &[0.0, max / divisor],
            Fit {
                allow_log: false,
                from_zero: true,
                headroom: 0.05,
            },
        )
    }
    .unwrap_or_else(Scale::unit);
    let x_end = if x.log { 10f64.powf(x.hi) } else { x.hi };
    // Each legend number in its own natural unit ("2.5m", "72h"), not all in the axis unit.
    let fmt = |seconds: f64| crate::time::Human(crate::time::from_seconds(seconds)).to_string();
    let series: Vec<Series> = cleaned
        .iter()
        .zip(&legends)
        .map(|((label, v), legend)| {
            let Some(legend) = legend.filter(|_| !v.is_empty()) else {
                return Series {
                    legend: format!("{label}: no cross-cluster failover"),
                    points: Vec::new(),
                    band: Vec::new(),
                    markers: false,
                };
            };
            let scaled: Vec<f64> = v.iter().map(|s| (s / axis_divisor).max(floor)).collect();
            Series {
                legend: format!(
                    "{label}: {} failovers, median {}, 95% {}, max {}",
                    legend.failovers,
                    fmt(legend.p50),
                    fmt(legend.p95),
                    fmt(legend.max),
                ),
                points: staircase(&scaled, x_end),
                band: Vec::new(),
                markers: false,
            }
        })
        .collect();
    let nothing = cleaned.iter().all(|(_, v)| v.is_empty());
    LinePlot {
        title: "Data lost per cross-cluster failover (cumulative)".to_string(),
        x_desc: format!("writes lost in one failover ({axis_unit})"),
        y_desc: "failovers losing at most this".to_string(),
        x,
        y: Scale::fit(
            &[0.0, 1.0],
            Fit {
                allow_log: false,
                from_zero: true,
                headroom: 0.0,
            },
        )
        .unwrap_or_else(Scale::unit),
        y_percent: true,
        y_nines: false,
        series,
        empty_message: nothing
            .then(|| "no cross-cluster failover in any scenario: no data lost to show".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_staircase_climbs_to_one_in_steps_of_one_over_n() {
        let s = staircase(&[1.0, 2.0, 2.0, 4.0], 5.0);
        assert_eq!(
            s,
            vec![
                (1.0, 0.0),
                (1.0, 0.25),
                (2.0, 0.25),
                (2.0, 0.5),
                (2.0, 0.5),
                (2.0, 0.75),
                (4.0, 0.75),
                (4.0, 1.0),
                (5.0, 1.0)
            ]
        );
    }

    #[test]
    fn many_failovers_are_thinned_but_still_reach_one() {
        let data: Vec<f64> = (0..100_000).map(|i| i as f64 / 1000.0).collect();
        let s = staircase(&data, 100.0);
        assert!(s.len() <= 2 * MAX_STEPS + 4, "{}", s.len());
        assert_eq!(s[s.len() - 2], (99.999, 1.0));
    }

    #[test]
    fn the_legend_of_a_run_says_what_its_json_says() {
        // A heavy tail: the 2000 quantiles alone would end below the maximum, and their own
        // median would sit a bucket away from the summary's.
        let mut h = crate::metrics::DataLossHistogram::default();
        for i in 0..50_000u64 {
            h.push((i % 300 + 1) * 1_000_000);
        }
        h.push(258_811 * 1_000_000);
        let summary = h.summary().unwrap();
        let curve = h.quantiles_seconds(2000);
        let plot = counted_plot(&[("set", &curve, Some(&summary))]);
        let fmt = |s: f64| crate::time::Human(crate::time::from_seconds(s)).to_string();
        let legend = &plot.series[0].legend;
        for (what, value) in [
            ("median", summary.p50_seconds),
            ("95%", summary.p95_seconds),
            ("max", summary.max_seconds),
        ] {
            assert!(
                legend.contains(&format!("{what} {}", fmt(value))),
                "{legend}"
            );
        }
        assert!(legend.contains("50001 failovers"), "{legend}");
        // The curve reaches the maximum (on the log axis, in seconds).
        let last = plot.series[0]
            .points
            .iter()
            .map(|p| p.0)
            .fold(0.0, f64::max);
        assert!(last >= 258_811.0, "{last}");
    }

    #[test]
    fn empty_series_say_so() {
        let plot = data_loss_plot(&[("a", &[]), ("b", &[f64::NAN])]);
        assert!(plot.empty_message.is_some());
        assert!(plot.series[0].legend.contains("no cross-cluster failover"));
        let plot = data_loss_plot(&[("a", &[]), ("b", &[30.0, 600.0])]);
        assert!(plot.empty_message.is_none());
        assert!(plot.x_desc.contains("minutes"));
        assert!(
            plot.series[1].legend.contains("max 10m"),
            "{}",
            plot.series[1].legend
        );
        // A heavy tail switches the axis to seconds on a log scale.
        let mut tail: Vec<f64> = (1..=100).map(|i| i as f64 * 3.0).collect();
        tail.push(72.0 * 3600.0);
        let plot = data_loss_plot(&[("set", &tail)]);
        assert!(plot.x.log, "{}", plot.x_desc);
        assert!(plot.x_desc.contains("log scale"));
    }
}
