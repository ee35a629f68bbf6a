//! A panel of one bar per scenario: the scenarios as categories on x, a fitted scale on y, the
//! mesh and labels drawn. Shared by the downtime-by-cause and MTBF/MTTR charts.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::scale::{Scale, Ticked};
use super::style::{self, font};

/// The chart of a category panel: x is the scenario index, y the scale's axis coordinate.
pub type CategoryChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>;

/// Builds the panel and draws its mesh. `minor_grid`: draw faint minor grid lines (useful on a
/// log axis).
pub fn category_panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    labels: &[String],
    scale: &Scale,
    y_desc: &str,
    minor_grid: bool,
) -> Result<CategoryChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let n = labels.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(style::PANEL_TITLE_SIZE))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(
            Ticked::new(-0.5..n as f64 - 0.5, (0..n).map(|i| i as f64).collect()),
            scale.range(),
        )?;
    let label_of = |x: &f64| {
        labels
            .get(x.round() as usize)
            .map_or(String::new(), |l| l.clone())
    };
    let y_label = |y: &f64| scale.label(*y);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh().bold_line_style(style::GRID);
    if minor_grid {
        mesh.light_line_style(style::GRID.mix(0.3));
    }
    mesh.axis_style(style::INK)
        .x_label_formatter(&label_of)
        .y_label_formatter(&y_label)
        .y_desc(y_desc)
        .label_style(font(style::LABEL_SIZE))
        .axis_desc_style(font(style::AXIS_DESC_SIZE))
        .draw()?;
    Ok(chart)
}
