//! The text and CSV of `ecxsim race`: per offset, how many runs ended with replication broken,
//! by end state; the exhaustive count; one failing interleaving as a timeline.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::io;
use std::path::Path;

use super::atomic::AtomicFile;
use crate::race::SweepReport;

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

pub fn render(report: &SweepReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "control {}: both clusters' active servers crash, the replica cluster's `offset` seconds after the primary's",
        report.control
    );
    let _ = writeln!(
        out,
        "\n{:>8} {:>6} {:>7} {:>8}  {:>11} {:>12}  end states",
        "offset_s", "runs", "broken", "broken%", "vm_restore", "to_healthy"
    );
    for o in &report.offsets {
        let states: Vec<String> = o
            .end_states
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            out,
            "{:>8.0} {:>6} {:>7} {:>7.1}%  {:>10}s {:>11}s  {}",
            o.offset_s,
            o.runs,
            o.broken,
            100.0 * o.broken as f64 / o.runs.max(1) as f64,
            optional_seconds(o.mean_vm_restore_s),
            optional_seconds(o.mean_time_to_healthy_s),
            states.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\ntotal: {} of {} runs broken; mean time to the VM running again {} s, to replication healthy {} s",
        report.broken,
        report.runs,
        optional_seconds(report.mean_vm_restore_s),
        optional_seconds(report.mean_time_to_healthy_s)
    );
    if let Some(ex) = &report.exhaustive {
        let _ = writeln!(
            out,
            "\nexhaustive: {} of {} interleavings of the two start scripts' backend calls end broken ({} distinct states)",
            ex.broken, ex.interleavings, ex.states
        );
        let states: Vec<String> = ex
            .end_states
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(out, "  end states: {}", states.join(", "));
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
