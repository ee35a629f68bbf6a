//! The line chart the curve-shaped plots share (data loss CDF, race curve, sweeps): a title,
//! labelled axes, one coloured line per series with an optional shaded interval band, and the
//! legend in a strip underneath so it never hides a line.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{Chart, DrawResult};
use super::scale::Scale;
use super::style::{self, anchored, font, LegendEntry, Marker};

pub struct Series {
    pub legend: String,
    /// (x, y) in data units, drawn in the given order.
    pub points: Vec<(f64, f64)>,
    /// (x, lo, hi) in data units: the interval drawn as a translucent band behind the line.
    pub band: Vec<(f64, f64, f64)>,
    /// Mark each point (few, meaningful points) or not (a dense curve).
    pub markers: bool,
}

pub struct LinePlot {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x: Scale,
    pub y: Scale,
    /// Y values are fractions, labelled as percentages.
    pub y_percent: bool,
    /// Y values are nines (-log10(1 - A)), labelled as the availability they stand for.
    pub y_nines: bool,
    pub series: Vec<Series>,
    /// Drawn instead of the axes when there is nothing to plot.
    pub empty_message: Option<String>,
}

impl LinePlot {
    fn legend(&self) -> Vec<LegendEntry> {
        self.series
            .iter()
            .enumerate()
            .map(|(i, s)| LegendEntry {
                text: s.legend.clone(),
                // A series with no points has no line in the chart: its key is greyed out so
                // that no colour points at nothing.
                color: if s.points.is_empty() {
                    style::GRID
                } else {
                    style::series_color(i)
                },
                marker: Marker::Line,
            })
            .collect()
    }
}

impl Chart for LinePlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let area = style::titled(root, &self.title)?;
        if let Some(message) = &self.empty_message {
            return style::draw_message(&area, message);
        }
        let legend = self.legend();
        let (w, h) = area.dim_in_pixel();
        let (body, strip) = area.split_vertically(h - style::legend_height(&legend, w));
        let mut chart = ChartBuilder::on(&body)
            .margin(14)
            .margin_right(30)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(self.x.range(), self.y.range())?;
        let y_label = |y: &f64| {
            if self.y_nines {
                // One precision on the axis: enough decimals for its top.
                let decimals = (self.y.hi.max(0.0).floor() as usize + 1).clamp(1, 8);
                crate::report::numbers::percent(1.0 - 10f64.powf(-y), decimals)
            } else if self.y_percent {
                format!("{:.0}%", y * 100.0)
            } else {
                self.y.label(*y)
            }
        };
        chart
            .configure_mesh()
            .bold_line_style(style::GRID)
            .light_line_style(style::GRID.mix(0.3))
            .axis_style(style::INK)
            .x_label_formatter(&|x| self.x.label(*x))
            .y_label_formatter(&y_label)
            .x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            .label_style(font(style::LABEL_SIZE))
            .axis_desc_style(font(style::AXIS_DESC_SIZE))
            .draw()?;

        let at = |x: f64, y: f64| (self.x.to_axis(x), self.y.to_axis(y));
        // Bands first, so that every line is drawn over every band.
        for (i, s) in self.series.iter().enumerate() {
            if s.band.len() < 2 {
                continue;
            }
            let outline: Vec<(f64, f64)> = s
                .band
                .iter()
                .map(|&(x, lo, _)| at(x, lo))
                .chain(s.band.iter().rev().map(|&(x, _, hi)| at(x, hi)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                outline,
                style::series_color(i).mix(0.18).filled(),
            )))?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let color = style::series_color(i);
            let points: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| at(x, y)).collect();
            // Thick strokes break up on the many corners of a staircase; dense curves get a
            // thinner pen.
            let width = if s.markers { 3 } else { 2 };
            chart.draw_series(std::iter::once(PathElement::new(
                points.clone(),
                color.stroke_width(width),
            )))?;
            if s.markers {
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
            }
        }
        if self.series.iter().all(|s| s.points.is_empty()) {
            let (bw, bh) = body.dim_in_pixel();
            body.draw(&Text::new(
                "no data points",
                (bw as i32 / 2, bh as i32 / 2),
                anchored(style::AXIS_DESC_SIZE, HPos::Center, VPos::Center).color(&style::MUTED),
            ))?;
        }
        style::draw_legend(&strip, &legend)
    }
}
