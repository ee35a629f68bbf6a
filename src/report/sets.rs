//! The files each command leaves in its output folder once the numbers are known: one
//! function per command, shared by the command itself and by `ecxsim merge`, so that a merged
//! sharded run writes the same files, byte for byte, as one run. (`run` streams its CSV files
//! while it simulates; they are not here.)

use std::io;
use std::path::Path;

use super::{atomic, outputs};
use crate::analysis::summary::Report;
use crate::compare::CompareReport;
use crate::sweep::SweepReport;

/// A report as its JSON file holds it (and `--json` prints it).
pub fn json_text(report: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(report).expect("reports serialise") + "\n"
}

/// `run`: summary.json, the charts and report.html; gives the JSON text.
pub fn run_files(dir: &Path, report: &Report) -> io::Result<String> {
    let text = json_text(report);
    atomic::write(&dir.join("summary.json"), text.as_bytes())?;
    let title = format!("ecxsim run: {}", report.scenario);
    outputs::availability_outputs(dir, &title, &[report], &[])?;
    Ok(text)
}

/// `compare`: compare.json, the charts and report.html; gives the JSON text.
pub fn compare_files(dir: &Path, report: &CompareReport) -> io::Result<String> {
    let text = json_text(report);
    atomic::write(&dir.join("compare.json"), text.as_bytes())?;
    let reports: Vec<&Report> = report.scenarios.iter().collect();
    let names: Vec<&str> = reports.iter().map(|r| r.scenario.as_str()).collect();
    let title = format!("ecxsim compare: {}", names.join(" vs "));
    outputs::availability_outputs(dir, &title, &reports, &report.differences)?;
    Ok(text)
}

/// `sweep`: sweep.json, sweep.csv, the charts and report.html; gives the JSON text.
pub fn sweep_files(dir: &Path, report: &SweepReport) -> io::Result<String> {
    let text = json_text(report);
    atomic::write(&dir.join("sweep.json"), text.as_bytes())?;
    let title = format!("ecxsim sweep: {}", report.param);
    outputs::sweep_outputs(dir, &title, report)?;
    Ok(text)
}
