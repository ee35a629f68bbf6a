//! How SLA risk and cost are written in tables: breach probabilities as percentages with
//! their interval, yearly-downtime quantiles in minutes, amounts grouped by thousands.

use crate::analysis::sla::{BreachProbability, DowntimeQuantiles};
use crate::analysis::summary::{Estimate, SlaReport};

/// A probability in percent with two decimals.
pub fn percent(p: f64) -> String {
    format!("{:.2}%", p * 100.0)
}

/// "12.31% [11.86 .. 12.77]".
pub fn breach(p: &BreachProbability) -> String {
    format!(
        "{} [{:.2} .. {:.2}]",
        percent(p.mean),
        p.ci95[0] * 100.0,
        p.ci95[1] * 100.0
    )
}

/// "2461 of 20000 years over 262.8 min".
pub fn breach_counts(p: &BreachProbability) -> String {
    format!(
        "{} of {} years over {:.1} min",
        p.breaching_years, p.years, p.budget_minutes
    )
}

/// "p50 12.3, p90 45.6, p99 300.1 min".
pub fn quantiles(q: &DowntimeQuantiles) -> String {
    format!("p50 {:.1}, p90 {:.1}, p99 {:.1} min", q.p50, q.p90, q.p99)
}

/// The SLA in both forms: "99.95% (262.8 min a year)".
pub fn sla(s: &SlaReport) -> String {
    let percent = super::numbers::percent(s.availability, 4);
    let digits = percent.trim_end_matches('%');
    let digits = digits.trim_end_matches('0').trim_end_matches('.');
    format!("{digits}% ({:.1} min a year)", s.downtime_minutes_per_year)
}

/// An amount rounded to a whole unit, grouped by thousands: "-1,234,567".
pub fn amount(x: f64) -> String {
    let whole = format!("{:.0}", x.abs());
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if x < 0.0 && whole != "0" {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// An amount and its interval: "123,456 [120,001 .. 126,911]".
pub fn amount_interval(e: &Estimate) -> String {
    with_interval(e, amount)
}

/// A difference of amounts with an explicit sign: "-1,234 [-1,500 .. -968]".
pub fn signed_amount_interval(e: &Estimate) -> String {
    with_interval(e, |x| {
        let a = amount(x);
        if a.starts_with('-') || a == "0" {
            a
        } else {
            format!("+{a}")
        }
    })
}

fn with_interval(e: &Estimate, f: impl Fn(f64) -> String) -> String {
    match e.ci95 {
        Some([lo, hi]) => format!("{} [{} .. {}]", f(e.mean), f(lo), f(hi)),
        None => f(e.mean),
    }
}

/// A paired difference of probabilities in percentage points: "-11.20 points [-11.9 .. -10.5]".
pub fn points(e: &Estimate) -> String {
    let ci = e.ci95.map_or(String::new(), |[lo, hi]| {
        format!(" [{:+.2} .. {:+.2}]", lo * 100.0, hi * 100.0)
    });
    format!("{:+.2} points{ci}", e.mean * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(amount(0.4), "0");
        assert_eq!(amount(-0.4), "0");
        assert_eq!(amount(999.5), "1,000");
        assert_eq!(amount(1_234_567.0), "1,234,567");
        assert_eq!(amount(-12_345.0), "-12,345");
        assert_eq!(amount(100_000.0), "100,000");
    }
}
