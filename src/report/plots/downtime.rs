//! Downtime per year stacked by cause, one bar per scenario, in two panels: minutes per year
//! (how much) and the share of each scenario's downtime (where it comes from). The share panel
//! matters when scenarios differ by orders of magnitude: a cluster set's 25 minutes are a
//! sliver beside a standalone cluster's 4000, but its causes must still be readable.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{self, Chart, DrawResult};
use super::scale::{Fit, Scale};
use super::style::{self, anchored, LegendEntry, Marker};
use crate::analysis::summary::Report;

/// Writes `<out_stem>.png` and `<out_stem>.svg`: the downtime of `service` per year in each
/// scenario, stacked by cause (the keys of `downtime_by_cause_minutes_per_year`).
pub fn downtime_by_cause(
    reports: &[(&str, &Report)],
    service: &str,
    out_stem: &Path,
) -> io::Result<()> {
    canvas::write(&DowntimeChart::new(reports, service), out_stem)
}

pub struct DowntimeChart {
    service: String,
    /// Every cause any scenario names, in name order: a cause's colour is its index here, so
    /// it is the same in every bar of the chart.
    causes: Vec<String>,
    labels: Vec<String>,
    /// Per scenario, minutes per year by cause (indexed like `causes`); `None` when the
    /// scenario has no such service.
    minutes: Vec<Option<Vec<f64>>>,
}

impl DowntimeChart {
    pub fn new(reports: &[(&str, &Report)], service: &str) -> DowntimeChart {
        let causes: Vec<String> = reports
            .iter()
            .filter_map(|(_, r)| r.services.get(service))
            .flat_map(|s| s.downtime_by_cause_minutes_per_year.keys().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let minutes = reports
            .iter()
            .map(|(_, r)| {
                r.services.get(service).map(|s| {
                    causes
                        .iter()
                        .map(|c| {
                            let m = s.downtime_by_cause_minutes_per_year.get(c).copied();
                            // Negative or NaN minutes cannot be stacked; they count as none.
                            m.filter(|m| m.is_finite() && *m > 0.0).unwrap_or(0.0)
                        })
                        .collect()
                })
            })
            .collect();
        DowntimeChart {
            service: service.to_string(),
            causes,
            labels: reports.iter().map(|(l, _)| l.to_string()).collect(),
            minutes,
        }
    }

    /// Causes that cost some downtime somewhere; the others would only crowd the legend.
    fn shown(&self) -> Vec<usize> {
        (0..self.causes.len())
            .filter(|&c| self.minutes.iter().flatten().any(|m| m[c] > 0.0))
            .collect()
    }

    fn total(&self, scenario: usize) -> Option<f64> {
        self.minutes[scenario].as_ref().map(|m| m.iter().sum())
    }

    fn legend(&self) -> Vec<LegendEntry> {
        self.shown()
            .into_iter()
            .map(|c| LegendEntry {
                text: self.causes[c].clone(),
                color: style::cause_color(c),
                marker: Marker::Swatch,
            })
            .collect()
    }

    /// The axis of the minutes panel. Totals orders of magnitude apart (52 min/yr beside
    /// 4268) go on decades, or the smaller bar vanishes; the share panel beside it still shows
    /// the causes.
    fn minutes_scale(&self) -> Scale {
        let totals: Vec<f64> = (0..self.labels.len())
            .filter_map(|i| self.total(i))
            .filter(|t| *t > 0.0)
            .collect();
        Scale::fit(
            &totals,
            Fit {
                allow_log: true,
                from_zero: true,
                headroom: 0.12,
            },
        )
        .unwrap_or_else(Scale::unit)
    }

    /// One stacked panel; `share` turns each bar into percentages of its own total.
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        share: bool,
    ) -> DrawResult<DB> {
        let n = self.labels.len();
        let scale = if share {
            Scale::fit(
                &[0.0, 100.0],
                Fit {
                    allow_log: false,
                    from_zero: true,
                    headroom: 0.0,
                },
            )
            .unwrap_or_else(Scale::unit)
        } else {
            self.minutes_scale()
        };
        let (title, y_desc) = if share {
            ("Share of each scenario's downtime", "% of downtime")
        } else if scale.log {
            ("Downtime per year", "minutes per year (log scale)")
        } else {
            ("Downtime per year", "minutes per year")
        };
        let mut chart =
            super::panel::category_panel(area, title, &self.labels, &scale, y_desc, scale.log)?;

        for i in 0..n {
            let x = i as f64;
            let Some(minutes) = &self.minutes[i] else {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, scale.lo))
                        + Text::new(
                            format!("no service \"{}\"", self.service),
                            (0, -8),
                            anchored(style::LABEL_SIZE, HPos::Center, VPos::Bottom)
                                .color(&style::MUTED),
                        ),
                ))?;
                continue;
            };
            let total: f64 = minutes.iter().sum();
            if total <= 0.0 {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, scale.lo))
                        + Text::new(
                            "no downtime",
                            (0, -8),
                            anchored(style::LABEL_SIZE, HPos::Center, VPos::Bottom)
                                .color(&style::MUTED),
                        ),
                ))?;
                continue;
            }
            let unit = if share { 100.0 / total } else { 1.0 };
            let mut bottom = 0.0;
            for (c, m) in minutes.iter().enumerate().filter(|(_, m)| **m > 0.0) {
                let top = bottom + m * unit;
                // On a log axis a segment spans the decades between its ends; the first one
                // stands on the bottom of the axis.
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (x - 0.3, scale.to_axis(bottom)),
                        (x + 0.3, scale.to_axis(top)),
                    ],
                    style::cause_color(c).filled(),
                )))?;
                // Segments tall enough to hold it carry their share.
                if share && m * unit >= 6.0 {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x, scale.to_axis((bottom + top) / 2.0)))
                            + Text::new(
                                format!("{:.1}%", m * unit),
                                (0, 0),
                                anchored(style::NOTE_SIZE, HPos::Center, VPos::Center),
                            ),
                    ))?;
                }
                bottom = top;
            }
            if !share {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, scale.to_axis(total)))
                        + Text::new(
                            style::human_minutes_per_year(total),
                            (0, -8),
                            anchored(style::LABEL_SIZE, HPos::Center, VPos::Bottom),
                        ),
                ))?;
            }
        }
        Ok(())
    }
}

impl Chart for DowntimeChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let title = format!("Downtime by cause, service \"{}\"", self.service);
        let area = style::titled(root, &title)?;
        if self.labels.is_empty() {
            return style::draw_message(&area, "no scenario to show");
        }
        if self.minutes.iter().all(Option::is_none) {
            let message = format!("no scenario has a service \"{}\"", self.service);
            return style::draw_message(&area, &message);
        }
        let legend = self.legend();
        if legend.is_empty() {
            return style::draw_message(&area, "no downtime in any scenario");
        }
        let (w, h) = area.dim_in_pixel();
        let (body, strip) = area.split_vertically(h - style::legend_height(&legend, w));
        let panels = body.split_evenly((1, 2));
        self.panel(&panels[0], false)?;
        self.panel(&panels[1], true)?;
        style::draw_legend(&strip, &legend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::summary::{Estimate, ServiceReport};
    use std::collections::BTreeMap;

    fn report(causes: &[(&str, f64)]) -> Report {
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
                    mtbf_hours: None,
                    mttr_hours: None,
                    nines: None,
                    downtime_by_cause_minutes_per_year: causes
                        .iter()
                        .map(|(c, m)| (c.to_string(), *m))
                        .collect(),
                    ..ServiceReport::default()
                },
            )]),
        }
    }

    #[test]
    fn causes_are_the_union_with_stable_colours_and_zero_ones_left_out_of_the_legend() {
        let a = report(&[("shared_disk", 10.0), ("failback", 0.0)]);
        let b = report(&[("dns", 3.0), ("server_failover", f64::NAN)]);
        let chart = DowntimeChart::new(&[("a", &a), ("b", &b)], "app");
        assert_eq!(
            chart.causes,
            ["dns", "failback", "server_failover", "shared_disk"]
        );
        let legend: Vec<_> = chart.legend().into_iter().map(|e| e.text).collect();
        assert_eq!(legend, ["dns", "shared_disk"]);
        assert_eq!(chart.total(1), Some(3.0));
    }

    #[test]
    fn totals_orders_of_magnitude_apart_go_on_a_log_axis() {
        let a = report(&[("shared_disk", 4268.0)]);
        let b = report(&[("dns", 40.0), ("server_failover", 12.0)]);
        let chart = DowntimeChart::new(&[("a", &a), ("b", &b)], "app");
        let scale = chart.minutes_scale();
        assert!(scale.log);
        // The 52 min/yr bar is at least a fifth of the panel high.
        let height = (scale.to_axis(52.0) - scale.lo) / (scale.hi - scale.lo);
        assert!(height > 0.2, "{height}");
        canvas::render_svg(&chart, (900, 500)).unwrap();
        let close = report(&[("dns", 30.0)]);
        assert!(
            !DowntimeChart::new(&[("a", &b), ("c", &close)], "app")
                .minutes_scale()
                .log
        );
    }

    #[test]
    fn nothing_to_stack_still_draws() {
        let none = report(&[("failback", 0.0)]);
        for chart in [
            DowntimeChart::new(&[("a", &none)], "app"),
            DowntimeChart::new(&[("a", &none)], "db"),
            DowntimeChart::new(&[], "app"),
        ] {
            canvas::render_svg(&chart, (500, 300)).unwrap();
        }
    }
}
