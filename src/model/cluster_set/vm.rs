//! One replicated VM, the service clients use: where it serves from, what DNS tells clients,
//! how current each of its two copies is, and its availability and protection accounting.
//!
//! The VM's state itself (registration, power, replication relationships) lives in the
//! Hyper-V mock (`backend::sim::HyperVFarm`), changed only by the control logic's cmdlets and
//! by the hardware; this is what the world derives from it after each change.

use rand::SeedableRng;

use super::link::LinkShare;
use crate::dist::Dist;
use crate::engine::{stream_seed, Stream};
use crate::metrics::{Cause, OutageRecord, ReplicationLag, ServiceTracker, TrackerTotals};
use crate::time::Micros;

/// When the replica was last brought up to date, derived lazily: replication cycles are never
/// simulated one by one. While replication is healthy (which implies the VM runs), cycle k
/// starts at `since + k * interval`, ships the writes made until then, and completes after its
/// transfer time (`[[vm]] cycle`, drawn for that cycle from a hash of its number, and cut to
/// less than an interval: Hyper-V starts a cycle only when the previous one has ended); the
/// last completed cycle before `t` follows by division. A cycle in flight when replication
/// stops is lost, so a failover loses between 0 and an interval plus a transfer.
///
/// With churn over a link (`link::LinkShare`), a cycle also moves its writes at the VM's share
/// of the link, which takes `ρ × (time since the previous cycle started)` with `ρ` the link's
/// total churn over its bandwidth. When that transfer overruns the interval, Hyper-V Replica
/// delays the next cycle until it ends (Microsoft's replication-health documentation: it
/// "delays the transfer of the next replica file"): so with `ρ ≤ 1` cycles stay on the
/// interval, and with `ρ > 1` each cycle starts as the previous one's data has crossed, cycle
/// k at `since + interval × (ρ^k − 1)/(ρ − 1)`, and the replica falls behind without bound, a
/// fraction `1 − 1/ρ` of the time replication has run. Both follow in closed form. The drawn
/// `cycle` time comes after the data and, as without a link, never delays the next cycle.
///
/// Currency is measured on the VM's *running clock* (the time it has run, anywhere), not on
/// the wall clock: the writes a failover loses are those made while it ran, so time it spent
/// stopped never counts as lost writes.
#[derive(Debug, Clone)]
pub struct SyncClock {
    interval: Micros,
    cycle: Dist,
    /// Seeds the per-cycle transfer draws.
    seed: u64,
    /// (wall time, running clock) when replication last became healthy.
    since: Option<(Micros, Micros)>,
    /// The VM's share of its link; `None`: writes never limit replication.
    link: Option<LinkShare>,
}

impl SyncClock {
    pub fn new(interval: Micros, cycle: Dist, seed: u64) -> SyncClock {
        SyncClock {
            interval,
            cycle,
            seed,
            since: None,
            link: None,
        }
    }

    /// Cycles move the VM's writes at `share` of its link.
    pub fn over_link(mut self, share: Option<LinkShare>) -> SyncClock {
        self.link = share;
        self
    }

    pub fn link(&self) -> Option<LinkShare> {
        self.link
    }

    /// The transfer time of cycle `k` of the healthy period that began at `wall`.
    fn transfer(&self, wall: Micros, k: u64) -> Micros {
        if self.cycle.is_zero() {
            return 0;
        }
        let seed = stream_seed(self.seed ^ wall, k, "cycle");
        let drawn = self.cycle.sample(&mut Stream::seed_from_u64(seed));
        drawn.min(self.interval.saturating_sub(1))
    }

    pub fn is_healthy(&self) -> bool {
        self.since.is_some()
    }

    /// How much of the running clock the replica holds at `now` through the cycles completed
    /// since replication became healthy (`None` before the first).
    pub fn replica_current(&self, now: Micros) -> Option<Micros> {
        let (wall, run) = self.since?;
        if self.interval == 0 {
            return Some(run + now.saturating_sub(wall));
        }
        let elapsed = now.saturating_sub(wall);
        let done = match self.link.filter(|l| !l.keeps_up()) {
            None => self.done_on_the_interval(wall, elapsed),
            Some(lagging) => self.done_behind(wall, elapsed, lagging),
        };
        done.map(|offset| run + offset)
    }

    /// Cycles on the interval: how far into the healthy period the last completed one
    /// reached. Its data transfer (at most an interval) and its drawn time (less than one)
    /// end before the cycle after next starts, so only the last three started can be open.
    fn done_on_the_interval(&self, wall: Micros, elapsed: Micros) -> Option<Micros> {
        let data = self.link.map_or(0, |l| l.transfer(self.interval));
        let started = elapsed / self.interval;
        (started.saturating_sub(2).max(1)..=started)
            .rev()
            .find(|&k| k * self.interval + data + self.transfer(wall, k) <= elapsed)
            .map(|k| k * self.interval)
    }

    /// Cycles delayed by the link (`ρ > 1`): cycle k starts at `behind_start(k)` and its data
    /// has crossed when cycle k+1 starts. The cycle started last is still moving its data;
    /// the one before may still be in its drawn time; the one before that has ended.
    fn done_behind(&self, wall: Micros, elapsed: Micros, link: LinkShare) -> Option<Micros> {
        let start = |k: u64| self.behind_start(k, link);
        let excess = link.excess();
        let guess = ((elapsed as f64 * excess / self.interval as f64).ln_1p() / excess.ln_1p())
            .floor()
            .max(0.0) as u64;
        // The float guess may be off by a cycle at a boundary: settle it on `start` itself.
        let mut started = guess;
        while started > 0 && start(started) > elapsed {
            started -= 1;
        }
        while start(started + 1) <= elapsed {
            started += 1;
        }
        (started.saturating_sub(2).max(1)..started)
            .rev()
            .find(|&k| start(k + 1).saturating_add(self.transfer(wall, k)) <= elapsed)
            .map(start)
    }

    /// When cycle `k` starts after the healthy period began, with the link's churn above its
    /// bandwidth: gaps grow as `interval × ρ^(k−1)`.
    fn behind_start(&self, k: u64, link: LinkShare) -> Micros {
        let excess = link.excess();
        let growth = (k as f64 * excess.ln_1p()).exp_m1() / excess;
        (self.interval as f64 * growth).round() as Micros
    }

    /// From when cycles run late (the second cycle is the first one delayed), while replication
    /// is healthy and the link cannot keep up; Hyper-V counts these cycles as missed.
    pub fn lagging_since(&self) -> Option<Micros> {
        let (wall, _) = self.since?;
        let lagging = self.link.is_some_and(|l| !l.keeps_up()) && self.interval > 0;
        lagging.then(|| wall.saturating_add(2 * self.interval))
    }

    /// Replication runs (again) from `now`, a cycle every `interval` (the relationship's
    /// frequency); `run` is the VM's running clock then.
    pub fn start(&mut self, now: Micros, run: Micros, interval: Micros) {
        if self.since.is_none() {
            self.since = Some((now, run));
            self.interval = interval;
        }
    }

    pub fn interval(&self) -> Micros {
        self.interval
    }

    /// When the next cycle after `now` starts, on the grid of the healthy period in progress.
    pub fn next_cycle(&self, now: Micros) -> Option<Micros> {
        let (wall, _) = self.since?;
        if self.interval == 0 {
            return None;
        }
        let k = now.saturating_sub(wall) / self.interval + 1;
        Some(wall + k * self.interval)
    }

    /// Replication stops at `now`: what the replica holds from the completed cycles.
    pub fn stop(&mut self, now: Micros) -> Option<Micros> {
        let current = self.replica_current(now);
        self.since = None;
        current
    }
}

/// What the world tells a VM after a change, from the Hyper-V mock and its two clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmView {
    /// The copy (0: home cluster, 1: replica cluster) the VM serves from: running on a host
    /// that holds its cluster's shared disk.
    pub serving: Option<usize>,
    /// The world's id of the server it serves from (on the serving copy's cluster).
    pub serving_host: Option<u16>,
    /// It serves from both copies at once (each side started it).
    pub twice: bool,
    /// Replication is healthy from the serving copy to the other: Primary Replicating on the
    /// serving host towards the other cluster's active server, whose Replica points back.
    pub healthy: bool,
    /// Each copy's cluster group: up, and the cause while down.
    pub cluster_up: [bool; 2],
    pub cluster_cause: [Option<Cause>; 2],
    pub split_brain: [bool; 2],
    /// An initial replication or resynchronisation just completed: the replica is current.
    pub resynchronised: bool,
    /// While healthy: how often the serving host's relationship replicates.
    pub interval: Micros,
}

pub struct VmRt {
    /// Scenario cluster index of each copy: the home cluster, the replica cluster.
    pub clusters: [usize; 2],
    pub sync: SyncClock,
    /// The copy replication ships to while healthy.
    sync_target: usize,
    /// How much of the running clock each copy holds.
    copy_current: [Micros; 2],
    /// The VM's running clock, as of `clock_at`.
    run_clock: Micros,
    clock_at: Micros,
    serving: bool,
    /// The copy the VM last served from.
    pub last_copy: usize,
    /// Scenario cluster index DNS points at, and from when clients resolve it.
    pub dns_target: usize,
    pub dns_ready_at: Micros,
    /// The master is failing the VM over (from its first failover call to the DNS update).
    pub failing_over: bool,
    twice: bool,
    pub tracker: ServiceTracker,
    pub data_loss: Vec<Micros>,
    /// Observed time replication ran late for want of bandwidth.
    lagging: Micros,
}

impl VmRt {
    /// Running on its home cluster at time 0, replication healthy and the replica current.
    pub fn new(clusters: [usize; 2], sync: SyncClock, tracker: ServiceTracker) -> VmRt {
        let mut sync = sync;
        let [home, replica] = clusters;
        let interval = sync.interval();
        sync.start(0, 0, interval);
        VmRt {
            clusters: [home, replica],
            sync,
            sync_target: 1,
            copy_current: [0, 0],
            run_clock: 0,
            clock_at: 0,
            serving: true,
            last_copy: 0,
            dns_target: home,
            dns_ready_at: 0,
            failing_over: false,
            twice: false,
            tracker,
            data_loss: Vec::new(),
            lagging: 0,
        }
    }

    pub fn is_twice(&self) -> bool {
        self.twice
    }

    /// The cluster the VM serves from, or last served from.
    pub fn placed(&self) -> usize {
        self.clusters[self.last_copy]
    }

    /// Brings the accounting up to date at `now`.
    pub fn refresh(&mut self, now: Micros, view: VmView) {
        if self.serving {
            self.run_clock += now.saturating_sub(self.clock_at);
        }
        self.clock_at = now;
        self.update_protection(now, &view);
        if let Some(copy) = view.serving {
            if copy != self.last_copy {
                self.moved(copy, now);
            }
        } else if self.serving {
            // It stops: the copy it ran from holds every write.
            self.copy_current[self.last_copy] = self.run_clock;
        }
        self.serving = view.serving.is_some();
        if view.twice && !self.twice {
            self.tracker.running_twice(now);
        }
        self.twice = view.twice;
        self.update_availability(now, &view);
    }

    fn update_protection(&mut self, now: Micros, view: &VmView) {
        let target = view.serving.map(|c| 1 - c);
        let healthy = view.healthy && !view.twice;
        if self.sync.is_healthy() && !(healthy && target == Some(self.sync_target)) {
            if let Some(from) = self.sync.lagging_since() {
                self.lagging += self.tracker.observed_between(from, now);
            }
            if let Some(current) = self.sync.stop(now) {
                let held = &mut self.copy_current[self.sync_target];
                *held = (*held).max(current);
            }
        }
        if healthy {
            let target = target.expect("healthy implies serving");
            self.sync_target = target;
            if view.resynchronised {
                self.copy_current[target] = self.run_clock;
            }
            self.sync.start(now, self.run_clock, view.interval);
        }
        self.tracker.set_unprotected(now, !healthy);
        let both_up = view.cluster_up[0] && view.cluster_up[1];
        self.tracker
            .set_replication_broken(now, !healthy && both_up);
    }

    /// The VM now serves from `copy` after serving from the other: count the writes made on
    /// the other copy that this one lacks.
    fn moved(&mut self, copy: usize, now: Micros) {
        if self.serving {
            // Both ran for a moment (never in practice: one start follows the other's stop).
            self.copy_current[self.last_copy] = self.run_clock;
        }
        let lost = self.run_clock.saturating_sub(self.copy_current[copy]);
        if self.tracker.observes(now) {
            self.data_loss.push(lost);
        }
        self.copy_current[copy] = self.run_clock;
        self.last_copy = copy;
    }

    fn update_availability(&mut self, now: Micros, view: &VmView) {
        let at_dns = self.placed() == self.dns_target && now >= self.dns_ready_at;
        if self.serving && at_dns && !self.failing_over {
            self.tracker.up(now);
        } else {
            let cause = if self.failing_over {
                Cause::ClusterFailover
            } else if !self.serving {
                let c = self.last_copy;
                if view.cluster_up[c] {
                    // The group is online, but the control logic left the VM off.
                    Cause::ScriptFailure
                } else {
                    view.cluster_cause[c].unwrap_or(Cause::AllServersDown)
                }
            } else {
                Cause::Dns
            };
            self.tracker.down(now, cause);
        }
        let split = view.twice
            || view
                .serving
                .is_some_and(|c| view.split_brain[c] && self.serving);
        self.tracker.set_split_brain(now, split);
    }

    pub fn finish(self) -> (TrackerTotals, Vec<OutageRecord>, Vec<Micros>) {
        let mut lagging = self.lagging;
        if let Some(from) = self.sync.lagging_since() {
            lagging += self.tracker.observed_between(from, Micros::MAX);
        }
        let (mut totals, outages) = self.tracker.finish();
        if let Some(link) = self.sync.link() {
            // A replica that falls further behind every cycle is not up to date: the lagging
            // time is unprotected time too (Hyper-V reports it as missed cycles, a Warning).
            totals.unprotected += lagging;
            totals.replication_lag = Some(ReplicationLag {
                headroom: link.headroom(),
                lagging,
            });
        }
        (totals, outages, self.data_loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replica_holds_the_writes_of_the_completed_cycles_on_the_running_clock() {
        let mut s = SyncClock::new(30, Dist::fixed(0), 1);
        s.start(0, 0, 30);
        assert_eq!(s.replica_current(29), None);
        assert_eq!(s.replica_current(30), Some(30));
        assert_eq!(s.replica_current(95), Some(90));
        // Stops at 100: the cycle in flight (due at 120) is lost.
        assert_eq!(s.stop(100), Some(90));
        assert_eq!(s.replica_current(500), None);
        // Starts again at wall 200 with 150 of running time: nothing new until 230.
        s.start(200, 150, 30);
        assert_eq!(s.replica_current(229), None);
        assert_eq!(s.replica_current(230), Some(180));
    }

    #[test]
    fn a_cycle_counts_once_its_transfer_has_ended() {
        let mut s = SyncClock::new(30, Dist::fixed(10), 1);
        s.start(0, 0, 30);
        // Cycle 1 starts at 30 and ends at 40; cycle 2 at 60, ending at 70.
        assert_eq!(s.replica_current(39), None);
        assert_eq!(s.replica_current(40), Some(30));
        assert_eq!(s.replica_current(65), Some(30));
        assert_eq!(s.replica_current(70), Some(60));
        // A transfer longer than the interval is cut to less than one.
        let mut s = SyncClock::new(30, Dist::fixed(100), 1);
        s.start(0, 0, 30);
        assert_eq!(s.replica_current(58), None);
        assert_eq!(s.replica_current(59), Some(30));
        assert_eq!(s.replica_current(88), Some(30));
        assert_eq!(s.replica_current(89), Some(60));
    }

    fn share(link_churn: u64, bandwidth: u64) -> Option<LinkShare> {
        Some(LinkShare {
            link_churn,
            bandwidth,
        })
    }

    #[test]
    fn a_link_that_keeps_up_lengthens_each_transfer_and_delays_no_cycle() {
        // Half the bandwidth goes to writes: an interval's writes take half an interval.
        let mut s = SyncClock::new(30, Dist::fixed(0), 1).over_link(share(1, 2));
        s.start(0, 0, 30);
        assert_eq!(s.replica_current(44), None);
        assert_eq!(s.replica_current(45), Some(30));
        assert_eq!(s.replica_current(74), Some(30));
        assert_eq!(s.replica_current(75), Some(60));
        assert_eq!(s.lagging_since(), None);
        // Exactly the bandwidth: each transfer ends as the next cycle starts, plus the drawn
        // time, which may run into the cycle after.
        let mut s = SyncClock::new(30, Dist::fixed(20), 1).over_link(share(5, 5));
        s.start(0, 0, 30);
        assert_eq!(s.replica_current(79), None);
        assert_eq!(s.replica_current(80), Some(30));
        assert_eq!(s.replica_current(109), Some(30));
        assert_eq!(s.replica_current(110), Some(60));
        assert_eq!(s.lagging_since(), None);
    }

    #[test]
    fn a_link_that_cannot_keep_up_delays_each_cycle_until_the_last_transfer_ends() {
        // Twice the bandwidth in writes: cycle k starts at 30 (2^k - 1): 30, 90, 210, 450.
        let mut s = SyncClock::new(30, Dist::fixed(0), 1).over_link(share(2, 1));
        s.start(0, 0, 30);
        assert_eq!(s.replica_current(89), None);
        assert_eq!(s.replica_current(90), Some(30));
        assert_eq!(s.replica_current(209), Some(30));
        assert_eq!(s.replica_current(210), Some(90));
        assert_eq!(s.replica_current(449), Some(90));
        assert_eq!(s.replica_current(450), Some(210));
        // The second cycle, due at 60, is the first to run late.
        assert_eq!(s.lagging_since(), Some(60));
        // The drawn time follows the data: cycle 2's writes (until 90) land at 210 + 10.
        let mut s = SyncClock::new(30, Dist::fixed(10), 1).over_link(share(2, 1));
        s.start(1_000, 500, 30);
        assert_eq!(s.replica_current(1_219), Some(530));
        assert_eq!(s.replica_current(1_220), Some(590));
        // A year later the replica holds between a quarter and a half of the year: when a
        // cycle's data lands, the writes since that cycle started are as many again.
        let year = 365 * 24 * 3_600;
        let held = s.replica_current(1_000 + year).unwrap() - 500;
        assert!(held <= year / 2 && held >= year / 4 - 30, "{held}");
    }

    #[test]
    fn lag_grows_by_the_model_s_own_recursion_close_to_the_bandwidth() {
        // Churn 1% above the bandwidth, 5-minute cycles: the closed form agrees with the
        // recursion "each gap is the transfer of the previous gap's writes".
        let (t, churn, bw) = (300_000_000u64, 101u64, 100u64);
        let mut s = SyncClock::new(t, Dist::fixed(0), 1).over_link(share(churn, bw));
        s.start(0, 0, t);
        let (mut start, mut gap) = (0.0f64, t as f64);
        let mut starts = Vec::new();
        for _ in 0..400 {
            start += gap;
            starts.push(start);
            gap *= churn as f64 / bw as f64;
        }
        for k in [1usize, 10, 100, 399] {
            let data_landed = starts[k].round() as u64 + 1;
            let held = s.replica_current(data_landed).unwrap();
            assert!(
                (held as f64 - starts[k - 1]).abs() <= 1.0,
                "cycle {k}: {held}"
            );
        }
    }
}
