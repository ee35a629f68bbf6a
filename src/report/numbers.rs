//! How availabilities and nines are written: truncated, never rounded. Rounding 99.98996% to
//! "99.99%" or 3.998 nines to "4.00" would claim a level of nines the system does not reach.

/// `availability` as a percentage with `decimals` decimals, truncated (99.98996% is "99.9899%"
/// with four, never "99.9900%"); below 100% unless the availability is exactly 1.
pub fn percent(availability: f64, decimals: usize) -> String {
    let text = truncated(availability * 100.0, decimals);
    if availability < 1.0 && text.starts_with("100") {
        // Closer to 1 than the digits show: the most nines they can write.
        return format!(
            "{}%",
            truncated(100.0 - 0.5 * 10f64.powi(-(decimals as i32)), decimals)
        );
    }
    format!("{text}%")
}

/// A number of nines with two decimals, truncated: 3.998 nines are "3.99".
pub fn nines(n: f64) -> String {
    truncated(n, 2)
}

/// `x` (not negative) with `decimals` decimals, cut rather than rounded. Printed with six more
/// digits first so that a binary value just under a decimal one (99.98999999999999 for 99.99)
/// is not cut a step too low.
fn truncated(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let long = format!("{:.*}", decimals + 6, x);
    let cut = long.len() - 6;
    let text = &long[..cut];
    text.strip_suffix('.').unwrap_or(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_cut_not_rounded() {
        assert_eq!(percent(0.9998996, 2), "99.98%");
        assert_eq!(percent(0.9998996, 4), "99.9899%");
        assert_eq!(percent(0.9999, 2), "99.99%");
        assert_eq!(percent(0.9999999999, 5), "99.99999%");
        assert_eq!(percent(1.0, 5), "100.00000%");
        assert_eq!(percent(0.5, 0), "50%");
        assert_eq!(percent(0.0, 3), "0.000%");
    }

    #[test]
    fn nines_are_cut_not_rounded() {
        assert_eq!(nines(3.998), "3.99");
        assert_eq!(nines(-(1.0f64 - 0.9998996).log10()), "3.99");
        assert_eq!(nines(3.0), "3.00");
        assert_eq!(nines(2.0999999999999996), "2.10");
    }
}
