//! The terminal table of `ecxsim sweep`: a row per scenario, service and value. With a cluster
//! set the columns that a replication setting moves (data lost per failover, unprotected
//! time, cross-cluster failovers) come too, so that a sweep of `vm.*.replication_interval`
//! shows its trade-off instead of identical rows.

use std::fmt::Write;

use super::numbers;
use crate::sweep::SweepReport;

pub fn render(report: &SweepReport) -> String {
    let mut out = String::new();
    let w = (report.points.iter().map(|p| p.scenario.len()))
        .max()
        .unwrap_or(0)
        .max(20);
    let vw = (report.points.iter().map(|p| p.value.len()))
        .chain(std::iter::once(report.param.len()))
        .max()
        .unwrap_or(0)
        .max(8);
    let cluster_set = report
        .points
        .iter()
        .any(|p| p.data_loss.is_some() || p.unprotected_minutes_per_year > 0.0);
    let _ = write!(
        out,
        "{:<w$} {:<10} {:>vw$} {:>35} {:>14}",
        "scenario", "service", report.param, "availability (95% CI)", "downtime/yr"
    );
    if cluster_set {
        let _ = write!(
            out,
            " {:>16} {:>12} {:>12} {:>18}",
            "unprotected/yr", "failovers/yr", "loss mean", "loss p95"
        );
    }
    let _ = writeln!(out);
    for p in &report.points {
        let ci = p.availability.ci95.map_or(String::new(), |[lo, hi]| {
            let pct = |a: f64| numbers::percent(a, 4).trim_end_matches('%').to_string();
            format!(" [{}..{}]", pct(lo), pct(hi))
        });
        let availability = format!("{}{ci}", numbers::percent(p.availability.mean, 5));
        let _ = write!(
            out,
            "{:<w$} {:<10} {:>vw$} {:>35} {:>10.2} min",
            p.scenario, p.service, p.value, availability, p.downtime_minutes_per_year.mean
        );
        if cluster_set {
            let (mean, p95) =
                p.data_loss
                    .as_ref()
                    .map_or(("no failover".to_string(), String::new()), |d| {
                        (
                            format!("{:.1} s", d.mean_seconds),
                            format!("{:.1} s", d.p95_seconds),
                        )
                    });
            let _ = write!(
                out,
                " {:>12.2} min {:>12.3} {:>12} {:>18}",
                p.unprotected_minutes_per_year, p.cross_cluster_failovers_per_year, mean, p95
            );
        }
        let _ = writeln!(out);
    }
    out
}
