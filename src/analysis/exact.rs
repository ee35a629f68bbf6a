//! `ecxsim analytic`: the exact steady-state report of a scenario whose times are all
//! exponential (or instantaneous), in the same shape as a simulation report.

use super::standalone_ctmc::{self, ExponentialCluster};
use super::summary::{Estimate, Report, ServiceReport};
use crate::dist::Dist;
use crate::metrics::CAUSES;
use crate::scenario::{Cluster, Scenario};
use crate::time::{hours, MICROS_PER_HOUR};

#[derive(Debug, thiserror::Error)]
pub enum ExactError {
    #[error("`{element}` is {kind}; the exact solution needs {needs}")]
    NotExponential {
        element: String,
        kind: String,
        needs: &'static str,
    },
    #[error("cluster {cluster:?}: {source}")]
    Ctmc {
        cluster: String,
        source: super::ctmc::CtmcError,
    },
}

fn not_exponential(element: String, dist: &Dist, needs: &'static str) -> ExactError {
    let kind = match dist {
        Dist::Fixed(v) => format!("fixed at {}", crate::time::Human(*v)),
        other => other.kind().to_string(),
    };
    ExactError::NotExponential {
        element,
        kind,
        needs,
    }
}

/// The rate per hour of an exponential time.
fn rate(cluster: &Cluster, key: &str, dist: &Dist) -> Result<f64, ExactError> {
    dist.exponential_rate()
        .map(|per_us| per_us * MICROS_PER_HOUR as f64)
        .ok_or_else(|| {
            not_exponential(
                format!("cluster.{}.{key}", cluster.name),
                dist,
                "an exponential distribution",
            )
        })
}

/// The rate per hour of a step that may also be instantaneous (`None`).
fn step_rate(cluster: &Cluster, key: &str, dist: &Dist) -> Result<Option<f64>, ExactError> {
    if dist.is_zero() {
        return Ok(None);
    }
    dist.exponential_rate()
        .map(|per_us| Some(per_us * MICROS_PER_HOUR as f64))
        .ok_or_else(|| {
            not_exponential(
                format!("cluster.{}.{key}", cluster.name),
                dist,
                "an exponential distribution or \"0s\"",
            )
        })
}

fn required<'d>(
    cluster: &Cluster,
    key: &str,
    dist: &'d Option<Dist>,
) -> Result<&'d Dist, ExactError> {
    dist.as_ref().ok_or_else(|| ExactError::NotExponential {
        element: format!("cluster.{}.{key}", cluster.name),
        kind: "not set".to_string(),
        needs: "an exponential distribution",
    })
}

/// Maps a scenario cluster to the exact model, naming the first element that does not fit.
pub fn exponential_cluster(cluster: &Cluster) -> Result<ExponentialCluster, ExactError> {
    if !cluster.server_sync_wait.is_zero() {
        return Err(not_exponential(
            format!("cluster.{}.server_sync_wait", cluster.name),
            &cluster.server_sync_wait,
            "server_sync_wait = \"0s\" (the exact model has no sync wait)",
        ));
    }
    let shared_disk = match &cluster.shared_disk {
        None => None,
        Some(disk) => Some((
            rate(cluster, "shared_disk.ttf", &disk.ttf)?,
            rate(cluster, "shared_disk.ttr", &disk.ttr)?,
        )),
    };
    Ok(ExponentialCluster {
        servers: cluster.servers.len(),
        failure_rate: rate(
            cluster,
            "server_ttf",
            required(cluster, "server_ttf", &cluster.server_ttf)?,
        )?,
        repair_rate: rate(
            cluster,
            "server_ttr",
            required(cluster, "server_ttr", &cluster.server_ttr)?,
        )?,
        repair_crews: cluster.repair_crews,
        detection_rate: step_rate(cluster, "heartbeat_timeout", &cluster.heartbeat_timeout)?,
        start_rate: step_rate(cluster, "group_start", &cluster.group_start)?,
        stop_rate: if cluster.failback {
            step_rate(cluster, "group_stop", &cluster.group_stop)?
        } else {
            None
        },
        failback: cluster.failback,
        shared_disk,
    })
}

/// The exact report: every service gets its cluster's steady-state solution.
pub fn exact_report(scenario: &Scenario) -> Result<Report, ExactError> {
    let mut solutions = Vec::new();
    for cluster in &scenario.clusters {
        let model = exponential_cluster(cluster)?;
        let solution = standalone_ctmc::solve(&model).map_err(|source| ExactError::Ctmc {
            cluster: cluster.name.clone(),
            source,
        })?;
        solutions.push(solution);
    }
    let services = scenario
        .services
        .iter()
        .map(|service| {
            let s = &solutions[service.cluster];
            let exact = |x: f64| Estimate {
                mean: x,
                ci95: Some([x, x]),
            };
            let finite = |x: f64| x.is_finite().then_some(x);
            let report = ServiceReport {
                availability: exact(s.availability),
                downtime_minutes_per_year: exact(s.downtime_minutes_per_year),
                outages: 0,
                outages_per_year: s.outage_rate_per_hour * 8760.0,
                mtbf_hours: finite(s.mtbf_hours),
                mttr_hours: finite(s.mttr_hours),
                nines: super::stats::nines_of_unavailability(s.unavailability),
                downtime_by_cause_minutes_per_year: CAUSES
                    .iter()
                    .map(|c| {
                        let minutes = s
                            .downtime_by_cause_minutes_per_year
                            .get(c.name())
                            .copied()
                            .unwrap_or(0.0);
                        (c.name().to_string(), minutes)
                    })
                    .collect(),
                ..ServiceReport::default()
            };
            (service.name.clone(), report)
        })
        .collect();
    Ok(Report {
        scenario: scenario.name.clone(),
        method: "exact-ctmc".to_string(),
        seed: scenario.simulation.seed,
        replications: 0,
        horizon_hours: hours(scenario.simulation.horizon),
        warmup_hours: hours(scenario.simulation.warmup),
        data_loss_seconds: Default::default(),
        services,
    })
}
