//! Scripted faults and administrators' actions (`[[inject]]`), by the names of the scenario.

use crate::time::Micros;

/// A scripted fault or operator action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The server dies (power loss): its VMs stop, its disk is gone with it.
    ServerCrash {
        server: String,
    },
    /// A dead server boots again (as a standby; no failback).
    PowerOn {
        server: String,
    },
    /// `clpgrp -m`: stop script with GROUPMOVE on the old server, start on the target
    /// (the next server in priority order if none).
    GroupMove {
        cluster: String,
        target: Option<String>,
    },
    /// Stop script with GROUPSTOP, then resources down.
    GroupStop {
        cluster: String,
    },
    GroupStart {
        cluster: String,
        target: Option<String>,
    },
    /// The cluster's shared disk fails: the group goes "Online Failure".
    DiskFailure {
        cluster: String,
    },
    DiskRepair {
        cluster: String,
    },
    /// The server is cut off the network: nobody reaches it; after the heartbeat timeout its
    /// cluster fails over and the server shuts itself down (NP resolution's default action).
    NetworkCut {
        server: String,
    },
    /// The cluster's REST API does not answer for `duration`.
    RestUnreachable {
        cluster: String,
        duration: Micros,
    },
    /// The documented manual remedy: stop the script resource and start it again.
    ScriptRestart {
        cluster: String,
    },
    /// The server's cables are plugged back in (after `NetworkCut`).
    Reconnect {
        server: String,
    },
    /// The cluster's heartbeat LAN fails / returns.
    InterconnectDown {
        cluster: String,
    },
    InterconnectUp {
        cluster: String,
    },
    /// The witness server goes down / comes back.
    WitnessDown,
    WitnessUp,
}

impl std::fmt::Display for Fault {
    /// As a scenario file writes it: `server_crash c1s1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::ServerCrash { server } => write!(f, "server_crash {server}"),
            Fault::PowerOn { server } => write!(f, "power_on {server}"),
            Fault::GroupMove { cluster, target } => match target {
                Some(t) => write!(f, "group_move {cluster} to {t}"),
                None => write!(f, "group_move {cluster}"),
            },
            Fault::GroupStop { cluster } => write!(f, "group_stop {cluster}"),
            Fault::GroupStart { cluster, target } => match target {
                Some(t) => write!(f, "group_start {cluster} on {t}"),
                None => write!(f, "group_start {cluster}"),
            },
            Fault::DiskFailure { cluster } => write!(f, "disk_failure {cluster}"),
            Fault::DiskRepair { cluster } => write!(f, "disk_repair {cluster}"),
            Fault::NetworkCut { server } => write!(f, "network_cut {server}"),
            Fault::RestUnreachable { cluster, duration } => write!(
                f,
                "rest_unreachable {cluster} for {}",
                crate::time::Human(*duration)
            ),
            Fault::ScriptRestart { cluster } => write!(f, "script_restart {cluster}"),
            Fault::Reconnect { server } => write!(f, "reconnect {server}"),
            Fault::InterconnectDown { cluster } => write!(f, "interconnect_down {cluster}"),
            Fault::InterconnectUp { cluster } => write!(f, "interconnect_up {cluster}"),
            Fault::WitnessDown => f.write_str("witness_down"),
            Fault::WitnessUp => f.write_str("witness_up"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inject {
    pub at: Micros,
    pub fault: Fault,
}
