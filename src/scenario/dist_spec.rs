//! Reading a duration-or-distribution value: `"30s"` (fixed) or `{ dist = "...", ... }`.

use std::ops::Range;
use std::path::Path;

use super::reader::{Result, TableReader};
use crate::dist::Dist;
use crate::time::{parse_duration, Micros};

pub const DIST_NAMES: &str = "fixed, exponential, uniform, weibull, lognormal, gamma, empirical";

/// Whether a zero-mean distribution makes sense for this value: a time to failure or repair
/// of zero would make a component fail and return forever at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zero {
    Allowed,
    Forbidden,
}

/// Reads `key` as a distribution; `base` is the scenario's folder for empirical files.
pub fn read_dist(
    reader: &mut TableReader,
    key: &'static str,
    zero: Zero,
    base: &Path,
) -> Result<Option<Dist>> {
    let Some((item, span)) = reader.item(key) else {
        return Ok(None);
    };
    let dist = if let Some(text) = item.as_str() {
        let value =
            parse_duration(text).map_err(|e| reader.error(span.clone(), key, e.to_string()))?;
        Dist::fixed(value)
    } else if item.is_table_like() {
        let mut table = reader
            .table(key)?
            .expect("the item was just found as a table");
        let dist = read_table(&mut table, base)?;
        table.finish()?;
        dist
    } else {
        return Err(reader.error(
            span,
            key,
            "expected a duration such as \"30s\" or a distribution such as { dist = \"exponential\", mean = \"5000h\" }",
        ));
    };
    if zero == Zero::Forbidden && dist.mean() <= 0.0 {
        return Err(reader.error(
            span,
            key,
            "expected a duration greater than zero (a zero time to failure or repair never ends)",
        ));
    }
    Ok(Some(dist))
}

fn read_table(table: &mut TableReader, base: &Path) -> Result<Dist> {
    let (kind, kind_span) =
        table.required("dist", &format!("one of: {DIST_NAMES}"), |t, k| t.string(k))?;
    let dist = match kind.as_str() {
        "fixed" => Dist::fixed(required_duration(table, "value")?.0),
        "exponential" => {
            let (mean, span) = required_duration(table, "mean")?;
            Dist::exponential(mean).map_err(|e| table.error(span, "mean", e.to_string()))?
        }
        "uniform" => {
            let (min, _) = required_duration(table, "min")?;
            let (max, span) = required_duration(table, "max")?;
            Dist::uniform(min, max).map_err(|e| table.error(span, "max", e.to_string()))?
        }
        "weibull" => {
            let (shape, _) = table.required("shape", "a number greater than zero", |t, k| {
                t.positive_number(k)
            })?;
            let (scale, span) = required_duration(table, "scale")?;
            Dist::weibull(shape, scale).map_err(|e| table.error(span, "scale", e.to_string()))?
        }
        "lognormal" => {
            let (median, span) = required_duration(table, "median")?;
            let (sigma, _) = table.required("sigma", "a number greater than zero", |t, k| {
                t.positive_number(k)
            })?;
            Dist::lognormal(median, sigma)
                .map_err(|e| table.error(span, "median", e.to_string()))?
        }
        "gamma" => {
            let (shape, _) = table.required("shape", "a number greater than zero", |t, k| {
                t.positive_number(k)
            })?;
            let (scale, span) = required_duration(table, "scale")?;
            Dist::gamma(shape, scale).map_err(|e| table.error(span, "scale", e.to_string()))?
        }
        "empirical" => {
            let (file, span) =
                table.required("file", "a CSV file of durations", |t, k| t.string(k))?;
            let values = read_empirical(&base.join(&file))
                .map_err(|message| table.error(span.clone(), "file", message))?;
            Dist::empirical(values).map_err(|e| table.error(span, "file", e.to_string()))?
        }
        other => {
            return Err(table.error(
                kind_span,
                "dist",
                format!("unknown distribution {other:?}; expected one of: {DIST_NAMES}"),
            ))
        }
    };
    Ok(dist)
}

fn required_duration(
    table: &mut TableReader,
    key: &'static str,
) -> Result<(Micros, Option<Range<usize>>)> {
    let (value, span) = table.required(key, "a duration such as \"4h\"", |t, k| t.duration(k))?;
    Ok((value, span))
}

/// One duration per CSV row (first column). A first row that is not a duration is a header.
fn read_empirical(path: &Path) -> std::result::Result<Vec<Micros>, String> {
    let bytes = super::file::read_bounded(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut values = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(field) = record.get(0).map(str::trim).filter(|f| !f.is_empty()) else {
            continue;
        };
        match parse_duration(field) {
            Ok(v) => values.push(v),
            Err(_) if index == 0 => continue,
            Err(e) => return Err(format!("{} row {}: {e}", path.display(), index + 1)),
        }
    }
    if values.is_empty() {
        return Err(format!("{} holds no durations", path.display()));
    }
    Ok(values)
}
