//! Runs scenarios' replications in parallel and reduces them in index order.
//!
//! Replications are processed in fixed-size chunks: each chunk runs on the thread pool, then its
//! results are handed, in index order, to the caller and to the accumulators. Memory is bounded
//! by the chunk size, not by the number of replications, and the result is bit-identical for
//! any number of threads. Several scenarios run on the same replication indices and seed, so
//! components with the same name draw the same times in each (common random numbers), and
//! their differences are estimated pairwise, replication by replication.

use rayon::prelude::*;

use crate::analysis::summary::{Report, ServiceAccumulator};
use crate::model::{simulate_replication, ReplicationResult};
use crate::scenario::Scenario;
use crate::time::hours;

/// Replications per parallel chunk: enough to keep two to a few dozen cores busy, small enough
/// that a chunk's results (with outage records) stay a few megabytes.
pub const CHUNK: u64 = 1024;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub replications: u64,
    pub seed: u64,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    pub keep_outages: bool,
}

impl RunOptions {
    pub fn from_scenario(scenario: &Scenario) -> RunOptions {
        RunOptions {
            replications: scenario.simulation.replications,
            seed: scenario.simulation.seed,
            threads: None,
            keep_outages: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start {threads} worker threads: {source}")]
    ThreadPool {
        threads: usize,
        source: rayon::ThreadPoolBuildError,
    },
    #[error("{0}")]
    Sink(#[from] std::io::Error),
}

/// The names of a scenario's reported services, in report order: its `[[service]]` entries,
/// then its VMs.
pub fn service_names(scenario: &Scenario) -> Vec<String> {
    scenario
        .services
        .iter()
        .map(|s| s.name.clone())
        .chain(scenario.vms.iter().map(|v| v.name.clone()))
        .collect()
}

/// Runs every scenario on replications `0..options.replications` with one seed; `sink` sees,
/// in index order, each replication's results (one per scenario), and may fail (a full disk),
/// which stops the run.
pub fn run_together(
    scenarios: &[&Scenario],
    options: &RunOptions,
    mut sink: impl FnMut(&[ReplicationResult]) -> std::io::Result<()>,
) -> Result<(), RunError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = options.threads {
        builder = builder.num_threads(threads);
    }
    let pool = builder.build().map_err(|source| RunError::ThreadPool {
        threads: options.threads.unwrap_or(0),
        source,
    })?;
    let mut start = 0;
    while start < options.replications {
        let end = (start + CHUNK).min(options.replications);
        let results: Vec<Vec<ReplicationResult>> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|i| {
                    scenarios
                        .iter()
                        .map(|s| simulate_replication(s, options.seed, i, options.keep_outages))
                        .collect()
                })
                .collect()
        });
        for result in &results {
            sink(result)?;
        }
        start = end;
    }
    Ok(())
}

/// The per-service accumulators of one scenario, fed replication by replication.
pub struct ScenarioAccumulator {
    services: Vec<(String, ServiceAccumulator)>,
}

impl ScenarioAccumulator {
    pub fn new(scenario: &Scenario) -> ScenarioAccumulator {
        ScenarioAccumulator {
            services: service_names(scenario)
                .into_iter()
                .map(|n| (n, ServiceAccumulator::default()))
                .collect(),
        }
    }

    pub fn push(&mut self, result: &ReplicationResult) {
        for ((_, acc), service) in self.services.iter_mut().zip(&result.services) {
            acc.push(service);
        }
    }

    pub fn report(&self, scenario: &Scenario, options: &RunOptions) -> Report {
        Report {
            scenario: scenario.name.clone(),
            method: "simulation".to_string(),
            seed: options.seed,
            replications: options.replications,
            horizon_hours: hours(scenario.simulation.horizon),
            warmup_hours: hours(scenario.simulation.warmup),
            services: self
                .services
                .iter()
                .map(|(name, acc)| (name.clone(), acc.report()))
                .collect(),
            data_loss_seconds: self
                .services
                .iter()
                .map(|(name, acc)| (name.clone(), acc.data_loss_curve()))
                .filter(|(_, curve)| curve.failovers > 0)
                .collect(),
        }
    }
}

/// Runs one scenario; `sink` sees each replication's result in index order (for streaming
/// CSV output).
pub fn run(
    scenario: &Scenario,
    options: &RunOptions,
    mut sink: impl FnMut(&ReplicationResult) -> std::io::Result<()>,
) -> Result<Report, RunError> {
    let mut acc = ScenarioAccumulator::new(scenario);
    run_together(&[scenario], options, |results| {
        acc.push(&results[0]);
        sink(&results[0])
    })?;
    Ok(acc.report(scenario, options))
}
