//! Network partitions of one cluster, as ECX resolves them: the interconnect, the witness
//! heartbeat, emergency shutdowns, dual activation and the multi-activation rule.
//!
//! Two servers keep each other alive through the interconnect, or, with witness resolution,
//! through the witness heartbeat (each reports to the witness and reads the others' reports).
//! When a member has lost the heartbeat of every other member for the heartbeat timeout:
//! - `np_resolution = "witness"`: it asks the witness (HTTP NP); if it cannot reach it, it
//!   shuts down (emergency shutdown) and boots again after `server_reboot`. At boot, a server
//!   that reaches neither a booted peer nor the witness stays out of the cluster until it can.
//!   So: witness down alone, or interconnect down alone, changes nothing; both down shuts every
//!   server down (NP-Test "multiple failures").
//! - `np_resolution = "none"`: every side activates the group (dual activation, counted as
//!   split-brain time; the service counts as up). When the sides see each other again, the
//!   multi-activation rule shuts every server down.

use super::{ClusterCalendar, ClusterEvent, ClusterSim, Group, ServerState};
use crate::engine::Timer;
use crate::metrics::Cause;
use crate::scenario::NpResolution;

/// What the cluster knows of its network.
pub(super) struct Network {
    pub interconnect_up: bool,
    /// The scenario's witness server, as this cluster sees it.
    pub witness_up: bool,
    /// Servers cut off every network (scripted).
    pub cut_off: Vec<bool>,
    /// How many of them: most clusters never cut one off, and ask after every event.
    pub cut_offs: usize,
    pub reboot: Vec<Timer>,
    /// The heartbeat timeout of a partition in progress.
    pub partition: Timer,
    pub partition_armed: bool,
    /// Resolutions that shut servers down.
    pub resolutions: u64,
}

impl Network {
    pub fn new(servers: usize, witness_up: bool) -> Network {
        Network {
            interconnect_up: true,
            witness_up,
            cut_off: vec![false; servers],
            cut_offs: 0,
            reboot: vec![Timer::default(); servers],
            partition: Timer::default(),
            partition_armed: false,
            resolutions: 0,
        }
    }

    /// The interconnect is up, no server is cut off and no partition timeout runs.
    pub fn quiet(&self) -> bool {
        self.interconnect_up && !self.partition_armed && self.cut_offs == 0
    }

    pub fn cancel_reboot(&mut self, server: usize) {
        self.reboot[server].cancel();
    }
}

impl ClusterSim<'_> {
    fn uses_witness(&self) -> bool {
        self.spec.np_resolution == NpResolution::Witness
    }

    fn reaches_witness(&self, server: usize) -> bool {
        self.net.witness_up && !self.net.cut_off[server]
    }

    /// The interconnect carries heartbeats between `a` and `b`.
    fn linked(&self, a: usize, b: usize) -> bool {
        self.net.interconnect_up && !self.net.cut_off[a] && !self.net.cut_off[b]
    }

    fn heartbeat(&self, a: usize, b: usize) -> bool {
        self.linked(a, b)
            || (self.uses_witness() && self.reaches_witness(a) && self.reaches_witness(b))
    }

    fn members(&self) -> Vec<usize> {
        (0..self.server_up.len())
            .filter(|&s| self.server_up[s])
            .collect()
    }

    /// Members that have lost the heartbeat of every other member.
    fn cut_off_members(&self) -> Vec<usize> {
        let members = self.members();
        if members.len() < 2 {
            return vec![];
        }
        members
            .iter()
            .copied()
            .filter(|&s| members.iter().all(|&p| p == s || !self.heartbeat(s, p)))
            .collect()
    }

    /// Whether the members fall apart into sides that cannot see each other.
    fn partitioned(&self) -> bool {
        let members = self.members();
        members
            .iter()
            .any(|&a| members.iter().any(|&b| a != b && !self.heartbeat(a, b)))
    }

    /// Called after any change of connectivity or membership.
    #[inline]
    pub(super) fn membership_changed(&mut self, calendar: &mut impl ClusterCalendar) {
        // A cluster whose network never failed (most clusters, on most events): every member
        // hears every other, no partition is pending and there is no dual activation to end.
        // Checked here, inline, because it is most of the calls (every failure and repair).
        if self.net.quiet() && !self.uses_witness() && self.group != Group::SplitBrain {
            return;
        }
        self.resolve_membership(calendar);
    }

    #[inline(never)]
    fn resolve_membership(&mut self, calendar: &mut impl ClusterCalendar) {
        if self.uses_witness() {
            self.admit_isolated(calendar);
        }
        // Fast path: with every cable in, every member hears every other.
        let all_linked = self.net.interconnect_up && self.net.cut_offs == 0;
        let lost = !all_linked
            && if self.uses_witness() {
                !self.cut_off_members().is_empty()
            } else {
                self.partitioned()
            };
        if lost {
            if !self.net.partition_armed && self.group != Group::SplitBrain {
                self.arm_partition(calendar);
            }
        } else {
            // The heartbeats came back before the timeout: nothing happened.
            self.net.partition.cancel();
            self.net.partition_armed = false;
            if self.group == Group::SplitBrain {
                self.end_split_brain(calendar);
            }
        }
    }

    fn arm_partition(&mut self, calendar: &mut impl ClusterCalendar) {
        let delay = self
            .spec
            .heartbeat_timeout
            .sample(&mut self.streams.network.partition_heartbeat);
        let generation = self.net.partition.arm();
        self.net.partition_armed = true;
        calendar.schedule(delay, ClusterEvent::PartitionDetected { generation });
    }

    pub(super) fn partition_detected(
        &mut self,
        generation: u32,
        calendar: &mut impl ClusterCalendar,
    ) {
        if !self.net.partition.is_current(generation) {
            return;
        }
        self.net.partition_armed = false;
        if self.uses_witness() {
            let doomed: Vec<usize> = self
                .cut_off_members()
                .into_iter()
                .filter(|&s| !self.reaches_witness(s))
                .collect();
            if !doomed.is_empty() {
                self.emergency_shutdown(&doomed, calendar);
            }
        } else if self.partitioned() && self.disk_up {
            self.begin_split_brain(calendar);
        }
    }

    /// Every side runs the group: the service is up, and split-brain time runs.
    fn begin_split_brain(&mut self, calendar: &mut impl ClusterCalendar) {
        let now = calendar.now();
        self.step.cancel();
        self.group = Group::SplitBrain;
        self.tracker.up(now);
        self.tracker.set_split_brain(now, true);
    }

    /// The sides see each other again (multi-activation rule: every server shuts down), or
    /// only one side is left (it keeps the group).
    fn end_split_brain(&mut self, calendar: &mut impl ClusterCalendar) {
        let now = calendar.now();
        self.tracker.set_split_brain(now, false);
        let members = self.members();
        if members.len() >= 2 {
            self.group = Group::Waiting;
            self.emergency_shutdown(&members, calendar);
        } else if let Some(&server) = members.first() {
            self.group = Group::Online(server);
        }
    }

    /// NP action: the servers shut down at once and boot again after `server_reboot`.
    fn emergency_shutdown(&mut self, servers: &[usize], calendar: &mut impl ClusterCalendar) {
        let now = calendar.now();
        self.net.resolutions += 1;
        self.tracker.np_shutdown(now);
        for &server in servers {
            self.server_up[server] = false;
            self.server_state[server] = ServerState::Rebooting;
            let delay = self
                .spec
                .server_reboot
                .sample(&mut self.streams.network.server_reboot[server]);
            let generation = self.net.reboot[server].arm();
            let server = server as u16;
            calendar.schedule(delay, ClusterEvent::ServerRebooted { server, generation });
        }
        let any_left = self.server_up.contains(&true);
        match self.group {
            Group::Online(active) | Group::Starting(active) | Group::Scripts(active)
                if servers.contains(&active) =>
            {
                self.tracker.down(now, Cause::NetworkPartition);
                if any_left {
                    self.start_detection(calendar);
                } else {
                    self.step.cancel();
                    self.group = Group::Waiting;
                }
            }
            Group::Waiting
            | Group::Detecting
            | Group::SyncWait
            | Group::Starting(_)
            | Group::Scripts(_)
            | Group::Stopping(_)
                if !any_left =>
            {
                self.step.cancel();
                self.group = Group::Waiting;
                self.tracker.down(now, Cause::NetworkPartition);
            }
            _ => {}
        }
    }

    pub(super) fn server_rebooted(
        &mut self,
        server: usize,
        generation: u32,
        calendar: &mut impl ClusterCalendar,
    ) {
        if self.net.reboot[server].is_current(generation)
            && self.server_state[server] == ServerState::Rebooting
        {
            self.boot(server, calendar);
        }
    }

    /// A server has booted (after a repair or a reboot). With witness resolution it joins only
    /// if it reaches the witness or a booted peer (ECX at start-up with no heartbeat: if the
    /// NP target is unreachable, the cluster service stops).
    #[inline]
    pub(super) fn boot(&mut self, server: usize, calendar: &mut impl ClusterCalendar) {
        if self.uses_witness() && !self.can_join(server) {
            self.server_state[server] = ServerState::Isolated;
            return;
        }
        self.join(server, calendar);
        self.membership_changed(calendar);
    }

    fn can_join(&self, server: usize) -> bool {
        self.reaches_witness(server)
            || (0..self.server_state.len()).any(|p| {
                p != server
                    && matches!(
                        self.server_state[p],
                        ServerState::Member | ServerState::Isolated
                    )
                    && self.linked(server, p)
            })
    }

    /// Isolated servers that now see the witness or a booted peer join.
    fn admit_isolated(&mut self, calendar: &mut impl ClusterCalendar) {
        while let Some(server) = (0..self.server_state.len())
            .find(|&s| self.server_state[s] == ServerState::Isolated && self.can_join(s))
        {
            self.join(server, calendar);
        }
    }

    pub(super) fn interconnect_fails(&mut self, calendar: &mut impl ClusterCalendar) {
        if let Some(link) = &self.spec.interconnect {
            let ttr = link.ttr.sample(&mut self.streams.network.interconnect_ttr);
            calendar.schedule(ttr, ClusterEvent::InterconnectRepaired);
        }
        self.set_interconnect(false, calendar);
    }

    pub(super) fn interconnect_repaired(&mut self, calendar: &mut impl ClusterCalendar) {
        if let Some(link) = &self.spec.interconnect {
            let ttf = link.ttf.sample(&mut self.streams.network.interconnect_ttf);
            calendar.schedule(ttf, ClusterEvent::InterconnectFails);
        }
        self.set_interconnect(true, calendar);
    }

    pub(super) fn set_interconnect(&mut self, up: bool, calendar: &mut impl ClusterCalendar) {
        self.net.interconnect_up = up;
        self.membership_changed(calendar);
    }

    pub(super) fn set_cut_off(
        &mut self,
        server: usize,
        cut: bool,
        calendar: &mut impl ClusterCalendar,
    ) {
        if std::mem::replace(&mut self.net.cut_off[server], cut) != cut {
            if cut {
                self.net.cut_offs += 1;
            } else {
                self.net.cut_offs -= 1;
            }
        }
        self.membership_changed(calendar);
    }

    /// The witness server went down or came back.
    pub fn set_witness(&mut self, up: bool, calendar: &mut impl ClusterCalendar) {
        self.net.witness_up = up;
        self.membership_changed(calendar);
    }
}
