//! Up/down accounting clipped to the observed window [warmup, horizon].
//!
//! Downtime is attributed minute by minute to the cause in force at the time (a failover that
//! finds no server up turns into `all_servers_down` from then on); each outage as a whole is
//! attributed to the cause that accounts for most of its downtime.
//!
//! Downtime is also counted per year of the observed window (year k is
//! `[warmup + k·1y, warmup + (k+1)·1y)`), for the yearly-downtime distribution an SLA is
//! judged on. Only whole years count: a trailing partial year (a horizon that is not a whole
//! number of years after the warmup) has no full budget to breach, so it is left out of the
//! yearly figures (it still counts in every other total).

use super::cause::{Cause, CAUSES};
use crate::time::{Micros, MICROS_PER_MINUTE, MICROS_PER_YEAR};

/// One outage, for `outages.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutageRecord {
    pub start: Micros,
    pub end: Micros,
    pub cause: Cause,
    /// Still going on at the horizon: `end` is the horizon, not the repair.
    pub censored: bool,
}

/// The totals of one service over one replication's observed window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackerTotals {
    pub up: Micros,
    pub down: Micros,
    /// Outages that began inside the observed window.
    pub outages: u64,
    pub down_by_cause: [Micros; CAUSES.len()],
    /// Time with the group active on both sides of a network partition (dual activation).
    pub split_brain: Micros,
    /// Network-partition resolutions that shut servers down (emergency shutdown or the
    /// multi-activation rule), counted once per resolution.
    pub np_shutdowns: u64,
    /// Cluster set: time the VM's replication was not healthy (no up-to-date replica).
    pub unprotected: Micros,
    /// The part of `unprotected` with both of the VM's clusters up: replication broken by
    /// the control logic (or being rebuilt), not by a cluster being down.
    pub replication_broken: Micros,
    /// Times the VM began running on both clusters at once.
    pub vm_running_twice: u64,
    /// Cluster set: a VM whose writes cross a replication link; `None` otherwise.
    pub replication_lag: Option<ReplicationLag>,
    /// Down time in each whole year of the observed window, in order (see the module notes).
    pub down_by_year: Vec<Micros>,
}

/// How a VM's replication fared on its link over one replication.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReplicationLag {
    /// The link's bandwidth over the total churn of its VMs: below 1, cycles cannot keep up.
    pub headroom: f64,
    /// Observed time replication ran late (cycles delayed by unfinished transfers); part of
    /// `unprotected`.
    pub lagging: Micros,
}

impl TrackerTotals {
    /// Up time over observed time (the window is never empty: the horizon exceeds the warmup).
    pub fn availability(&self) -> f64 {
        self.up as f64 / (self.up + self.down).max(1) as f64
    }

    /// Down time over observed time, as minutes per 365-day year.
    pub fn downtime_minutes_per_year(&self) -> f64 {
        let minutes_per_year = (MICROS_PER_YEAR / MICROS_PER_MINUTE) as f64;
        self.down as f64 / (self.up + self.down).max(1) as f64 * minutes_per_year
    }
}

#[derive(Debug, Clone)]
pub struct ServiceTracker {
    window_start: Micros,
    window_end: Micros,
    /// `Some(cause)` while down.
    down_cause: Option<Cause>,
    /// Start of the current segment (same state and cause).
    since: Micros,
    outage_start: Micros,
    outage_by_cause: [Micros; CAUSES.len()],
    totals: TrackerTotals,
    keep_records: bool,
    records: Vec<OutageRecord>,
    split_brain: Accrual,
    unprotected: Accrual,
    replication_broken: Accrual,
}

/// Time spent in a condition (split brain, unprotected), clipped to the observed window.
#[derive(Debug, Clone, Default)]
struct Accrual {
    since: Option<Micros>,
    total: Micros,
}

impl Accrual {
    fn set(&mut self, now: Micros, on: bool, window: (Micros, Micros)) {
        match (self.since, on) {
            (None, true) => self.since = Some(now),
            (Some(since), false) => {
                self.total += clip(since, now, window);
                self.since = None;
            }
            _ => {}
        }
    }
}

fn clip(from: Micros, to: Micros, (start, end): (Micros, Micros)) -> Micros {
    to.min(end).saturating_sub(from.max(start))
}

impl ServiceTracker {
    /// A service that is up at time 0, observed over `[warmup, horizon]`.
    pub fn new(warmup: Micros, horizon: Micros, keep_records: bool) -> ServiceTracker {
        ServiceTracker {
            window_start: warmup,
            window_end: horizon,
            down_cause: None,
            since: 0,
            outage_start: 0,
            outage_by_cause: [0; CAUSES.len()],
            totals: TrackerTotals {
                // One allocation per replication: the per-event path only adds into it.
                down_by_year: vec![0; (horizon.saturating_sub(warmup) / MICROS_PER_YEAR) as usize],
                ..TrackerTotals::default()
            },
            keep_records,
            records: Vec::new(),
            split_brain: Accrual::default(),
            unprotected: Accrual::default(),
            replication_broken: Accrual::default(),
        }
    }

    /// The cause in force while down.
    pub fn cause(&self) -> Option<Cause> {
        self.down_cause
    }

    fn window(&self) -> (Micros, Micros) {
        (self.window_start, self.window_end)
    }

    /// Dual activation begins (`true`) or ends (`false`) at `now`.
    pub fn set_split_brain(&mut self, now: Micros, on: bool) {
        let window = self.window();
        self.split_brain.set(now, on, window);
    }

    /// How much of `[from, to)` lies in the observed window.
    pub fn observed_between(&self, from: Micros, to: Micros) -> Micros {
        clip(from, to, self.window())
    }

    /// Replication stops (`true`) or starts again (`false`) being unhealthy at `now`.
    pub fn set_unprotected(&mut self, now: Micros, on: bool) {
        let window = self.window();
        self.unprotected.set(now, on, window);
    }

    /// Unhealthy with both clusters up (`true`), or not (`false`), from `now`.
    pub fn set_replication_broken(&mut self, now: Micros, on: bool) {
        let window = self.window();
        self.replication_broken.set(now, on, window);
    }

    /// The VM began running on both clusters at `now`.
    pub fn running_twice(&mut self, now: Micros) {
        if self.observes(now) {
            self.totals.vm_running_twice += 1;
        }
    }

    /// A network-partition resolution shut servers down at `now`.
    pub fn np_shutdown(&mut self, now: Micros) {
        if now >= self.window_start && now < self.window_end {
            self.totals.np_shutdowns += 1;
        }
    }

    /// Whether `now` lies in the observed window (for counts kept outside the tracker).
    pub fn observes(&self, now: Micros) -> bool {
        now >= self.window_start && now < self.window_end
    }

    pub fn is_down(&self) -> bool {
        self.down_cause.is_some()
    }

    /// Length of [from, to] inside the observed window.
    fn observed(&self, from: Micros, to: Micros) -> Micros {
        let a = from.max(self.window_start);
        let b = to.min(self.window_end);
        b.saturating_sub(a)
    }

    /// Closes the current segment at `now`, crediting it to up time or to its cause.
    fn close_segment(&mut self, now: Micros) {
        let length = self.observed(self.since, now);
        match self.down_cause {
            None => self.totals.up += length,
            Some(cause) => {
                self.totals.down += length;
                self.totals.down_by_cause[cause.index()] += length;
                self.outage_by_cause[cause.index()] += length;
                if length > 0 {
                    self.credit_years(self.since.max(self.window_start), length);
                }
            }
        }
        self.since = now;
    }

    /// Spreads `length` of down time from `from` (inside the window) over the years it falls
    /// in; time in the trailing partial year is not credited.
    fn credit_years(&mut self, mut from: Micros, mut length: Micros) {
        let mut year = ((from - self.window_start) / MICROS_PER_YEAR) as usize;
        while length > 0 && year < self.totals.down_by_year.len() {
            let year_end = self.window_start + (year as Micros + 1) * MICROS_PER_YEAR;
            let part = length.min(year_end - from);
            self.totals.down_by_year[year] += part;
            from += part;
            length -= part;
            year += 1;
        }
    }

    /// The service goes down, or, if already down, the cause changes from now on.
    pub fn down(&mut self, now: Micros, cause: Cause) {
        if self.down_cause == Some(cause) {
            return;
        }
        let starting = self.down_cause.is_none();
        self.close_segment(now);
        if starting {
            self.outage_start = now;
            self.outage_by_cause = [0; CAUSES.len()];
            if now >= self.window_start && now < self.window_end {
                self.totals.outages += 1;
            }
        }
        self.down_cause = Some(cause);
    }

    #[inline]
    pub fn up(&mut self, now: Micros) {
        if self.down_cause.is_none() {
            return;
        }
        self.close_segment(now);
        if now == self.outage_start {
            // Instantaneous steps (a zero heartbeat timeout and group start) hand the group
            // over without any downtime: that is no outage, as in the exact model.
            if self.outage_start >= self.window_start && self.outage_start < self.window_end {
                self.totals.outages -= 1;
            }
        } else {
            self.record_outage(now, false);
        }
        self.down_cause = None;
    }

    fn record_outage(&mut self, end: Micros, censored: bool) {
        if !self.keep_records || self.outage_start < self.window_start {
            return;
        }
        let cause = self.dominant_cause();
        self.records.push(OutageRecord {
            start: self.outage_start,
            end,
            cause,
            censored,
        });
    }

    /// The cause with the most downtime in the current outage (ties: the earlier-listed cause).
    fn dominant_cause(&self) -> Cause {
        let mut best = self.down_cause.unwrap_or(Cause::ServerFailover);
        let mut best_time = 0;
        for cause in CAUSES {
            let t = self.outage_by_cause[cause.index()];
            if t > best_time {
                best = cause;
                best_time = t;
            }
        }
        best
    }

    /// Ends the replication at the horizon and returns the totals and outage records.
    pub fn finish(mut self) -> (TrackerTotals, Vec<OutageRecord>) {
        let end = self.window_end;
        self.close_segment(end);
        self.set_split_brain(end, false);
        self.set_unprotected(end, false);
        self.set_replication_broken(end, false);
        self.totals.split_brain = self.split_brain.total;
        self.totals.unprotected = self.unprotected.total;
        self.totals.replication_broken = self.replication_broken.total;
        if self.down_cause.is_some() {
            self.record_outage(end, true);
        }
        (self.totals, self.records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_up_down_and_causes() {
        let mut t = ServiceTracker::new(0, 100, true);
        t.down(10, Cause::ServerFailover);
        t.down(15, Cause::AllServersDown);
        t.up(40);
        t.down(90, Cause::SharedDisk);
        let (totals, records) = t.finish();
        assert_eq!(totals.up, 10 + 50);
        assert_eq!(totals.down, 30 + 10);
        assert_eq!(totals.outages, 2);
        assert_eq!(totals.down_by_cause, [5, 25, 10, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            records,
            vec![
                OutageRecord {
                    start: 10,
                    end: 40,
                    cause: Cause::AllServersDown,
                    censored: false
                },
                OutageRecord {
                    start: 90,
                    end: 100,
                    cause: Cause::SharedDisk,
                    censored: true
                },
            ]
        );
    }

    #[test]
    fn a_zero_length_outage_is_no_outage() {
        let mut t = ServiceTracker::new(0, 100, true);
        t.down(10, Cause::ServerFailover);
        t.up(10);
        let (totals, records) = t.finish();
        assert_eq!(totals.outages, 0);
        assert_eq!(totals.up, 100);
        assert!(records.is_empty());
    }

    #[test]
    fn split_brain_and_unprotected_time_are_clipped_to_the_window() {
        let mut t = ServiceTracker::new(50, 100, false);
        t.set_split_brain(40, true);
        t.set_split_brain(60, false);
        t.set_unprotected(90, true);
        t.np_shutdown(60);
        t.np_shutdown(10);
        let (totals, _) = t.finish();
        assert_eq!(totals.split_brain, 10);
        assert_eq!(totals.unprotected, 10);
        assert_eq!(totals.np_shutdowns, 1);
    }

    #[test]
    fn downtime_is_counted_per_whole_year_after_the_warmup() {
        const Y: Micros = MICROS_PER_YEAR;
        // Warmup 1 h, horizon 3 y: two whole years, then 1 y - 1 h that does not count.
        let h = MICROS_PER_MINUTE * 60;
        let mut t = ServiceTracker::new(h, 3 * Y, false);
        t.down(0, Cause::ServerFailover); // the warmup's part is not counted
        t.up(2 * h);
        // An outage across the first year boundary, split between the years.
        t.down(h + Y - 30, Cause::SharedDisk);
        t.down(h + Y - 10, Cause::AllServersDown);
        t.up(h + Y + 50);
        // One inside the trailing partial year.
        t.down(h + 2 * Y + 5, Cause::Failback);
        let (totals, _) = t.finish();
        assert_eq!(totals.down_by_year, vec![h + 30, 50]);
        assert_eq!(totals.down, h + 80 + (3 * Y - (h + 2 * Y + 5)));
        // Shorter than a year after the warmup: no yearly figure at all.
        let (totals, _) = ServiceTracker::new(h, Y, false).finish();
        assert!(totals.down_by_year.is_empty());
    }

    #[test]
    fn clips_to_the_warmup_window() {
        let mut t = ServiceTracker::new(50, 100, true);
        t.down(40, Cause::ServerFailover);
        t.up(60);
        t.down(70, Cause::Failback);
        t.up(75);
        let (totals, records) = t.finish();
        assert_eq!(totals.down, 10 + 5);
        assert_eq!(totals.up, 35);
        // The outage that began before the warmup ended is not counted, but its tail is.
        assert_eq!(totals.outages, 1);
        assert_eq!(records.len(), 1);
        assert_eq!(totals.up + totals.down, 50);
    }
}
