//! The simulator held to the exact CTMC solution on parameter sets spanning 2-4 servers, one,
//! several and unlimited repair crews, detection and start from milliseconds to minutes, server
//! MTTF from hundreds to tens of thousands of hours and MTTR from 1 h to 72 h.
//!
//! For each set: the exact availability and downtime lie in the simulation's 95% intervals,
//! MTBF is within 5% and MTTR within 10%. Seeds are fixed, so the outcome is reproducible; the
//! sample sizes give intervals narrow enough that the sensitivity tests below (crews or
//! detection ignored) fall far outside them.

use std::path::Path;

use ecxsim::analysis::exact::{exact_report, exponential_cluster};
use ecxsim::analysis::standalone_ctmc::solve;
use ecxsim::analysis::summary::{Report, ServiceReport};
use ecxsim::run::{run, RunOptions};
use ecxsim::scenario::{parse, Scenario};

struct Case {
    servers: usize,
    mttf: &'static str,
    mttr: &'static str,
    crews: Option<usize>,
    detection: &'static str,
    start: &'static str,
    /// Failback with this mean group stop time.
    failback_stop: Option<&'static str>,
    disk: Option<(&'static str, &'static str)>,
    horizon: &'static str,
    replications: u64,
}

fn exp(mean: &str) -> String {
    format!("{{ dist = \"exponential\", mean = \"{mean}\" }}")
}

fn scenario(case: &Case, seed: u64) -> Scenario {
    let servers: Vec<String> = (1..=case.servers).map(|i| format!("\"s{i}\"")).collect();
    let mut cluster = format!(
        "name = \"c\"\nservers = [{}]\nserver_ttf = {}\nserver_ttr = {}\nheartbeat_timeout = {}\ngroup_start = {}\nserver_sync_wait = \"0s\"\n",
        servers.join(", "),
        exp(case.mttf),
        exp(case.mttr),
        exp(case.detection),
        exp(case.start),
    );
    if let Some(crews) = case.crews {
        cluster += &format!("repair_crews = {crews}\n");
    }
    if let Some(stop) = case.failback_stop {
        cluster += &format!("failback = true\ngroup_stop = {}\n", exp(stop));
    }
    if let Some((ttf, ttr)) = case.disk {
        cluster += &format!(
            "shared_disk = {{ ttf = {}, ttr = {} }}\n",
            exp(ttf),
            exp(ttr)
        );
    }
    let text = format!(
        "[simulation]\nhorizon = \"{}\"\nreplications = {}\nseed = {seed}\n\n[[cluster]]\n{cluster}\n[[service]]\nname = \"app\"\ncluster = \"c\"\n",
        case.horizon, case.replications
    );
    parse(Path::new("case.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn simulate(s: &Scenario) -> Report {
    let options = RunOptions::from_scenario(s);
    run(s, &options, |_| Ok(())).unwrap()
}

fn app(report: &Report) -> &ServiceReport {
    &report.services["app"]
}

fn inside(value: f64, ci: Option<[f64; 2]>) -> bool {
    let [lo, hi] = ci.expect("an interval");
    lo <= value && value <= hi
}

fn check(name: &str, case: &Case, seed: u64) {
    let s = scenario(case, seed);
    let exact = exact_report(&s).unwrap();
    let sim = simulate(&s);
    let (e, m) = (app(&exact), app(&sim));
    let summary = format!(
        "{name}: exact A={:.9} down={:.4} min/yr MTBF={:.2} MTTR={:.4}; simulated A={:.9} {:?} down={:.4} {:?} MTBF={:?} MTTR={:?} outages={}",
        e.availability.mean,
        e.downtime_minutes_per_year.mean,
        e.mtbf_hours.unwrap(),
        e.mttr_hours.unwrap(),
        m.availability.mean,
        m.availability.ci95,
        m.downtime_minutes_per_year.mean,
        m.downtime_minutes_per_year.ci95,
        m.mtbf_hours,
        m.mttr_hours,
        m.outages,
    );
    println!("{summary}");
    assert!(
        inside(e.availability.mean, m.availability.ci95),
        "availability: {summary}"
    );
    assert!(
        inside(
            e.downtime_minutes_per_year.mean,
            m.downtime_minutes_per_year.ci95
        ),
        "downtime: {summary}"
    );
    let mtbf_error = (m.mtbf_hours.unwrap() / e.mtbf_hours.unwrap() - 1.0).abs();
    let mttr_error = (m.mttr_hours.unwrap() / e.mttr_hours.unwrap() - 1.0).abs();
    assert!(
        mtbf_error < 0.05,
        "MTBF off by {:.1}%: {summary}",
        mtbf_error * 100.0
    );
    assert!(
        mttr_error < 0.10,
        "MTTR off by {:.1}%: {summary}",
        mttr_error * 100.0
    );
}

#[test]
fn two_servers_fast_detection_unlimited_crews_short_repair() {
    let case = Case {
        servers: 2,
        mttf: "500h",
        mttr: "1h",
        crews: None,
        detection: "10ms",
        start: "50ms",
        // MTTR here rests on the rare both-down outages (about 1 in 500): they need many years.
        failback_stop: None,
        disk: None,
        horizon: "100y",
        replications: 1000,
    };
    check("2 servers, MTTF 500h, MTTR 1h, ms detection", &case, 11);
}

#[test]
fn two_servers_one_crew_minutes_detection() {
    let case = Case {
        servers: 2,
        mttf: "2000h",
        mttr: "24h",
        crews: Some(1),
        detection: "30s",
        start: "2m",
        failback_stop: None,
        disk: None,
        horizon: "50y",
        replications: 400,
    };
    check("2 servers, MTTF 2000h, MTTR 24h, 1 crew", &case, 12);
}

#[test]
fn three_servers_one_crew_long_repair_with_shared_disk() {
    let case = Case {
        servers: 3,
        mttf: "800h",
        mttr: "72h",
        crews: Some(1),
        detection: "90s",
        start: "5m",
        failback_stop: None,
        disk: Some(("20000h", "10h")),
        horizon: "50y",
        replications: 400,
    };
    check("3 servers, MTTF 800h, MTTR 72h, 1 crew, disk", &case, 13);
}

#[test]
fn three_servers_two_crews_failback() {
    let case = Case {
        servers: 3,
        mttf: "10000h",
        mttr: "8h",
        crews: Some(2),
        detection: "5s",
        start: "30s",
        failback_stop: Some("1m"),
        disk: None,
        horizon: "200y",
        replications: 400,
    };
    check(
        "3 servers, MTTF 10000h, MTTR 8h, 2 crews, failback",
        &case,
        14,
    );
}

#[test]
fn four_servers_two_crews_frequent_failures() {
    let case = Case {
        servers: 4,
        mttf: "300h",
        mttr: "48h",
        crews: Some(2),
        detection: "30s",
        start: "1m",
        failback_stop: None,
        disk: None,
        horizon: "20y",
        replications: 400,
    };
    check("4 servers, MTTF 300h, MTTR 48h, 2 crews", &case, 15);
}

#[test]
fn four_servers_unlimited_crews_rare_failures_with_disk() {
    let case = Case {
        servers: 4,
        mttf: "50000h",
        mttr: "4h",
        crews: None,
        detection: "250ms",
        start: "10s",
        failback_stop: None,
        disk: Some(("8760h", "72h")),
        horizon: "500y",
        replications: 400,
    };
    check(
        "4 servers, MTTF 50000h, MTTR 4h, unlimited, disk",
        &case,
        16,
    );
}

#[test]
fn two_servers_one_crew_failback_and_all_down_dominates() {
    let case = Case {
        servers: 2,
        mttf: "200h",
        mttr: "72h",
        crews: Some(1),
        detection: "30s",
        start: "3m",
        failback_stop: Some("2m"),
        disk: None,
        horizon: "20y",
        replications: 400,
    };
    check(
        "2 servers, MTTF 200h, MTTR 72h, 1 crew, failback",
        &case,
        17,
    );
}

/// A simulator that ignored repair crews would report the unlimited-crew availability: that
/// value must lie far outside the simulation's interval, while the one-crew value lies inside.
#[test]
fn ignoring_repair_crews_would_be_caught() {
    let case = Case {
        servers: 2,
        mttf: "2000h",
        mttr: "24h",
        crews: Some(1),
        detection: "30s",
        start: "2m",
        failback_stop: None,
        disk: None,
        horizon: "50y",
        replications: 400,
    };
    let s = scenario(&case, 12);
    let sim = simulate(&s);
    let mut model = exponential_cluster(&s.clusters[0]).unwrap();
    let with_crews = solve(&model).unwrap().availability;
    model.repair_crews = None;
    let without_crews = solve(&model).unwrap().availability;
    let ci = app(&sim).availability.ci95;
    assert!(inside(with_crews, ci));
    assert!(
        !inside(without_crews, ci),
        "unlimited crews {without_crews} inside {ci:?}"
    );
}

/// Likewise for a simulator that ignored the heartbeat timeout (instantaneous detection).
#[test]
fn ignoring_detection_time_would_be_caught() {
    let case = Case {
        servers: 3,
        mttf: "800h",
        mttr: "8h",
        crews: None,
        detection: "90s",
        start: "1m",
        failback_stop: None,
        disk: None,
        horizon: "50y",
        replications: 400,
    };
    let s = scenario(&case, 18);
    let sim = simulate(&s);
    let mut model = exponential_cluster(&s.clusters[0]).unwrap();
    let with_detection = solve(&model).unwrap();
    model.detection_rate = None;
    let without_detection = solve(&model).unwrap();
    let m = app(&sim);
    assert!(inside(with_detection.availability, m.availability.ci95));
    assert!(
        !inside(without_detection.availability, m.availability.ci95),
        "instant detection {} inside {:?}",
        without_detection.availability,
        m.availability.ci95
    );
    // MTTR alone tells them apart too: detection is most of a failover here.
    let mttr = m.mttr_hours.unwrap();
    assert!((mttr / with_detection.mttr_hours - 1.0).abs() < 0.10);
    assert!((mttr / without_detection.mttr_hours - 1.0).abs() > 0.30);
}

#[test]
fn non_exponential_scenarios_are_refused_naming_the_element() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/standalone_ecx.toml");
    let s = ecxsim::scenario::load(&path).unwrap();
    let err = exact_report(&s).unwrap_err().to_string();
    assert!(err.contains("cluster.cluster1.server_sync_wait"), "{err}");
}
