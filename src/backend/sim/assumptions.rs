//! What the mocks assume where no source fixes the behaviour of ECX or Hyper-V, and which the
//! race's size depends on. Each is a `[backend]` key; `ecxsim race` reports the broken share at
//! each one's plausible extremes.

use std::fmt;

use crate::dist::Dist;
use crate::time::MICROS_PER_SECOND;

/// What a forced termination (a host crash or power loss) leaves in the replication
/// relationship of a VM that host was the primary of, once its storage is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrashState {
    /// Error, as after a loss of storage: the relationship resumes where it was if its
    /// partner still points back.
    Error,
    /// "Resynchronization required" (WaitingForStartResynchronize): the tracking log was not
    /// closed gracefully, so only `Resume-VMReplication -Resynchronize` (or re-pointing)
    /// makes it replicate again. What published observations of a forcibly terminated
    /// primary report.
    #[default]
    ResynchronizationRequired,
}

impl CrashState {
    pub const NAMES: &'static str = "\"error\", \"resynchronization-required\"";

    pub fn parse(name: &str) -> Option<CrashState> {
        match name {
            "error" => Some(CrashState::Error),
            "resynchronization-required" => Some(CrashState::ResynchronizationRequired),
            _ => None,
        }
    }
}

impl fmt::Display for CrashState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CrashState::Error => "error",
            CrashState::ResynchronizationRequired => "resynchronization-required",
        })
    }
}

/// What a replication cycle that cannot be delivered (the replica unreachable, without its
/// disk, or no longer bound to the primary) leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailedCycle {
    /// Hyper-V retries: replication is healthy again as soon as both ends are consistent.
    #[default]
    Retried,
    /// The primary's relationship goes to Error (health Critical) and stays there until
    /// `Resume-VMReplication` or a re-pointing ("Fix the error(s) and resume replication").
    Sticky,
}

impl FailedCycle {
    pub const NAMES: &'static str = "\"retried\", \"sticky\"";

    pub fn parse(name: &str) -> Option<FailedCycle> {
        match name {
            "retried" => Some(FailedCycle::Retried),
            "sticky" => Some(FailedCycle::Sticky),
            _ => None,
        }
    }
}

impl fmt::Display for FailedCycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailedCycle::Retried => "retried",
            FailedCycle::Sticky => "sticky",
        })
    }
}

/// The mocks' unsourced behaviour, read from `[backend]`.
#[derive(Debug, Clone, Default)]
pub struct MockAssumptions {
    /// How long a call to an address that does not answer takes to fail. `None`: as long as
    /// the call would take if it were answered (a refused connection).
    pub unreachable_call: Option<Dist>,
    /// Whether a group's FIP, and with it the cluster's REST API, answers while the group is
    /// still starting (the FIP is activated first; the disk is not online yet). Otherwise the
    /// FIP answers once the disk is online, when the script resources start.
    pub rest_during_group_start: bool,
    pub crash_state: CrashState,
    pub failed_cycle: FailedCycle,
}

/// A failed connect on Windows: the SYN and two retransmissions, 3 + 6 + 12 s, which `curl`
/// without `--connect-timeout` waits out.
pub const TCP_CONNECT_TIMEOUT: u64 = 21 * MICROS_PER_SECOND;
