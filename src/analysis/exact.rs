//! `ecxsim analytic`: the exact steady-state report of a scenario whose times are all
//! exponential (or instantaneous), in the same shape as a simulation report.

use super::ctmc::CtmcError;
use super::standalone_ctmc::{self, ExponentialCluster, MAX_SERVERS};
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
    /// An element the exact model leaves out: solving without it would answer for another
    /// scenario (a witness and an interconnect can take a cluster down; the model never would).
    #[error("`{element}`: {what} is not in the exact model; simulate it with `ecxsim run`")]
    Unsupported { element: String, what: &'static str },
    #[error("`cluster.{cluster}`: {source}")]
    Ctmc { cluster: String, source: CtmcError },
}

impl ExactError {
    /// The key path of the element at fault, as the scenario file spells it.
    pub fn element(&self) -> String {
        match self {
            ExactError::NotExponential { element, .. }
            | ExactError::Unsupported { element, .. } => element.clone(),
            ExactError::Ctmc { cluster, source } => {
                let key = match source {
                    CtmcError::InvalidParameter { parameter, .. } => match *parameter {
                        "repair_crews" => "repair_crews",
                        "failure_rate" => "server_ttf",
                        "repair_rate" => "server_ttr",
                        "detection_rate" => "heartbeat_timeout",
                        "start_rate" => "group_start",
                        "stop_rate" => "group_stop",
                        p if p.starts_with("shared_disk") => "shared_disk",
                        _ => "servers",
                    },
                    // The state count grows with the servers (and falls with more crews).
                    _ => "servers",
                };
                format!("cluster.{cluster}.{key}")
            }
        }
    }

    /// The error located in the scenario file (file:line:column of the element).
    pub fn located(&self, path: &std::path::Path) -> crate::scenario::ScenarioError {
        let message = match self {
            ExactError::Ctmc { source, .. } => match source {
                CtmcError::InvalidParameter { parameter, .. } if *parameter == "servers" => {
                    format!(
                        "the exact model solves clusters of at most {MAX_SERVERS} servers; \
                         simulate larger ones with `ecxsim run`"
                    )
                }
                CtmcError::TooManyStates { states, limit } => format!(
                    "the exact model of this cluster has {states} states, more than the {limit} \
                     its solver handles (more repair_crews or fewer servers give fewer); \
                     simulate it with `ecxsim run`"
                ),
                other => format!("{other}; simulate it with `ecxsim run`"),
            },
            ExactError::Unsupported { what, .. } => {
                format!("{what} is not in the exact model; simulate it with `ecxsim run`")
            }
            ExactError::NotExponential { kind, needs, .. } => {
                format!("{kind}, but the exact solution needs {needs}")
            }
        };
        crate::scenario::error_at(path, &self.element(), message)
    }
}

/// Refuses every element of the scenario the exact model does not contain, naming the first.
fn check_supported(scenario: &Scenario) -> Result<(), ExactError> {
    let unsupported =
        |element: String, what: &'static str| Err(ExactError::Unsupported { element, what });
    if let Some(vm) = scenario.vms.first() {
        return unsupported(
            format!("vm.{}", vm.name),
            "a replicated VM (cluster set: replication, cross-cluster failover)",
        );
    }
    if scenario.master.is_some() {
        return unsupported(
            "master".into(),
            "the master controller (cross-cluster failover)",
        );
    }
    if scenario.witness.is_some() {
        return unsupported(
            "witness".into(),
            "a witness server (network-partition resolution)",
        );
    }
    if let Some(domain) = scenario.fault_domains.first() {
        return unsupported(
            format!("fault_domain.{}", domain.name),
            "a fault domain (servers failing together)",
        );
    }
    if !scenario.injects.is_empty() {
        return unsupported("inject".into(), "a scripted fault ([[inject]])");
    }
    for service in &scenario.services {
        let cluster = &scenario.clusters[service.cluster];
        if cluster.interconnect.is_some() {
            return unsupported(
                format!("cluster.{}.interconnect", cluster.name),
                "an interconnect that fails (network partitions)",
            );
        }
    }
    Ok(())
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

/// The exact report: every service gets its cluster's steady-state solution. A scenario with
/// an element the model leaves out is refused rather than answered for a different system.
pub fn exact_report(scenario: &Scenario) -> Result<Report, ExactError> {
    check_supported(scenario)?;
    let mut solutions = std::collections::BTreeMap::new();
    for service in &scenario.services {
        if solutions.contains_key(&service.cluster) {
            continue;
        }
        let cluster = &scenario.clusters[service.cluster];
        let model = exponential_cluster(cluster)?;
        let solution = standalone_ctmc::solve(&model).map_err(|source| ExactError::Ctmc {
            cluster: cluster.name.clone(),
            source,
        })?;
        solutions.insert(service.cluster, solution);
    }
    let services = scenario
        .services
        .iter()
        .map(|service| {
            let s = &solutions[&service.cluster];
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
        yearly_downtime_minutes: Default::default(),
        sla: scenario
            .sla
            .as_ref()
            .map(crate::analysis::summary::SlaReport::of),
        cost: None,
        services,
    })
}
