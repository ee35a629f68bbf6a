//! Random exploration of the race over crash offsets and seeds.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::exhaustive::{exhaustive, ExhaustiveReport};
use super::sensitivity::{sensitivity, SensitivityPoint};
use crate::analysis::binomial::clopper_pearson_95;
use crate::model::cluster_set::World;
use crate::model::scripted::scripted_faults;
use crate::scenario::Scenario;
use crate::time::{from_seconds, seconds, Micros, MICROS_PER_MINUTE};
use crate::world::{EndState, Fault, Inject};

#[derive(Debug, Clone, PartialEq)]
pub struct SweepConfig {
    /// Offsets of the replica cluster's crash after the primary cluster's, in seconds.
    pub offset_min_s: f64,
    pub offset_max_s: f64,
    pub offset_step_s: f64,
    pub runs_per_offset: u64,
    /// When the first crash happens (the world is healthy before).
    pub first_crash_at: Micros,
    /// How long after the later crash things may settle before the end state is judged.
    pub settle: Micros,
    /// Also run the exhaustive enumeration.
    pub exhaustive: bool,
    /// The exhaustive enumeration stops, without a count, past this many distinct states.
    pub max_states: usize,
    /// Also sweep each mock assumption at its plausible extremes (`sensitivity`).
    pub sensitivity: bool,
}

/// The default state budget: about half a minute of the enumeration on one core (a single
/// VM's race takes about 10,000 states; each further VM multiplies them).
pub const DEFAULT_MAX_STATES: usize = 100_000;

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            offset_min_s: -120.0,
            offset_max_s: 120.0,
            offset_step_s: 10.0,
            runs_per_offset: 100,
            first_crash_at: 5 * MICROS_PER_MINUTE,
            settle: 60 * MICROS_PER_MINUTE,
            exhaustive: true,
            max_states: DEFAULT_MAX_STATES,
            sensitivity: true,
        }
    }
}

impl SweepConfig {
    pub fn offsets(&self) -> Vec<f64> {
        if self.offset_step_s <= 0.0 || self.offset_max_s < self.offset_min_s {
            return vec![self.offset_min_s];
        }
        let n =
            ((self.offset_max_s - self.offset_min_s) / self.offset_step_s + 1e-9).floor() as u64;
        (0..=n)
            .map(|i| self.offset_min_s + i as f64 * self.offset_step_s)
            .collect()
    }
}

/// Results at one offset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OffsetResult {
    pub offset_s: f64,
    pub runs: u64,
    pub broken: u64,
    /// Clopper-Pearson 95% interval of the broken share `broken / runs`.
    pub broken_ci95: [f64; 2],
    pub end_states: BTreeMap<String, u64>,
    /// Mean time from the primary cluster's crash until the VM ran again.
    pub mean_vm_restore_s: Option<f64>,
    /// Mean time from the later crash until replication was healthy for good.
    pub mean_time_to_healthy_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    pub control: String,
    /// The VMs raced: those replicated between the two crashed clusters, either way.
    pub vms: Vec<String>,
    /// The two servers that crash: the active servers of the first VM's primary and replica
    /// clusters.
    pub crashed: [String; 2],
    pub offsets: Vec<OffsetResult>,
    pub runs: u64,
    /// Runs in which some raced VM ended with replication broken.
    pub broken: u64,
    pub broken_ci95: [f64; 2],
    pub mean_vm_restore_s: Option<f64>,
    pub mean_time_to_healthy_s: Option<f64>,
    /// The broken share with each mock assumption at its plausible extremes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sensitivity: Vec<SensitivityPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exhaustive: Option<ExhaustiveReport>,
}

/// Counts progress: called once per sweep run, and once per distinct state of the
/// exhaustive enumeration.
pub trait Progress: Sync {
    fn run_done(&self) {}
    fn state_seen(&self) {}
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {}

/// The VMs a double failover of `base`'s first VM's two clusters races, in scenario order:
/// every VM replicated between those two clusters, either way.
pub fn raced_vms(base: &Scenario) -> Vec<usize> {
    let Some(first) = base.vms.first() else {
        return vec![];
    };
    let pair = [first.cluster, first.replica_cluster];
    (0..base.vms.len())
        .filter(|&v| {
            let vm = &base.vms[v];
            pair.contains(&vm.cluster) && pair.contains(&vm.replica_cluster)
        })
        .collect()
}

/// The servers that crash: the active (first) servers of the first VM's two clusters.
pub fn crashed_servers(base: &Scenario) -> Option<[String; 2]> {
    let vm = base.vms.first()?;
    Some([
        base.clusters[vm.cluster].servers[0].clone(),
        base.clusters[vm.replica_cluster].servers[0].clone(),
    ])
}

/// How a run ends: the first raced VM (in scenario order) whose replication is not healthy
/// decides it, healthy if none.
pub(super) fn run_end_state(raced: &[usize], state_of: impl Fn(usize) -> EndState) -> EndState {
    raced
        .iter()
        .map(|&v| state_of(v))
        .find(|s| *s != EndState::Healthy)
        .unwrap_or(EndState::Healthy)
}

/// The scenario a race runs on: the base's clusters, VMs, control logic and call timings,
/// with nothing failing but the race's own crashes (no random failures, fault domains,
/// master or witness), no one repairing what the scripts leave broken, and no injects or
/// expectations of its own.
pub fn race_base(scenario: &Scenario) -> Scenario {
    let mut sc = scenario.clone();
    for c in &mut sc.clusters {
        c.server_ttf = None;
        c.server_ttr = None;
        c.shared_disk = None;
        c.interconnect = None;
    }
    sc.witness = None;
    sc.master = None;
    sc.fault_domains.clear();
    sc.operations.staffed = false;
    sc.injects.clear();
    sc.expects.clear();
    sc.simulation.warmup = 0;
    sc
}

/// `base` with the active (first) servers of VM 0's primary and replica clusters crashing at
/// `first_crash_at` and `first_crash_at + offset` (a negative offset: the replica first).
pub fn double_failover(
    base: &Scenario,
    first_crash_at: Micros,
    offset_s: f64,
    settle: Micros,
) -> Scenario {
    let mut sc = base.clone();
    let Some([p, r]) = crashed_servers(&sc) else {
        return sc;
    };
    let shift = from_seconds(offset_s.abs());
    let (at_p, at_r) = if offset_s >= 0.0 {
        (first_crash_at, first_crash_at + shift)
    } else {
        (first_crash_at + shift, first_crash_at)
    };
    sc.injects.push(Inject {
        at: at_p,
        fault: Fault::ServerCrash { server: p },
    });
    sc.injects.push(Inject {
        at: at_r,
        fault: Fault::ServerCrash { server: r },
    });
    sc.injects.sort_by_key(|i| i.at);
    sc.simulation.horizon = at_p.max(at_r) + settle;
    sc
}

struct RunSummary {
    end_state: EndState,
    vm_restore: Option<Micros>,
    to_healthy: Option<Micros>,
}

fn mean(values: impl Iterator<Item = Micros>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u64), |(s, n), v| (s + seconds(v), n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Sweeps the offset between the two crashes; parallel, reduced in index order, so the
/// report does not depend on the number of threads. Then, if asked, the same sweep with each
/// mock assumption at its extremes, and the exhaustive enumeration.
pub fn sweep(base: &Scenario, cfg: &SweepConfig, progress: &dyn Progress) -> SweepReport {
    let mut report = sweep_offsets(base, cfg, progress);
    if cfg.sensitivity {
        report.sensitivity = sensitivity(base, |variant| {
            let r = sweep_offsets(variant, cfg, progress);
            (r.runs, r.broken)
        });
    }
    report.exhaustive = cfg
        .exhaustive
        .then(|| exhaustive(&race_base(base), cfg.max_states, progress));
    report
}

/// Runs the sweep proper (no sensitivity, no exhaustive enumeration).
fn sweep_offsets(base: &Scenario, cfg: &SweepConfig, progress: &dyn Progress) -> SweepReport {
    let raced = raced_vms(base);
    let crashed = crashed_servers(base).unwrap_or_default();
    let base = &race_base(base);
    let offsets = cfg.offsets();
    let jobs: Vec<(usize, u64)> = (0..offsets.len())
        .flat_map(|i| (0..cfg.runs_per_offset).map(move |k| (i, k)))
        .collect();
    let summaries: Vec<RunSummary> = jobs
        .par_iter()
        .map(|&(i, k)| {
            let sc = double_failover(base, cfg.first_crash_at, offsets[i], cfg.settle);
            let faults = scripted_faults(&sc);
            let mut world = World::new(&sc, sc.simulation.seed, k, false, &faults);
            world.record(false);
            world.run_to_horizon();
            let end_state = run_end_state(&raced, |v| world.end_state(v));
            let (_, records) = world.finish(k);
            let first = sc.injects.iter().map(|j| j.at).min().unwrap_or(0);
            let last = sc.injects.iter().map(|j| j.at).max().unwrap_or(0);
            let primary_crash = if offsets[i] >= 0.0 { first } else { last };
            // The latest of the raced VMs: the time until every one of them is back.
            let latest = |after: Micros, since: &dyn Fn(usize) -> Option<Micros>| {
                raced
                    .iter()
                    .map(|&v| since(v).map(|t| t - after))
                    .collect::<Option<Vec<_>>>()
                    .and_then(|ts| ts.into_iter().max())
            };
            let summary = RunSummary {
                end_state,
                vm_restore: latest(primary_crash, &|v| {
                    records.history[v].available_again_after(primary_crash)
                }),
                to_healthy: latest(last, &|v| records.history[v].healthy_since(last)),
            };
            progress.run_done();
            summary
        })
        .collect();
    let per = cfg.runs_per_offset as usize;
    let mut results = vec![];
    for (i, offset_s) in offsets.iter().enumerate() {
        let chunk = &summaries[i * per..(i + 1) * per];
        let mut end_states = BTreeMap::new();
        for s in chunk {
            *end_states.entry(s.end_state.name()).or_insert(0) += 1;
        }
        let broken = chunk
            .iter()
            .filter(|s| s.end_state != EndState::Healthy)
            .count() as u64;
        results.push(OffsetResult {
            offset_s: *offset_s,
            runs: chunk.len() as u64,
            broken,
            broken_ci95: clopper_pearson_95(broken, chunk.len() as u64),
            end_states,
            mean_vm_restore_s: mean(chunk.iter().filter_map(|s| s.vm_restore)),
            mean_time_to_healthy_s: mean(chunk.iter().filter_map(|s| s.to_healthy)),
        });
    }
    let runs = summaries.len() as u64;
    let broken = results.iter().map(|r| r.broken).sum();
    SweepReport {
        control: match base.control {
            crate::control::ControlVariant::AsShipped => "as-shipped".into(),
            crate::control::ControlVariant::Coordinated(_) => "coordinated".into(),
        },
        vms: raced.iter().map(|&v| base.vms[v].name.clone()).collect(),
        crashed,
        runs,
        broken,
        broken_ci95: clopper_pearson_95(broken, runs),
        mean_vm_restore_s: mean(summaries.iter().filter_map(|s| s.vm_restore)),
        mean_time_to_healthy_s: mean(summaries.iter().filter_map(|s| s.to_healthy)),
        offsets: results,
        sensitivity: vec![],
        exhaustive: None,
    }
}
