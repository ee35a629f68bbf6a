//! Downtime in one year, as a complementary CDF per scenario on log scales: for any amount of
//! downtime on the x axis, the share of years (each whole year of each replication one) with
//! more than that. The budget lines (the `[sla]`, or the common 99.9 / 99.95 / 99.99% budgets
//! without one) cross each curve at the share of years that breach them.

use std::io;
use std::path::Path;

use super::canvas;
use super::lines::{LinePlot, Series};
use super::scale::{Fit, Scale};
use crate::analysis::sla::{allowed_downtime, COMMON_BUDGETS};
use crate::analysis::summary::Report;
use crate::time::MICROS_PER_MINUTE;

/// Years with less downtime than this (in minutes) are drawn at it: a log axis has no zero.
const FLOOR_MINUTES: f64 = 0.1;

/// Writes `<out_stem>.png` and `<out_stem>.svg` for `service`.
pub fn yearly_downtime(
    reports: &[(&str, &Report)],
    service: &str,
    out_stem: &Path,
) -> io::Result<()> {
    canvas::write(&yearly_downtime_plot(reports, service), out_stem)
}

/// The budgets to draw, in minutes a year: every scenario's `[sla]` (once each), or the common
/// budgets when no scenario has one.
fn budgets(reports: &[(&str, &Report)]) -> Vec<(String, f64)> {
    let mut slas: Vec<(String, f64)> = Vec::new();
    for (_, r) in reports {
        if let Some(sla) = &r.sla {
            let entry = (
                format!("SLA {}", crate::report::risk::sla(sla)),
                sla.downtime_minutes_per_year,
            );
            if !slas.contains(&entry) {
                slas.push(entry);
            }
        }
    }
    if !slas.is_empty() {
        return slas;
    }
    COMMON_BUDGETS
        .iter()
        .map(|(name, a)| {
            let minutes = allowed_downtime(*a) as f64 / MICROS_PER_MINUTE as f64;
            (format!("{name} budget ({minutes:.1} min a year)"), minutes)
        })
        .collect()
}

/// Staircase of the survival function of `sorted` (minutes, ascending, standing in for `n`
/// equally likely years): at each value the share of years above it drops by 1/n. Values
/// below the floor are drawn at the floor; the curve ends at the last 1/n, as a log axis
/// cannot show zero.
fn survival(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len() as f64;
    let mut points = Vec::with_capacity(2 * sorted.len());
    let mut above = 1.0;
    for (i, &v) in sorted.iter().enumerate() {
        let x = v.max(FLOOR_MINUTES);
        let after = (sorted.len() - i - 1) as f64 / n;
        if after <= 0.0 {
            points.push((x, above));
            break;
        }
        points.push((x, above));
        points.push((x, after));
        above = after;
    }
    points.dedup();
    points
}

fn yearly_downtime_plot(reports: &[(&str, &Report)], service: &str) -> LinePlot {
    let curves: Vec<(&str, Vec<f64>, Option<String>)> = reports
        .iter()
        .map(|(label, r)| {
            let mut v = r
                .yearly_downtime_minutes
                .get(service)
                .cloned()
                .unwrap_or_default();
            v.sort_by(f64::total_cmp);
            let note = r.services.get(service).and_then(|s| {
                let q = s.downtime_per_year_quantiles.as_ref()?;
                let breach = match &s.sla_breach_probability {
                    Some(p) => format!(", P(breach) {}", crate::report::risk::percent(p.mean)),
                    None => String::new(),
                };
                Some(format!("{}{breach}", crate::report::risk::quantiles(q)))
            });
            (*label, v, note)
        })
        .collect();
    let budgets = budgets(reports);
    let max = curves
        .iter()
        .filter_map(|(_, v, _)| v.last().copied())
        .chain(budgets.iter().map(|(_, m)| *m))
        .fold(FLOOR_MINUTES, f64::max);
    let years = curves.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    let y_floor = 1.0 / years.max(2) as f64;
    let x = Scale::fit(
        &[FLOOR_MINUTES, max],
        Fit {
            allow_log: true,
            from_zero: false,
            headroom: 0.0,
        },
    )
    .unwrap_or_else(Scale::unit);
    let y = Scale::fit(
        &[y_floor, 1.0],
        Fit {
            allow_log: true,
            from_zero: false,
            headroom: 0.0,
        },
    )
    .unwrap_or_else(Scale::unit);
    let mut series: Vec<Series> = curves
        .iter()
        .map(|(label, v, note)| Series {
            legend: match note {
                Some(note) => format!("{label}: {note}"),
                None => format!("{label}: no whole year observed"),
            },
            points: survival(v),
            band: Vec::new(),
            markers: false,
        })
        .collect();
    series.extend(budgets.into_iter().map(|(legend, minutes)| Series {
        legend,
        points: vec![(minutes, y_floor), (minutes, 1.0)],
        band: Vec::new(),
        markers: false,
    }));
    let nothing = curves.iter().all(|(_, v, _)| v.is_empty());
    LinePlot {
        title: format!("Downtime in one year, service {service}"),
        x_desc: "downtime in a year (minutes, log scale)".to_string(),
        y_desc: "share of years with more (log scale)".to_string(),
        x,
        y,
        y_percent: false,
        y_nines: false,
        series,
        empty_message: nothing.then(|| {
            "no whole simulated year after the warmup: no yearly downtime to show".to_string()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_survival_curve_steps_down_by_one_over_n() {
        let s = survival(&[0.0, 5.0, 5.0, 40.0]);
        assert_eq!(
            s,
            vec![
                (FLOOR_MINUTES, 1.0),
                (FLOOR_MINUTES, 0.75),
                (5.0, 0.75),
                (5.0, 0.5),
                (5.0, 0.25),
                (40.0, 0.25)
            ]
        );
    }

    #[test]
    fn without_an_sla_the_common_budgets_are_drawn() {
        let report = Report::default();
        let b = budgets(&[("a", &report)]);
        assert_eq!(b.len(), 3);
        assert!(b[1].0.starts_with("99.95% budget (262.8 min"), "{}", b[1].0);
        let with = Report {
            sla: Some(crate::analysis::summary::SlaReport {
                availability: 0.9995,
                downtime_minutes_per_year: 262.8,
            }),
            ..Report::default()
        };
        let b = budgets(&[("a", &with), ("b", &with)]);
        assert_eq!(
            b,
            vec![("SLA 99.95% (262.8 min a year)".to_string(), 262.8)]
        );
        let plot = yearly_downtime_plot(&[("a", &report)], "vm1");
        assert!(plot.empty_message.is_some());
    }
}
