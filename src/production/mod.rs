//! The control logic in production: real backends for the traits of `backend` (the ECX REST
//! API over HTTP, Hyper-V through PowerShell, the alert log through `clplogcmd`, a real clock,
//! a DNS update command, the master's lease service), and the entry points ECX runs: the
//! agent (a script resource's start and stop) and the master (the master cluster's failover
//! group). Both call the control functions the simulator calls; nothing here decides.

pub mod agent;
pub mod alert_log;
pub mod backend;
pub mod config;
pub mod credentials;
pub mod dns_command;
pub mod http_ecx;
pub mod lease_book;
pub mod lease_client;
pub mod lease_service;
pub mod master;
pub mod offload;
pub mod powershell;
pub mod tls;
