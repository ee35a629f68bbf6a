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

/// Writes `<out_stem>.png` and `<out_stem>.svg`: per scenario (`series`), a line of the metric
/// against the parameter.
pub fn sweep_lines(
    param: &str,
    metric_label: &str,
    series: &[(&str, &[SweepPoint])],
    out_stem: &Path,
) -> io::Result<()> {
    canvas::write(&sweep_plot(param, metric_label, series), out_stem)
}

pub fn sweep_plot(param: &str, metric_label: &str, series: &[(&str, &[SweepPoint])]) -> LinePlot {
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
            allow_log: true,
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
}
