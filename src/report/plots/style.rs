//! The look shared by every chart: the embedded font, the palettes, text sizes, number and
//! duration formats, a legend strip and the "nothing to plot" panel.
//!
//! The font is compiled into the binary and registered with plotters' `ab_glyph` backend, so
//! a PNG renders the same on a machine without any system font (no fontconfig, no freetype).

use std::io;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontFamily};

/// DejaVu Sans 2.37 (Debian fonts-dejavu-core); its license is next to it in assets/fonts/.
static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The family every chart asks for. PNG text is drawn with the embedded font registered under
/// this name; an SVG carries the name as its `font-family`, so a viewer uses DejaVu Sans when it
/// has it and its own sans-serif otherwise (the layout was measured with DejaVu, which is wide,
/// so narrower fallbacks still fit).
pub const FAMILY: &str = "DejaVu Sans, sans-serif";

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 620;

pub const TITLE_SIZE: f64 = 26.0;
pub const PANEL_TITLE_SIZE: f64 = 20.0;
pub const AXIS_DESC_SIZE: f64 = 18.0;
pub const LABEL_SIZE: f64 = 16.0;
pub const NOTE_SIZE: f64 = 15.0;

pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
pub const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);

/// Registers the embedded font once per process. Plotters draws no text until this succeeded.
pub fn ensure_font() -> io::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        // Plotters' own defaults (legend, mesh) ask for "sans-serif": serve them the same font.
        [FAMILY, "sans-serif"]
            .iter()
            .all(|name| register_font(name, FontStyle::Normal, DEJAVU_SANS).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(
            "the embedded chart font could not be loaded",
        ))
    }
}

pub fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FontFamily::Name(FAMILY), size).into_font()).color(&INK)
}

pub fn anchored(size: f64, h: HPos, v: VPos) -> TextStyle<'static> {
    font(size).pos(Pos::new(h, v))
}

/// Colours of scenarios, control variants and sweep lines: dark, well apart, colour-blind safe
/// (Okabe-Ito order), so a line or a bar reads against white and against the cause colours.
const SERIES: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x44, 0x44, 0x44),
    RGBColor(0xf0, 0xe4, 0x42),
];

/// Colours of downtime causes (Tableau 10). Causes are many and grow with the model, so they
/// are chosen by index; past ten the palette repeats, darkened so neighbours stay apart.
const CAUSES: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

pub fn series_color(index: usize) -> RGBColor {
    SERIES[index % SERIES.len()]
}

pub fn cause_color(index: usize) -> RGBColor {
    let base = CAUSES[index % CAUSES.len()];
    let round = (index / CAUSES.len()) as u32;
    // 0.7^round: each further round of the palette darker than the last.
    let shade = |c: u8| (c as f64 * 0.7f64.powi(round as i32)).round() as u8;
    RGBColor(shade(base.0), shade(base.1), shade(base.2))
}

/// How a legend entry is marked: a filled square (bars) or a short line (curves).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Swatch,
    Line,
}

pub struct LegendEntry {
    pub text: String,
    pub color: RGBColor,
    pub marker: Marker,
}

/// Height a legend strip needs for `entries` across `width` pixels.
pub fn legend_height(entries: &[LegendEntry], width: u32) -> u32 {
    let rows = legend_rows(entries, width as i32).len().max(1) as u32;
    rows * LEGEND_ROW + 8
}

const LEGEND_ROW: u32 = 26;
const MARKER_WIDTH: i32 = 26;
const ENTRY_GAP: i32 = 28;

fn entry_width(entry: &LegendEntry) -> i32 {
    // Measured with the embedded font, the one the PNG draws with.
    let text = font(LABEL_SIZE);
    let (w, _) = text.font.box_size(&entry.text).unwrap_or((
        entry.text.chars().count() as u32 * (LABEL_SIZE as u32 / 2 + 1),
        0,
    ));
    MARKER_WIDTH + 6 + w as i32 + ENTRY_GAP
}

/// Entries wrapped into rows that fit `width`, in order.
fn legend_rows(entries: &[LegendEntry], width: i32) -> Vec<Vec<(usize, i32)>> {
    let mut rows: Vec<Vec<(usize, i32)>> = Vec::new();
    let mut used = 0;
    for (i, entry) in entries.iter().enumerate() {
        let w = entry_width(entry);
        match rows.last_mut() {
            Some(row) if used + w <= width => {
                row.push((i, w));
                used += w;
            }
            _ => {
                rows.push(vec![(i, w)]);
                used = w;
            }
        }
    }
    rows
}

/// A legend drawn as centred rows under the chart: it never covers data, however many causes.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, _) = area.dim_in_pixel();
    for (r, row) in legend_rows(entries, width as i32).iter().enumerate() {
        let total: i32 = row.iter().map(|(_, w)| w).sum::<i32>() - ENTRY_GAP;
        let mut x = (width as i32 - total).max(0) / 2;
        let y = 4 + r as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        for &(i, w) in row {
            let entry = &entries[i];
            match entry.marker {
                Marker::Swatch => area.draw(&Rectangle::new(
                    [(x + 4, y - 8), (x + MARKER_WIDTH - 4, y + 8)],
                    entry.color.filled(),
                ))?,
                Marker::Line => area.draw(&PathElement::new(
                    vec![(x, y), (x + MARKER_WIDTH, y)],
                    entry.color.stroke_width(3),
                ))?,
            }
            area.draw(&Text::new(
                entry.text.clone(),
                (x + MARKER_WIDTH + 6, y),
                anchored(LABEL_SIZE, HPos::Left, VPos::Center),
            ))?;
            x += w;
        }
    }
    Ok(())
}

/// The chart's area under its title, with a little air above the title.
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.margin(10, 0, 0, 0).titled(title, font(TITLE_SIZE))
}

/// A panel with a title and a centred message, for a chart with nothing to show: an empty
/// picture would look like a bug, a sentence says why.
pub fn draw_message<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    message: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Rectangle::new(
        [(20, 10), (w as i32 - 20, h as i32 - 10)],
        GRID.stroke_width(2),
    ))?;
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        anchored(AXIS_DESC_SIZE, HPos::Center, VPos::Center).color(&MUTED),
    ))
}

/// A duration in hours, in the unit a person would say it in ("36 h", "24 min", "184 d").
pub fn human_hours(hours: f64) -> String {
    if !hours.is_finite() {
        return "n/a".to_string();
    }
    let seconds = hours * 3600.0;
    if hours >= 24.0 * 10.0 {
        format!("{:.0} h ({:.0} d)", hours, hours / 24.0)
    } else if hours >= 10.0 {
        format!("{hours:.0} h")
    } else if hours >= 1.0 {
        format!("{hours:.1} h")
    } else if seconds >= 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{seconds:.1} s")
    }
}

/// Minutes per year as a person would say them ("4268 min/yr", "25.6 min/yr", "3.2 s/yr").
pub fn human_minutes_per_year(minutes: f64) -> String {
    if minutes >= 100.0 {
        format!("{minutes:.0} min/yr")
    } else if minutes >= 1.0 {
        format!("{minutes:.1} min/yr")
    } else if minutes > 0.0 {
        format!("{:.1} s/yr", minutes * 60.0)
    } else {
        "none".to_string()
    }
}

/// A number for an axis tick, with as many decimals as the tick step needs.
pub fn tick_number(value: f64, decimals: usize) -> String {
    let s = format!("{value:.decimals$}");
    // "-0" reads as a mistake.
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palettes_cycle_by_index_and_stay_distinct() {
        assert_eq!(series_color(0), series_color(SERIES.len()));
        assert_ne!(cause_color(0), cause_color(CAUSES.len()));
        let first: Vec<_> = (0..CAUSES.len()).map(cause_color).collect();
        for (i, a) in first.iter().enumerate() {
            for b in &first[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn durations_read_in_the_natural_unit() {
        assert_eq!(human_hours(4416.0), "4416 h (184 d)");
        assert_eq!(human_hours(36.0), "36 h");
        assert_eq!(human_hours(2.5), "2.5 h");
        assert_eq!(human_hours(0.4), "24 min");
        assert_eq!(human_hours(0.001), "3.6 s");
        assert_eq!(human_minutes_per_year(4267.6), "4268 min/yr");
        assert_eq!(human_minutes_per_year(25.6), "25.6 min/yr");
        assert_eq!(human_minutes_per_year(0.05), "3.0 s/yr");
        assert_eq!(tick_number(-0.0001, 1), "0");
    }

    #[test]
    fn the_embedded_font_registers() {
        ensure_font().unwrap();
    }
}
