//! The work a command is asked for, estimated before it starts: simulated years (replications
//! x horizon, summed over scenarios and sweep values), the CPU time they take at the measured
//! speed of each model, and the CSV `run` would write.
//! Past a limit the command is refused, naming `--allow-large`: a mistyped replication count
//! should not start hours of simulation or fill a disk.

use crate::model::simulate_replication;
use crate::scenario::Scenario;
use crate::time::{Micros, MICROS_PER_YEAR};

/// Estimated CPU seconds beyond which a command needs `--allow-large` (two hours).
pub const MAX_CPU_SECONDS: f64 = 7200.0;

/// Replication-years per CPU second (README, Performance): standalone clusters, and a
/// cluster set's world, whose scripts, master and operator run as they would on the servers.
const STANDALONE_YEARS_PER_SECOND: f64 = 1.5e6;
const CLUSTER_SET_YEARS_PER_SECOND: f64 = 2.0e3;

/// CSV bytes beyond which `run` needs `--allow-large`.
pub const MAX_CSV_BYTES: f64 = 2e9;

/// Bytes of a `replications.csv` row: the replication, the service, six figures and one per
/// cause, as written.
const REPLICATION_ROW_BYTES: f64 = 140.0;

/// Bytes of an `outages.csv` row.
const OUTAGE_ROW_BYTES: f64 = 75.0;

/// Observed years of the pilot replication that measures the outage rate.
const PILOT_YEARS: u64 = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub simulated_years: f64,
    pub cpu_seconds: f64,
    pub csv_bytes: f64,
}

/// CPU seconds per simulated year (the dispatch of `model::simulate_replication`).
fn seconds_per_year(scenario: &Scenario) -> f64 {
    let cluster_set =
        scenario.master.is_some() || !scenario.vms.is_empty() || !scenario.fault_domains.is_empty();
    if cluster_set {
        1.0 / CLUSTER_SET_YEARS_PER_SECOND
    } else {
        1.0 / STANDALONE_YEARS_PER_SECOND
    }
}

/// Years one replication simulates, the warmup included.
fn simulated_years(scenario: &Scenario) -> f64 {
    scenario.simulation.horizon as f64 / MICROS_PER_YEAR as f64
}

fn observed_years(scenario: &Scenario) -> f64 {
    let s = &scenario.simulation;
    s.horizon.saturating_sub(s.warmup) as f64 / MICROS_PER_YEAR as f64
}

/// Outages per observed year, over all of a scenario's services, measured on one short
/// replication (a pure function of the scenario and seed, like the run itself).
fn outages_per_year(scenario: &Scenario, seed: u64) -> f64 {
    let mut pilot = scenario.clone();
    let observed: Micros = PILOT_YEARS * MICROS_PER_YEAR;
    let sim = &mut pilot.simulation;
    sim.horizon = sim.horizon.min(sim.warmup.saturating_add(observed));
    let years = observed_years(&pilot);
    let result = simulate_replication(&pilot, seed, 0, true);
    let outages: usize = result.services.iter().map(|s| s.outages.len()).sum();
    outages as f64 / years.max(f64::MIN_POSITIVE)
}

impl Workload {
    /// `scenarios` each run `replications` times, `times` over (a sweep's values).
    pub fn simulation(scenarios: &[&Scenario], replications: u64, times: usize) -> Workload {
        let runs = replications as f64 * times as f64;
        Workload {
            simulated_years: runs * scenarios.iter().map(|s| simulated_years(s)).sum::<f64>(),
            cpu_seconds: runs
                * scenarios
                    .iter()
                    .map(|s| simulated_years(s) * seconds_per_year(s))
                    .sum::<f64>(),
            csv_bytes: 0.0,
        }
    }

    /// `sweep`: each value's scenarios, run as many times as the value's first scenario says.
    pub fn sweep(values: &[Vec<Scenario>], replications: impl Fn(&Scenario) -> u64) -> Workload {
        let mut total = Workload {
            simulated_years: 0.0,
            cpu_seconds: 0.0,
            csv_bytes: 0.0,
        };
        for group in values.iter().filter(|group| !group.is_empty()) {
            let refs: Vec<&Scenario> = group.iter().collect();
            let work = Workload::simulation(&refs, replications(&group[0]), 1);
            total.simulated_years += work.simulated_years;
            total.cpu_seconds += work.cpu_seconds;
        }
        total
    }

    /// `run`: its simulation, and its `replications.csv` (and `outages.csv`) rows.
    pub fn run(scenario: &Scenario, replications: u64, seed: u64, outages: bool) -> Workload {
        let mut work = Workload::simulation(&[scenario], replications, 1);
        let services = (scenario.services.len() + scenario.vms.len()) as f64;
        work.csv_bytes = replications as f64 * services * REPLICATION_ROW_BYTES;
        if outages && work.cpu_seconds <= MAX_CPU_SECONDS {
            work.csv_bytes +=
                outages_per_year(scenario, seed) * work.simulated_years * OUTAGE_ROW_BYTES;
        }
        work
    }

    /// Refuses work past the limits unless `allow_large`.
    pub fn check(&self, allow_large: bool) -> Result<(), String> {
        if allow_large {
            return Ok(());
        }
        if self.cpu_seconds > MAX_CPU_SECONDS {
            return Err(format!(
                "this would simulate {} years in all (replications x horizon), about {:.0} \
                 hours of CPU time, more than the limit of {:.0}; lower --replications or the \
                 horizon, or pass --allow-large to run it anyway",
                short(self.simulated_years),
                (self.cpu_seconds / 3600.0).ceil(),
                MAX_CPU_SECONDS / 3600.0
            ));
        }
        if self.csv_bytes > MAX_CSV_BYTES {
            return Err(format!(
                "this would write about {} of CSV, more than the limit of {}; lower \
                 --replications, leave out --outages, or pass --allow-large to write it anyway",
                bytes(self.csv_bytes),
                bytes(MAX_CSV_BYTES)
            ));
        }
        Ok(())
    }
}

/// Estimated CPU seconds of a regression test (`ecxsim test`) past which it warns before
/// running (ten minutes); `test` has no output to bound, so it warns rather than refuses.
pub const TEST_WARNING_CPU_SECONDS: f64 = 600.0;

/// A warning for a regression test that may run for long (replications x horizon).
pub fn test_warning(scenario: &Scenario) -> Option<String> {
    let work = Workload::simulation(&[scenario], scenario.simulation.replications, 1);
    (work.cpu_seconds > TEST_WARNING_CPU_SECONDS).then(|| {
        let hours = work.cpu_seconds / 3600.0;
        let time = if hours >= 1.0 {
            format!("about {hours:.0} hours")
        } else {
            format!("about {:.0} minutes", work.cpu_seconds / 60.0)
        };
        format!(
            "{} simulated years (replications x horizon) may take up to {time} of CPU time; \
             a regression test usually needs hours of simulated time, not years",
            short(work.simulated_years)
        )
    })
}

/// A large count in a few digits: 2.0e10.
fn short(x: f64) -> String {
    if x < 1e6 {
        format!("{x:.0}")
    } else {
        format!("{x:.1e}")
    }
}

fn bytes(b: f64) -> String {
    match b {
        b if b >= 1e9 => format!("{:.0} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.0} MB", b / 1e6),
        b => format!("{:.0} kB", b / 1e3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Scenario {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/standalone_ecx.toml");
        crate::scenario::load(&path).unwrap()
    }

    #[test]
    fn a_billion_replications_are_refused_and_the_defaults_are_not() {
        let s = example();
        let default = Workload::run(&s, s.simulation.replications, 42, true);
        assert!(default.check(false).is_ok(), "{default:?}");
        // The CSV of a billion replications is refused before its simulation time is.
        let huge = Workload::run(&s, 1_000_000_000, 42, false);
        let err = huge.check(false).unwrap_err();
        assert!(
            err.contains("140 GB of CSV") && err.contains("--allow-large"),
            "{err}"
        );
        assert!(huge.check(true).is_ok());
        let long = Workload::simulation(&[&s], 10_000_000_000, 1);
        let err = long.check(false).unwrap_err();
        assert!(
            err.contains("1.0e11 years") && err.contains("--allow-large"),
            "{err}"
        );
        // 20 million replications of a year: within the time limit, past the CSV one.
        let mut short = s.clone();
        short.simulation.horizon = MICROS_PER_YEAR;
        let csv = Workload::run(&short, 20_000_000, 42, false)
            .check(false)
            .unwrap_err();
        assert!(csv.contains("GB of CSV"), "{csv}");
    }

    #[test]
    fn long_regression_tests_are_announced() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/regression/failover_cluster1.toml");
        let mut s = crate::scenario::load(&path).unwrap();
        assert_eq!(test_warning(&s), None);
        s.simulation.horizon = 10_000 * MICROS_PER_YEAR;
        assert_eq!(test_warning(&s), None, "seconds, not minutes");
        s.simulation.horizon = 500_000 * MICROS_PER_YEAR;
        s.simulation.replications = 100;
        let w = test_warning(&s).unwrap();
        assert!(
            w.contains("5.0e7 simulated years") && w.contains("about 7 hours"),
            "{w}"
        );
    }

    #[test]
    fn outage_rows_are_counted_when_asked_for() {
        let s = example();
        let plain = Workload::run(&s, 1000, 42, false);
        let with = Workload::run(&s, 1000, 42, true);
        assert!(with.csv_bytes > plain.csv_bytes, "{plain:?} {with:?}");
        assert_eq!(plain.simulated_years, 1000.0 * 10.0);
        // A cluster set's world is about a thousand times slower per simulated year.
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cluster_set.toml");
        let set = crate::scenario::load(&path).unwrap();
        let set = Workload::simulation(&[&set], 1000, 1);
        assert!(
            set.cpu_seconds > 500.0 * plain.cpu_seconds,
            "{set:?} {plain:?}"
        );
    }
}
