//! The `ecxsim` command line: parses arguments, calls the library, prints, sets the exit code
//! (0 success, 1 a check or expectation failed, 2 bad input or usage).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ecxsim::control::ControlVariant;
use ecxsim::partial::{self, Partial, Point};
use ecxsim::race::{
    sweep, SweepConfig, SweepReport, TerminalProgress, DEFAULT_MAX_STATES, SENSITIVITY_SWEEPS,
};
use ecxsim::report::publish::Publication;
use ecxsim::report::{atomic, csv_out::RunCsv, outputs, race_report, sets, table, test_report};
use ecxsim::run::{run, RunOptions, CHUNK};
use ecxsim::scenario::{self, Scenario};
use ecxsim::shard::Shard;
use ecxsim::workload::Workload;

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

/// Options of the commands that simulate; with several scenarios, the defaults are the first
/// scenario's, and all run on the same seed (common random numbers).
#[derive(clap::Args)]
struct SimArgs {
    /// Replications (default: the scenario's [simulation] replications).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    replications: Option<u64>,
    /// Seed (default: the scenario's [simulation] seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Output folder (default: results/<scenario name>, results/compare or results/sweep).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the JSON report instead of the table.
    #[arg(long)]
    json: bool,
    /// Run even past the limits on simulated years and CSV size (see the README).
    #[arg(long)]
    allow_large: bool,
    /// Compute only shard K of N (whole chunks of 1024 replications; for sweep, whole
    /// values) and write a partial result for `ecxsim merge` (default folder:
    /// results/<name>-shard-K-of-N).
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
}

impl SimArgs {
    fn options(&self, scenario: &Scenario) -> RunOptions {
        let mut options = RunOptions::from_scenario(scenario);
        options.replications = self.replications.unwrap_or(options.replications);
        options.seed = self.seed.unwrap_or(options.seed);
        options.threads = self.threads.map(usize::from);
        options
    }
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario: availability, downtime, MTBF/MTTR, downtime by cause.
    Run {
        scenario: PathBuf,
        #[command(flatten)]
        sim: SimArgs,
        /// Also write outages.csv, one row per outage.
        #[arg(long)]
        outages: bool,
    },
    /// Print what happened in one replication of a scenario with VMs: failures, cluster
    /// groups, every script and master call with its answer, the VM's state.
    Timeline {
        /// A scenario file, or `FILE@PATH=VALUE` as for compare.
        scenario: PathBuf,
        /// Which replication (0-based).
        #[arg(long, default_value_t = 0)]
        replication: u64,
        /// Seed (default: the scenario's [simulation] seed).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run several scenarios on common random numbers and compare them side by side, with the
    /// paired differences of each against the first.
    Compare {
        /// Scenario files; `FILE@PATH=VALUE` runs FILE with one value changed (the paths of
        /// sweep --param), e.g. scenarios/cluster_set.toml@simulation.control=coordinated.
        #[arg(required = true, num_args = 2..)]
        scenarios: Vec<PathBuf>,
        #[command(flatten)]
        sim: SimArgs,
    },
    /// Run every scenario at every value of one parameter, on common random numbers.
    Sweep {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// The value to vary, e.g. cluster.cluster1.server_ttf.mean or vm.vm1.replication_interval.
        #[arg(long)]
        param: String,
        /// A list (30s,5m,15m) or a range A..B:N of N points (2000h..20000h:5).
        #[arg(long, allow_hyphen_values = true)]
        values: String,
        #[command(flatten)]
        sim: SimArgs,
    },
    /// Combine the partial results of `run`, `compare` or `sweep --shard K/N` (one folder per
    /// shard, all N of them) into the files one run writes.
    Merge {
        #[arg(required = true)]
        partials: Vec<PathBuf>,
        /// Output folder (default: the command's, results/<scenario name>, results/compare or
        /// results/sweep).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the JSON report instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Solve a scenario exactly (exponential times only) and print the same report shape.
    Analytic {
        scenario: PathBuf,
        /// Print the JSON report instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Run regression scenarios (files with [[expect]]) against the control logic; exit 1 on
    /// any failed expectation.
    Test {
        /// Scenario files or folders (searched for *.toml).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Run with this control logic instead of the scenario's: as-shipped or coordinated.
        #[arg(long)]
        control: Option<String>,
        /// Print the whole event timeline of every failing run.
        #[arg(long)]
        trace: bool,
    },
    /// Fail both clusters' active servers with an offset between them, sweeping the offset over
    /// many seeds, and enumerate every interleaving of the two re-pointing scripts.
    Race {
        scenario: PathBuf,
        /// Control logic: as-shipped, coordinated, or both separated by a comma.
        #[arg(long)]
        control: Option<String>,
        /// First offset, seconds (the replica cluster's crash after the primary's).
        #[arg(long, default_value_t = -120.0, allow_negative_numbers = true)]
        from: f64,
        /// Last offset, seconds.
        #[arg(long, default_value_t = 120.0, allow_negative_numbers = true)]
        to: f64,
        /// Offset step, seconds.
        #[arg(long, default_value_t = 10.0)]
        step: f64,
        /// Runs (seeds) per offset.
        #[arg(long, default_value_t = 100)]
        runs: u64,
        /// Skip the exhaustive enumeration of interleavings.
        #[arg(long)]
        no_exhaustive: bool,
        /// Stop the exhaustive enumeration, without a count, past this many distinct states.
        #[arg(long, default_value_t = DEFAULT_MAX_STATES)]
        max_states: usize,
        /// Skip the sweeps with each mock assumption at its plausible extremes.
        #[arg(long)]
        no_sensitivity: bool,
        /// Output folder for race.csv (default: results/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON instead of the tables.
        #[arg(long)]
        json: bool,
    },
    /// Check scenario files (folders: every *.toml in them) and report the first problem of
    /// each invalid file, located at file:line:column; warnings go to stderr.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Production: an ECX script resource's start or stop script. start.bat runs
    /// `ecxsim agent start --config FILE`, stop.bat `ecxsim agent stop --config FILE`; ECX's
    /// CLP_EVENT, CLP_FACTOR and CLP_SERVER say why. Exits 0 on success, 1 when a VM's
    /// script failed (ECX then applies the resource's recovery action), 2 on bad input.
    Agent {
        #[arg(value_enum)]
        action: AgentAction,
        /// The production configuration file (TOML).
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the scenario's world in real time (or --speed times faster) and serve the ECX REST
    /// API of each cluster, the i-th at port --port-base + i, with HTTP Basic authentication
    /// (FILE holds `user:password`). Faults are injected with POST /ecxsim/v1/inject
    /// (`{"fault": "server_crash", "target": "c1s1"}`, the keys of [[inject]]). Stops on
    /// SIGTERM or Ctrl-C.
    Serve {
        scenario: PathBuf,
        /// Address to listen on (loopback unless told otherwise).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Port of the first cluster's API (0: any free ports).
        #[arg(long, default_value_t = ecxsim::serve::DEFAULT_PORT_BASE)]
        port_base: u16,
        /// File holding `user:password` (readable by its owner only).
        #[arg(long)]
        auth_file: PathBuf,
        /// Simulated seconds per second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
    /// Production: the cluster-set master, run by the master cluster's failover group. Serves
    /// the lease service and watches the worker clusters until stopped (SIGTERM or Ctrl-C).
    Master {
        /// The production configuration file (TOML).
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum AgentAction {
    /// The start script (start.bat).
    Start,
    /// The stop script (stop.bat).
    Stop,
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
    // A reader that goes away (`ecxsim test scenarios | head`) ends ecxsim as it ends any Unix
    // tool, by SIGPIPE, instead of a panic in the next print. Results are published before
    // anything is printed.
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            sim,
            outages,
        } => run_command(&scenario, sim, outages),
        Command::Analytic { scenario, json } => analytic_command(&scenario, json),
        Command::Timeline {
            scenario,
            replication,
            seed,
        } => timeline_command(&scenario, replication, seed),
        Command::Sweep {
            scenarios,
            param,
            values,
            sim,
        } => sweep_command(&scenarios, &param, &values, sim),
        Command::Compare { scenarios, sim } => compare_command(&scenarios, sim),
        Command::Merge {
            partials,
            out,
            json,
        } => merge_command(&partials, out, json),
        Command::Test {
            paths,
            control,
            trace,
        } => test_command(&paths, control.as_deref(), trace),
        Command::Race {
            scenario,
            control,
            from,
            to,
            step,
            runs,
            no_exhaustive,
            max_states,
            no_sensitivity,
            out,
            json,
        } => {
            let config = SweepConfig {
                offset_min_s: from,
                offset_max_s: to,
                offset_step_s: step,
                runs_per_offset: runs,
                exhaustive: !no_exhaustive,
                max_states,
                sensitivity: !no_sensitivity,
                ..SweepConfig::default()
            };
            race_command(&scenario, control.as_deref(), config, out, json)
        }
        Command::Validate { scenarios } => validate_command(&scenarios),
        Command::Agent { action, config } => agent_command(action, &config),
        Command::Master { config } => master_command(&config),
        Command::Serve {
            scenario,
            bind,
            port_base,
            auth_file,
            speed,
        } => serve_command(&scenario, bind, port_base, &auth_file, speed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Whatever failed on the way out, the run was asked to stop: nothing was published.
        Err(_) if ecxsim::interrupt::received().is_some() => {
            let signal = ecxsim::interrupt::received().expect("checked");
            eprintln!(
                "interrupted by {}: nothing was published, the output folder is as it was",
                signal.name()
            );
            ExitCode::from(signal.exit_code())
        }
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn serve_command(
    path: &Path,
    bind: std::net::IpAddr,
    port_base: u16,
    auth_file: &Path,
    speed: f64,
) -> Result<(), Failure> {
    use std::io::Write;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    if !(speed.is_finite() && speed > 0.0 && speed <= 1e6) {
        return Err(Failure::input(format!(
            "--speed {speed}: expected a number of simulated seconds per second above 0 and at most 1000000"
        )));
    }
    let scenario = load(path)?;
    let credential = read_auth_file(auth_file)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| Failure::input(format!("cannot handle signals: {e}")))?;
    }
    let options = ecxsim::serve::ServeOptions {
        bind,
        port_base,
        credential,
        speed,
    };
    let ready = |addresses: &[(String, std::net::SocketAddr)]| {
        let mut out = std::io::stdout().lock();
        for (cluster, addr) in addresses {
            let _ = writeln!(out, "serving {cluster} at http://{addr}");
        }
        let _ = out.flush();
    };
    ecxsim::serve::serve(&scenario, &options, ready, &stop)
        .map_err(|e| Failure::input(format!("cannot serve: {e}")))
}

/// `user:password` on the first line of a file only its owner may read.
fn read_auth_file(path: &Path) -> Result<ecxsim::production::credentials::Credential, Failure> {
    let name = path.display();
    ecxsim::production::credentials::check_private(path)
        .map_err(|e| Failure::input(format!("{name}: {e}")))?;
    let meta = std::fs::metadata(path).map_err(|e| Failure::input(format!("{name}: {e}")))?;
    if !meta.is_file() || meta.len() > 4096 {
        return Err(Failure::input(format!(
            "{name}: expected a small regular file holding user:password"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Failure::input(format!("{name}: {e}")))?;
    let line = text.lines().next().unwrap_or_default();
    match line.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => Ok(
            ecxsim::production::credentials::Credential::new(user, password),
        ),
        // Never quote the file: it holds a password.
        _ => Err(Failure::input(format!(
            "{name}: expected one line user:password, both non-empty"
        ))),
    }
}

fn agent_command(action: AgentAction, config: &Path) -> Result<(), Failure> {
    use ecxsim::production::agent;
    let action = match action {
        AgentAction::Start => agent::Action::Start,
        AgentAction::Stop => agent::Action::Stop,
    };
    let failure = |e: agent::AgentError| Failure {
        code: e.code,
        message: e.message,
    };
    let env = agent::read_environment(action, |k| std::env::var(k).ok()).map_err(failure)?;
    agent::run(action, config, &env)
        .map(|_| ())
        .map_err(failure)
}

fn master_command(config: &Path) -> Result<(), Failure> {
    use ecxsim::production::master;
    let failure = |e: ecxsim::production::agent::AgentError| Failure {
        code: e.code,
        message: e.message,
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    master::stop_on_signals(&stop).map_err(failure)?;
    master::run(config, stop).map_err(failure)
}

/// A scenario file, or `FILE@PATH=VALUE` (the file with one value changed), as every
/// command that reads one scenario takes it.
fn load(path: &Path) -> Result<Scenario, Failure> {
    ecxsim::sweep::load_variant(&path.to_string_lossy()).map_err(Failure::input)
}

/// `load`, printing the scenario's warnings (for the commands that measure availability).
fn load_warned(path: &Path) -> Result<Scenario, Failure> {
    load(path).map(warned)
}

/// Prints the scenario's warnings on stderr (they do not stop it).
fn warned(scenario: Scenario) -> Scenario {
    for w in scenario.warnings() {
        eprintln!("warning: {w}");
    }
    scenario
}

/// `--out`, or `results/<default>`.
fn output_path(out: Option<PathBuf>, default: &str) -> PathBuf {
    out.unwrap_or_else(|| Path::new("results").join(default))
}

/// Starts writing a new set of files for `--out` (see `report::publish`): locked against other
/// runs, and, from here on, stopped cleanly by SIGINT, SIGTERM or SIGHUP.
fn begin_output(out: Option<PathBuf>, default: &str) -> Result<Publication, Failure> {
    ecxsim::interrupt::install()
        .map_err(|e| Failure::input(format!("cannot handle termination signals: {e}")))?;
    Publication::begin(&output_path(out, default)).map_err(Failure::input)
}

/// Publishes a fully written set, unless the run was asked to stop meanwhile.
fn publish(output: Publication) -> Result<PathBuf, Failure> {
    if let Some(signal) = ecxsim::interrupt::received() {
        return Err(Failure::input(format!("interrupted by {}", signal.name())));
    }
    let target = output.target().to_path_buf();
    output.publish().map_err(|e| {
        Failure::input(format!(
            "cannot publish the results in {}: {e}",
            target.display()
        ))
    })?;
    Ok(target)
}

/// Publishes a set and prints `--json`'s text or the table.
fn publish_and_print(
    output: Publication,
    json: bool,
    text: &str,
    table: String,
) -> Result<(), Failure> {
    let dir = publish(output)?;
    if json {
        print!("{text}");
    } else {
        print!("{table}");
        println!("\nwrote {}", dir.display());
    }
    Ok(())
}

/// The default folder of a shard's partial result.
fn shard_folder(name: &str, shard: Shard) -> String {
    format!("{name}-shard-{}-of-{}", shard.index, shard.count)
}

/// `--shard K/N` of `run`, `compare` or `sweep`: computes the shard's `work` of `points`
/// (each point's scenarios and options) and publishes its partial result. With `csv`, `run`'s
/// rows of the shard's replications are written too.
fn shard_command(
    partial: Partial,
    points: &[(Vec<&Scenario>, RunOptions)],
    work: &[(usize, std::ops::Range<u64>)],
    output: Publication,
    csv: Option<(&Scenario, bool)>,
    computed: &str,
) -> Result<(), Failure> {
    let (dir, shown) = (output.dir(), output.target().display());
    let cannot_write = |e: std::io::Error| Failure::input(format!("cannot write to {shown}: {e}"));
    let mut rows = csv
        .map(|(scenario, outages)| RunCsv::create(dir, scenario, outages))
        .transpose()
        .map_err(cannot_write)?;
    let mut chunks = partial::ChunkWriter::create(dir).map_err(cannot_write)?;
    let replications: Vec<u64> = partial.points.iter().map(|p| p.replications).collect();
    let bar = progress_bar(ecxsim::shard::replications_of(work, &replications));
    ecxsim::shard::run_shard(points, work, &mut chunks, |results| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        rows.as_mut().map_or(Ok(()), |csv| csv.write(&results[0]))
    })
    .map_err(|e| Failure::input(format!("run failed: {e}")))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    chunks.commit().map_err(cannot_write)?;
    let mut files = vec![partial::ACCUMULATORS_FILE];
    if let Some(csv) = rows {
        csv.commit().map_err(cannot_write)?;
        files.push("replications.csv");
        if partial.outages {
            files.push("outages.csv");
        }
    }
    let shard = partial.shard;
    let command = partial.command.name();
    partial.write(dir, &files).map_err(cannot_write)?;
    let dir = publish(output)?;
    println!(
        "shard {shard} of `{command}`: {computed}\nwrote the partial result {} (combine all {} \
         shards with `ecxsim merge`)",
        dir.display(),
        shard.count
    );
    Ok(())
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

fn run_command(path: &Path, sim: SimArgs, outages: bool) -> Result<(), Failure> {
    let scenario = load_warned(path)?;
    let mut options = sim.options(&scenario);
    options.keep_outages = outages;
    if let Some(shard) = sim.shard {
        let point = Point::new(None, &[&scenario], &options);
        let mut partial = Partial::new(partial::Command::Run, vec![point], shard);
        partial.outages = outages;
        let work = partial.work().map_err(Failure::input)?;
        let replications = ecxsim::shard::replications_of(&work, &[options.replications]);
        Workload::run(&scenario, replications, options.seed, outages)
            .check(sim.allow_large)
            .map_err(Failure::input)?;
        let output = begin_output(sim.out, &shard_folder(&scenario.name, shard))?;
        let computed = shard_replications(&work, options.replications);
        let points = [(vec![&scenario], options)];
        return shard_command(
            partial,
            &points,
            &work,
            output,
            Some((&scenario, outages)),
            &computed,
        );
    }
    Workload::run(&scenario, options.replications, options.seed, outages)
        .check(sim.allow_large)
        .map_err(Failure::input)?;
    let output = begin_output(sim.out, &scenario.name)?;
    let (dir, shown) = (output.dir(), output.target().display());
    let mut csv = RunCsv::create(dir, &scenario, outages)
        .map_err(|e| Failure::input(format!("cannot write to {shown}: {e}")))?;
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
        .map_err(|e| Failure::input(format!("cannot write to {shown}: {e}")))?;
    let text = sets::run_files(dir, &report)
        .map_err(|e| Failure::input(format!("cannot write to {shown}: {e}")))?;
    publish_and_print(output, sim.json, &text, table::render(&report))
}

/// What a shard of `run` or `compare` computes, in words.
fn shard_replications(work: &[(usize, std::ops::Range<u64>)], replications: u64) -> String {
    let indices = work.first().map_or(0..0, |(_, chunks)| {
        ecxsim::run::chunk_replications(chunks, replications)
    });
    format!(
        "replications {} to {} (of {replications}, counted from 0)",
        indices.start,
        indices.end.saturating_sub(1),
    )
}

fn timeline_command(path: &Path, replication: u64, seed: Option<u64>) -> Result<(), Failure> {
    let scenario = load(path)?;
    if scenario.vms.is_empty() {
        return Err(Failure::input(format!(
            "{}: the timeline follows scenarios with [[vm]] sections; this one has none",
            path.display()
        )));
    }
    let seed = seed.unwrap_or(scenario.simulation.seed);
    // A test scenario's injected faults are part of its story.
    let faults = ecxsim::model::scripted::scripted_faults(&scenario);
    let trace =
        ecxsim::model::cluster_set::trace_replication(&scenario, seed, replication, &faults);
    print!("{}", ecxsim::world::trace::render(&trace));
    Ok(())
}

fn compare_command(paths: &[PathBuf], sim: SimArgs) -> Result<(), Failure> {
    let scenarios: Vec<Scenario> = paths
        .iter()
        .map(|p| {
            ecxsim::sweep::load_variant(&p.to_string_lossy())
                .map(warned)
                .map_err(Failure::input)
        })
        .collect::<Result<_, _>>()?;
    let options = sim.options(&scenarios[0]);
    let refs: Vec<&Scenario> = scenarios.iter().collect();
    if let Some(shard) = sim.shard {
        let point = Point::new(None, &refs, &options);
        let partial = Partial::new(partial::Command::Compare, vec![point], shard);
        let work = partial.work().map_err(Failure::input)?;
        let replications = ecxsim::shard::replications_of(&work, &[options.replications]);
        Workload::simulation(&refs, replications, 1)
            .check(sim.allow_large)
            .map_err(Failure::input)?;
        let output = begin_output(sim.out, &shard_folder("compare", shard))?;
        let computed = shard_replications(&work, options.replications);
        return shard_command(partial, &[(refs, options)], &work, output, None, &computed);
    }
    Workload::simulation(&refs, options.replications, 1)
        .check(sim.allow_large)
        .map_err(Failure::input)?;
    let output = begin_output(sim.out, "compare")?;
    let (dir, shown) = (output.dir(), output.target().display());
    let report = ecxsim::compare::compare(&scenarios, &options)
        .map_err(|e| Failure::input(format!("run failed: {e}")))?;
    let text = sets::compare_files(dir, &report)
        .map_err(|e| Failure::input(format!("cannot write to {shown}: {e}")))?;
    let table = ecxsim::report::compare_table::render(&report);
    publish_and_print(output, sim.json, &text, table)
}

fn sweep_command(
    paths: &[PathBuf],
    param: &str,
    values_spec: &str,
    sim: SimArgs,
) -> Result<(), Failure> {
    let values = ecxsim::sweep::parse_values(values_spec).map_err(Failure::input)?;
    let args: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    // Every mistake is found before the first value is simulated.
    let runs = ecxsim::sweep::check(&refs, param, &values).map_err(Failure::input)?;
    for path in &refs {
        // What the files say is doubtful, once per file (not once per value).
        if let Ok(scenario) = ecxsim::sweep::load_variant(path) {
            warned(scenario);
        }
    }
    if let Some(shard) = sim.shard {
        let points: Vec<(Vec<&Scenario>, RunOptions)> = runs
            .iter()
            .map(|scenarios| (scenarios.iter().collect(), sim.options(&scenarios[0])))
            .collect();
        let described = values
            .iter()
            .zip(&points)
            .map(|(value, (scenarios, options))| {
                Point::new(Some(value.label()), scenarios, options)
            })
            .collect();
        let mut partial = Partial::new(partial::Command::Sweep, described, shard);
        partial.param = Some(param.to_string());
        partial.values = Some(values_spec.to_string());
        let work = partial.work().map_err(Failure::input)?;
        let own: Vec<usize> = work.iter().map(|(point, _)| *point).collect();
        let own_runs: Vec<Vec<Scenario>> = own.iter().map(|&p| runs[p].clone()).collect();
        Workload::sweep(&own_runs, |s| sim.options(s).replications)
            .check(sim.allow_large)
            .map_err(Failure::input)?;
        let output = begin_output(sim.out.clone(), &shard_folder("sweep", shard))?;
        let labels: Vec<String> = own.iter().map(|&p| values[p].label()).collect();
        let computed = format!("{param} = {}", labels.join(", "));
        return shard_command(partial, &points, &work, output, None, &computed);
    }
    Workload::sweep(&runs, |s| sim.options(s).replications)
        .check(sim.allow_large)
        .map_err(Failure::input)?;
    let output = begin_output(sim.out.clone(), "sweep")?;
    let (dir, shown) = (output.dir(), output.target().display());
    let report =
        ecxsim::sweep::sweep(&refs, param, &values, |s| sim.options(s)).map_err(Failure::input)?;
    let text = sets::sweep_files(dir, &report)
        .map_err(|e| Failure::input(format!("cannot write to {shown}: {e}")))?;
    let table = ecxsim::report::sweep_table::render(&report);
    publish_and_print(output, sim.json, &text, table)
}

fn merge_command(dirs: &[PathBuf], out: Option<PathBuf>, json: bool) -> Result<(), Failure> {
    use ecxsim::merge::{self, Merged};
    let inputs = merge::gather(dirs).map_err(Failure::input)?;
    let first = &inputs[0].partial;
    let default = match first.command {
        // As `run` checked it: one folder name, inside results/.
        partial::Command::Run => first
            .points
            .first()
            .and_then(|p| p.scenarios.first())
            .map(|s| s.label.name.clone())
            .filter(|n| !n.contains(['/', '\\']) && n != "." && n != ".." && !n.is_empty())
            .unwrap_or_else(|| "run".to_string()),
        partial::Command::Compare => "compare".to_string(),
        partial::Command::Sweep => "sweep".to_string(),
    };
    let target = output_path(out, &default);
    if let Ok(real) = std::fs::canonicalize(&target) {
        if let Some(input) = inputs
            .iter()
            .find(|i| std::fs::canonicalize(&i.dir).is_ok_and(|d| d == real))
        {
            return Err(Failure::input(format!(
                "--out {} is the partial result {}: merge into another folder",
                target.display(),
                input.dir.display()
            )));
        }
    }
    let output = begin_output(Some(target), &default)?;
    let (dir, shown) = (output.dir(), output.target().display());
    let totals = merge::fold(&inputs).map_err(Failure::input)?;
    let cannot_write = |e: std::io::Error| Failure::input(format!("cannot write to {shown}: {e}"));
    let (text, table) = match merge::reports(first, &totals) {
        Merged::Run(report) => {
            merge::concatenate(&inputs, "replications.csv", dir).map_err(Failure::input)?;
            if first.outages {
                merge::concatenate(&inputs, "outages.csv", dir).map_err(Failure::input)?;
            }
            let text = sets::run_files(dir, &report).map_err(cannot_write)?;
            (text, table::render(&report))
        }
        Merged::Compare(report) => (
            sets::compare_files(dir, &report).map_err(cannot_write)?,
            ecxsim::report::compare_table::render(&report),
        ),
        Merged::Sweep(report) => (
            sets::sweep_files(dir, &report).map_err(cannot_write)?,
            ecxsim::report::sweep_table::render(&report),
        ),
    };
    publish_and_print(output, json, &text, table)
}

fn analytic_command(path: &Path, json: bool) -> Result<(), Failure> {
    let scenario = load_warned(path)?;
    let report = ecxsim::analysis::exact::exact_report(&scenario)
        .map_err(|e| Failure::input(e.located(path)))?;
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

fn parse_control(name: &str) -> Result<ControlVariant, Failure> {
    scenario::control_variant(name).ok_or_else(|| {
        Failure::input(format!(
            "unknown control {name:?}; expected one of: {}",
            scenario::CONTROL_NAMES
        ))
    })
}

/// Every *.toml under the given files and folders, in a stable order.
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut stack = vec![path.clone()];
            while let Some(dir) = stack.pop() {
                let entries = std::fs::read_dir(&dir)
                    .map_err(|e| Failure::input(format!("cannot read {}: {e}", dir.display())))?;
                for entry in entries.flatten() {
                    let p = entry.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|e| e == "toml") {
                        files.push(p);
                    }
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    Ok(files)
}

fn test_command(paths: &[PathBuf], control: Option<&str>, trace: bool) -> Result<(), Failure> {
    let control = control.map(parse_control).transpose()?;
    let (mut passed, mut failed, mut tests) = (0, 0, 0);
    for path in scenario_files(paths)? {
        let scenario = load(&path)?;
        if !scenario.is_test() {
            continue;
        }
        tests += 1;
        if let Some(warning) = ecxsim::workload::test_warning(&scenario) {
            eprintln!("warning: {}: {warning}", path.display());
        }
        let mut scenario = scenario;
        if let Some(variant) = &control {
            scenario.control = variant.clone();
        }
        for replication in 0..scenario.simulation.replications {
            let run = ecxsim::model::scripted::run_test(&scenario, replication, true);
            let ok = run.all_expectations_passed();
            println!(
                "{} {} (replication {replication})",
                if ok { "ok  " } else { "FAIL" },
                path.display()
            );
            let mut text = String::new();
            test_report::render(&run, &mut text);
            print!("{text}");
            if trace && !ok {
                println!("  timeline:");
                print!("{}", run.timeline());
            }
            let n = run.expectations.iter().filter(|e| e.passed).count();
            passed += n;
            failed += run.expectations.len() - n;
        }
    }
    if tests == 0 {
        return Err(Failure::input("no scenario with [[expect]] found"));
    }
    println!("\n{tests} scenarios; expectations: {passed} passed, {failed} failed");
    if failed > 0 {
        return Err(Failure {
            code: 1,
            message: format!("{failed} expectations failed"),
        });
    }
    Ok(())
}

/// Offsets beyond a day, more than 10,000 offsets or 10^8 runs in all are refused: they
/// would not fit the clock, or would run for days, before anything is written.
fn check_race_options(config: &SweepConfig) -> Result<(), Failure> {
    const MAX_OFFSET_S: f64 = 86_400.0;
    const MAX_OFFSETS: f64 = 10_000.0;
    const MAX_RUNS: f64 = 1e8;
    let (from, to, step) = (
        config.offset_min_s,
        config.offset_max_s,
        config.offset_step_s,
    );
    for (option, value) in [("--from", from), ("--to", to), ("--step", step)] {
        if !value.is_finite() {
            return Err(Failure::input(format!(
                "{option} must be a finite number of seconds, found {value}"
            )));
        }
    }
    if from.abs() > MAX_OFFSET_S || to.abs() > MAX_OFFSET_S {
        return Err(Failure::input(
            "--from and --to must lie within -86400 and 86400 seconds (a day)",
        ));
    }
    if step <= 0.0 || to < from || config.runs_per_offset == 0 || config.max_states == 0 {
        return Err(Failure::input(
            "expected --step > 0, --from <= --to, --runs >= 1 and --max-states >= 1",
        ));
    }
    let offsets = ((to - from) / step).floor() + 1.0;
    if offsets > MAX_OFFSETS {
        return Err(Failure::input(format!(
            "--from {from} --to {to} --step {step} give {offsets:.0} offsets; at most 10000"
        )));
    }
    if offsets * config.runs_per_offset as f64 > MAX_RUNS {
        return Err(Failure::input(format!(
            "--runs {} at {offsets:.0} offsets is more than 10^8 runs in all",
            config.runs_per_offset
        )));
    }
    Ok(())
}

fn race_command(
    path: &Path,
    control: Option<&str>,
    config: SweepConfig,
    out: Option<PathBuf>,
    json: bool,
) -> Result<(), Failure> {
    let scenario = load(path)?;
    if scenario.vms.is_empty() {
        return Err(Failure::input(format!(
            "{}: a race needs a [[vm]] replicated between two clusters",
            path.display()
        )));
    }
    check_race_options(&config)?;
    let out = output_path(out, &scenario.name);
    Publication::check(&out).map_err(Failure::input)?;
    let variants = match control {
        None => vec![scenario.control.clone()],
        Some(list) => list
            .split(',')
            .map(|n| parse_control(n.trim()))
            .collect::<Result<_, _>>()?,
    };
    eprintln!("{}", race_report::what_is_raced(&scenario));
    let sweeps = 1 + if config.sensitivity {
        SENSITIVITY_SWEEPS
    } else {
        0
    };
    let runs = config.offsets().len() as u64 * config.runs_per_offset * sweeps;
    let progress = TerminalProgress::new(
        runs * variants.len() as u64,
        config.exhaustive.then_some(config.max_states),
    );
    let base = &scenario;
    let reports: Vec<SweepReport> = variants
        .into_iter()
        .map(|variant| {
            let mut sc = base.clone();
            sc.control = variant;
            sweep(&sc, &config, &progress)
        })
        .collect();
    progress.finish();
    let output = begin_output(Some(out), &scenario.name)?;
    let (dir, shown) = (output.dir(), output.target().display());
    race_report::write_csv(&dir.join("race.csv"), &reports)
        .map_err(|e| Failure::input(format!("cannot write race.csv in {shown}: {e}")))?;
    let text = if reports.len() == 1 {
        serde_json::to_string_pretty(&reports[0])
    } else {
        serde_json::to_string_pretty(&reports)
    }
    .expect("reports serialise")
        + "\n";
    atomic::write(&dir.join("race.json"), text.as_bytes())
        .map_err(|e| Failure::input(format!("cannot write to {shown}: {e}")))?;
    outputs::race_outputs(dir, &format!("ecxsim race: {}", scenario.name), &reports)
        .map_err(|e| Failure::input(format!("cannot write the charts to {shown}: {e}")))?;
    let csv_path = publish(output)?.join("race.csv");
    if json {
        print!("{text}");
    } else {
        for report in &reports {
            println!("{}", race_report::render(report));
        }
        println!("wrote {}", csv_path.display());
    }
    Ok(())
}

fn validate_command(paths: &[PathBuf]) -> Result<(), Failure> {
    let mut failed = 0;
    // Folders are searched for *.toml, as `test` does.
    let paths = scenario_files(paths)?;
    for path in &paths {
        match scenario::load(path).map(warned) {
            Ok(s) => println!(
                "{}: ok ({} clusters, {} services, {} VMs)",
                path.display(),
                s.clusters.len(),
                s.services.len(),
                s.vms.len()
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
