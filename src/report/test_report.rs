//! The text of `ecxsim test`: each expectation's result, the run's metrics, and on a failure
//! the event trace around it.

use std::fmt::Write;

use crate::time::{seconds, Human, Micros, MICROS_PER_MINUTE};
use crate::world::{ControlRun, When};

/// Trace lines shown before a failed expectation, and how far after it.
const BEFORE: usize = 25;
const AFTER: Micros = 2 * MICROS_PER_MINUTE;

pub fn render_run(run: &ControlRun, out: &mut String) {
    for result in &run.expectations {
        let when = match result.expect.when {
            When::At(t) => format!("at {}", Human(t)),
            When::End => "at end".to_string(),
        };
        let vm = result
            .expect
            .vm
            .as_ref()
            .map(|v| format!("[{v}] "))
            .unwrap_or_default();
        let verdict = if result.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "  {verdict} {when:<10} {vm}{}  (observed: {})",
            result.expect.check, result.observed
        );
        if !result.passed {
            let _ = writeln!(out, "    trace around {:.3}s:", seconds(result.checked_at));
            let split = run.trace.partition_point(|e| e.at <= result.checked_at);
            let to = result.checked_at.saturating_add(AFTER);
            let before = &run.trace[split.saturating_sub(BEFORE)..split];
            let after = run.trace[split..].iter().take_while(|e| e.at <= to);
            for entry in before.iter().chain(after) {
                let _ = writeln!(out, "    {}", entry.render());
            }
        }
    }
    for vm in &run.vms {
        let _ = writeln!(
            out,
            "  metrics [{}]: availability {:.6}, outages {}, unprotected {}, max data at risk {}, data lost {}",
            vm.vm,
            vm.availability(),
            vm.outages,
            Human(vm.unprotected),
            Human(vm.max_data_at_risk),
            Human(vm.data_lost),
        );
    }
    let mut scripts: Vec<String> = run
        .scripts
        .iter()
        .map(|s| format!("{:?}@{}={}", s.script, s.server, s.bitmask))
        .collect();
    scripts.dedup();
    if !scripts.is_empty() {
        let failed = run.scripts.iter().filter(|s| s.bitmask != 0).count();
        let _ = writeln!(
            out,
            "  scripts: {} run, {failed} with a failure bitmask: {}",
            run.scripts.len(),
            scripts.join(", ")
        );
    }
}
