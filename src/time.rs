//! Virtual time: integer microseconds, exact and totally ordered.
//!
//! A `u64` of microseconds covers about 584,000 years, far beyond any horizon, and integer
//! arithmetic makes event ordering exact (no two float sums disagreeing about which came first).

use std::fmt;

/// A point in simulated time, or a length of simulated time, in microseconds.
pub type Micros = u64;

pub const MICROS_PER_SECOND: u64 = 1_000_000;
pub const MICROS_PER_MINUTE: u64 = 60 * MICROS_PER_SECOND;
pub const MICROS_PER_HOUR: u64 = 60 * MICROS_PER_MINUTE;
pub const MICROS_PER_DAY: u64 = 24 * MICROS_PER_HOUR;
pub const MICROS_PER_WEEK: u64 = 7 * MICROS_PER_DAY;
/// 1y = 365d = 8760h, as the scenario format defines it.
pub const MICROS_PER_YEAR: u64 = 365 * MICROS_PER_DAY;

const UNITS: &[(&str, u64)] = &[
    ("us", 1),
    ("ms", 1_000),
    ("s", MICROS_PER_SECOND),
    ("m", MICROS_PER_MINUTE),
    ("h", MICROS_PER_HOUR),
    ("d", MICROS_PER_DAY),
    ("w", MICROS_PER_WEEK),
    ("y", MICROS_PER_YEAR),
];

/// Why a duration string was rejected; rendered into a located scenario error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "expected a duration with a unit (us, ms, s, m, h, d, w, y) such as \"90s\", found {0:?}"
    )]
    Malformed(String),
    #[error("a duration cannot be negative, found {0:?}")]
    Negative(String),
    #[error("duration {0:?} is too long (more than 500,000 years)")]
    TooLong(String),
}

/// Parses `"250ms"`, `"90s"`, `"1.5h"`, `"2y"`: a non-negative decimal number and a unit.
pub fn parse_duration(text: &str) -> Result<Micros, DurationError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| DurationError::Malformed(text.to_string()))?;
    let (number, unit) = trimmed.split_at(split);
    let number = number.trim();
    let factor = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, f)| *f)
        .ok_or_else(|| DurationError::Malformed(text.to_string()))?;
    if number.starts_with('-') {
        return Err(DurationError::Negative(text.to_string()));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| DurationError::Malformed(text.to_string()))?;
    if !value.is_finite() || number.is_empty() {
        return Err(DurationError::Malformed(text.to_string()));
    }
    let micros = value * factor as f64;
    if micros > 500_000.0 * MICROS_PER_YEAR as f64 {
        return Err(DurationError::TooLong(text.to_string()));
    }
    Ok(micros.round() as Micros)
}

pub fn seconds(micros: Micros) -> f64 {
    micros as f64 / MICROS_PER_SECOND as f64
}

pub fn hours(micros: Micros) -> f64 {
    micros as f64 / MICROS_PER_HOUR as f64
}

pub fn from_seconds(seconds: f64) -> Micros {
    (seconds * MICROS_PER_SECOND as f64).round().max(0.0) as Micros
}

/// Displays a duration compactly in its largest natural unit, for traces and tables.
pub struct Human(pub Micros);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        let (value, unit) = if us >= MICROS_PER_YEAR {
            (us as f64 / MICROS_PER_YEAR as f64, "y")
        } else if us >= MICROS_PER_DAY {
            (us as f64 / MICROS_PER_DAY as f64, "d")
        } else if us >= MICROS_PER_HOUR {
            (us as f64 / MICROS_PER_HOUR as f64, "h")
        } else if us >= MICROS_PER_MINUTE {
            (us as f64 / MICROS_PER_MINUTE as f64, "m")
        } else if us >= MICROS_PER_SECOND {
            (us as f64 / MICROS_PER_SECOND as f64, "s")
        } else {
            (us as f64 / 1_000.0, "ms")
        };
        write!(f, "{}{}", format_compact(value), unit)
    }
}

fn format_compact(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(250_000));
        assert_eq!(parse_duration("90s"), Ok(90 * MICROS_PER_SECOND));
        assert_eq!(parse_duration("5m"), Ok(5 * MICROS_PER_MINUTE));
        assert_eq!(parse_duration("4h"), Ok(4 * MICROS_PER_HOUR));
        assert_eq!(parse_duration("3d"), Ok(3 * MICROS_PER_DAY));
        assert_eq!(parse_duration("2w"), Ok(14 * MICROS_PER_DAY));
        assert_eq!(parse_duration("1y"), Ok(8760 * MICROS_PER_HOUR));
        assert_eq!(parse_duration("1.5h"), Ok(90 * MICROS_PER_MINUTE));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("7us"), Ok(7));
    }

    #[test]
    fn rejects_malformed_negative_and_huge() {
        for bad in [
            "", "90", "s", "ninety s", "90 sec", "1e400s", "nans", "infh",
        ] {
            assert!(
                matches!(parse_duration(bad), Err(DurationError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_duration("-5h"),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            parse_duration("600000y"),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn human_display() {
        assert_eq!(Human(90 * MICROS_PER_SECOND).to_string(), "1.5m");
        assert_eq!(Human(250_000).to_string(), "250ms");
        assert_eq!(Human(MICROS_PER_YEAR * 2).to_string(), "2y");
    }
}
