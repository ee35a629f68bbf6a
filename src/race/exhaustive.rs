//! Every interleaving of the two start scripts' backend calls in one double failover.
//!
//! Both clusters lose their active server at the same instant; with fixed heartbeat and
//! group-start times both start scripts begin together. From then on each completion of a
//! pending call is a choice (each call atomic, applied to the world as it is when it
//! completes). Initial replication, replication cycles and lease time-outs wait until no call
//! is pending, so they never cut into the scripts (a VM's initial replication takes minutes).
//!
//! Runs are replayed from scratch for each choice prefix (futures cannot be cloned), and
//! prefixes that reach the same state (same Hyper-V, cluster and lease state, same results
//! received by each script) are merged: the count of interleavings is exact, the work is
//! proportional to the number of distinct states.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::backend::sim::TaskId;
use crate::dist::Dist;
use crate::model::cluster_set::{ScriptedFault, World};
use crate::model::scripted::scripted_faults;
use crate::scenario::Scenario;
use crate::time::{Micros, MICROS_PER_MINUTE, MICROS_PER_SECOND};
use crate::world::{trace, EndState};

use super::sweep::{double_failover, race_base, raced_vms, run_end_state, Progress};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExhaustiveReport {
    /// What the enumeration holds fixed, so that only the order of completions varies.
    pub fixed: &'static str,
    /// False when it stopped at the state budget: then there are no counts.
    pub complete: bool,
    /// Complete interleavings (orders of call completions).
    pub interleavings: u64,
    pub broken: u64,
    pub end_states: BTreeMap<String, u64>,
    /// The counts of each checkpoint length (they add up to the totals above).
    pub by_checkpoint: Vec<CheckpointCount>,
    /// Distinct states visited.
    pub states: usize,
    /// The state budget (`--max-states`).
    pub max_states: usize,
    /// One broken interleaving as a readable timeline (calls in completion order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_timeline: Option<String>,
}

#[derive(Clone, Default)]
struct Count {
    total: u64,
    by_state: BTreeMap<EndState, u64>,
    /// Choices leading from this state to a broken end, if any.
    broken_path: Option<Vec<TaskId>>,
}

const CRASH_AT: Micros = 60 * MICROS_PER_SECOND;

/// The longest checkpoint explored, in Get-VM answers that read "Creating checkpoint": each
/// length from none up to this is enumerated in full. The published start script polls every
/// 5 s, so this covers checkpoints up to a quarter of a minute.
pub const MAX_CHECKPOINT_ANSWERS: u32 = 3;

/// Said with every exhaustive count: it is blind to what these settings exclude (a slow
/// failure of an unreachable call, a checkpoint outlasting the polls explored).
pub const FIXED: &str =
    "both crashes at the same instant, heartbeat timeouts and group starts of 30 s, \
checkpoints read as being created by 0 to 3 Get-VM polls (each length enumerated), no flaky \
removal, every call as long as any other (only the order of completions varies), and no time \
between calls (no script outlives its resource's timeout)";

/// The scenario the exploration replays (on `race_base`): simultaneous crashes, fixed
/// timings, no flakiness (its outcome is not a scheduling choice), and checkpoints that last
/// `checkpoint_answers` polls (no time passes between chosen completions).
struct Exploration {
    scenario: Scenario,
    faults: Vec<(Micros, ScriptedFault)>,
    checkpoint_answers: u32,
}

impl Exploration {
    fn new(base: &Scenario, checkpoint_answers: u32) -> Exploration {
        let mut sc = double_failover(&race_base(base), CRASH_AT, 0.0, 60 * MICROS_PER_MINUTE);
        for c in &mut sc.clusters {
            c.heartbeat_timeout = Dist::Fixed(30 * MICROS_PER_SECOND);
            c.group_start = Dist::Fixed(30 * MICROS_PER_SECOND);
        }
        // The checkpoint is counted in polls (`count_checkpoints`), not drawn.
        for vm in &mut sc.vms {
            vm.checkpoint = Dist::Fixed(0);
        }
        sc.backend.flaky_remove_probability = 0.0;
        sc.backend.assumptions.unreachable_call = None;
        let faults = scripted_faults(&sc);
        Exploration {
            scenario: sc,
            faults,
            checkpoint_answers,
        }
    }

    /// The world after the choices `prefix`, advanced to the next choice or the end.
    fn replay(&self, prefix: &[TaskId], trace: bool) -> World<'_> {
        let sc = &self.scenario;
        let mut world = World::new(sc, sc.simulation.seed, 0, false, &self.faults);
        world.set_chosen();
        world.count_checkpoints(self.checkpoint_answers);
        if trace {
            world.record(true);
        }
        let horizon = sc.simulation.horizon;
        while world.step_calendar(horizon) {}
        for &task in prefix {
            world.complete_chosen(task);
            while world.step_calendar(horizon) {}
        }
        world
    }
}

/// The state budget was reached.
struct OverBudget;

struct Search<'a> {
    exploration: &'a Exploration,
    raced: Vec<usize>,
    memo: HashMap<u64, Count>,
    max_states: usize,
    progress: &'a dyn Progress,
}

fn explore(search: &mut Search, prefix: &mut Vec<TaskId>) -> Result<Count, OverBudget> {
    let world = search.exploration.replay(prefix, false);
    let key = world.state_key();
    if let Some(c) = search.memo.get(&key) {
        return Ok(c.clone());
    }
    if search.memo.len() >= search.max_states {
        return Err(OverBudget);
    }
    let enabled = world.enabled_tasks();
    let count = if enabled.is_empty() {
        let state = run_end_state(&search.raced, |v| world.end_state(v));
        Count {
            total: 1,
            by_state: BTreeMap::from([(state, 1)]),
            broken_path: (state != EndState::Healthy).then(Vec::new),
        }
    } else {
        drop(world);
        let mut acc = Count::default();
        for task in enabled {
            prefix.push(task);
            let sub = explore(search, prefix);
            prefix.pop();
            let sub = sub?;
            acc.total += sub.total;
            for (s, n) in &sub.by_state {
                *acc.by_state.entry(*s).or_insert(0) += n;
            }
            if acc.broken_path.is_none() {
                if let Some(path) = sub.broken_path {
                    let mut p = vec![task];
                    p.extend(path);
                    acc.broken_path = Some(p);
                }
            }
        }
        acc
    };
    search.memo.insert(key, count.clone());
    search.progress.state_seen();
    Ok(count)
}

/// The interleavings of one checkpoint length.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointCount {
    /// Get-VM answers that read "Creating checkpoint".
    pub answers: u32,
    pub interleavings: u64,
    pub broken: u64,
}

fn broken_of(count: &Count) -> u64 {
    count
        .by_state
        .iter()
        .filter(|(s, _)| **s != EndState::Healthy)
        .map(|(_, n)| n)
        .sum()
}

/// Enumerates every interleaving of one double failover of `base`, for each checkpoint
/// length up to `MAX_CHECKPOINT_ANSWERS`, unless that takes more than `max_states` distinct
/// states in all.
pub fn exhaustive(base: &Scenario, max_states: usize, progress: &dyn Progress) -> ExhaustiveReport {
    let raced = raced_vms(base);
    // One memo for all lengths: the farm's checkpoint setting is part of every state.
    let mut memo = HashMap::new();
    let mut total = Count::default();
    let mut by_checkpoint = Vec::new();
    let mut failing: Option<(u32, Vec<TaskId>)> = None;
    for answers in 0..=MAX_CHECKPOINT_ANSWERS {
        let exploration = Exploration::new(base, answers);
        let mut search = Search {
            exploration: &exploration,
            raced: raced.clone(),
            memo,
            max_states,
            progress,
        };
        let result = explore(&mut search, &mut vec![]);
        memo = search.memo;
        let Ok(count) = result else {
            return ExhaustiveReport {
                fixed: FIXED,
                complete: false,
                interleavings: 0,
                broken: 0,
                end_states: BTreeMap::new(),
                by_checkpoint: Vec::new(),
                states: memo.len(),
                max_states,
                failing_timeline: None,
            };
        };
        by_checkpoint.push(CheckpointCount {
            answers,
            interleavings: count.total,
            broken: broken_of(&count),
        });
        total.total += count.total;
        for (s, n) in &count.by_state {
            *total.by_state.entry(*s).or_insert(0) += n;
        }
        if failing.is_none() {
            failing = count.broken_path.map(|path| (answers, path));
        }
    }
    let failing_timeline = failing.map(|(answers, path)| {
        let exploration = Exploration::new(base, answers);
        let world = exploration.replay(&path, true);
        let state = run_end_state(&raced, |v| world.end_state(v));
        let (_, records) = world.finish(0);
        let mut text = trace::render(&records.trace);
        text.push_str(&format!("end state: {}\n", state.name()));
        text
    });
    ExhaustiveReport {
        fixed: FIXED,
        complete: true,
        interleavings: total.total,
        broken: broken_of(&total),
        end_states: total.by_state.iter().map(|(s, n)| (s.name(), *n)).collect(),
        by_checkpoint,
        states: memo.len(),
        max_states,
        failing_timeline,
    }
}
