//! The `ecxsim` command line: parses arguments, calls the library, prints, sets the exit code
//! (0 success, 1 a check or expectation failed, 2 bad input or usage).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ecxsim::analysis::summary::Report;
use ecxsim::report::{atomic, csv_out::RunCsv, table};
use ecxsim::run::{run, RunOptions, CHUNK};
use ecxsim::scenario::{self, Scenario};

#[derive(Parser)]
#[command(
    name = "ecxsim",
    version,
    about = "Availability simulation of EXPRESSCLUSTER X clusters and cluster sets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario: availability, downtime, MTBF/MTTR, downtime by cause.
    Run {
        scenario: PathBuf,
        /// Replications (overrides [simulation] replications).
        #[arg(long)]
        replications: Option<u64>,
        /// Seed (overrides [simulation] seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
        /// Output folder (default: results/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the JSON report instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write outages.csv, one row per outage.
        #[arg(long)]
        outages: bool,
    },
    /// Solve a scenario exactly (exponential times only) and print the same report shape.
    Analytic {
        scenario: PathBuf,
        /// Print the JSON report instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Check scenario files and report every problem found (one per file).
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn input(message: impl ToString) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            replications,
            seed,
            threads,
            out,
            json,
            outages,
        } => run_command(&scenario, replications, seed, threads, out, json, outages),
        Command::Analytic { scenario, json } => analytic_command(&scenario, json),
        Command::Validate { scenarios } => validate_command(&scenarios),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn load(path: &Path) -> Result<Scenario, Failure> {
    scenario::load(path).map_err(Failure::input)
}

fn output_dir(out: Option<PathBuf>, scenario: &Scenario) -> Result<PathBuf, Failure> {
    let dir = out.unwrap_or_else(|| Path::new("results").join(&scenario.name));
    std::fs::create_dir_all(&dir).map_err(|e| {
        Failure::input(format!(
            "cannot create the output folder {}: {e}",
            dir.display()
        ))
    })?;
    Ok(dir)
}

fn write_json(dir: &Path, report: &Report) -> Result<String, Failure> {
    let text = serde_json::to_string_pretty(report).expect("reports serialise") + "\n";
    atomic::write(&dir.join("summary.json"), text.as_bytes()).map_err(|e| {
        Failure::input(format!(
            "cannot write {}: {e}",
            dir.join("summary.json").display()
        ))
    })?;
    Ok(text)
}

/// A progress bar on stderr, only for a terminal and a run of several chunks.
fn progress_bar(replications: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || replications <= 4 * CHUNK {
        return None;
    }
    let bar = indicatif::ProgressBar::new(replications);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} replications, {eta} left")
            .expect("valid template"),
    );
    Some(bar)
}

fn run_command(
    path: &Path,
    replications: Option<u64>,
    seed: Option<u64>,
    threads: Option<u16>,
    out: Option<PathBuf>,
    json: bool,
    outages: bool,
) -> Result<(), Failure> {
    let scenario = load(path)?;
    let mut options = RunOptions::from_scenario(&scenario);
    if let Some(r) = replications {
        if r == 0 {
            return Err(Failure::input("--replications must be at least 1"));
        }
        options.replications = r;
    }
    options.seed = seed.unwrap_or(options.seed);
    options.threads = threads.map(usize::from);
    options.keep_outages = outages;
    let dir = output_dir(out, &scenario)?;
    let mut csv = RunCsv::create(&dir, &scenario, outages)
        .map_err(|e| Failure::input(format!("cannot write to {}: {e}", dir.display())))?;
    let bar = progress_bar(options.replications);
    let report = run(&scenario, &options, |result| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        csv.write(result)
    })
    .map_err(|e| Failure::input(format!("run failed: {e}")))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    csv.commit()
        .map_err(|e| Failure::input(format!("cannot write to {}: {e}", dir.display())))?;
    let text = write_json(&dir, &report)?;
    if json {
        print!("{text}");
    } else {
        print!("{}", table::render(&report));
        println!("\nwrote {}", dir.display());
    }
    Ok(())
}

fn analytic_command(path: &Path, json: bool) -> Result<(), Failure> {
    let scenario = load(path)?;
    let report = ecxsim::analysis::exact::exact_report(&scenario)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialise")
        );
    } else {
        print!("{}", table::render(&report));
    }
    Ok(())
}

fn validate_command(paths: &[PathBuf]) -> Result<(), Failure> {
    let mut failed = 0;
    for path in paths {
        match scenario::load(path) {
            Ok(s) => println!(
                "{}: ok ({} clusters, {} services)",
                path.display(),
                s.clusters.len(),
                s.services.len()
            ),
            Err(e) => {
                failed += 1;
                println!("{e}");
            }
        }
    }
    if failed > 0 {
        return Err(Failure::input(format!(
            "{failed} of {} scenario files are invalid",
            paths.len()
        )));
    }
    Ok(())
}
