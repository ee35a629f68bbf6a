//! Reading a duration-or-distribution value: `"30s"` (fixed) or `{ dist = "...", ... }`; and
//! the same for the other quantities a distribution may describe (a write rate: `"2MB/s"`).

use std::ops::Range;
use std::path::Path;

use super::reader::{Result, TableReader};
use crate::dist::Dist;
use crate::rate::parse_rate;
use crate::time::{parse_duration, Micros};

/// What a distribution's values are: how one is written, and what the errors call it.
pub struct Quantity {
    /// A value alone, such as `"30s"`.
    value_hint: &'static str,
    /// A value or a distribution, for a key of the wrong type.
    either_hint: &'static str,
    /// The values of an empirical file.
    plural: &'static str,
    parse: fn(&str) -> std::result::Result<u64, String>,
}

pub const DURATION: Quantity = Quantity {
    value_hint: "a duration such as \"4h\"",
    either_hint: "expected a duration such as \"30s\" or a distribution such as { dist = \"exponential\", mean = \"5000h\" }",
    plural: "durations",
    parse: |text| parse_duration(text).map_err(|e| e.to_string()),
};

/// Bytes per second (`crate::rate`).
pub const RATE: Quantity = Quantity {
    value_hint: "a rate such as \"2MB/s\"",
    either_hint: "expected a rate such as \"2MB/s\" or a distribution such as { dist = \"lognormal\", median = \"2MB/s\", sigma = 0.5 }",
    plural: "rates",
    parse: |text| parse_rate(text).map_err(|e| e.to_string()),
};

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
    read_quantity_dist(reader, key, zero, base, &DURATION)
}

/// Reads `key` as a distribution of `quantity`'s values.
pub fn read_quantity_dist(
    reader: &mut TableReader,
    key: &'static str,
    zero: Zero,
    base: &Path,
    quantity: &Quantity,
) -> Result<Option<Dist>> {
    let Some((item, span)) = reader.item(key) else {
        return Ok(None);
    };
    let dist = if let Some(text) = item.as_str() {
        let value = (quantity.parse)(text).map_err(|e| reader.error(span.clone(), key, e))?;
        Dist::fixed(value)
    } else if item.is_table_like() {
        let mut table = reader
            .table(key)?
            .expect("the item was just found as a table");
        let dist = read_table(&mut table, base, quantity)?;
        table.finish()?;
        dist
    } else {
        return Err(reader.error(span, key, quantity.either_hint));
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

fn read_table(table: &mut TableReader, base: &Path, q: &Quantity) -> Result<Dist> {
    let (kind, kind_span) =
        table.required("dist", &format!("one of: {DIST_NAMES}"), |t, k| t.string(k))?;
    let dist = match kind.as_str() {
        "fixed" => Dist::fixed(required_value(table, "value", q)?.0),
        "exponential" => {
            let (mean, span) = required_value(table, "mean", q)?;
            Dist::exponential(mean).map_err(|e| table.error(span, "mean", e.to_string()))?
        }
        "uniform" => {
            let (min, _) = required_value(table, "min", q)?;
            let (max, span) = required_value(table, "max", q)?;
            Dist::uniform(min, max).map_err(|e| table.error(span, "max", e.to_string()))?
        }
        "weibull" => {
            let (shape, _) = table.required("shape", "a number greater than zero", |t, k| {
                t.positive_number(k)
            })?;
            let (scale, span) = required_value(table, "scale", q)?;
            Dist::weibull(shape, scale).map_err(|e| table.error(span, "scale", e.to_string()))?
        }
        "lognormal" => {
            let (median, span) = required_value(table, "median", q)?;
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
            let (scale, span) = required_value(table, "scale", q)?;
            Dist::gamma(shape, scale).map_err(|e| table.error(span, "scale", e.to_string()))?
        }
        "empirical" => {
            let hint = format!("a CSV file of {}", q.plural);
            let (file, span) = table.required("file", &hint, |t, k| t.string(k))?;
            let values = read_empirical(&base.join(&file), q)
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

fn required_value(
    table: &mut TableReader,
    key: &'static str,
    q: &Quantity,
) -> Result<(u64, Option<Range<usize>>)> {
    table.required(key, q.value_hint, |t, k| match t.string(k)? {
        None => Ok(None),
        Some((text, span)) => (q.parse)(&text)
            .map(|v| Some((v, span.clone())))
            .map_err(|e| t.error(span, k, e)),
    })
}

/// One value per CSV row (first column). A first row that is not a value is a header.
fn read_empirical(path: &Path, q: &Quantity) -> std::result::Result<Vec<Micros>, String> {
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
        match (q.parse)(field) {
            Ok(v) => values.push(v),
            Err(_) if index == 0 => continue,
            Err(e) => return Err(format!("{} row {}: {e}", path.display(), index + 1)),
        }
    }
    if values.is_empty() {
        return Err(format!("{} holds no {}", path.display(), q.plural));
    }
    Ok(values)
}
