//! Random exploration of the race over crash offsets and seeds.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::exhaustive::{exhaustive, ExhaustiveReport};
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
}

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
    pub end_states: BTreeMap<String, u64>,
    /// Mean time from the primary cluster's crash until the VM ran again.
    pub mean_vm_restore_s: Option<f64>,
    /// Mean time from the later crash until replication was healthy for good.
    pub mean_time_to_healthy_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    pub control: String,
    pub offsets: Vec<OffsetResult>,
    pub runs: u64,
    pub broken: u64,
    pub mean_vm_restore_s: Option<f64>,
    pub mean_time_to_healthy_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exhaustive: Option<ExhaustiveReport>,
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
    let (p, r) = match sc.vms.first() {
        Some(vm) => (
            sc.clusters[vm.cluster].servers[0].clone(),
            sc.clusters[vm.replica_cluster].servers[0].clone(),
        ),
        None => return sc,
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
/// report does not depend on the number of threads.
pub fn sweep(base: &Scenario, cfg: &SweepConfig) -> SweepReport {
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
            let end_state = world.end_state(0);
            let (_, records) = world.finish(k);
            let first = sc.injects.iter().map(|j| j.at).min().unwrap_or(0);
            let last = sc.injects.iter().map(|j| j.at).max().unwrap_or(0);
            let primary_crash = if offsets[i] >= 0.0 { first } else { last };
            let history = &records.history[0];
            RunSummary {
                end_state,
                vm_restore: history
                    .available_again_after(primary_crash)
                    .map(|t| t - primary_crash),
                to_healthy: history.healthy_since(last).map(|t| t - last),
            }
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
        results.push(OffsetResult {
            offset_s: *offset_s,
            runs: chunk.len() as u64,
            broken: chunk
                .iter()
                .filter(|s| s.end_state != EndState::Healthy)
                .count() as u64,
            end_states,
            mean_vm_restore_s: mean(chunk.iter().filter_map(|s| s.vm_restore)),
            mean_time_to_healthy_s: mean(chunk.iter().filter_map(|s| s.to_healthy)),
        });
    }
    SweepReport {
        control: match base.control {
            crate::control::ControlVariant::AsShipped => "as-shipped".into(),
            crate::control::ControlVariant::Coordinated(_) => "coordinated".into(),
        },
        runs: summaries.len() as u64,
        broken: results.iter().map(|r| r.broken).sum(),
        mean_vm_restore_s: mean(summaries.iter().filter_map(|s| s.vm_restore)),
        mean_time_to_healthy_s: mean(summaries.iter().filter_map(|s| s.to_healthy)),
        offsets: results,
        exhaustive: cfg.exhaustive.then(|| exhaustive(base)),
    }
}
