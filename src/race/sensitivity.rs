//! How much the race's size hangs on what the mocks assume: the same sweep with each
//! assumption no source fixes at its plausible low and high values.

use serde::Serialize;

use crate::analysis::binomial::clopper_pearson_95;
use crate::backend::sim::assumptions::TCP_CONNECT_TIMEOUT;
use crate::backend::sim::{CrashState, FailedCycle};
use crate::dist::Dist;
use crate::scenario::Scenario;
use crate::time::MICROS_PER_SECOND;

/// The broken share of the sweep with one assumption set to one value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivityPoint {
    /// The `[backend]` or `[[vm]]` key.
    pub assumption: String,
    pub value: String,
    pub runs: u64,
    pub broken: u64,
    /// Clopper-Pearson 95% interval of `broken / runs`.
    pub ci95: [f64; 2],
}

/// One value of one assumption, applied to a scenario.
struct Setting {
    assumption: &'static str,
    value: &'static str,
    apply: fn(&mut Scenario),
}

fn checkpoint(sc: &mut Scenario, seconds: u64) {
    for vm in &mut sc.vms {
        vm.checkpoint = Dist::Fixed(seconds * MICROS_PER_SECOND);
    }
}

/// Each assumption at its low and high plausible value:
/// - `checkpoint`: none at all, to the half minute a production checkpoint of a busy VM can
///   take;
/// - `unreachable_call`: refused at once, to Windows' TCP connect timeout;
/// - `rest_during_group_start`: the FIP answering only with the disk online, or before;
/// - `crash_state`: a crashed primary coming back in Error, or needing a resynchronisation;
/// - `failed_cycle`: an undelivered replication cycle retried, or leaving the primary in Error.
const SETTINGS: [Setting; 10] = [
    Setting {
        assumption: "checkpoint",
        value: "0s",
        apply: |sc| checkpoint(sc, 0),
    },
    Setting {
        assumption: "checkpoint",
        value: "30s",
        apply: |sc| checkpoint(sc, 30),
    },
    Setting {
        assumption: "unreachable_call",
        value: "the call's own duration",
        apply: |sc| sc.backend.assumptions.unreachable_call = None,
    },
    Setting {
        assumption: "unreachable_call",
        value: "21s",
        apply: |sc| {
            sc.backend.assumptions.unreachable_call = Some(Dist::Fixed(TCP_CONNECT_TIMEOUT))
        },
    },
    Setting {
        assumption: "rest_during_group_start",
        value: "false",
        apply: |sc| sc.backend.assumptions.rest_during_group_start = false,
    },
    Setting {
        assumption: "rest_during_group_start",
        value: "true",
        apply: |sc| sc.backend.assumptions.rest_during_group_start = true,
    },
    Setting {
        assumption: "crash_state",
        value: "error",
        apply: |sc| sc.backend.assumptions.crash_state = CrashState::Error,
    },
    Setting {
        assumption: "crash_state",
        value: "resynchronization-required",
        apply: |sc| sc.backend.assumptions.crash_state = CrashState::ResynchronizationRequired,
    },
    Setting {
        assumption: "failed_cycle",
        value: "retried",
        apply: |sc| sc.backend.assumptions.failed_cycle = FailedCycle::Retried,
    },
    Setting {
        assumption: "failed_cycle",
        value: "sticky",
        apply: |sc| sc.backend.assumptions.failed_cycle = FailedCycle::Sticky,
    },
];

/// Runs `sweep` (which gives runs and broken runs) on `base` with each setting in turn.
pub fn sensitivity(
    base: &Scenario,
    mut sweep: impl FnMut(&Scenario) -> (u64, u64),
) -> Vec<SensitivityPoint> {
    SETTINGS
        .iter()
        .map(|setting| {
            let mut sc = base.clone();
            (setting.apply)(&mut sc);
            let (runs, broken) = sweep(&sc);
            SensitivityPoint {
                assumption: setting.assumption.to_string(),
                value: setting.value.to_string(),
                runs,
                broken,
                ci95: clopper_pearson_95(broken, runs),
            }
        })
        .collect()
}

/// How many sweeps `sensitivity` runs.
pub const SWEEPS: u64 = SETTINGS.len() as u64;
