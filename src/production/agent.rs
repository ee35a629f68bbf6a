//! `ecxsim agent start|stop`: the script resource's start.bat / stop.bat in one program. ECX
//! describes the event in environment variables (`CLP_EVENT`, `CLP_FACTOR`, `CLP_SERVER`);
//! the agent runs the same `start_script` / `stop_script` the simulator runs, for every VM
//! of the configuration its cluster takes part in, with the production backends.
//!
//! Exit codes: 0 when every VM's script succeeded (ECX: activation or deactivation done);
//! 1 when one failed (ECX: activation failure, its recovery action follows); 2 when the
//! agent could not run at all (configuration, credentials or environment).

use std::path::Path;

use super::alert_log::ClpLogCmd;
use super::backend::ProductionBackend;
use super::config::{self, Config};
use super::credentials;
use super::dns_command::DnsCommand;
use super::lease_client::LeaseClient;
use crate::backend::{AlertLog, LogLevel};
use crate::control::{
    start_script, stop_script, ClpEvent, ClpFactor, ScriptContext, ScriptName, ScriptOutcome, Side,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
}

/// Why the agent stopped, with its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentError {
    pub code: u8,
    pub message: String,
}

fn bad_input(message: impl Into<String>) -> AgentError {
    AgentError {
        code: 2,
        message: message.into(),
    }
}

/// What ECX told the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClpEnvironment {
    pub event: ClpEvent,
    pub factor: ClpFactor,
    /// `CLP_SERVER`: `HOME` on the group's highest-priority server, `OTHER` elsewhere.
    pub server: String,
    /// `COMPUTERNAME`.
    pub computer: Option<String>,
}

/// Reads ECX's variables through `var` (the process environment in production).
pub fn read_environment(
    action: Action,
    var: impl Fn(&str) -> Option<String>,
) -> Result<ClpEnvironment, AgentError> {
    let raw_event = var("CLP_EVENT").unwrap_or_default();
    let event = match raw_event.trim() {
        "START" => ClpEvent::Start,
        "FAILOVER" => ClpEvent::Failover,
        "RECOVER" if action == Action::Start => ClpEvent::Recover,
        "" => {
            return Err(bad_input(
                "CLP_EVENT is not set: the agent is meant to be run by an ECX script resource",
            ))
        }
        other => return Err(bad_input(format!("unexpected CLP_EVENT {other:?}"))),
    };
    // Shutdowns stop the group where it is; restarts of a resource or group are the
    // resource's own stop. Anything else is treated as the latter rather than failing the
    // deactivation (whose default final action in ECX shuts the server down).
    let factor = match var("CLP_FACTOR").unwrap_or_default().trim() {
        "GROUPSTOP" | "CLUSTERSHUTDOWN" | "SERVERSHUTDOWN" => ClpFactor::GroupStop,
        "GROUPMOVE" => ClpFactor::GroupMove,
        "GROUPFAILOVER" => ClpFactor::GroupFailover,
        _ => ClpFactor::Resource,
    };
    Ok(ClpEnvironment {
        event,
        factor,
        server: var("CLP_SERVER").unwrap_or_default(),
        computer: var("COMPUTERNAME").filter(|c| !c.trim().is_empty()),
    })
}

fn script_label(name: ScriptName) -> &'static str {
    match name {
        ScriptName::ChangePrimary => "ChangePrimary",
        ScriptName::Stop => "Stop",
        ScriptName::ChangeReplica => "ChangeReplica",
        ScriptName::CoordinatedPrimary => "coordinated primary",
        ScriptName::CoordinatedReplica => "coordinated replica",
        ScriptName::Nothing => "nothing to do",
    }
}

/// One VM's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmOutcome {
    pub vm: String,
    pub side: Side,
    pub outcome: ScriptOutcome,
}

/// The script contexts of the VMs `cluster` takes part in.
pub fn contexts(config: &Config, cluster: usize, own_server: &str) -> Vec<(Side, ScriptContext)> {
    config
        .vms
        .iter()
        .filter(|vm| vm.home == cluster || vm.replica == cluster)
        .map(|vm| {
            let (side, other, own_path, other_path) = if vm.home == cluster {
                (Side::Primary, vm.replica, &vm.home_vmcx, &vm.replica_vmcx)
            } else {
                (Side::Replica, vm.home, &vm.replica_vmcx, &vm.home_vmcx)
            };
            let ctx = ScriptContext {
                own_server: own_server.to_string(),
                own_cluster: config.clusters[cluster].name.clone(),
                vm: vm.name.clone(),
                opposite_cluster: config.clusters[other].name.clone(),
                opposite_group: config.clusters[other].group.clone(),
                vmcx_path: own_path.clone(),
                opposite_vmcx_path: other_path.clone(),
                replication_frequency_s: vm.replication_frequency_s,
            };
            (side, ctx)
        })
        .collect()
}

/// Runs the start or stop script for every VM of this cluster.
pub fn run(
    action: Action,
    config_path: &Path,
    env: &ClpEnvironment,
) -> Result<Vec<VmOutcome>, AgentError> {
    let config = config::load(config_path).map_err(|e| bad_input(e.to_string()))?;
    let agent = config.agent.clone().ok_or_else(|| {
        bad_input(format!(
            "{}: the [agent] section (cluster = \"<this cluster>\") is missing",
            config.file.display()
        ))
    })?;
    let own_server = config
        .powershell
        .local_host
        .clone()
        .or_else(|| env.computer.clone())
        .ok_or_else(|| {
            bad_input("COMPUTERNAME is not set and [powershell] local_host is not configured")
        })?;
    let creds = credentials::load(&config.credentials).map_err(|e| bad_input(e.to_string()))?;
    let alert = ClpLogCmd::new(config.alert_command.clone(), "ecxsim agent");
    let lease = LeaseClient::http(
        &config.lease.url,
        creds.lease.as_ref(),
        config.lease.timeout,
        &config.lease.trust,
    );
    let dns = DnsCommand { argv: Vec::new() };
    let backend = ProductionBackend::from_config(
        &config,
        &creds,
        own_server.clone(),
        lease,
        alert.clone(),
        dns,
    );
    let contexts = contexts(&config, agent.cluster, &own_server);
    if contexts.is_empty() {
        alert.log(
            LogLevel::Info,
            "no [[vm]] involves this cluster: nothing to do",
        );
        return Ok(Vec::new());
    }
    let runs = contexts.iter().map(|(side, ctx)| {
        let b = ProductionBackend {
            alert: alert.with_source(&format!("ecxsim agent {}", ctx.vm)),
            ..backend.clone()
        };
        let variant = &config.control;
        let env = env.clone();
        async move {
            b.log(
                LogLevel::Info,
                &format!("on {} (CLP_SERVER={})", ctx.own_server, env.server),
            );
            let outcome = match action {
                Action::Start => start_script(variant, *side, env.event, ctx, &b).await,
                Action::Stop => stop_script(variant, *side, env.event, env.factor, ctx, &b).await,
            };
            let level = if outcome.batch_exit == 0 {
                LogLevel::Info
            } else {
                LogLevel::Error
            };
            b.log(
                level,
                &format!(
                    "{} finished: exit bits {}, returning {} to ECX",
                    script_label(outcome.script),
                    outcome.bitmask,
                    outcome.batch_exit
                ),
            );
            VmOutcome {
                vm: ctx.vm.clone(),
                side: *side,
                outcome,
            }
        }
    });
    let outcomes = futures_executor::block_on(futures_util::future::join_all(runs));
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.outcome.batch_exit != 0)
        .map(|o| format!("{} (exit bits {})", o.vm, o.outcome.bitmask))
        .collect();
    if failed.is_empty() {
        Ok(outcomes)
    } else {
        Err(AgentError {
            code: 1,
            message: format!(
                "the {} script failed for {}",
                if action == Action::Start {
                    "start"
                } else {
                    "stop"
                },
                failed.join(", ")
            ),
        })
    }
}
