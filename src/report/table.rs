//! The readable terminal report of a run.

use std::fmt::Write;

use super::risk;
use crate::analysis::summary::{Estimate, Report, ServiceReport};

fn percent(x: f64) -> String {
    // Enough digits to tell 99.999% from 99.9999%.
    super::numbers::percent(x, 5)
}

fn interval(e: &Estimate, f: impl Fn(f64) -> String) -> String {
    match e.ci95 {
        Some([lo, hi]) if lo == hi => f(e.mean),
        Some([lo, hi]) => format!("{} [{} .. {}]", f(e.mean), f(lo), f(hi)),
        None => format!("{} (one replication: no interval)", f(e.mean)),
    }
}

/// MTBF or MTTR in the unit that reads best; `none` when there was no outage to divide by.
pub(crate) fn optional_hours(h: Option<f64>, none: &str) -> String {
    match h {
        Some(h) if h >= 10.0 => format!("{h:.0} h"),
        Some(h) if h >= 0.1 => format!("{h:.2} h"),
        Some(h) => format!("{:.1} s", h * 3600.0),
        None => none.to_string(),
    }
}

/// Renders a run or analytic report as text.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let method = if report.method == "simulation" {
        format!(
            "{} replications x {:.0} h (warmup {:.0} h), seed {}",
            report.replications, report.horizon_hours, report.warmup_hours, report.seed
        )
    } else {
        "exact steady-state solution (CTMC)".to_string()
    };
    let _ = writeln!(out, "scenario {}: {method}", report.scenario);
    for (name, s) in &report.services {
        let _ = writeln!(out, "\nservice {name}");
        let exact = report.method != "simulation";
        let rows = [
            (
                if exact {
                    "availability"
                } else {
                    "availability (95% CI)"
                },
                interval(&s.availability, percent),
            ),
            (
                "nines",
                s.nines
                    .map_or("perfect (no downtime)".to_string(), super::numbers::nines),
            ),
            (
                if exact {
                    "downtime per year"
                } else {
                    "downtime per year (95% CI)"
                },
                interval(&s.downtime_minutes_per_year, |m| format!("{m:.2} min")),
            ),
            ("MTBF", optional_hours(s.mtbf_hours, "no outage observed")),
            ("MTTR", optional_hours(s.mttr_hours, "no outage observed")),
            if report.method == "simulation" {
                (
                    "outages",
                    format!("{} ({:.3} per year)", s.outages, s.outages_per_year),
                )
            } else {
                ("outages per year", format!("{:.4}", s.outages_per_year))
            },
        ];
        let mut rows: Vec<(String, String)> = rows
            .iter()
            .map(|(l, v)| (l.to_string(), v.clone()))
            .collect();
        if s.unprotected_minutes_per_year > 0.0 || s.data_loss.is_some() {
            rows.push((
                "unprotected per year".to_string(),
                format!(
                    "{:.2} min ({:.2} with both clusters up)",
                    s.unprotected_minutes_per_year, s.replication_broken_minutes_per_year
                ),
            ));
            if let Some(l) = &s.replication_link {
                rows.push((
                    "replication link".to_string(),
                    format!(
                        "headroom {:.3} (bandwidth over churn; behind in {} replications), \
                         lagging {:.2} min per year",
                        l.headroom.mean, l.replications_lagging, l.lagging_minutes_per_year
                    ),
                ));
            }
            rows.push((
                "VM running twice".to_string(),
                format!("{} times", s.vm_running_twice),
            ));
            rows.push((
                "data lost per failover".to_string(),
                s.data_loss
                    .as_ref()
                    .map_or("no cross-cluster failover".to_string(), |d| {
                        format!(
                            "{} failovers: mean {:.0} s, p50 {:.0} s, p95 {:.0} s, max {:.0} s",
                            d.failovers,
                            d.mean_seconds,
                            d.p50_seconds,
                            d.p95_seconds,
                            d.max_seconds
                        )
                    }),
            ));
        }
        let mut risk = risk_rows(report, s);
        rows.append(&mut risk);
        if s.split_brain_minutes_per_year > 0.0 || s.np_shutdowns > 0 {
            rows.push((
                "split brain per year".to_string(),
                format!("{:.3} min", s.split_brain_minutes_per_year),
            ));
            rows.push(("NP shutdowns".to_string(), s.np_shutdowns.to_string()));
        }
        for (label, value) in rows {
            let _ = writeln!(out, "  {label:<28} {value}");
        }
        let _ = writeln!(out, "  downtime by cause (min/yr):");
        let total: f64 = s.downtime_by_cause_minutes_per_year.values().sum();
        for (cause, minutes) in &s.downtime_by_cause_minutes_per_year {
            let share = if total > 0.0 {
                minutes / total * 100.0
            } else {
                0.0
            };
            let _ = writeln!(out, "    {cause:<26} {minutes:>10.3}  {share:>5.1}%");
        }
    }
    if let Some(cost) = &report.cost {
        let _ = writeln!(out, "\ncost per year (95% CI)");
        for (label, value) in [
            ("total", risk::amount_interval(&cost.total_per_year)),
            ("downtime", risk::amount_interval(&cost.downtime_per_year)),
            (
                "lost writes",
                risk::amount_interval(&cost.lost_writes_per_year),
            ),
            (
                "servers and clusters",
                risk::amount(cost.infrastructure_per_year),
            ),
        ] {
            let _ = writeln!(out, "  {label:<28} {value}");
        }
    }
    out
}

/// The yearly-downtime distribution and the breach probability of the `[sla]`, or of the
/// common budgets without one (nothing for the exact solution, which has no years).
fn risk_rows(report: &Report, s: &ServiceReport) -> Vec<(String, String)> {
    let Some(q) = &s.downtime_per_year_quantiles else {
        return Vec::new();
    };
    let mut rows = vec![("downtime in one year".to_string(), risk::quantiles(q))];
    match (&report.sla, &s.sla_breach_probability) {
        (Some(sla), Some(p)) => {
            rows.push(("SLA".to_string(), risk::sla(sla)));
            rows.push(("P(year breaches) (95% CI)".to_string(), risk::breach(p)));
            rows.push((String::new(), risk::breach_counts(p)));
        }
        _ => {
            for (budget, p) in &s.breach_probability_by_budget {
                rows.push((
                    format!("P(year breaches {budget})"),
                    format!("{} ({})", risk::breach(p), risk::breach_counts(p)),
                ));
            }
        }
    }
    rows
}
