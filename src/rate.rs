//! Data rates: a VM's write churn and a replication link's bandwidth, in bytes per second.
//!
//! Units are decimal, as link speeds are sold: `B/s`, `KB/s`, `MB/s`, `GB/s` are bytes
//! (1 MB = 10^6 bytes) and `Kbit/s`, `Mbit/s`, `Gbit/s` are bits (1 Mbit/s = 125,000 bytes per
//! second). Spellings that leave bits and bytes to guesswork (`Mb/s`, `mbps`) are refused.

/// A rate in bytes per second.
pub type BytesPerSecond = u64;

const UNITS: &[(&str, f64)] = &[
    ("B/s", 1.0),
    ("KB/s", 1e3),
    ("MB/s", 1e6),
    ("GB/s", 1e9),
    ("Kbit/s", 1e3 / 8.0),
    ("Mbit/s", 1e6 / 8.0),
    ("Gbit/s", 1e9 / 8.0),
];

const UNIT_NAMES: &str = "B/s, KB/s, MB/s, GB/s, Kbit/s, Mbit/s, Gbit/s";

/// Why a rate string was rejected; rendered into a located scenario error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("expected a rate with a unit ({UNIT_NAMES}) such as \"2MB/s\", found {0:?}")]
    Malformed(String),
    #[error("{0:?} is an amount, not a rate: write it per second, such as {1:?}")]
    NotPerSecond(String, String),
    #[error("{0:?} leaves bits and bytes to guesswork: write {1:?} (bytes) or {2:?} (bits)")]
    Ambiguous(String, String, String),
    #[error("a rate cannot be negative, found {0:?}")]
    Negative(String),
    #[error("rate {0:?} is too high (more than 10^15 bytes per second)")]
    TooHigh(String),
}

/// Parses `"2MB/s"`, `"1.5GB/s"`, `"100Mbit/s"`: a non-negative decimal number and a unit.
pub fn parse_rate(text: &str) -> Result<BytesPerSecond, RateError> {
    let trimmed = text.trim();
    let malformed = || RateError::Malformed(text.to_string());
    let split = trimmed
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(malformed)?;
    let (number, unit) = trimmed.split_at(split);
    let number = number.trim();
    let factor = match UNITS.iter().find(|(name, _)| *name == unit) {
        Some((_, factor)) => *factor,
        None => return Err(unit_error(text, unit)),
    };
    if number.starts_with('-') {
        return Err(RateError::Negative(text.to_string()));
    }
    let value: f64 = number.parse().map_err(|_| malformed())?;
    if !value.is_finite() {
        return Err(malformed());
    }
    let bytes = value * factor;
    if bytes > 1e15 {
        return Err(RateError::TooHigh(text.to_string()));
    }
    Ok(bytes.round() as BytesPerSecond)
}

/// The most helpful refusal of an unknown unit: an amount without "/s", a unit whose case
/// leaves bits and bytes open, or plain nonsense.
fn unit_error(text: &str, unit: &str) -> RateError {
    let prefix = |u: &str| -> Option<&'static str> {
        match u.to_ascii_lowercase().as_str() {
            "" => Some(""),
            "k" => Some("K"),
            "m" => Some("M"),
            "g" => Some("G"),
            _ => None,
        }
    };
    if UNITS
        .iter()
        .any(|(name, _)| name.strip_suffix("/s") == Some(unit))
    {
        return RateError::NotPerSecond(text.to_string(), format!("{}/s", text.trim()));
    }
    let lower = unit.to_ascii_lowercase();
    let stem = lower
        .strip_suffix("ps")
        .or_else(|| lower.strip_suffix("/s"))
        .unwrap_or(&lower);
    let stem = stem
        .strip_suffix("bit")
        .or_else(|| stem.strip_suffix('b'))
        .and_then(prefix);
    match stem {
        Some(p) => RateError::Ambiguous(text.to_string(), format!("{p}B/s"), format!("{p}bit/s")),
        None => RateError::Malformed(text.to_string()),
    }
}

/// Displays a rate in its largest decimal byte unit, for tables and charts.
pub fn human(rate: BytesPerSecond) -> String {
    let (value, unit) = match rate {
        r if r >= 1_000_000_000 => (r as f64 / 1e9, "GB/s"),
        r if r >= 1_000_000 => (r as f64 / 1e6, "MB/s"),
        r if r >= 1_000 => (r as f64 / 1e3, "KB/s"),
        r => (r as f64, "B/s"),
    };
    let text = format!("{value:.3}");
    format!("{}{unit}", text.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bytes_and_bits_per_second() {
        assert_eq!(parse_rate("2MB/s"), Ok(2_000_000));
        assert_eq!(parse_rate("1.5GB/s"), Ok(1_500_000_000));
        assert_eq!(parse_rate("750KB/s"), Ok(750_000));
        assert_eq!(parse_rate("10B/s"), Ok(10));
        assert_eq!(parse_rate("100Mbit/s"), Ok(12_500_000));
        assert_eq!(parse_rate("1Gbit/s"), Ok(125_000_000));
        assert_eq!(parse_rate("64Kbit/s"), Ok(8_000));
        assert_eq!(parse_rate("0MB/s"), Ok(0));
    }

    #[test]
    fn refuses_amounts_ambiguous_units_and_negatives() {
        assert_eq!(
            parse_rate("2MB"),
            Err(RateError::NotPerSecond("2MB".into(), "2MB/s".into()))
        );
        assert!(matches!(
            parse_rate("1Gbit"),
            Err(RateError::NotPerSecond(..))
        ));
        for bad in ["2Mb/s", "2mbps", "2Mbps", "2mb/s", "2mbit"] {
            assert_eq!(
                parse_rate(bad),
                Err(RateError::Ambiguous(
                    bad.into(),
                    "MB/s".into(),
                    "Mbit/s".into()
                )),
                "{bad}"
            );
        }
        assert!(matches!(parse_rate("-5MB/s"), Err(RateError::Negative(_))));
        for bad in [
            "",
            "5",
            "MB/s",
            "fast",
            "5 furlongs/s",
            "infMB/s",
            "1e400MB/s",
        ] {
            assert!(
                matches!(parse_rate(bad), Err(RateError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_rate("2000000GB/s"),
            Err(RateError::TooHigh(_))
        ));
    }

    #[test]
    fn displays_in_the_largest_unit() {
        assert_eq!(human(12_500_000), "12.5MB/s");
        assert_eq!(human(2_000), "2KB/s");
        assert_eq!(human(7), "7B/s");
    }
}
