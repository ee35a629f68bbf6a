//! The ECX mock: what one cluster's REST API answers, from the cluster's state.

use crate::backend::{
    BackendError, ClusterInfo, GroupInfo, GroupStatus, Name, ResourceInfo, ServerInfo, NO_SERVER,
};
use crate::time::Micros;

/// One ECX cluster with one failover group (fip + sd + script resources).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EcxCluster {
    pub name: String,
    pub group: String,
    /// Failover priority order, highest first.
    pub servers: Vec<String>,
    pub status: GroupStatus,
    /// Where the group is active (or starting/stopping).
    pub current: Option<String>,
    pub fip_online: bool,
    pub sd_online: bool,
    pub script_online: bool,
    /// A "REST unreachable" fault lasts until then.
    pub rest_down_until: Micros,
}

impl EcxCluster {
    pub fn new(name: &str, group: &str, servers: Vec<String>) -> EcxCluster {
        EcxCluster {
            name: name.into(),
            group: group.into(),
            servers,
            status: GroupStatus::Offline,
            current: None,
            fip_online: false,
            sd_online: false,
            script_online: false,
            rest_down_until: 0,
        }
    }

    pub fn fip_name(&self) -> String {
        format!("fip-{}", self.name)
    }

    /// Whether a request to the FIP gets an answer: the FIP must be up on a live, connected
    /// server (`server_ok`), and no REST fault injected.
    pub fn answers(
        &self,
        now: Micros,
        server_ok: impl Fn(&str) -> bool,
    ) -> Result<(), BackendError> {
        let up = self.fip_online
            && now >= self.rest_down_until
            && self.current.as_deref().is_some_and(server_ok);
        if up {
            Ok(())
        } else {
            Err(BackendError::Unreachable {
                target: self.fip_name(),
            })
        }
    }

    pub fn current_name(&self) -> String {
        self.current
            .clone()
            .unwrap_or_else(|| NO_SERVER.to_string())
    }

    pub fn group_info(&self) -> GroupInfo {
        GroupInfo {
            name: self.group.as_str().into(),
            status: self.status,
            current: self.current_name().into(),
            resources: [
                format!("fip-{}", self.name),
                format!("sd-{}", self.name),
                format!("script-{}", self.name),
            ]
            .map(Name::from)
            .into(),
        }
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            name: self.name.clone(),
            status: "Normal".into(),
        }
    }

    pub fn server_infos(&self, up: impl Fn(&str) -> bool) -> Vec<ServerInfo> {
        self.servers
            .iter()
            .map(|s| ServerInfo {
                name: s.clone(),
                status: if up(s) { "Online" } else { "Offline" }.into(),
            })
            .collect()
    }

    pub fn resource_infos(&self) -> Vec<ResourceInfo> {
        let resource = |kind: &str, online: bool| {
            let status = match (online, self.status) {
                (true, _) => GroupStatus::Online,
                (false, GroupStatus::OnlinePending) => GroupStatus::OnlinePending,
                (false, GroupStatus::OnlineFailure) if kind == "sd" => GroupStatus::OnlineFailure,
                _ => GroupStatus::Offline,
            };
            ResourceInfo {
                name: format!("{kind}-{}", self.name),
                kind: kind.into(),
                status,
                current: if online {
                    self.current_name()
                } else {
                    NO_SERVER.into()
                },
                group: self.group.clone(),
            }
        };
        vec![
            resource("fip", self.fip_online),
            resource("sd", self.sd_online),
            resource("script", self.script_online),
        ]
    }
}
