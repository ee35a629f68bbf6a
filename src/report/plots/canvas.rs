//! One drawing, two files: every chart is drawn once on an SVG backend and once on an RGB
//! bitmap, both in memory, and each file is then written atomically (`<stem>.svg`,
//! `<stem>.png`). Nothing here reads the clock or the system, so the same chart gives the same
//! bytes on every run and every machine.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style;
use crate::report::atomic;

pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart that can draw itself on any plotters backend (a closure cannot be generic over the
/// backend, a trait method can).
pub trait Chart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// `<stem>.<extension>`, keeping any dots already in the stem ("sweep.mttr" stays whole).
pub fn with_extension(stem: &Path, extension: &str) -> PathBuf {
    let mut name = OsString::from(stem.as_os_str());
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

fn drawing_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("drawing a chart: {e}"))
}

pub fn render_svg(chart: &impl Chart, size: (u32, u32)) -> io::Result<String> {
    style::ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        chart.draw(&root).map_err(drawing_error)?;
        root.present().map_err(drawing_error)?;
    }
    Ok(svg)
}

pub fn render_png(chart: &impl Chart, size: (u32, u32)) -> io::Result<Vec<u8>> {
    style::ensure_font()?;
    let (w, h) = size;
    // White from the start, which is all that filling the area with white would do: one
    // pass over the 1.9 MB image instead of two.
    let mut rgb = vec![0xffu8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        chart.draw(&root).map_err(drawing_error)?;
        root.present().map_err(drawing_error)?;
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(io::Error::other)?;
        writer.write_image_data(&rgb).map_err(io::Error::other)?;
        writer.finish().map_err(io::Error::other)?;
    }
    Ok(png)
}

/// Draws `chart` and writes `<stem>.svg` and `<stem>.png`.
pub fn write(chart: &impl Chart, out_stem: &Path) -> io::Result<()> {
    let size = (style::WIDTH, style::HEIGHT);
    let svg = render_svg(chart, size)?;
    let png = render_png(chart, size)?;
    atomic::write(&with_extension(out_stem, "svg"), svg.as_bytes())?;
    atomic::write(&with_extension(out_stem, "png"), &png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stem_keeps_its_dots() {
        assert_eq!(
            with_extension(Path::new("out/sweep.mttr"), "svg"),
            PathBuf::from("out/sweep.mttr.svg")
        );
    }
}
