//! The text of `ecxsim test`: each expectation's result, the run's metrics, and on a failure
//! the event trace around it.

use std::fmt::Write;

use crate::metrics::CAUSES;
use crate::model::scripted::TestRun;
use crate::time::{seconds, Human, Micros, MICROS_PER_MINUTE};
use crate::world::{ExpectResult, TraceEntry, When};

/// Trace lines shown before a failed expectation, and how far after it.
const BEFORE: usize = 25;
const AFTER: Micros = 2 * MICROS_PER_MINUTE;

/// One test run: each expectation (with the timeline around a failed one), each service's
/// and VM's totals, the scripts' results.
pub fn render(run: &TestRun, out: &mut String) {
    render_expectations(&run.expectations, &run.trace, out);
    for (name, service) in run.service_names.iter().zip(&run.result.services) {
        let t = &service.totals;
        let causes: Vec<String> = CAUSES
            .iter()
            .filter(|c| t.down_by_cause[c.index()] > 0)
            .map(|c| format!("{} {}", c.name(), Human(t.down_by_cause[c.index()])))
            .collect();
        let lost: Micros = service.data_loss.iter().sum();
        let _ = writeln!(
            out,
            "  metrics [{name}]: availability {:.6}, outages {}, unprotected {}, moves between clusters {}, writes lost {}, NP shutdowns {}, split brain {}, downtime: {}",
            t.availability(),
            t.outages,
            Human(t.unprotected),
            service.data_loss.len(),
            Human(lost),
            t.np_shutdowns,
            Human(t.split_brain),
            if causes.is_empty() { "none".to_string() } else { causes.join(", ") },
        );
    }
    render_scripts(run, out);
}

fn render_expectations(expectations: &[ExpectResult], trace: &[TraceEntry], out: &mut String) {
    for result in expectations {
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
        if !result.passed && !trace.is_empty() {
            let _ = writeln!(out, "    trace around {:.3}s:", seconds(result.checked_at));
            let split = trace.partition_point(|e| e.at <= result.checked_at);
            let to = result.checked_at.saturating_add(AFTER);
            let before = &trace[split.saturating_sub(BEFORE)..split];
            let after = trace[split..].iter().take_while(|e| e.at <= to);
            for entry in before.iter().chain(after) {
                let _ = writeln!(out, "    {}", entry.render());
            }
        }
    }
}

fn render_scripts(run: &TestRun, out: &mut String) {
    let mut scripts: Vec<String> = run
        .scripts
        .iter()
        .map(|s| format!("{}@{}={}", s.script, s.server, s.bitmask))
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
