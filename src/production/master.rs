//! `ecxsim master`: the cluster-set master in the master cluster's failover group. It serves
//! the lease service (leases and role records for the coordinated scripts and itself) and runs
//! the same `control::master::run` the simulator runs, with the production backends, until it
//! is stopped: SIGTERM or SIGINT (Ctrl-C) end it cleanly, between two backend calls.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::agent::AgentError;
use super::alert_log::ClpLogCmd;
use super::backend::ProductionBackend;
use super::config::{self, Config};
use super::credentials;
use super::dns_command::DnsCommand;
use super::lease_book::StoredBook;
use super::lease_client::LeaseClient;
use super::lease_service::LeaseService;
use super::offload::offload;
use crate::backend::{AlertLog, LogLevel};
use crate::control::master::{self, MasterConfig, ProtectedVm, WorkerCluster};
use crate::http_server::{HttpServer, ServerConfig};

fn bad_input(message: impl Into<String>) -> AgentError {
    AgentError {
        code: 2,
        message: message.into(),
    }
}

/// The controller's view of the configuration.
pub fn master_config(config: &Config) -> Option<MasterConfig> {
    let m = config.master.as_ref()?;
    Some(MasterConfig {
        poll_interval: m.poll_interval.as_micros() as u64,
        failure_threshold: m.failure_threshold,
        workers: config
            .clusters
            .iter()
            .map(|c| WorkerCluster {
                name: c.name.clone(),
                group: c.group.clone(),
                address: c.dns_address.clone(),
            })
            .collect(),
        vms: config
            .vms
            .iter()
            .map(|v| ProtectedVm {
                name: v.name.clone(),
                home: v.home,
                replica: v.replica,
            })
            .collect(),
    })
}

/// Sets `stop` on SIGTERM and SIGINT.
pub fn stop_on_signals(stop: &Arc<AtomicBool>) -> Result<(), AgentError> {
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).map_err(|e| AgentError {
            code: 1,
            message: format!("cannot handle signal {signal}: {e}"),
        })?;
    }
    Ok(())
}

/// Serves the lease service and runs the controller until `stop` is set.
pub fn run(config_path: &Path, stop: Arc<AtomicBool>) -> Result<(), AgentError> {
    let config = config::load(config_path).map_err(|e| bad_input(e.to_string()))?;
    let section = config.master.clone().ok_or_else(|| {
        bad_input(format!(
            "{}: the [master] section is missing",
            config.file.display()
        ))
    })?;
    let cfg = master_config(&config).expect("the [master] section is present");
    let creds = credentials::load(&config.credentials).map_err(|e| bad_input(e.to_string()))?;
    let lease_credential = creds.lease.clone().ok_or_else(|| {
        bad_input(format!(
            "{}: the [lease] credentials are missing (the lease service requires them)",
            config.credentials.display()
        ))
    })?;
    let book = StoredBook::open(section.state_file.as_deref()).map_err(bad_input)?;
    let service = Arc::new(LeaseService::new(book));
    let server_config = ServerConfig {
        bind: section.bind,
        ..ServerConfig::new(
            section.bind.port(),
            lease_credential,
            "ecxsim lease service",
        )
    };
    let server = HttpServer::start(server_config, service.clone()).map_err(|e| AgentError {
        code: 1,
        message: e.to_string(),
    })?;
    let alert = ClpLogCmd::new(config.alert_command.clone(), "ecxsim master");
    let local_host = config
        .powershell
        .local_host
        .clone()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let dns = DnsCommand {
        argv: section.dns_command.clone().unwrap_or_default(),
    };
    let lease = LeaseClient::local(service);
    let backend =
        ProductionBackend::from_config(&config, &creds, local_host, lease, alert.clone(), dns);
    alert.log(
        LogLevel::Info,
        &format!(
            "started: lease service on {}, {} clusters, {} VMs",
            server.local_addr(),
            cfg.workers.len(),
            cfg.vms.len()
        ),
    );
    let watcher = stop.clone();
    let stopped = offload(move || {
        while !watcher.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    });
    let controller = master::run(&backend, &cfg);
    futures_executor::block_on(futures_util::future::select(
        Box::pin(controller),
        Box::pin(stopped),
    ));
    server.stop();
    alert.log(LogLevel::Info, "stopped");
    Ok(())
}
