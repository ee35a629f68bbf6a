//! MTBF and MTTR side by side, one bar per scenario in each panel. Each panel has its own axis
//! (MTBF is thousands of hours, MTTR minutes to days), logarithmic when the scenarios differ by
//! orders of magnitude, and every bar carries its value in a natural unit.

use std::io;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{self, Chart, DrawResult};
use super::scale::{Fit, Scale};
use super::style::{self, anchored};
use crate::analysis::summary::Report;

/// Writes `<out_stem>.png` and `<out_stem>.svg`: mean time between failures and mean time to
/// repair of `service` in each scenario, in hours.
pub fn mtbf_mttr(reports: &[(&str, &Report)], service: &str, out_stem: &Path) -> io::Result<()> {
    canvas::write(&MtbfMttrChart::new(reports, service), out_stem)
}

/// What one panel shows of one scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bar {
    Hours(f64),
    /// MTBF and MTTR are undefined without an outage.
    NoOutage,
    /// The scenario has no such service.
    Missing,
}

pub struct MtbfMttrChart {
    service: String,
    labels: Vec<String>,
    mtbf: Vec<Bar>,
    mttr: Vec<Bar>,
}

impl MtbfMttrChart {
    pub fn new(reports: &[(&str, &Report)], service: &str) -> MtbfMttrChart {
        let bars = |pick: fn(&crate::analysis::summary::ServiceReport) -> Option<f64>| {
            reports
                .iter()
                .map(|(_, r)| match r.services.get(service) {
                    None => Bar::Missing,
                    Some(s) => match pick(s) {
                        Some(h) if h.is_finite() && h >= 0.0 => Bar::Hours(h),
                        _ => Bar::NoOutage,
                    },
                })
                .collect()
        };
        MtbfMttrChart {
            service: service.to_string(),
            labels: reports.iter().map(|(l, _)| l.to_string()).collect(),
            mtbf: bars(|s| s.mtbf_hours),
            mttr: bars(|s| s.mttr_hours),
        }
    }

    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
        bars: &[Bar],
    ) -> DrawResult<DB> {
        let hours: Vec<f64> = bars
            .iter()
            .filter_map(|b| match b {
                Bar::Hours(h) => Some(*h),
                _ => None,
            })
            .collect();
        let fit = Fit {
            allow_log: true,
            from_zero: true,
            headroom: 0.15,
        };
        // With no outage anywhere there is no scale to fit: draw an empty 0..1 h axis so the
        // "no outage" labels still stand on something.
        let scale = Scale::fit(&hours, fit).unwrap_or_else(Scale::unit);
        let y_desc = if scale.log {
            "hours (log scale)"
        } else {
            "hours"
        };
        let mut chart =
            super::panel::category_panel(area, title, &self.labels, &scale, y_desc, true)?;

        let base = scale.lo;
        for (i, bar) in bars.iter().enumerate() {
            let x = i as f64;
            let (top, text, muted) = match *bar {
                Bar::Hours(h) => {
                    let top = scale.to_axis(h).clamp(base, scale.hi);
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x - 0.3, base), (x + 0.3, top)],
                        style::series_color(i).mix(0.85).filled(),
                    )))?;
                    (top, style::human_hours(h), false)
                }
                Bar::NoOutage => (base, "no outage".to_string(), true),
                Bar::Missing => (base, format!("no service \"{}\"", self.service), true),
            };
            let style = anchored(style::LABEL_SIZE, HPos::Center, VPos::Bottom);
            let style = if muted {
                style.color(&style::MUTED)
            } else {
                style
            };
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, top)) + Text::new(text, (0, -8), style),
            ))?;
        }
        Ok(())
    }
}

impl Chart for MtbfMttrChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let title = format!("MTBF and MTTR of service \"{}\"", self.service);
        let area = style::titled(root, &title)?;
        if self.labels.is_empty() {
            return style::draw_message(&area, "no scenario to show");
        }
        let panels = area.split_evenly((1, 2));
        self.panel(&panels[0], "MTBF: mean time between failures", &self.mtbf)?;
        self.panel(&panels[1], "MTTR: mean time to repair", &self.mttr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::summary::{Estimate, ServiceReport};
    use std::collections::BTreeMap;

    fn report(mtbf: Option<f64>, mttr: Option<f64>) -> Report {
        let e = Estimate {
            mean: 1.0,
            ci95: None,
        };
        Report {
            scenario: "s".into(),
            method: "simulation".into(),
            seed: 1,
            replications: 1,
            horizon_hours: 1.0,
            warmup_hours: 0.0,
            data_loss_seconds: Default::default(),
            yearly_downtime_minutes: Default::default(),
            sla: None,
            cost: None,
            services: BTreeMap::from([(
                "app".to_string(),
                ServiceReport {
                    availability: e.clone(),
                    downtime_minutes_per_year: e,
                    outages: 0,
                    mtbf_hours: mtbf,
                    mttr_hours: mttr,
                    nines: None,
                    downtime_by_cause_minutes_per_year: BTreeMap::new(),
                    ..ServiceReport::default()
                },
            )]),
        }
    }

    #[test]
    fn no_outage_and_missing_services_are_bars_of_their_own_kind() {
        let (a, b) = (report(Some(10.0), Some(0.5)), report(None, None));
        let chart = MtbfMttrChart::new(&[("a", &a), ("b", &b)], "app");
        assert_eq!(chart.mttr, vec![Bar::Hours(0.5), Bar::NoOutage]);
        let other = MtbfMttrChart::new(&[("a", &a)], "db");
        assert_eq!(other.mtbf, vec![Bar::Missing]);
        // Nothing to scale: still draws.
        canvas::render_svg(&MtbfMttrChart::new(&[("b", &b)], "app"), (400, 300)).unwrap();
    }
}
