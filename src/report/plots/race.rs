//! The race curve: for each control variant, the fraction of runs that ended broken as a
//! function of the offset between the two racing faults. A variant whose curve stays at zero
//! for every offset has no window of vulnerability; where the curve rises is the window.

use std::io;
use std::path::Path;

use super::canvas;
use super::lines::{LinePlot, Series};
use super::scale::{Fit, Scale};

/// One control variant's curve: per offset (seconds, broken share, its 95% interval).
pub struct RaceCurve {
    pub control: String,
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// Writes `<out_stem>.png` and `<out_stem>.svg`: a line per control variant, its interval
/// as a band.
pub fn race_curve(variants: &[RaceCurve], out_stem: &Path) -> io::Result<()> {
    canvas::write(&race_plot(variants), out_stem)
}

pub fn race_plot(variants: &[RaceCurve]) -> LinePlot {
    let series: Vec<Series> = variants
        .iter()
        .map(|curve| {
            let mut points: Vec<(f64, f64, f64, f64)> = curve
                .points
                .iter()
                .copied()
                .filter(|p| [p.0, p.1, p.2, p.3].iter().all(|v| v.is_finite()))
                .map(|(x, y, lo, hi)| {
                    let unit = |v: f64| v.clamp(0.0, 1.0);
                    (x, unit(y), unit(lo), unit(hi))
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                legend: format!("{} (band: 95% interval)", curve.control),
                points: points.iter().map(|p| (p.0, p.1)).collect(),
                band: points.iter().map(|p| (p.0, p.2, p.3)).collect(),
                markers: true,
            }
        })
        .collect();
    let offsets: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let x = Scale::fit(
        &offsets,
        Fit {
            allow_log: false,
            from_zero: false,
            headroom: 0.0,
        },
    )
    .unwrap_or_else(Scale::unit);
    let fraction = Fit {
        allow_log: false,
        from_zero: true,
        headroom: 0.1,
    };
    let top = series
        .iter()
        .flat_map(|s| s.band.iter().map(|b| b.2))
        .fold(0.0, f64::max);
    LinePlot {
        title: "Race: share of runs that end with replication broken".to_string(),
        x_desc: "replica cluster's crash after the primary cluster's (seconds)".to_string(),
        y_desc: "runs broken".to_string(),
        x,
        // Fitted to the worst offset's interval (at least 10%), so that a peak of a few percent
        // is visible;
        // a variant that never breaks lies on the zero line.
        y: Scale::fit(&[0.0, top.clamp(0.1, 1.0)], fraction).unwrap_or_else(Scale::unit),
        y_percent: true,
        y_nines: false,
        empty_message: offsets
            .is_empty()
            .then(|| "no race results to show".to_string()),
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_sorted_clamped_and_cleaned() {
        let curve = RaceCurve {
            control: "v".into(),
            points: vec![
                (10.0, 0.5, 0.4, 0.6),
                (f64::NAN, 1.0, 0.9, 1.0),
                (-5.0, 1.2, 0.9, 1.3),
            ],
        };
        let plot = race_plot(&[curve]);
        assert_eq!(plot.series[0].points, vec![(-5.0, 1.0), (10.0, 0.5)]);
        assert_eq!(
            plot.series[0].band,
            vec![(-5.0, 0.9, 1.0), (10.0, 0.4, 0.6)]
        );
        assert!(plot.x.lo <= -5.0 && plot.x.hi >= 10.0);
        assert!(race_plot(&[]).empty_message.is_some());
    }
}
