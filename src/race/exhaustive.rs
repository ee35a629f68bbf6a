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

/// Said with every exhaustive count: it is blind to what these settings exclude (a checkpoint
/// still being created when Start-VM comes, a slow failure of an unreachable call).
pub const FIXED: &str =
    "both crashes at the same instant, heartbeat timeouts and group starts of 30 s, \
no checkpoint wait, no flaky removal, every call as long as any other (only the order of \
completions varies)";

/// The scenario the exploration replays (on `race_base`): simultaneous crashes, fixed
/// timings, no flakiness (its outcome is not a scheduling choice), no checkpoint wait (it
/// would only add polls).
struct Exploration {
    scenario: Scenario,
    faults: Vec<(Micros, ScriptedFault)>,
}

impl Exploration {
    fn new(base: &Scenario) -> Exploration {
        let mut sc = double_failover(&race_base(base), CRASH_AT, 0.0, 60 * MICROS_PER_MINUTE);
        for c in &mut sc.clusters {
            c.heartbeat_timeout = Dist::Fixed(30 * MICROS_PER_SECOND);
            c.group_start = Dist::Fixed(30 * MICROS_PER_SECOND);
        }
        for vm in &mut sc.vms {
            vm.checkpoint = Dist::Fixed(0);
        }
        sc.backend.flaky_remove_probability = 0.0;
        sc.backend.assumptions.unreachable_call = None;
        let faults = scripted_faults(&sc);
        Exploration {
            scenario: sc,
            faults,
        }
    }

    /// The world after the choices `prefix`, advanced to the next choice or the end.
    fn replay(&self, prefix: &[TaskId], trace: bool) -> World<'_> {
        let sc = &self.scenario;
        let mut world = World::new(sc, sc.simulation.seed, 0, false, &self.faults);
        world.set_chosen();
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

/// Enumerates every interleaving of one double failover of `base`, unless that takes more
/// than `max_states` distinct states.
pub fn exhaustive(base: &Scenario, max_states: usize, progress: &dyn Progress) -> ExhaustiveReport {
    let exploration = Exploration::new(base);
    let mut search = Search {
        exploration: &exploration,
        raced: raced_vms(base),
        memo: HashMap::new(),
        max_states,
        progress,
    };
    let Ok(count) = explore(&mut search, &mut vec![]) else {
        return ExhaustiveReport {
            fixed: FIXED,
            complete: false,
            interleavings: 0,
            broken: 0,
            end_states: BTreeMap::new(),
            states: search.memo.len(),
            max_states,
            failing_timeline: None,
        };
    };
    let states = search.memo.len();
    let raced = search.raced;
    let broken = count
        .by_state
        .iter()
        .filter(|(s, _)| **s != EndState::Healthy)
        .map(|(_, n)| n)
        .sum();
    let failing_timeline = count.broken_path.map(|path| {
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
        interleavings: count.total,
        broken,
        end_states: count.by_state.iter().map(|(s, n)| (s.name(), *n)).collect(),
        states,
        max_states,
        failing_timeline,
    }
}
