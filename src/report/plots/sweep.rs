//! A parameter sweep: one line per scenario of a metric (availability, downtime per year, ...)
//! against the swept parameter, with its confidence interval as a shaded band. Axes turn
//! logarithmic when a parameter or metric spans orders of magnitude (MTTF from 1000 h to
//! 100000 h, downtime from hours to seconds).

use std::io;
use std::path::Path;

use super::canvas;
use super::lines::{LinePlot, Series};
use super::scale::{Fit, Scale};

/// One point of a sweep line: (parameter value, mean, interval low, interval high) of the
/// metric. A NaN low or high (no interval, one replication) leaves that point out of the band.
pub type SweepPoint = (f64, f64, f64, f64);

/// A metric a sweep can chart.
pub struct SweepMetric {
    /// In the file name: `sweep-<key>-<service>`.
    pub key: &'static str,
    pub label: &'static str,
    /// An availability, drawn on the nines scale.
    pub nines: bool,
    /// Always charted; the others only when they move across the values.
    pub always: bool,
    /// (mean, interval low, interval high) of a point, NaN where there is none.
    pub value: fn(&crate::sweep::SweepPoint) -> (f64, f64, f64),
}

fn estimate(e: &crate::analysis::summary::Estimate) -> (f64, f64, f64) {
    let [lo, hi] = e.ci95.unwrap_or([f64::NAN; 2]);
    (e.mean, lo, hi)
}

/// The metrics of a sweep's charts: availability and downtime always; data lost per
/// failover, unprotected time, cross-cluster failovers, SLA breaches and cost where they move
/// (a sweep of a replication interval moves them and hardly the availability).
pub const SWEEP_METRICS: [SweepMetric; 7] = [
    SweepMetric {
        key: "downtime",
        label: "downtime per year (min)",
        nines: false,
        always: true,
        value: |p| estimate(&p.downtime_minutes_per_year),
    },
    SweepMetric {
        key: "availability",
        label: "availability (nines scale)",
        nines: true,
        always: true,
        value: |p| estimate(&p.availability),
    },
    SweepMetric {
        key: "data-loss",
        label: "data lost per cross-cluster failover, mean (s)",
        nines: false,
        always: false,
        value: |p| {
            let mean = p.data_loss.as_ref().map_or(f64::NAN, |d| d.mean_seconds);
            (mean, f64::NAN, f64::NAN)
        },
    },
    SweepMetric {
        key: "unprotected",
        label: "unprotected time per year (min)",
        nines: false,
        always: false,
        value: |p| (p.unprotected_minutes_per_year, f64::NAN, f64::NAN),
    },
    SweepMetric {
        key: "cross-cluster-failovers",
        label: "cross-cluster failovers per year",
        nines: false,
        always: false,
        value: |p| (p.cross_cluster_failovers_per_year, f64::NAN, f64::NAN),
    },
    SweepMetric {
        key: "sla-breach",
        label: "share of years breaching the SLA",
        nines: false,
        always: false,
        value: |p| {
            p.sla_breach_probability
                .as_ref()
                .map_or((f64::NAN, f64::NAN, f64::NAN), |b| {
                    (b.mean, b.ci95[0], b.ci95[1])
                })
        },
    },
    SweepMetric {
        key: "cost",
        label: "expected cost per year",
        nines: false,
        always: false,
        value: |p| {
            p.cost_per_year
                .as_ref()
                .map_or((f64::NAN, f64::NAN, f64::NAN), estimate)
        },
    },
];

impl SweepMetric {
    /// Whether the metric is worth a chart for these points (one service, every scenario).
    pub fn charted(&self, points: &[&crate::sweep::SweepPoint]) -> bool {
        if self.always {
            return true;
        }
        let means: Vec<f64> = points
            .iter()
            .map(|p| (self.value)(p).0)
            .filter(|m| m.is_finite())
            .collect();
        let lo = means.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        !means.is_empty() && hi > lo
    }
}

/// Writes `<out_stem>.png` and `<out_stem>.svg`: per scenario (`series`), a line of the metric
/// against the parameter.
pub fn sweep_lines(
    param: &str,
    metric: &SweepMetric,
    series: &[(&str, &[SweepPoint])],
    out_stem: &Path,
) -> io::Result<()> {
    let plot = if metric.nines {
        nines_plot(param, metric.label, series)
    } else {
        sweep_plot(param, metric.label, series)
    };
    canvas::write(&plot, out_stem)
}

/// Nines of an availability; a perfect one has none to draw (NaN).
fn nines(a: f64) -> f64 {
    if a < 1.0 {
        -(1.0 - a).log10()
    } else {
        f64::NAN
    }
}

/// Availabilities on the nines scale: 99% and 99.99% two steps apart, and no axis running
/// past 100%. A perfect interval end is drawn at the top of the axis.
pub fn nines_plot(param: &str, metric_label: &str, series: &[(&str, &[SweepPoint])]) -> LinePlot {
    let converted: Vec<(&str, Vec<SweepPoint>)> = series
        .iter()
        .map(|(name, points)| {
            let pts = points
                .iter()
                .map(|&(x, m, lo, hi)| (x, nines(m), nines(lo), nines(hi)))
                .collect();
            (*name, pts)
        })
        .collect();
    let top = converted
        .iter()
        .flat_map(|(_, p)| p.iter().flat_map(|&(_, m, lo, hi)| [m, lo, hi]))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let converted: Vec<(&str, Vec<SweepPoint>)> = converted
        .into_iter()
        .zip(series)
        .map(|((name, pts), (_, raw))| {
            let pts = pts
                .into_iter()
                .zip(raw.iter())
                .map(|((x, m, lo, hi), &(_, _, _, raw_hi))| {
                    let hi = if raw_hi >= 1.0 { top } else { hi };
                    (x, m, lo, hi)
                })
                .collect();
            (name, pts)
        })
        .collect();
    let refs: Vec<(&str, &[SweepPoint])> =
        converted.iter().map(|(n, p)| (*n, p.as_slice())).collect();
    let mut plot = lines_plot(param, metric_label, &refs, false);
    plot.y_nines = true;
    plot
}

pub fn sweep_plot(param: &str, metric_label: &str, series: &[(&str, &[SweepPoint])]) -> LinePlot {
    lines_plot(param, metric_label, series, true)
}

fn lines_plot(
    param: &str,
    metric_label: &str,
    series: &[(&str, &[SweepPoint])],
    allow_log_y: bool,
) -> LinePlot {
    let lines: Vec<Series> = series
        .iter()
        .map(|(name, points)| {
            let mut points: Vec<SweepPoint> = points
                .iter()
                .copied()
                .filter(|(x, m, _, _)| x.is_finite() && m.is_finite())
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                legend: name.to_string(),
                points: points.iter().map(|&(x, m, _, _)| (x, m)).collect(),
                // An interval with a missing end (one replication) has no band to draw.
                band: points
                    .iter()
                    .filter(|(_, _, lo, hi)| lo.is_finite() && hi.is_finite())
                    .map(|&(x, _, lo, hi)| (x, lo, hi))
                    .collect(),
                markers: true,
            }
        })
        .collect();
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
        })
        .collect();
    let x = Scale::fit(
        &xs,
        Fit {
            allow_log: true,
            from_zero: false,
            headroom: 0.0,
        },
    );
    let y = Scale::fit(
        &ys,
        Fit {
            allow_log: allow_log_y,
            from_zero: false,
            headroom: 0.05,
        },
    );
    let log_note = |scale: &Option<Scale>| match scale {
        Some(s) if s.log => " (log scale)",
        _ => "",
    };
    LinePlot {
        title: capitalized(&format!("{metric_label} against {param}")),
        x_desc: format!("{param}{}", log_note(&x)),
        y_desc: format!("{metric_label}{}", log_note(&y)),
        empty_message: xs.is_empty().then(|| "no sweep points to show".to_string()),
        x: x.unwrap_or_else(Scale::unit),
        y: y.unwrap_or_else(Scale::unit),
        y_percent: false,
        y_nines: false,
        series: lines,
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_parameters_go_on_decades_and_bands_skip_missing_intervals() {
        let points = [
            (1000.0, 50.0, 45.0, 55.0),
            (100_000.0, 0.6, f64::NAN, f64::NAN),
            (10_000.0, 5.0, 4.0, 6.0),
        ];
        let plot = sweep_plot("server MTTF (h)", "downtime (min/yr)", &[("a", &points)]);
        assert!(plot.x.log && plot.y.log);
        assert!(plot.x_desc.ends_with("(log scale)"));
        assert_eq!(plot.series[0].points[1], (10_000.0, 5.0));
        assert_eq!(plot.series[0].band.len(), 2);
        assert!(sweep_plot("p", "m", &[("a", &[])]).empty_message.is_some());
    }

    #[test]
    fn availability_goes_on_the_nines_scale_and_never_past_100_percent() {
        let points = [
            (1.0, 0.99, 0.985, 0.995),
            (2.0, 0.9999, 0.9998, 1.0),
            (3.0, 0.999, 0.998, 0.9995),
        ];
        let plot = nines_plot("p", "availability", &[("a", &points)]);
        assert!(plot.y_nines && !plot.y.log);
        let top = 1.0 - 10f64.powf(-plot.y.hi);
        assert!(top < 1.0, "{top}");
        assert!((plot.series[0].points[1].1 - 4.0).abs() < 1e-9);
        // The perfect end of an interval is drawn at the highest level shown, not dropped.
        assert_eq!(plot.series[0].band.len(), 3);
    }
}
