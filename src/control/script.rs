//! start.bat / stop.bat: which logic runs for which `CLP_EVENT` and `CLP_FACTOR`.

use serde::{Deserialize, Serialize};

use super::as_shipped;
use super::context::{ClpEvent, ClpFactor, ScriptContext, ScriptName, ScriptOutcome, Side};
use super::coordinated::{self, CoordinationConfig};
use crate::backend::{AlertLog, Clock, Ecx, HyperV, Lease, LogLevel};

/// Which control logic the script resources run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlVariant {
    /// The scripts as published, defects included.
    AsShipped,
    /// Re-pointing under a lease at the witness, converging from any state.
    Coordinated(CoordinationConfig),
}

/// The script resource's start script (start.bat).
pub async fn start_script<B>(
    variant: &ControlVariant,
    side: Side,
    event: ClpEvent,
    ctx: &ScriptContext,
    backend: &B,
) -> ScriptOutcome
where
    B: Ecx + HyperV + Clock + Lease + AlertLog,
{
    // Both batch files run their logic for START, FAILOVER and RECOVER alike.
    backend.log_fmt(
        LogLevel::Info,
        format_args!("start script: CLP_EVENT={event}"),
    );
    match (variant, side) {
        (ControlVariant::AsShipped, Side::Primary) => {
            let bitmask = as_shipped::change_primary(backend, ctx).await;
            if bitmask != 0 {
                backend.log(
                    LogLevel::Error,
                    "Failed to enable replication. Stop script and start again.",
                );
            }
            // clplogcmd runs last, so the batch exits 0 and ECX sees a successful activation.
            ScriptOutcome {
                script: ScriptName::ChangePrimary,
                bitmask,
                batch_exit: 0,
            }
        }
        (ControlVariant::AsShipped, Side::Replica) => {
            let bitmask = as_shipped::change_replica(backend, ctx).await;
            // No clplogcmd after PowerShell: the batch's ERRORLEVEL is the bitmask.
            ScriptOutcome {
                script: ScriptName::ChangeReplica,
                bitmask,
                batch_exit: bitmask as i32,
            }
        }
        (ControlVariant::Coordinated(config), side) => {
            let bitmask = coordinated::start(backend, ctx, side, config).await;
            let script = match side {
                Side::Primary => ScriptName::CoordinatedPrimary,
                Side::Replica => ScriptName::CoordinatedReplica,
            };
            ScriptOutcome {
                script,
                bitmask,
                batch_exit: bitmask as i32,
            }
        }
    }
}

/// The script resource's stop script (stop.bat).
pub async fn stop_script<B>(
    variant: &ControlVariant,
    side: Side,
    event: ClpEvent,
    factor: ClpFactor,
    ctx: &ScriptContext,
    backend: &B,
) -> ScriptOutcome
where
    B: Ecx + HyperV + Clock + Lease + AlertLog,
{
    backend.log_fmt(
        LogLevel::Info,
        format_args!("stop script: CLP_EVENT={event} CLP_FACTOR={factor}"),
    );
    match (variant, side, event, factor) {
        // primary/stop.bat: only a group move under CLP_EVENT=START runs Stop.ps1; the
        // FAILOVER branch only echoes (it can never match its quoted literal anyway).
        (ControlVariant::AsShipped, Side::Primary, ClpEvent::Start, ClpFactor::GroupMove) => {
            let bitmask = as_shipped::stop(backend, ctx).await;
            ScriptOutcome {
                script: ScriptName::Stop,
                bitmask,
                batch_exit: 0,
            }
        }
        // The coordinated primary also hands over cleanly on a move: stop the VM so it never
        // runs on a node that is about to lose its disk. Replication is left to the new node.
        (ControlVariant::Coordinated(_), Side::Primary, _, ClpFactor::GroupMove) => {
            let bitmask = coordinated::stop_on_move(backend, ctx).await;
            ScriptOutcome {
                script: ScriptName::CoordinatedPrimary,
                bitmask,
                batch_exit: 0,
            }
        }
        // replica/stop.bat only echoes, for every factor.
        _ => ScriptOutcome::nothing(),
    }
}
