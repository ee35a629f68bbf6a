//! Random exploration of the race over crash offsets and seeds.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::exhaustive::{exhaustive, ExhaustiveReport};
use crate::time::{from_seconds, seconds, Micros, MICROS_PER_MINUTE};
use crate::world::{run, ControlScenario, EndState, Fault};

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

/// `base` with the active (first) servers of VM 0's primary and replica clusters crashing at
/// `first_crash_at` and `first_crash_at + offset` (a negative offset: the replica first).
pub fn double_failover(
    base: &ControlScenario,
    first_crash_at: Micros,
    offset_s: f64,
    settle: Micros,
) -> ControlScenario {
    let mut sc = base.clone();
    let first_server = |cluster: &str| {
        sc.clusters
            .iter()
            .find(|c| c.name == cluster)
            .and_then(|c| c.servers.first().cloned())
            .unwrap_or_default()
    };
    let (p, r) = match sc.vms.first() {
        Some(vm) => (first_server(&vm.cluster), first_server(&vm.replica_cluster)),
        None => return sc,
    };
    let shift = from_seconds(offset_s.abs());
    let (at_p, at_r) = if offset_s >= 0.0 {
        (first_crash_at, first_crash_at + shift)
    } else {
        (first_crash_at + shift, first_crash_at)
    };
    sc.injects.push(crate::world::Inject {
        at: at_p,
        fault: Fault::ServerCrash { server: p },
    });
    sc.injects.push(crate::world::Inject {
        at: at_r,
        fault: Fault::ServerCrash { server: r },
    });
    sc.injects.sort_by_key(|i| i.at);
    sc.horizon = at_p.max(at_r) + settle;
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
pub fn sweep(base: &ControlScenario, cfg: &SweepConfig) -> SweepReport {
    let offsets = cfg.offsets();
    let jobs: Vec<(usize, u64)> = (0..offsets.len())
        .flat_map(|i| (0..cfg.runs_per_offset).map(move |k| (i, k)))
        .collect();
    let summaries: Vec<RunSummary> = jobs
        .par_iter()
        .map(|&(i, k)| {
            let mut sc = double_failover(base, cfg.first_crash_at, offsets[i], cfg.settle);
            sc.trace_calls = false;
            sc.expects.clear();
            let result = run(&sc, k);
            let first = sc.injects.iter().map(|j| j.at).min().unwrap_or(0);
            let last = sc.injects.iter().map(|j| j.at).max().unwrap_or(0);
            let primary_crash = if offsets[i] >= 0.0 { first } else { last };
            let metrics = &result.vms[0];
            RunSummary {
                end_state: result.end_states[0],
                vm_restore: metrics
                    .available_again_after(primary_crash)
                    .map(|t| t - primary_crash),
                to_healthy: metrics.healthy_since(last).map(|t| t - last),
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
