//! Why a backend call failed, in the words the real systems use.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum BackendError {
    /// No answer: host down, cut off, or the cluster's FIP not online.
    #[error("no answer from {target}")]
    Unreachable { target: String },
    /// A remote call aimed at no host at all (a REST lookup that failed left `$null`).
    #[error("no computer name given")]
    NoTarget,
    /// The documented Hyper-V refusal on a host that lacks the VM's disk.
    #[error("Operation not allowed for virtual machine '{vm}' because the configuration was not accessible. Try again later.")]
    ConfigurationNotAccessible { vm: String },
    #[error("Hyper-V was unable to find a virtual machine with name '{vm}' on '{host}'")]
    VmNotFound { vm: String, host: String },
    #[error("a virtual machine with the same identifier as '{vm}' already exists on '{host}'")]
    VmAlreadyExists { vm: String, host: String },
    #[error("the path '{path}' is not accessible from '{host}'")]
    PathNotAccessible { path: String, host: String },
    #[error("virtual machine '{vm}' is not enabled for replication on '{host}'")]
    NotReplicating { vm: String, host: String },
    #[error("virtual machine '{vm}' is already enabled for replication on '{host}'")]
    AlreadyReplicating { vm: String, host: String },
    /// A documented precondition of the cmdlet does not hold.
    #[error(
        "'{operation}' is not allowed for virtual machine '{vm}' in its current state: {detail}"
    )]
    InvalidState {
        vm: String,
        operation: String,
        detail: String,
    },
    /// A REST answer with a non-zero `result.code`.
    #[error("REST error {code}: {message}")]
    Rest { code: i64, message: String },
    /// Production backends: the peer took longer than the configured timeout.
    #[error("no answer from {target} in time")]
    Timeout { target: String },
    /// Production backends: the peer refused the configured credentials.
    #[error("{target} refused the credentials")]
    Authentication { target: String },
    /// Production backends: an HTTPS server whose certificate the configured trust refuses
    /// (a setting to fix, not a peer that is down).
    #[error("{target} presented a TLS certificate that is not trusted: {problem}")]
    Certificate { target: String, problem: String },
    /// Production backends: an answer that is not what the API documents.
    #[error("undecodable answer from {target}: {detail}")]
    Undecodable { target: String, detail: String },
    /// Production backends: an HTTP status without a readable envelope.
    #[error("{target} answered HTTP {status}")]
    HttpStatus { target: String, status: u16 },
    /// Production backends: a command failed with a message no typed error matches.
    #[error("{target}: {message}")]
    Failed { target: String, message: String },
}
