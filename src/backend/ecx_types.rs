//! What the ECX REST API answers (`GET /api/v1/groups/<name>`, `/servers`, `/resources`),
//! with the field names and status strings of the ECX REST API's documentation.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Name;

/// `current` of a group or resource that is active nowhere (the literal the WebUI compares).
pub const NO_SERVER: &str = "None";

/// Group and resource status strings, exactly as the REST API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupStatus {
    #[serde(rename = "Online")]
    Online,
    #[serde(rename = "Offline")]
    Offline,
    #[serde(rename = "Online Pending")]
    OnlinePending,
    #[serde(rename = "Offline Pending")]
    OfflinePending,
    #[serde(rename = "Online Failure")]
    OnlineFailure,
    #[serde(rename = "Offline Failure")]
    OfflineFailure,
}

impl GroupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Online => "Online",
            GroupStatus::Offline => "Offline",
            GroupStatus::OnlinePending => "Online Pending",
            GroupStatus::OfflinePending => "Offline Pending",
            GroupStatus::OnlineFailure => "Online Failure",
            GroupStatus::OfflineFailure => "Offline Failure",
        }
    }

    pub fn parse(text: &str) -> Option<GroupStatus> {
        [
            GroupStatus::Online,
            GroupStatus::Offline,
            GroupStatus::OnlinePending,
            GroupStatus::OfflinePending,
            GroupStatus::OnlineFailure,
            GroupStatus::OfflineFailure,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for GroupStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `cluster{name,status}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub status: String,
}

/// `servers[]{name,status}`; status "Online" or "Offline".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServerInfo {
    pub name: String,
    pub status: String,
}

/// `resources[]{name,type,status,current,group}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: GroupStatus,
    pub current: String,
    pub group: String,
}

/// `groups[]{name,status,current,resources[]}`: `current` is the server name or `"None"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupInfo {
    pub name: Name,
    pub status: GroupStatus,
    pub current: Name,
    /// Shared: a poller asks for the same group again and again, and its resources rarely
    /// change.
    pub resources: Arc<[Name]>,
}

impl GroupInfo {
    /// The active server, if the group is active anywhere.
    pub fn active_server(&self) -> Option<&str> {
        (*self.current != *NO_SERVER && !self.current.is_empty()).then_some(&*self.current)
    }
}
