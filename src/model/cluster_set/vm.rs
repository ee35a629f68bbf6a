//! One VM of a cluster set, the service clients use: where it runs, what DNS tells clients,
//! how current its replica is, and its availability accounting.

use crate::engine::Timer;
use crate::metrics::{Cause, OutageRecord, ServiceTracker, TrackerTotals};
use crate::time::Micros;

use super::replica::ReplicaPair;

/// When the replica was last brought up to date, derived lazily: replication cycles are never
/// simulated one by one. While replication is healthy, cycle k completes at
/// `healthy_since + k * interval` (k >= 1); the last completed cycle before `t` follows by
/// division. A cycle in flight when replication stops is lost.
#[derive(Debug, Clone)]
pub struct SyncClock {
    interval: Micros,
    /// The replica is current to this time, as of the last stop or resynchronisation.
    anchor: Micros,
    healthy_since: Option<Micros>,
}

impl SyncClock {
    /// Healthy from time 0, with the replica current at time 0.
    pub fn new(interval: Micros) -> SyncClock {
        SyncClock {
            interval,
            anchor: 0,
            healthy_since: Some(0),
        }
    }

    /// The time the replica's data is current to, at `now`.
    pub fn last_sync(&self, now: Micros) -> Micros {
        match self.healthy_since {
            Some(since) if self.interval > 0 && now >= since + self.interval => {
                since + (now - since) / self.interval * self.interval
            }
            Some(since) if self.interval == 0 => now.max(since),
            _ => self.anchor,
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy_since.is_some()
    }

    /// Replication stops: the replica stays current to the last completed cycle.
    pub fn stop(&mut self, now: Micros) {
        if self.healthy_since.is_some() {
            self.anchor = self.last_sync(now);
            self.healthy_since = None;
        }
    }

    /// Replication runs again; the changes piled up meanwhile go with the next cycle.
    pub fn resume(&mut self, now: Micros) {
        if self.healthy_since.is_none() {
            self.healthy_since = Some(now);
        }
    }

    /// A resynchronisation completed: the replica is current now.
    pub fn resynchronised(&mut self, now: Micros) {
        self.anchor = now;
        self.healthy_since = Some(now);
    }
}

pub struct VmRt {
    pub pair: ReplicaPair,
    pub sync: SyncClock,
    /// Scenario cluster index DNS points at, and from when clients resolve it.
    pub dns_target: usize,
    pub dns_ready_at: Micros,
    pub resync_timer: Timer,
    /// The master is failing the VM over (from its first failover call to the DNS update).
    pub failing_over: bool,
    /// The VM ran until then and has not run since.
    pub stopped_at: Option<Micros>,
    running: bool,
    pub tracker: ServiceTracker,
    pub data_loss: Vec<Micros>,
}

/// What the world tells a VM about the clusters it lives on.
pub struct ClusterView {
    pub up: bool,
    pub cause: Option<Cause>,
    pub split_brain: bool,
}

impl VmRt {
    pub fn new(home: usize, replica: usize, interval: Micros, tracker: ServiceTracker) -> VmRt {
        VmRt {
            pair: ReplicaPair::new(home, replica),
            sync: SyncClock::new(interval),
            dns_target: home,
            dns_ready_at: 0,
            resync_timer: Timer::default(),
            failing_over: false,
            stopped_at: None,
            running: true,
            tracker,
            data_loss: Vec::new(),
        }
    }

    /// The cluster whose group runs the VM.
    pub fn placed(&self) -> Option<usize> {
        self.pair.started().map(|i| self.pair.copies[i].cluster)
    }

    /// The time the copy on `cluster` is current to at `now`.
    pub fn current_to(&self, copy: usize, now: Micros) -> Micros {
        let c = &self.pair.copies[copy];
        match c.mode {
            crate::backend::ReplicationMode::Replica => self.sync.last_sync(now),
            crate::backend::ReplicationMode::Primary => c.current_to,
        }
    }

    /// The VM now runs on copy `copy` (a cross-cluster failover): count the writes lost, and
    /// remember how current the copy it left is.
    pub fn moved(&mut self, copy: usize, current_to: Micros, now: Micros) {
        let stopped = self.stopped_at.unwrap_or(now);
        if self.tracker.observes(now) {
            self.data_loss.push(stopped.saturating_sub(current_to));
        }
        let left = &mut self.pair.copies[1 - copy];
        left.current_to = stopped;
        // The replica the VM ran from is not replicating any more.
        self.sync.stop(now);
    }

    /// Brings availability, cause and protection up to date at `now`. `placed` is the view of
    /// the cluster running the VM; `both_up`: both clusters' groups are up.
    pub fn refresh(&mut self, now: Micros, placed: Option<ClusterView>, both_up: bool) {
        let running = placed.as_ref().is_some_and(|p| p.up);
        if self.running && !running {
            self.stopped_at = Some(now);
        } else if running {
            self.stopped_at = None;
        }
        self.running = running;
        let at_dns = self.placed() == Some(self.dns_target) && now >= self.dns_ready_at;
        if running && at_dns && !self.failing_over {
            self.tracker.up(now);
        } else {
            let cause = if self.failing_over {
                Cause::ClusterFailover
            } else if !running {
                placed
                    .as_ref()
                    .and_then(|p| p.cause)
                    .unwrap_or(Cause::AllServersDown)
            } else {
                Cause::Dns
            };
            self.tracker.down(now, cause);
        }
        let split = placed.as_ref().is_some_and(|p| p.split_brain);
        self.tracker.set_split_brain(now, split);
        let healthy = running && both_up && self.pair.replicating();
        if healthy {
            self.sync.resume(now);
        } else {
            self.sync.stop(now);
        }
        self.tracker.set_unprotected(now, !healthy);
    }

    pub fn finish(self) -> (TrackerTotals, Vec<OutageRecord>, Vec<Micros>) {
        let (totals, outages) = self.tracker.finish();
        (totals, outages, self.data_loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_completed_cycle_is_derived_from_when_replication_became_healthy() {
        let mut s = SyncClock::new(30);
        assert_eq!(s.last_sync(29), 0);
        assert_eq!(s.last_sync(30), 30);
        assert_eq!(s.last_sync(95), 90);
        // Stops at 100: the cycle in flight (due at 120) is lost.
        s.stop(100);
        assert_eq!(s.last_sync(500), 90);
        // Resumes at 200: nothing new until the first cycle after it.
        s.resume(200);
        assert_eq!(s.last_sync(229), 90);
        assert_eq!(s.last_sync(230), 230);
        s.resynchronised(300);
        assert_eq!(s.last_sync(310), 300);
        assert_eq!(s.last_sync(335), 330);
    }
}
