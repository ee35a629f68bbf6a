//! The text and CSV of `ecxsim race`: per offset, how many runs ended with replication broken,
//! by end state; the exhaustive count; one failing interleaving as a timeline.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::io;
use std::path::Path;

use super::atomic::AtomicFile;
use crate::race::{crashed_servers, raced_vms, ExhaustiveReport, SweepReport};
use crate::scenario::Scenario;

fn end_state_columns(reports: &[SweepReport]) -> Vec<String> {
    let names: BTreeSet<&String> = reports
        .iter()
        .flat_map(|r| &r.offsets)
        .flat_map(|o| o.end_states.keys())
        .collect();
    names.into_iter().cloned().collect()
}

fn optional_seconds(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |s| format!("{s:.0}"))
}

/// A broken share with its interval: `2.32% [1.77%, 2.99%]`.
pub fn share(broken: u64, runs: u64, ci95: [f64; 2]) -> String {
    let pct = super::risk::percent;
    format!(
        "{} [{}, {}]",
        pct(broken as f64 / runs.max(1) as f64),
        pct(ci95[0]),
        pct(ci95[1])
    )
}

/// Which VMs and servers a race of `scenario` concerns, said before it runs.
pub fn what_is_raced(scenario: &Scenario) -> String {
    let raced = raced_vms(scenario);
    let Some(&first) = raced.first() else {
        return "nothing to race: no VM is replicated between two clusters".to_string();
    };
    let vm = &scenario.vms[first];
    let [p_server, r_server] = crashed_servers(scenario).unwrap_or_default();
    let (p, r) = (
        &scenario.clusters[vm.cluster].name,
        &scenario.clusters[vm.replica_cluster].name,
    );
    let names: Vec<String> = raced
        .iter()
        .map(|&v| {
            let vm = &scenario.vms[v];
            format!(
                "{} ({} -> {})",
                vm.name,
                scenario.clusters[vm.cluster].name,
                scenario.clusters[vm.replica_cluster].name
            )
        })
        .collect();
    let mut text = format!(
        "racing {}: {p_server} of {p} and {r_server} of {r} crash",
        names.join(", "),
    );
    let others = scenario.vms.len() - raced.len();
    if others > 0 {
        text.push_str(&format!(
            "; {others} other VM(s) replicate between other clusters and are not raced"
        ));
    }
    text
}

/// The exhaustive enumeration's result in a sentence, with what it holds fixed.
pub fn exhaustive_summary(ex: &ExhaustiveReport) -> String {
    if ex.complete {
        format!(
            "{} of {} interleavings of the start scripts' backend calls end broken ({} distinct states). \
             Held fixed: {}.",
            ex.broken, ex.interleavings, ex.states, ex.fixed
        )
    } else {
        format!(
            "stopped at the budget of {} distinct states (--max-states) before every interleaving \
             was enumerated: no count. Raise --max-states, or race fewer VMs.",
            ex.max_states
        )
    }
}

/// The sensitivity table's rows: assumption, value, runs, broken, share with its interval.
pub fn sensitivity_rows(report: &SweepReport) -> Vec<Vec<String>> {
    report
        .sensitivity
        .iter()
        .map(|p| {
            vec![
                p.assumption.clone(),
                p.value.clone(),
                p.runs.to_string(),
                p.broken.to_string(),
                share(p.broken, p.runs, p.ci95),
            ]
        })
        .collect()
}

pub const SENSITIVITY_COLUMNS: [&str; 5] = [
    "assumption",
    "value",
    "runs",
    "broken",
    "broken share [95% CI]",
];

pub fn render(report: &SweepReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "control {}: both clusters' active servers crash, the replica cluster's `offset` seconds after the primary's",
        report.control
    );
    let _ = writeln!(
        out,
        "\n{:>8} {:>6} {:>7} {:>24}  {:>11} {:>12}  end states",
        "offset_s", "runs", "broken", "broken share [95% CI]", "vm_restore", "to_healthy"
    );
    for o in &report.offsets {
        let states: Vec<String> = o
            .end_states
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            out,
            "{:>8.0} {:>6} {:>7} {:>24}  {:>10}s {:>11}s  {}",
            o.offset_s,
            o.runs,
            o.broken,
            share(o.broken, o.runs, o.broken_ci95),
            optional_seconds(o.mean_vm_restore_s),
            optional_seconds(o.mean_time_to_healthy_s),
            states.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\ntotal: {} of {} runs broken ({}); mean time to the VM running again {} s, to replication healthy {} s",
        report.broken,
        report.runs,
        share(report.broken, report.runs, report.broken_ci95),
        optional_seconds(report.mean_vm_restore_s),
        optional_seconds(report.mean_time_to_healthy_s)
    );
    if !report.sensitivity.is_empty() {
        let _ = writeln!(
            out,
            "\nsensitivity: the same sweep with each mock assumption at its plausible extremes"
        );
        let rows = sensitivity_rows(report);
        let _ = writeln!(
            out,
            "  {:<24} {:<28} {:>6} {:>7}  {}",
            SENSITIVITY_COLUMNS[0],
            SENSITIVITY_COLUMNS[1],
            SENSITIVITY_COLUMNS[2],
            SENSITIVITY_COLUMNS[3],
            SENSITIVITY_COLUMNS[4]
        );
        for row in rows {
            let _ = writeln!(
                out,
                "  {:<24} {:<28} {:>6} {:>7}  {}",
                row[0], row[1], row[2], row[3], row[4]
            );
        }
    }
    if let Some(ex) = &report.exhaustive {
        let _ = writeln!(out, "\nexhaustive: {}", exhaustive_summary(ex));
        if ex.complete {
            let states: Vec<String> = ex
                .end_states
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(out, "  end states: {}", states.join(", "));
            let lengths: Vec<String> = ex
                .by_checkpoint
                .iter()
                .map(|c| {
                    format!(
                        "{} poll{}: {} of {}",
                        c.answers,
                        if c.answers == 1 { "" } else { "s" },
                        c.broken,
                        c.interleavings
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "  broken by checkpoint length (polls reading \"Creating checkpoint\"): {}",
                lengths.join(", ")
            );
        }
        if let Some(timeline) = &ex.failing_timeline {
            let _ = writeln!(
                out,
                "\none failing interleaving (calls in completion order):"
            );
            out.push_str(timeline);
        }
    }
    out
}

/// `race.csv`: one row per control variant and offset, a column per end state seen.
pub fn write_csv(path: &Path, reports: &[SweepReport]) -> io::Result<()> {
    let columns = end_state_columns(reports);
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    let mut header = vec![
        "control".to_string(),
        "offset_s".to_string(),
        "runs".to_string(),
        "broken".to_string(),
        "broken_fraction".to_string(),
        "broken_ci95_low".to_string(),
        "broken_ci95_high".to_string(),
        "mean_vm_restore_s".to_string(),
        "mean_time_to_healthy_s".to_string(),
    ];
    header.extend(columns.iter().cloned());
    w.write_record(&header).map_err(io::Error::other)?;
    for (report, o) in reports
        .iter()
        .flat_map(|r| r.offsets.iter().map(move |o| (r, o)))
    {
        let mut row = vec![
            report.control.clone(),
            o.offset_s.to_string(),
            o.runs.to_string(),
            o.broken.to_string(),
            (o.broken as f64 / o.runs.max(1) as f64).to_string(),
            o.broken_ci95[0].to_string(),
            o.broken_ci95[1].to_string(),
            o.mean_vm_restore_s.map_or(String::new(), |v| v.to_string()),
            o.mean_time_to_healthy_s
                .map_or(String::new(), |v| v.to_string()),
        ];
        row.extend(
            columns
                .iter()
                .map(|c| o.end_states.get(c).copied().unwrap_or(0).to_string()),
        );
        w.write_record(&row).map_err(io::Error::other)?;
    }
    w.into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?
        .commit()
}
