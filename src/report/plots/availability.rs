//! Availability per scenario on a nines scale: the height of a bar is -log10(1 - A), so 99%
//! and 99.99% are two steps apart instead of a hair. Whiskers are the 95% interval over
//! replications; the right axis says what each level of nines costs in downtime per year.

use std::io;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{self, Chart, DrawResult};
use super::scale::Ticked;
use super::style::{self, anchored, font};
use crate::analysis::summary::Report;
use crate::report::numbers;

const MINUTES_PER_YEAR: f64 = 365.0 * 24.0 * 60.0;

/// Writes `<out_stem>.png` and `<out_stem>.svg`: the availability of `service` in each
/// scenario, with its 95% interval.
pub fn availability_nines(
    reports: &[(&str, &Report)],
    service: &str,
    out_stem: &Path,
) -> io::Result<()> {
    canvas::write(&AvailabilityChart::new(reports, service), out_stem)
}

/// A level on the nines scale. An availability of exactly 1 has infinitely many nines.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Level {
    Nines(f64),
    Perfect,
}

fn level(availability: f64) -> Level {
    if availability >= 1.0 {
        Level::Perfect
    } else {
        Level::Nines(-(1.0 - availability).log10())
    }
}

struct Entry {
    label: String,
    /// `None`: the scenario has no such service.
    measured: Option<(f64, Level, Option<[Level; 2]>)>,
}

pub struct AvailabilityChart {
    service: String,
    entries: Vec<Entry>,
    /// Decimals of every percentage on the chart.
    decimals: usize,
}

impl AvailabilityChart {
    pub fn new(reports: &[(&str, &Report)], service: &str) -> AvailabilityChart {
        let entries: Vec<Entry> = reports
            .iter()
            .map(|(label, report)| Entry {
                label: label.to_string(),
                measured: report.services.get(service).map(|s| {
                    let a = &s.availability;
                    let ci = a.ci95.map(|[lo, hi]| [level(lo), level(hi)]);
                    (a.mean, level(a.mean), ci)
                }),
            })
            .collect();
        let decimals = chart_decimals(entries.iter().filter_map(|e| e.measured).map(|m| m.1));
        AvailabilityChart {
            service: service.to_string(),
            entries,
            decimals,
        }
    }

    /// Bottom and top of the axis, whole nines: one level below the worst scenario so its bar
    /// has a visible height, and room above the best for its label.
    fn axis(&self) -> (f64, f64) {
        let mut finite = Vec::new();
        let mut perfect = false;
        for (_, mean, ci) in self.entries.iter().filter_map(|e| e.measured) {
            for l in std::iter::once(mean).chain(ci.into_iter().flatten()) {
                match l {
                    Level::Nines(n) if n.is_finite() => finite.push(n),
                    Level::Nines(_) | Level::Perfect => perfect = true,
                }
            }
        }
        let Some(min) = finite.iter().copied().reduce(f64::min) else {
            return (0.0, 4.0);
        };
        let max = finite.iter().copied().fold(min, f64::max);
        let bottom = (min.floor() - 1.0).max(0.0);
        let mut top = (max + 0.45).ceil().max(bottom + 2.0);
        if perfect {
            top = top.max(max.ceil() + 1.0);
        }
        (bottom, top)
    }
}

/// "99.9%" for 3 nines: the availability at a whole number of nines.
fn nines_label(n: f64) -> String {
    let decimals = (n.round() - 2.0).max(0.0) as usize;
    format!("{:.*}%", decimals, (1.0 - 10f64.powf(-n)) * 100.0)
}

/// What `n` nines cost in downtime per year, three significant digits.
fn downtime_label(n: f64) -> String {
    let minutes = MINUTES_PER_YEAR * 10f64.powf(-n);
    let (value, unit) = if minutes >= 2.0 * 1440.0 {
        (minutes / 1440.0, "d")
    } else if minutes >= 120.0 {
        (minutes / 60.0, "h")
    } else if minutes >= 2.0 {
        (minutes, "min")
    } else {
        (minutes * 60.0, "s")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}/yr")
}

/// Decimals of the percentages on one chart: one past the most nines any bar reaches (99.995%
/// needs three), the same for every bar so that they read against each other.
fn chart_decimals(levels: impl Iterator<Item = Level>) -> usize {
    let most = levels
        .filter_map(|l| match l {
            Level::Nines(n) if n.is_finite() => Some(n),
            _ => None,
        })
        .fold(0.0, f64::max);
    (most.floor() as usize + 1).clamp(1, 8)
}

impl Chart for AvailabilityChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let title = format!("Availability of service \"{}\"", self.service);
        let area = style::titled(root, &title)?;
        if self.entries.is_empty() {
            return style::draw_message(&area, "no scenario to show");
        }
        let (body, foot) = area.split_vertically(area.dim_in_pixel().1 - 30);
        foot.draw(&Text::new(
            "bar: mean over replications  ·  whiskers: 95% confidence interval  ·  \
             right axis: downtime per year at that availability",
            (foot.dim_in_pixel().0 as i32 / 2, 12),
            anchored(style::NOTE_SIZE, HPos::Center, VPos::Center).color(&style::MUTED),
        ))?;

        let (bottom, top) = self.axis();
        let n = self.entries.len();
        let x_range = || Ticked::new(-0.5..n as f64 - 0.5, (0..n).map(|i| i as f64).collect());
        let y_range = || {
            Ticked::new(
                bottom..top,
                (bottom as i32..=top as i32).map(f64::from).collect(),
            )
        };
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(110)
            .right_y_label_area_size(120)
            .build_cartesian_2d(x_range(), y_range())?
            .set_secondary_coord(x_range(), y_range());
        let label_of = |x: &f64| {
            self.entries
                .get(x.round() as usize)
                .map_or(String::new(), |e| e.label.clone())
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(style::GRID)
            .axis_style(style::INK)
            .x_label_formatter(&label_of)
            .y_label_formatter(&|n| nines_label(*n))
            .y_desc("availability (nines scale)")
            .label_style(font(style::LABEL_SIZE))
            .axis_desc_style(font(style::AXIS_DESC_SIZE))
            .draw()?;
        chart
            .configure_secondary_axes()
            .axis_style(style::INK)
            .y_label_formatter(&|n| downtime_label(*n))
            .y_desc("downtime per year")
            .label_style(font(style::LABEL_SIZE).color(&style::MUTED))
            .axis_desc_style(font(style::AXIS_DESC_SIZE))
            .draw()?;

        for (i, entry) in self.entries.iter().enumerate() {
            let x = i as f64;
            let color = style::series_color(i);
            let Some((mean, level, ci)) = entry.measured else {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((x, bottom))
                        + Text::new(
                            format!("no service \"{}\"", self.service),
                            (0, -12),
                            anchored(style::LABEL_SIZE, HPos::Center, VPos::Bottom)
                                .color(&style::MUTED),
                        ),
                ))?;
                continue;
            };
            let height = match level {
                Level::Nines(v) => v.min(top),
                Level::Perfect => top,
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.3, bottom), (x + 0.3, height)],
                color.mix(0.85).filled(),
            )))?;
            let whisker_top = match ci {
                // A perfect record in every replication has no interval to show.
                Some([Level::Perfect, Level::Perfect]) => height,
                Some([lo, hi]) => {
                    let at = |l: Level| match l {
                        Level::Nines(v) => v.clamp(bottom, top),
                        Level::Perfect => top,
                    };
                    let (lo, hi) = (at(lo), at(hi));
                    let ink = style::INK.stroke_width(2);
                    chart.draw_series([
                        PathElement::new(vec![(x, lo), (x, hi)], ink),
                        PathElement::new(vec![(x - 0.07, lo), (x + 0.07, lo)], ink),
                        PathElement::new(vec![(x - 0.07, hi), (x + 0.07, hi)], ink),
                    ])?;
                    hi.max(height)
                }
                None => height,
            };
            match level {
                Level::Nines(v) => {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x, whisker_top))
                            + Text::new(
                                numbers::percent(mean, self.decimals),
                                (0, -30),
                                anchored(style::LABEL_SIZE + 2.0, HPos::Center, VPos::Bottom),
                            )
                            + Text::new(
                                format!("{} nines", numbers::nines(v)),
                                (0, -10),
                                anchored(style::NOTE_SIZE, HPos::Center, VPos::Bottom)
                                    .color(&style::MUTED),
                            ),
                    ))?;
                }
                Level::Perfect => {
                    // Inside the top of the bar, in white: the bar reaches the top of the axis
                    // and there is no room above it.
                    let inside = |size: f64| anchored(size, HPos::Center, VPos::Top).color(&WHITE);
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x, top))
                            + Text::new("100%", (0, 12), inside(style::LABEL_SIZE + 2.0))
                            + Text::new("no downtime", (0, 34), inside(style::NOTE_SIZE))
                            + Text::new("observed", (0, 52), inside(style::NOTE_SIZE)),
                    ))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_nines_read_as_percentages() {
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(2.0), "99%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert_eq!(nines_label(5.0), "99.999%");
        assert_eq!(downtime_label(2.0), "3.65 d/yr");
        assert_eq!(downtime_label(3.0), "8.76 h/yr");
        assert_eq!(downtime_label(4.0), "52.6 min/yr");
        assert_eq!(downtime_label(6.0), "31.5 s/yr");
    }

    #[test]
    fn one_precision_per_chart_and_no_rounding_up_a_nine() {
        let levels = [0.991_88, 0.999_899_6].map(level);
        let decimals = chart_decimals(levels.into_iter());
        assert_eq!(decimals, 4);
        assert_eq!(numbers::percent(0.999_899_6, decimals), "99.9899%");
        assert_eq!(numbers::percent(0.991_88, decimals), "99.1880%");
        assert_eq!(chart_decimals([Level::Perfect].into_iter()), 1);
    }

    #[test]
    fn perfect_availability_is_a_level_not_an_infinity() {
        assert_eq!(level(1.0), Level::Perfect);
        match level(0.999) {
            Level::Nines(n) => assert!((n - 3.0).abs() < 1e-9),
            Level::Perfect => panic!("0.999 is not perfect"),
        }
    }
}
