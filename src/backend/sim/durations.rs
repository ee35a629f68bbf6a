//! How long each kind of backend call takes.

use crate::engine::Stream;

use super::op::{Op, OpKind};
use crate::dist::Dist;
use crate::time::Micros;

/// Per-kind duration distributions. A call to another host adds `remoting`
/// (`Invoke-Command` over WinRM).
#[derive(Debug, Clone)]
pub struct CallDurations {
    pub rest_get: Dist,
    pub rest_post: Dist,
    pub remoting: Dist,
    pub hv_read: Dist,
    pub start_vm: Dist,
    pub stop_vm: Dist,
    pub import_vm: Dist,
    pub replication_config: Dist,
    pub initial_replication: Dist,
    pub failover: Dist,
    pub lease: Dist,
}

fn uniform_ms(min: u64, max: u64) -> Dist {
    Dist::Uniform {
        min: min * 1_000,
        max: max * 1_000,
    }
}

impl Default for CallDurations {
    fn default() -> Self {
        CallDurations {
            rest_get: uniform_ms(100, 300),
            rest_post: uniform_ms(300, 1_000),
            remoting: uniform_ms(1_000, 3_000),
            hv_read: uniform_ms(300, 1_000),
            start_vm: uniform_ms(10_000, 30_000),
            stop_vm: uniform_ms(5_000, 15_000),
            import_vm: uniform_ms(5_000, 10_000),
            replication_config: uniform_ms(2_000, 5_000),
            initial_replication: uniform_ms(2_000, 5_000),
            failover: uniform_ms(5_000, 10_000),
            lease: uniform_ms(100, 300),
        }
    }
}

impl CallDurations {
    /// Every call takes exactly `each` (deterministic timing for tests).
    pub fn fixed(each: Micros) -> CallDurations {
        let d = Dist::Fixed(each);
        CallDurations {
            rest_get: d.clone(),
            rest_post: d.clone(),
            remoting: Dist::Fixed(0),
            hv_read: d.clone(),
            start_vm: d.clone(),
            stop_vm: d.clone(),
            import_vm: d.clone(),
            replication_config: d.clone(),
            initial_replication: d.clone(),
            failover: d.clone(),
            lease: d,
        }
    }

    /// The duration of `op` issued from `caller`; `unanswered`: the time to fail of a call
    /// that nothing answers, drawn instead.
    pub fn sample_or_fail(
        &self,
        op: &Op,
        caller: &str,
        unanswered: Option<&Dist>,
        rng: &mut Stream,
    ) -> Micros {
        match unanswered {
            Some(fail_after) => fail_after.sample(rng).max(1),
            None => self.sample(op, caller, rng),
        }
    }

    /// The duration of `op` issued from `caller`.
    pub fn sample(&self, op: &Op, caller: &str, rng: &mut Stream) -> Micros {
        let base = match op.kind() {
            OpKind::Sleep => match op {
                Op::Sleep(d) | Op::Idle { sleep: d, .. } => return *d,
                _ => 0,
            },
            OpKind::RestGet => self.rest_get.sample(rng),
            OpKind::RestPost => self.rest_post.sample(rng),
            OpKind::HvRead => self.hv_read.sample(rng),
            OpKind::StartVm => self.start_vm.sample(rng),
            OpKind::StopVm => self.stop_vm.sample(rng),
            OpKind::ImportVm => self.import_vm.sample(rng),
            OpKind::ReplicationConfig => self.replication_config.sample(rng),
            OpKind::InitialReplication => self.initial_replication.sample(rng),
            OpKind::Failover => self.failover.sample(rng),
            OpKind::Lease => self.lease.sample(rng),
        };
        let remote = matches!(op, Op::Hv { host, .. } if **host != *caller);
        // Never zero: a call always yields, so scripts never run in one atomic burst.
        let total = base + if remote { self.remoting.sample(rng) } else { 0 };
        total.max(1)
    }
}
