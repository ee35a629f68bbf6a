//! What each command leaves in its output folder besides its JSON and CSV: the charts (PNG and
//! SVG) and one self-contained `report.html` with the tables and the SVGs inline.

use std::io;
use std::path::Path;

use super::html::{self, Document};
use super::plots::{self, with_extension, RaceCurve};
use super::race_report;
use crate::analysis::summary::Report;
use crate::compare::Difference;
use crate::race::SweepReport as RaceReport;
use crate::sweep::SweepReport;

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn add_figure(doc: &mut Document, stem: &Path, caption: &str) -> io::Result<()> {
    doc.svg_file(&with_extension(stem, "svg"), caption)?;
    Ok(())
}

/// Charts and report.html of `run` (one report) or `compare` (several, with differences).
pub fn availability_outputs(
    dir: &Path,
    title: &str,
    reports: &[&Report],
    differences: &[Difference],
) -> io::Result<()> {
    let labelled: Vec<(&str, &Report)> =
        reports.iter().map(|r| (r.scenario.as_str(), *r)).collect();
    let figures = plots::standard_charts(&labelled, dir)?;
    let mut doc = Document::new(title);
    // Files may set different horizons: one figure for all only when they agree.
    let same_runs = reports.iter().all(|r| {
        (r.replications, r.horizon_hours) == (reports[0].replications, reports[0].horizon_hours)
    });
    let runs = if same_runs {
        format!(
            "{} replications of {:.0} hours each",
            reports[0].replications, reports[0].horizon_hours
        )
    } else {
        "Replications and horizons as in the Runs table".to_string()
    };
    doc.paragraph(&format!(
        "{runs}, seed {}{}. Intervals are Student-t 95% intervals over replications.",
        reports[0].seed,
        if reports.len() > 1 {
            ", all scenarios on common random numbers"
        } else {
            ""
        },
    ));
    html::standard_tables(&mut doc, &labelled);
    cluster_set_table(&mut doc, reports);
    if !differences.is_empty() {
        doc.section("Paired differences");
        let rows = differences
            .iter()
            .flat_map(|d| {
                d.services.iter().map(move |(service, diff)| {
                    let ci = |e: &crate::analysis::summary::Estimate, scale: f64, digits: usize| {
                        e.ci95.map_or("-".to_string(), |[lo, hi]| {
                            format!("[{:+.*} .. {:+.*}]", digits, lo * scale, digits, hi * scale)
                        })
                    };
                    vec![
                        format!("{} minus {}", d.scenario, d.baseline),
                        service.clone(),
                        format!("{:+.5}", diff.availability.mean * 100.0),
                        ci(&diff.availability, 100.0, 4),
                        format!("{:+.2}", diff.downtime_minutes_per_year.mean),
                        ci(&diff.downtime_minutes_per_year, 1.0, 2),
                    ]
                })
            })
            .collect();
        doc.table(
            &[
                "comparison",
                "service",
                "availability (points)",
                "95% CI",
                "downtime (min/yr)",
                "95% CI",
            ],
            rows,
        );
    }
    doc.section("Charts");
    for figure in &figures {
        add_figure(&mut doc, &figure.stem, &figure.caption)?;
    }
    let services: Vec<&String> =
        reports
            .iter()
            .flat_map(|r| r.services.keys())
            .fold(Vec::new(), |mut acc, s| {
                if !acc.contains(&s) {
                    acc.push(s);
                }
                acc
            });
    for service in services {
        let has_vm = reports.iter().any(|r| {
            r.services
                .get(service)
                .is_some_and(|s| s.data_loss.is_some())
        });
        if !has_vm {
            continue;
        }
        let series: Vec<plots::LossSeries> = reports
            .iter()
            .map(|r| match r.data_loss_seconds.get(service) {
                Some(curve) => (
                    r.scenario.as_str(),
                    curve.seconds.as_slice(),
                    curve.summary.as_ref(),
                ),
                None => (r.scenario.as_str(), &[][..], None),
            })
            .collect();
        let stem = dir.join(format!("data-loss-{}", file_safe(service)));
        plots::data_loss_counted(&series, &stem)?;
        add_figure(
            &mut doc,
            &stem,
            &format!("{service}: writes lost per cross-cluster failover"),
        )?;
    }
    doc.write(&dir.join("report.html"))
}

/// Cross-cluster failover, protection and partitions, per service and scenario, when any
/// scenario has them.
fn cluster_set_table(doc: &mut Document, reports: &[&Report]) {
    let mut rows = Vec::new();
    for r in reports {
        for (service, s) in &r.services {
            let relevant = s.data_loss.is_some()
                || s.unprotected_minutes_per_year > 0.0
                || s.split_brain_minutes_per_year > 0.0
                || s.np_shutdowns > 0;
            if !relevant {
                continue;
            }
            let loss = s.data_loss.as_ref().map_or("no failover".to_string(), |d| {
                format!(
                    "{}: mean {:.0} s, p50 {:.0} s, p95 {:.0} s, max {:.0} s",
                    d.failovers, d.mean_seconds, d.p50_seconds, d.p95_seconds, d.max_seconds
                )
            });
            rows.push(vec![
                r.scenario.clone(),
                service.clone(),
                format!("{:.1}", s.unprotected_minutes_per_year),
                loss,
                format!("{:.3}", s.split_brain_minutes_per_year),
                s.np_shutdowns.to_string(),
            ]);
        }
    }
    if rows.is_empty() {
        return;
    }
    doc.section("Cross-cluster failover, protection and partitions");
    doc.table(
        &[
            "scenario",
            "service",
            "unprotected (min/yr)",
            "writes lost per cross-cluster failover",
            "split brain (min/yr)",
            "NP shutdowns",
        ],
        rows,
    );
}

/// The race curve (one line per control variant) and report.html of `race`.
pub fn race_outputs(dir: &Path, title: &str, reports: &[RaceReport]) -> io::Result<()> {
    let series: Vec<RaceCurve> = reports
        .iter()
        .map(|r| RaceCurve {
            control: r.control.clone(),
            points: r
                .offsets
                .iter()
                .map(|o| {
                    let [lo, hi] = o.broken_ci95;
                    (o.offset_s, o.broken as f64 / o.runs.max(1) as f64, lo, hi)
                })
                .collect(),
        })
        .collect();
    let stem = dir.join("race-curve");
    plots::race_curve(&series, &stem)?;
    let mut doc = Document::new(title);
    doc.paragraph(
        "Both clusters' active servers crash, the replica cluster's `offset` seconds after the primary cluster's; \
         each offset is run with many seeds and each run's end state classified.",
    );
    add_figure(
        &mut doc,
        &stem,
        "Fraction of runs that end with replication broken, by crash offset",
    )?;
    for r in reports {
        doc.section(&format!("control: {}", r.control));
        let rows = r
            .offsets
            .iter()
            .map(|o| {
                let states: Vec<String> = o
                    .end_states
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                vec![
                    format!("{:.0}", o.offset_s),
                    o.runs.to_string(),
                    o.broken.to_string(),
                    race_report::share(o.broken, o.runs, o.broken_ci95),
                    o.mean_vm_restore_s
                        .map_or("-".into(), |s| format!("{s:.0}")),
                    o.mean_time_to_healthy_s
                        .map_or("-".into(), |s| format!("{s:.0}")),
                    states.join(", "),
                ]
            })
            .collect();
        doc.table(
            &[
                "offset (s)",
                "runs",
                "broken",
                "broken share [95% CI]",
                "VM running again (s)",
                "replication healthy (s)",
                "end states",
            ],
            rows,
        );
        if !r.sensitivity.is_empty() {
            doc.paragraph(
                "Sensitivity: the same sweep with each assumption of the mocks that no source fixes \
                 at its plausible extremes.",
            );
            doc.table(
                &race_report::SENSITIVITY_COLUMNS,
                race_report::sensitivity_rows(r),
            );
        }
        if let Some(ex) = &r.exhaustive {
            doc.paragraph(&format!(
                "Exhaustive: {}",
                race_report::exhaustive_summary(ex)
            ));
        }
    }
    doc.write(&dir.join("report.html"))
}

/// `sweep.csv`, a line plot per service and metric, and report.html of `sweep`.
pub fn sweep_outputs(dir: &Path, title: &str, report: &SweepReport) -> io::Result<()> {
    let mut w =
        csv::Writer::from_writer(super::atomic::AtomicFile::create(&dir.join("sweep.csv"))?);
    w.write_record(crate::sweep::SweepPoint::csv_header())
        .map_err(io::Error::other)?;
    for p in &report.points {
        w.write_record(p.csv_record(&report.param))
            .map_err(io::Error::other)?;
    }
    w.into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?
        .commit()?;

    let durations = report
        .values
        .iter()
        .all(|v| crate::time::parse_duration(v).is_ok());
    let param_label = if durations {
        format!("{} (hours)", report.param)
    } else {
        report.param.clone()
    };
    let mut doc = Document::new(title);
    doc.paragraph(&format!(
        "Every scenario at every value of `{}` ({}), on common random numbers.",
        report.param,
        report.values.join(", ")
    ));
    let mut services: Vec<&String> = Vec::new();
    for p in &report.points {
        if !services.contains(&&p.service) {
            services.push(&p.service);
        }
    }
    for service in services {
        let mut scenarios: Vec<&String> = Vec::new();
        for p in report.points.iter().filter(|p| &p.service == service) {
            if !scenarios.contains(&&p.scenario) {
                scenarios.push(&p.scenario);
            }
        }
        let of_service: Vec<&crate::sweep::SweepPoint> = report
            .points
            .iter()
            .filter(|p| &p.service == service)
            .collect();
        for metric in plots::SWEEP_METRICS
            .iter()
            .filter(|m| m.charted(&of_service))
        {
            let (key, label) = (metric.key, metric.label);
            let lines: Vec<(String, Vec<plots::SweepPoint>)> = scenarios
                .iter()
                .map(|s| {
                    let pts = report
                        .points
                        .iter()
                        .filter(|p| &p.service == service && &p.scenario == *s)
                        .map(|p| {
                            let (mean, lo, hi) = (metric.value)(p);
                            (p.x, mean, lo, hi)
                        })
                        .collect();
                    ((*s).clone(), pts)
                })
                .collect();
            let series: Vec<(&str, &[plots::SweepPoint])> = lines
                .iter()
                .map(|(s, p)| (s.as_str(), p.as_slice()))
                .collect();
            let stem = dir.join(format!("sweep-{key}-{}", file_safe(service)));
            plots::sweep_lines(&param_label, metric, &series, &stem)?;
            add_figure(
                &mut doc,
                &stem,
                &format!("{service}: {label} against {}", report.param),
            )?;
        }
    }
    let rows = report
        .points
        .iter()
        .map(|p| {
            vec![
                p.scenario.clone(),
                p.service.clone(),
                p.value.clone(),
                super::numbers::percent(p.availability.mean, 5),
                format!("{:.2}", p.downtime_minutes_per_year.mean),
            ]
        })
        .collect();
    doc.section("Values");
    doc.table(
        &[
            "scenario",
            "service",
            &report.param,
            "availability",
            "downtime (min/yr)",
        ],
        rows,
    );
    doc.write(&dir.join("report.html"))
}
