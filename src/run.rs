//! Runs a scenario's replications in parallel and reduces them in index order.
//!
//! Replications are processed in fixed-size chunks: each chunk runs on the thread pool, then its
//! results are handed, in index order, to the caller and to the accumulators. Memory is bounded
//! by the chunk size, not by the number of replications, and the result is bit-identical for
//! any number of threads.

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

/// Runs every replication; `sink` sees each result in index order (for streaming CSV output)
/// and may fail (e.g. a full disk), which stops the run.
pub fn run(
    scenario: &Scenario,
    options: &RunOptions,
    mut sink: impl FnMut(&ReplicationResult) -> std::io::Result<()>,
) -> Result<Report, RunError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = options.threads {
        builder = builder.num_threads(threads);
    }
    let pool = builder.build().map_err(|source| RunError::ThreadPool {
        threads: options.threads.unwrap_or(0),
        source,
    })?;
    let mut accumulators = vec![ServiceAccumulator::default(); scenario.services.len()];
    let mut start = 0;
    while start < options.replications {
        let end = (start + CHUNK).min(options.replications);
        let results: Vec<ReplicationResult> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|i| simulate_replication(scenario, options.seed, i, options.keep_outages))
                .collect()
        });
        for result in &results {
            for (acc, service) in accumulators.iter_mut().zip(&result.services) {
                acc.push(&service.totals);
            }
            sink(result)?;
        }
        start = end;
    }
    Ok(Report {
        scenario: scenario.name.clone(),
        method: "simulation".to_string(),
        seed: options.seed,
        replications: options.replications,
        horizon_hours: hours(scenario.simulation.horizon),
        warmup_hours: hours(scenario.simulation.warmup),
        services: scenario
            .services
            .iter()
            .zip(&accumulators)
            .map(|(s, acc)| (s.name.clone(), acc.report()))
            .collect(),
    })
}
