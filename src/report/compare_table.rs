//! The side-by-side text of `ecxsim compare`: a column per scenario, a block per service, then
//! the paired differences against the first scenario.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::risk;
use crate::analysis::cost::CostReport;
use crate::analysis::sla::{BreachProbability, DowntimeQuantiles, COMMON_BUDGETS};
use crate::analysis::summary::{Estimate, ServiceReport};
use crate::compare::{CompareReport, Difference};

fn availability(e: &Estimate) -> String {
    super::numbers::percent(e.mean, 5)
}

fn interval(e: &Estimate, scale: f64, digits: usize) -> String {
    match e.ci95 {
        Some([lo, hi]) => format!("[{:.*} .. {:.*}]", digits, lo * scale, digits, hi * scale),
        None => "-".to_string(),
    }
}

/// The availability interval in percent, cut like the mean (never rounded up a nine).
fn availability_interval(e: &Estimate) -> String {
    let p = |a: f64| {
        super::numbers::percent(a, 5)
            .trim_end_matches('%')
            .to_string()
    };
    match e.ci95 {
        Some([lo, hi]) => format!("[{} .. {}]", p(lo), p(hi)),
        None => "-".to_string(),
    }
}

fn hours(h: Option<f64>) -> String {
    super::table::optional_hours(h, "no outage")
}

type Row = (String, Box<dyn Fn(&ServiceReport) -> String>);

/// A row label and the figure it shows.
type Pick<T> = (&'static str, fn(&T) -> f64);

/// A row per figure of a summary a service may lack (`none` where it does), one decimal.
fn picked_rows<T: 'static>(
    picks: &[Pick<T>],
    get: fn(&ServiceReport) -> Option<&T>,
    none: &'static str,
) -> Vec<Row> {
    picks
        .iter()
        .map(|&(label, pick)| -> Row {
            (
                label.into(),
                Box::new(move |s| get(s).map_or(none.into(), |v| format!("{:.1}", pick(v)))),
            )
        })
        .collect()
}

/// The yearly-downtime quantiles, then P(a year breaches) the `[sla]` when a scenario has one
/// and the common budgets when a scenario has none.
fn risk_rows(with_sla: bool, without_sla: bool) -> Vec<Row> {
    let quantiles: [Pick<DowntimeQuantiles>; 3] = [
        ("downtime in a year, p50 (min)", |q| q.p50),
        ("  p90 (min)", |q| q.p90),
        ("  p99 (min)", |q| q.p99),
    ];
    let mut rows = picked_rows(&quantiles, |s| s.downtime_per_year_quantiles.as_ref(), "-");
    let breach = |p: Option<&BreachProbability>| p.map_or("-".into(), |p| risk::percent(p.mean));
    let breach_ci = |p: Option<&BreachProbability>| {
        p.map_or("-".into(), |p| {
            format!("[{:.2} .. {:.2}]", p.ci95[0] * 100.0, p.ci95[1] * 100.0)
        })
    };
    if with_sla {
        rows.push((
            "P(year breaches SLA)".into(),
            Box::new(move |s| breach(s.sla_breach_probability.as_ref())),
        ));
        rows.push((
            "  95% CI (%)".into(),
            Box::new(move |s| breach_ci(s.sla_breach_probability.as_ref())),
        ));
    }
    if without_sla {
        for (budget, _) in COMMON_BUDGETS {
            rows.push((
                format!("P(year breaches {budget})"),
                Box::new(move |s| breach(s.breach_probability_by_budget.get(budget))),
            ));
            rows.push((
                "  95% CI (%)".into(),
                Box::new(move |s| breach_ci(s.breach_probability_by_budget.get(budget))),
            ));
        }
    }
    rows
}

fn rows(causes: &BTreeSet<String>, on_a_link: bool, risk: Vec<Row>) -> Vec<Row> {
    let mut rows: Vec<Row> = vec![
        (
            "availability".into(),
            Box::new(|s| availability(&s.availability)),
        ),
        (
            "  95% CI (%)".into(),
            Box::new(|s| availability_interval(&s.availability)),
        ),
        (
            "nines".into(),
            Box::new(|s| s.nines.map_or("perfect".into(), super::numbers::nines)),
        ),
        (
            "downtime/yr (min)".into(),
            Box::new(|s| format!("{:.2}", s.downtime_minutes_per_year.mean)),
        ),
        (
            "  95% CI".into(),
            Box::new(|s| interval(&s.downtime_minutes_per_year, 1.0, 2)),
        ),
    ];
    rows.extend(risk);
    rows.extend::<Vec<Row>>(vec![
        ("MTBF".into(), Box::new(|s| hours(s.mtbf_hours))),
        ("MTTR".into(), Box::new(|s| hours(s.mttr_hours))),
        (
            "outages/yr".into(),
            Box::new(|s| format!("{:.3}", s.outages_per_year)),
        ),
    ]);
    rows.push((
        "unprotected (min/yr)".into(),
        Box::new(|s| format!("{:.2}", s.unprotected_minutes_per_year)),
    ));
    rows.push((
        "  both clusters up".into(),
        Box::new(|s| format!("{:.2}", s.replication_broken_minutes_per_year)),
    ));
    if on_a_link {
        rows.extend(link_rows());
    }
    rows.push((
        "VM running twice (total)".into(),
        Box::new(|s| s.vm_running_twice.to_string()),
    ));
    // One row per figure: side by side, "mean 12 p95 40 max 90" cells ran together.
    let losses: [Pick<crate::metrics::DataLossSummary>; 4] = [
        ("data loss/failover, mean (s)", |d| d.mean_seconds),
        ("  p50 (s)", |d| d.p50_seconds),
        ("  p95 (s)", |d| d.p95_seconds),
        ("  max (s)", |d| d.max_seconds),
    ];
    rows.extend(picked_rows(
        &losses,
        |s| s.data_loss.as_ref(),
        "no failover",
    ));
    rows.push((
        "cross-cluster failovers/yr".into(),
        Box::new(|s| format!("{:.3}", s.cross_cluster_failovers_per_year)),
    ));
    rows.push((
        "  in all (total)".into(),
        Box::new(|s| s.data_loss.as_ref().map_or(0, |d| d.failovers).to_string()),
    ));
    rows.push((
        "split brain (min/yr)".into(),
        Box::new(|s| format!("{:.3}", s.split_brain_minutes_per_year)),
    ));
    rows.push((
        "NP shutdowns (total)".into(),
        Box::new(|s| s.np_shutdowns.to_string()),
    ));
    rows.push(("downtime by cause:".into(), Box::new(|_| String::new())));
    for cause in causes {
        let c = cause.clone();
        rows.push((
            format!("  {cause} (min/yr)"),
            Box::new(move |s| {
                s.downtime_by_cause_minutes_per_year
                    .get(&c)
                    .map_or("-".into(), |m| format!("{m:.2}"))
            }),
        ));
    }
    rows
}

/// A VM whose writes cross a `[[link]]`: the part of its unprotected time with cycles
/// delayed, and the link's headroom.
fn link_rows() -> Vec<Row> {
    let link = |s: &ServiceReport,
                text: &dyn Fn(&crate::analysis::summary::LinkReport) -> String| {
        s.replication_link.as_ref().map_or("no link".into(), text)
    };
    vec![
        (
            "  lagging on its link".into(),
            Box::new(move |s| link(s, &|l| format!("{:.2}", l.lagging_minutes_per_year))),
        ),
        (
            "link headroom (bw/churn)".into(),
            Box::new(move |s| link(s, &|l| format!("{:.3}", l.headroom.mean))),
        ),
        (
            "  replications behind".into(),
            Box::new(move |s| link(s, &|l| l.replications_lagging.to_string())),
        ),
    ]
}

pub fn render(report: &CompareReport) -> String {
    let mut out = String::new();
    let names: Vec<&str> = report
        .scenarios
        .iter()
        .map(|r| r.scenario.as_str())
        .collect();
    let runs = |r: &crate::analysis::summary::Report| {
        let warmup = if r.warmup_hours > 0.0 {
            format!(" (warmup {:.0} h)", r.warmup_hours)
        } else {
            String::new()
        };
        format!(
            "{} replications x {:.0} h{warmup}",
            r.replications, r.horizon_hours
        )
    };
    if let Some(first) = report.scenarios.first() {
        let same = report.scenarios.iter().all(|r| runs(r) == runs(first));
        if same {
            let _ = writeln!(
                out,
                "{} each, seed {}, common random numbers",
                runs(first),
                first.seed
            );
        } else {
            // Each file keeps its own horizon: say so per scenario rather than name one.
            let _ = writeln!(out, "seed {}, common random numbers", first.seed);
            for r in &report.scenarios {
                let _ = writeln!(out, "  {}: {}", r.scenario, runs(r));
            }
        }
    }
    let mut services: Vec<&String> = Vec::new();
    for r in &report.scenarios {
        for name in r.services.keys() {
            if !services.contains(&name) {
                services.push(name);
            }
        }
    }
    for service in services {
        let causes: BTreeSet<String> = report
            .scenarios
            .iter()
            .filter_map(|r| r.services.get(service))
            .flat_map(|s| s.downtime_by_cause_minutes_per_year.iter())
            .filter(|(_, m)| **m > 0.0)
            .map(|(c, _)| c.clone())
            .collect();
        let on_a_link = (report.scenarios.iter())
            .filter_map(|r| r.services.get(service))
            .any(|s| s.replication_link.is_some());
        let with_sla = report.scenarios.iter().any(|r| r.sla.is_some());
        let without_sla = report.scenarios.iter().any(|r| r.sla.is_none());
        let risk = risk_rows(with_sla, without_sla);
        let grid: Vec<(String, Vec<String>)> = rows(&causes, on_a_link, risk)
            .into_iter()
            .map(|(label, cell)| {
                let texts = (report.scenarios.iter())
                    .map(|r| r.services.get(service).map_or("-".to_string(), &cell))
                    .collect();
                (label, texts)
            })
            .collect();
        write_grid(&mut out, &format!("service {service}"), &names, grid);
    }
    if report.scenarios.iter().any(|r| r.cost.is_some()) {
        write_grid(&mut out, "cost per year", &names, cost_grid(report));
    }
    for d in &report.differences {
        let _ = writeln!(
            out,
            "\n{} minus {} (paired, 95% CI):",
            d.scenario, d.baseline
        );
        for (service, diff) in &d.services {
            let _ = writeln!(
                out,
                "  {service}: availability {:+.5} points {}, downtime {:+.2} min/yr {}",
                diff.availability.mean * 100.0,
                interval(&diff.availability, 100.0, 5),
                diff.downtime_minutes_per_year.mean,
                interval(&diff.downtime_minutes_per_year, 1.0, 2),
            );
        }
        if d.services.is_empty() {
            let _ = writeln!(out, "  (no service name in common)");
        }
        write_risk_differences(&mut out, d);
    }
    out
}

/// A block with a column per scenario: every column as wide as its widest name or cell, so
/// that cells never touch.
fn write_grid(out: &mut String, title: &str, names: &[&str], grid: Vec<(String, Vec<String>)>) {
    let widest_cell = grid.iter().flat_map(|(_, t)| t.iter().map(String::len));
    let width = (names.iter().map(|n| n.len()))
        .chain(widest_cell)
        .max()
        .unwrap_or(0)
        .max(24);
    let _ = write!(out, "\n{title:<30}");
    for n in names {
        let _ = write!(out, " {n:>width$}");
    }
    let _ = writeln!(out);
    for (label, texts) in grid {
        let _ = write!(out, "  {label:<28}");
        for text in texts {
            let _ = write!(out, " {text:>width$}");
        }
        let _ = writeln!(out);
    }
}

/// The expected yearly cost of each scenario priced by its own `[cost]`.
fn cost_grid(report: &CompareReport) -> Vec<(String, Vec<String>)> {
    type Pick = fn(&CostReport) -> String;
    let rows: [(&str, Pick); 5] = [
        ("total", |c| risk::amount(c.total_per_year.mean)),
        ("  95% CI", |c| {
            c.total_per_year.ci95.map_or("-".into(), |[lo, hi]| {
                format!("[{} .. {}]", risk::amount(lo), risk::amount(hi))
            })
        }),
        ("downtime", |c| risk::amount(c.downtime_per_year.mean)),
        ("lost writes", |c| risk::amount(c.lost_writes_per_year.mean)),
        ("servers and clusters", |c| {
            risk::amount(c.infrastructure_per_year)
        }),
    ];
    rows.iter()
        .map(|(label, pick)| {
            let cells = (report.scenarios.iter())
                .map(|r| r.cost.as_ref().map_or("no [cost]".into(), pick))
                .collect();
            (label.to_string(), cells)
        })
        .collect()
}

/// The paired differences in breach probability and in yearly cost.
fn write_risk_differences(out: &mut String, d: &Difference) {
    for (service, diff) in &d.services {
        match &diff.sla_breach_probability {
            Some(p) => {
                let _ = writeln!(out, "  {service}: P(year breaches SLA) {}", risk::points(p));
            }
            None => {
                let budgets: Vec<String> = (diff.breach_probability_by_budget.iter())
                    .map(|(budget, p)| format!("{budget} {}", risk::points(p)))
                    .collect();
                if !budgets.is_empty() {
                    let _ = writeln!(out, "  {service}: P(year breaches) {}", budgets.join(", "));
                }
            }
        }
    }
    if let Some(cost) = &d.cost_per_year {
        let _ = writeln!(
            out,
            "  cost per year {}",
            risk::signed_amount_interval(cost)
        );
    }
}
