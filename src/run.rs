//! Runs scenarios' replications in parallel and reduces them in index order.
//!
//! Worker threads simulate replications and hand their results, in index order, to the caller
//! and to the accumulators as soon as each is ready. Memory is bounded by a window of a few
//! replications per thread, not by the number of replications, and the result is
//! bit-identical for any number of threads. Several scenarios run on the same replication indices and seed, so
//! components with the same name draw the same times in each (common random numbers), and
//! their differences are estimated pairwise, replication by replication.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::interrupt::{self, Signal};

use crate::analysis::cost::{CostAccumulator, CostModel};
use crate::analysis::summary::{Report, ServiceAccumulator, SlaReport};
use crate::model::{simulate_replication, ReplicationResult};
use crate::scenario::{Scenario, Sla};
use crate::time::{hours, Micros};

/// Replications in a chunk: the unit of reduction and of sharding. Each chunk's replications
/// are accumulated on their own, and the chunks' accumulators merged in chunk order, so that a
/// run split into shards of whole chunks and merged afterwards gives the same bits as one run.
/// Runs of a few chunks are too short for a progress bar.
pub const CHUNK: u64 = 1024;

/// How many chunks `replications` make (the last one may be short).
pub fn chunk_count(replications: u64) -> u64 {
    replications.div_ceil(CHUNK)
}

/// The replication indices of chunks `chunks` of a run of `replications`.
pub fn chunk_replications(chunks: &Range<u64>, replications: u64) -> Range<u64> {
    let at = |chunk: u64| chunk.saturating_mul(CHUNK).min(replications);
    at(chunks.start)..at(chunks.end)
}

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
    Threads {
        threads: usize,
        source: std::io::Error,
    },
    #[error("{0}")]
    Sink(#[from] std::io::Error),
    #[error("interrupted by {}", .0.name())]
    Interrupted(Signal),
    /// A worker thread stopped without a result (it panicked; the panic follows).
    #[error("a worker thread failed")]
    WorkerFailed,
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
/// which stops the run. A termination signal (see `interrupt`) stops it too, within one
/// replication per worker.
///
/// Workers take the next index as they become free and hand finished results to the calling
/// thread, which passes them on in index order as soon as the next one is ready: output is
/// streamed while the simulation goes on. A worker waits rather than run more than `window`
/// replications ahead of the sink, so at most `window` results (with their outage records)
/// are held at any time, whatever the number of replications.
///
/// Workers take whole batches of consecutive indices and hand each over at once: one
/// hand-over (a lock and a wake-up of the sink's thread) per replication would cost more
/// than a short replication itself.
pub fn run_together(
    scenarios: &[&Scenario],
    options: &RunOptions,
    sink: impl FnMut(&[ReplicationResult]) -> std::io::Result<()>,
) -> Result<(), RunError> {
    run_range(scenarios, options, 0..options.replications, sink)
}

/// `run_together` on the replication indices `indices` only (a shard's).
fn run_range(
    scenarios: &[&Scenario],
    options: &RunOptions,
    indices: Range<u64>,
    mut sink: impl FnMut(&[ReplicationResult]) -> std::io::Result<()>,
) -> Result<(), RunError> {
    let threads = options.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let batch = batch_size(options, threads, indices.end - indices.start);
    let pipeline = Pipeline::new(indices, batch, (2 * threads as u64 + 2) * batch);
    std::thread::scope(|scope| {
        for n in 0..threads {
            let pipeline = &pipeline;
            std::thread::Builder::new()
                .name(format!("replications-{n}"))
                .spawn_scoped(scope, move || {
                    pipeline.work(|i| {
                        scenarios
                            .iter()
                            .map(|s| simulate_replication(s, options.seed, i, options.keep_outages))
                            .collect()
                    })
                })
                .map_err(|source| {
                    pipeline.stop();
                    RunError::Threads { threads, source }
                })?;
        }
        let consumed = pipeline.consume(|results| sink(&results));
        pipeline.stop();
        consumed
    })
}

/// Replications a worker simulates before handing them over: enough that a hand-over is
/// rare next to the work, few enough that every thread gets several batches. One when the
/// outage records are kept, which can be many per replication.
fn batch_size(options: &RunOptions, threads: usize, replications: u64) -> u64 {
    if options.keep_outages {
        1
    } else {
        (replications / (8 * threads.max(1) as u64)).clamp(1, 64)
    }
}

/// The hand-over between the workers and the in-order sink of `run_together`.
struct Pipeline {
    /// The replication indices to run.
    indices: Range<u64>,
    /// Consecutive indices a worker takes at once.
    batch: u64,
    /// How far (in replications) a worker may run ahead of the sink.
    window: u64,
    /// The next index a worker takes.
    next: AtomicU64,
    /// Set on a failure, an interruption or a panicking worker: everyone stops.
    stopped: AtomicBool,
    state: Mutex<Handover>,
    changed: Condvar,
}

struct Handover {
    /// Finished batches not yet passed to the sink, by their first index.
    ready: BTreeMap<u64, Vec<Vec<ReplicationResult>>>,
    /// Results passed to the sink so far (the index the sink needs next).
    consumed: u64,
}

/// How often a waiting thread looks for a termination signal (handlers cannot wake it).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

impl Pipeline {
    fn new(indices: Range<u64>, batch: u64, window: u64) -> Pipeline {
        Pipeline {
            batch,
            next: AtomicU64::new(indices.start),
            stopped: AtomicBool::new(false),
            state: Mutex::new(Handover {
                ready: BTreeMap::new(),
                consumed: indices.start,
            }),
            indices,
            window,
            changed: Condvar::new(),
        }
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.changed.notify_all();
    }

    fn should_stop(&self) -> bool {
        if interrupt::received().is_some() {
            self.stop();
        }
        self.stopped.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, Handover> {
        // A worker that panicked holding the lock has stopped the run; the state is still
        // consistent (every change is a single insert or remove).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker's loop: simulate the next free batch, hand its results over.
    fn work(&self, simulate: impl Fn(u64) -> Vec<ReplicationResult>) {
        // A panicking worker stops the others and the sink (the panic surfaces when the
        // scope joins the threads).
        struct StopOnPanic<'p>(&'p Pipeline);
        impl Drop for StopOnPanic<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.stop();
                }
            }
        }
        let _guard = StopOnPanic(self);
        loop {
            let first = self.next.fetch_add(self.batch, Ordering::SeqCst);
            if first >= self.indices.end {
                return;
            }
            let end = (first + self.batch).min(self.indices.end);
            let mut state = self.lock();
            while first >= state.consumed + self.window {
                if self.should_stop() {
                    return;
                }
                state = self
                    .changed
                    .wait_timeout(state, SIGNAL_POLL)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            drop(state);
            let mut batch = Vec::with_capacity((end - first) as usize);
            for i in first..end {
                if self.should_stop() {
                    return;
                }
                batch.push(simulate(i));
            }
            self.lock().ready.insert(first, batch);
            self.changed.notify_all();
        }
    }

    /// The calling thread's loop: passes results to `sink` in index order.
    fn consume(
        &self,
        mut sink: impl FnMut(Vec<ReplicationResult>) -> std::io::Result<()>,
    ) -> Result<(), RunError> {
        let mut next = self.indices.start;
        while next < self.indices.end {
            let mut state = self.lock();
            let batch = loop {
                if let Some(batch) = state.ready.remove(&next) {
                    break batch;
                }
                if self.should_stop() {
                    return Err(match interrupt::received() {
                        Some(signal) => RunError::Interrupted(signal),
                        None => RunError::WorkerFailed,
                    });
                }
                state = self
                    .changed
                    .wait_timeout(state, SIGNAL_POLL)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            };
            drop(state);
            next += batch.len() as u64;
            for results in batch {
                if let Err(e) = sink(results) {
                    self.stop();
                    return Err(RunError::Sink(e));
                }
            }
            self.lock().consumed = next;
            self.changed.notify_all();
        }
        Ok(())
    }
}

/// Runs the replications of chunks `chunks` (see `CHUNK`) in index order: `push` feeds each
/// replication's results to the current chunk's accumulator (a fresh copy of `empty`), and
/// `chunk_done` receives each chunk's accumulator as soon as its last replication is in. A
/// whole run merges them in chunk order (`run_folded`); a shard writes them out for
/// `ecxsim merge`, which merges them in the same order.
pub fn run_in_chunks<A: Clone>(
    scenarios: &[&Scenario],
    options: &RunOptions,
    chunks: Range<u64>,
    empty: &A,
    mut push: impl FnMut(&mut A, &[ReplicationResult]) -> std::io::Result<()>,
    mut chunk_done: impl FnMut(u64, A) -> std::io::Result<()>,
) -> Result<(), RunError> {
    let indices = chunk_replications(&chunks, options.replications);
    let last = indices.end;
    let mut current = empty.clone();
    run_range(scenarios, options, indices, |results| {
        push(&mut current, results)?;
        let index = results.first().map_or(0, |r| r.index);
        if (index + 1) % CHUNK == 0 || index + 1 == last {
            chunk_done(
                index / CHUNK,
                std::mem::replace(&mut current, empty.clone()),
            )?;
        }
        Ok(())
    })
}

/// Accumulators that chunks are merged into, in chunk order.
pub trait Merge {
    /// Adds what `later` accumulated, as if it had been pushed after this.
    fn merge(&mut self, later: &Self);
}

/// Adds `chunk` to the total of the chunks before it; the first chunk is taken as it is. A
/// whole run and `ecxsim merge` both reduce through this, in chunk order.
pub fn fold_chunk<A: Merge>(total: &mut Option<A>, chunk: A) {
    match total {
        Some(total) => total.merge(&chunk),
        None => *total = Some(chunk),
    }
}

/// A whole run reduced chunk by chunk: each chunk accumulated from `empty`, the chunks folded
/// in chunk order (`empty` itself for a run of no replications).
pub fn run_folded<A: Clone + Merge>(
    scenarios: &[&Scenario],
    options: &RunOptions,
    empty: A,
    push: impl FnMut(&mut A, &[ReplicationResult]) -> std::io::Result<()>,
) -> Result<A, RunError> {
    let mut total = None;
    let chunks = 0..chunk_count(options.replications);
    run_in_chunks(scenarios, options, chunks, &empty, push, |_, chunk| {
        fold_chunk(&mut total, chunk);
        Ok(())
    })?;
    Ok(total.unwrap_or(empty))
}

/// What a report says about the scenario it comes from, besides the numbers: kept in a partial
/// result of a sharded run, so that the merge can write the report without the scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioLabel {
    pub name: String,
    pub horizon: Micros,
    pub warmup: Micros,
    pub sla: Option<Sla>,
}

impl ScenarioLabel {
    pub fn of(scenario: &Scenario) -> ScenarioLabel {
        ScenarioLabel {
            name: scenario.name.clone(),
            horizon: scenario.simulation.horizon,
            warmup: scenario.simulation.warmup,
            sla: scenario.sla,
        }
    }
}

/// The per-service accumulators of one scenario, fed replication by replication, and its
/// yearly cost when it has a `[cost]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioAccumulator {
    services: Vec<(String, ServiceAccumulator)>,
    cost: Option<(CostModel, CostAccumulator)>,
}

impl ScenarioAccumulator {
    pub fn new(scenario: &Scenario) -> ScenarioAccumulator {
        let sla = scenario.sla.map(|s| s.downtime);
        ScenarioAccumulator {
            services: service_names(scenario)
                .into_iter()
                .map(|n| (n, ServiceAccumulator::with_sla(sla)))
                .collect(),
            cost: CostModel::of(scenario).map(|m| {
                let acc = CostAccumulator::new(&m);
                (m, acc)
            }),
        }
    }

    pub fn push(&mut self, result: &ReplicationResult) {
        for ((_, acc), service) in self.services.iter_mut().zip(&result.services) {
            acc.push(service);
        }
        if let Some((model, acc)) = self.cost.as_mut() {
            acc.push(&model.yearly(result));
        }
    }

    /// The names of the services, in report order.
    pub fn service_names(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|(name, _)| name.as_str())
    }

    pub fn report(&self, scenario: &ScenarioLabel, options: &RunOptions) -> Report {
        Report {
            scenario: scenario.name.clone(),
            method: "simulation".to_string(),
            seed: options.seed,
            replications: options.replications,
            horizon_hours: hours(scenario.horizon),
            warmup_hours: hours(scenario.warmup),
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
            yearly_downtime_minutes: self
                .services
                .iter()
                .map(|(name, acc)| (name.clone(), acc.yearly_downtime_curve()))
                .filter(|(_, curve)| !curve.is_empty())
                .collect(),
            sla: scenario.sla.as_ref().map(SlaReport::of),
            cost: self.cost.as_ref().map(|(_, acc)| acc.report()),
        }
    }
}

impl Merge for ScenarioAccumulator {
    fn merge(&mut self, later: &ScenarioAccumulator) {
        for ((_, acc), (_, more)) in self.services.iter_mut().zip(&later.services) {
            acc.merge(more);
        }
        if let (Some((_, acc)), Some((_, more))) = (self.cost.as_mut(), later.cost.as_ref()) {
            acc.merge(more);
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
    let acc = run_folded(
        &[scenario],
        options,
        ScenarioAccumulator::new(scenario),
        |acc, results| {
            acc.push(&results[0]);
            sink(&results[0])
        },
    )?;
    Ok(acc.report(&ScenarioLabel::of(scenario), options))
}
