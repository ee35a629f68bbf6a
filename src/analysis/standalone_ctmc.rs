//! The exact availability of one standalone ECX cluster whose times are all exponential.
//!
//! With exponential failure, repair, detection, start and stop times (and no server sync
//! wait), the standalone cluster of the scenario semantics is a CTMC. We build it by
//! exploring the states reachable from "all servers up, disk up, group online on the first
//! server" and solve it with GTH ([`super::ctmc`]). The simulator follows the same rules, and
//! its tests hold it to these numbers.
//!
//! A state is (repair queue, disk up?, service), where the service is either `Online(s)` or
//! down in some phase with the cause of the current outage:
//!
//! * The repair queue lists the failed servers in failure order; the first `repair_crews` of
//!   them are under repair. Servers under repair finish in any order, so their order among
//!   themselves is forgotten (sorted); the order of the servers still waiting for a crew is
//!   kept, as it decides which server comes back next. With unlimited crews the queue is just
//!   the set of failed servers.
//! * While the disk is down the group is always in `DiskWait`, so the disk adds few states.
//! * Steps with an instantaneous duration are carried out inside the transition that triggers
//!   them, so no vanishing state enters the chain.
//!
//! # Size
//!
//! Reachable states with timed detection, start and stop and a shared disk (instantaneous
//! steps and no disk give fewer):
//!
//! | servers | crews | failback off | failback on |
//! |---|---|---|---|
//! | 1 | any | 9 | 9 |
//! | 2 | 1 | 28 | 37 |
//! | 2 | unlimited | 25 | 33 |
//! | 3 | 1 | 98 | 129 |
//! | 3 | unlimited | 65 | 85 |
//! | 4 | 1 | 410 | 539 |
//! | 4 | 2 | 242 | 317 |
//! | 4 | unlimited | 161 | 209 |
//! | 5 | 1 | 2072 | 2723 |
//! | 5 | unlimited | 385 | 497 |
//! | 6 | 1 | 12458 | 16371 |
//! | 6 | 2 | 6308 | 8286 |
//! | 6 | 3 | 2388 | 3126 |
//! | 6 | unlimited | 897 | 1153 |
//!
//! Every order of the servers waiting for a crew is a distinct state, hence the growth with
//! few crews. In a release build four servers with one crew solve in a few milliseconds,
//! five in about a tenth of a second, six with two crews in a few seconds (the dense
//! reduction is cubic). Six servers with one crew exceed
//! [`MAX_DENSE_STATES`](super::ctmc::MAX_DENSE_STATES) and are refused with
//! [`CtmcError::TooManyStates`].

use std::collections::{BTreeMap, HashMap};

use super::ctmc::{Ctmc, CtmcError};

/// Largest cluster the model accepts (ECX supports up to 32 servers, but the repair-queue
/// states grow factorially and six is already beyond the dense solver with one crew).
pub const MAX_SERVERS: usize = 6;

const MINUTES_PER_YEAR: f64 = 8760.0 * 60.0;

/// One ECX cluster with exponential times. Rates are per hour; `None` for a step means the
/// step takes no time at all.
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialCluster {
    /// Number of servers, 1..=6, in failover priority order (server 0 highest).
    pub servers: usize,
    /// Failure rate of each server while it is up (1/MTTF).
    pub failure_rate: f64,
    /// Completion rate of each repair in progress (1/MTTR).
    pub repair_rate: f64,
    /// Repair crews; `None` repairs every failed server at once.
    pub repair_crews: Option<usize>,
    /// Heartbeat timeout.
    pub detection_rate: Option<f64>,
    /// Failover group start.
    pub start_rate: Option<f64>,
    /// Failover group stop (only used by failback).
    pub stop_rate: Option<f64>,
    /// Move the group back when a higher-priority server returns.
    pub failback: bool,
    /// Shared disk as (failure rate, repair rate).
    pub shared_disk: Option<(f64, f64)>,
}

/// Steady-state figures of the cluster's service.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExactSolution {
    pub availability: f64,
    /// Summed over the down states, not taken as `1 - availability`, so it keeps its full
    /// relative precision when it is tiny.
    pub unavailability: f64,
    /// Rate of transitions from up to down states, in steady state.
    pub outage_rate_per_hour: f64,
    /// Mean up time between outages: availability / outage rate.
    pub mtbf_hours: f64,
    /// Mean outage duration: unavailability / outage rate.
    pub mttr_hours: f64,
    pub downtime_minutes_per_year: f64,
    /// Downtime per cause (`DowntimeCause::name`), for every cause that some reachable
    /// state carries.
    pub downtime_by_cause_minutes_per_year: BTreeMap<String, f64>,
    /// Number of states of the chain.
    pub states: usize,
}

/// Why the service is down, as reported in `downtime_by_cause_minutes_per_year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DowntimeCause {
    ServerFailover,
    AllServersDown,
    SharedDisk,
    Failback,
}

impl DowntimeCause {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            DowntimeCause::ServerFailover => "server_failover",
            DowntimeCause::AllServersDown => "all_servers_down",
            DowntimeCause::SharedDisk => "shared_disk",
            DowntimeCause::Failback => "failback",
        }
    }
}

/// Builds and solves the chain of `cluster`.
pub fn solve(cluster: &ExponentialCluster) -> Result<ExactSolution, CtmcError> {
    validate(cluster)?;
    let model = Model::new(cluster);
    let (states, transitions) = model.explore();
    let chain = Ctmc::from_transitions(states.len(), transitions.iter().copied())?;
    let pi = chain.steady_state()?;
    Ok(summarize(&states, &transitions, &pi))
}

fn validate(cluster: &ExponentialCluster) -> Result<(), CtmcError> {
    if !(1..=MAX_SERVERS).contains(&cluster.servers) {
        return Err(CtmcError::InvalidParameter {
            parameter: "servers",
            reason: format!(
                "must be between 1 and {MAX_SERVERS}, found {}",
                cluster.servers
            ),
        });
    }
    if cluster.repair_crews == Some(0) {
        return Err(CtmcError::InvalidParameter {
            parameter: "repair_crews",
            reason: "must be at least 1".to_string(),
        });
    }
    let mut rates = vec![
        ("failure_rate", Some(cluster.failure_rate)),
        ("repair_rate", Some(cluster.repair_rate)),
        ("detection_rate", cluster.detection_rate),
        ("start_rate", cluster.start_rate),
        ("stop_rate", cluster.stop_rate),
    ];
    if let Some((failure, repair)) = cluster.shared_disk {
        rates.push(("shared_disk failure rate", Some(failure)));
        rates.push(("shared_disk repair rate", Some(repair)));
    }
    for (parameter, rate) in rates {
        if let Some(rate) = rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(CtmcError::InvalidParameter {
                    parameter,
                    reason: format!("must be a finite rate greater than zero, found {rate}"),
                });
            }
        }
    }
    Ok(())
}

/// Failed servers in repair order. The first `crews` entries are under repair and kept sorted
/// (their order does not matter); the rest wait for a crew in failure order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RepairQueue {
    order: [u8; MAX_SERVERS],
    len: u8,
}

impl RepairQueue {
    const EMPTY: RepairQueue = RepairQueue {
        order: [0; MAX_SERVERS],
        len: 0,
    };

    fn failed(&self) -> &[u8] {
        &self.order[..self.len as usize]
    }

    fn is_up(&self, server: usize) -> bool {
        !self.failed().contains(&(server as u8))
    }

    /// The up server that comes first in priority order.
    fn highest_priority_up(&self, servers: usize) -> Option<usize> {
        (0..servers).find(|&server| self.is_up(server))
    }

    /// Positions of the servers under repair.
    fn under_repair(&self, crews: usize) -> std::ops::Range<usize> {
        0..crews.min(self.len as usize)
    }

    fn fail(mut self, server: usize, crews: usize) -> Self {
        self.order[self.len as usize] = server as u8;
        self.len += 1;
        self.canonical(crews)
    }

    /// Removes the server at `position` (under repair) and returns it.
    fn repair(mut self, position: usize, crews: usize) -> (Self, usize) {
        let server = self.order[position] as usize;
        let len = self.len as usize;
        self.order.copy_within(position + 1..len, position);
        self.order[len - 1] = 0;
        self.len -= 1;
        (self.canonical(crews), server)
    }

    fn canonical(mut self, crews: usize) -> Self {
        let repairing = self.under_repair(crews);
        self.order[repairing].sort_unstable();
        self
    }
}

/// What a down service is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DownPhase {
    /// Heartbeat timeout running after the active server died.
    Detecting,
    Starting(u8),
    /// No server is up.
    Waiting,
    /// The shared disk is down.
    DiskWait,
    /// Failback: the group is being stopped before it moves.
    Stopping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Service {
    Online(u8),
    Down(DownPhase, DowntimeCause),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct State {
    queue: RepairQueue,
    disk_up: bool,
    service: Service,
}

impl State {
    fn is_up(&self) -> bool {
        matches!(self.service, Service::Online(_))
    }

    fn cause(&self) -> Option<DowntimeCause> {
        match self.service {
            Service::Online(_) => None,
            Service::Down(_, cause) => Some(cause),
        }
    }
}

/// The cluster's rules, turning a state into its successors.
struct Model<'a> {
    cluster: &'a ExponentialCluster,
    /// Crews actually available; "unlimited" is one per server.
    crews: usize,
}

impl<'a> Model<'a> {
    fn new(cluster: &'a ExponentialCluster) -> Self {
        let crews = cluster.repair_crews.unwrap_or(cluster.servers);
        Model { cluster, crews }
    }

    fn initial_state(&self) -> State {
        State {
            queue: RepairQueue::EMPTY,
            disk_up: true,
            service: Service::Online(0),
        }
    }

    /// Every state reachable from the initial one (index 0) and the transitions between them.
    fn explore(&self) -> (Vec<State>, Vec<(usize, usize, f64)>) {
        let mut states = vec![self.initial_state()];
        let mut index = HashMap::from([(states[0], 0)]);
        let mut transitions = Vec::new();
        let mut next = 0;
        while next < states.len() {
            let from = states[next];
            for (to, rate) in self.successors(&from) {
                let to_index = *index.entry(to).or_insert_with(|| {
                    states.push(to);
                    states.len() - 1
                });
                transitions.push((next, to_index, rate));
            }
            next += 1;
        }
        (states, transitions)
    }

    /// The states `state` can jump to, each with its rate, instantaneous steps carried out.
    fn successors(&self, state: &State) -> Vec<(State, f64)> {
        let cluster = self.cluster;
        let mut successors = Vec::new();
        for server in 0..cluster.servers {
            if state.queue.is_up(server) {
                successors.push((self.server_fails(state, server), cluster.failure_rate));
            }
        }
        for position in state.queue.under_repair(self.crews) {
            successors.push((self.server_returns(state, position), cluster.repair_rate));
        }
        if let Some((disk_failure, disk_repair)) = cluster.shared_disk {
            if state.disk_up {
                successors.push((self.disk_fails(state), disk_failure));
            } else {
                successors.push((self.disk_repaired(state), disk_repair));
            }
        }
        if let Some(rate) = self.group_step_rate(state) {
            successors.push((self.settle(self.complete_group_step(state)), rate));
        }
        successors
    }

    fn server_fails(&self, state: &State, server: usize) -> State {
        let service = match state.service {
            Service::Online(active) | Service::Down(DownPhase::Starting(active), _)
                if active as usize == server =>
            {
                Service::Down(DownPhase::Detecting, DowntimeCause::ServerFailover)
            }
            // A standby failing, or a failure while the group is not on a server, changes
            // only the servers.
            unchanged => unchanged,
        };
        self.settle(State {
            queue: state.queue.fail(server, self.crews),
            service,
            ..*state
        })
    }

    fn server_returns(&self, state: &State, position: usize) -> State {
        let (queue, returned) = state.queue.repair(position, self.crews);
        let service = match state.service {
            Service::Online(active) if self.cluster.failback && returned < active as usize => {
                Service::Down(DownPhase::Stopping, DowntimeCause::Failback)
            }
            Service::Down(DownPhase::Waiting, cause) => {
                self.try_start(&queue, state.disk_up, cause)
            }
            // In every other phase the returning server is only picked up by the next start.
            unchanged => unchanged,
        };
        self.settle(State {
            queue,
            service,
            ..*state
        })
    }

    fn disk_fails(&self, state: &State) -> State {
        State {
            disk_up: false,
            service: Service::Down(DownPhase::DiskWait, DowntimeCause::SharedDisk),
            ..*state
        }
    }

    fn disk_repaired(&self, state: &State) -> State {
        let service = match state.service {
            Service::Down(DownPhase::DiskWait, cause) => self.try_start(&state.queue, true, cause),
            // The group is always in DiskWait while the disk is down.
            unchanged => unchanged,
        };
        self.settle(State {
            disk_up: true,
            service,
            ..*state
        })
    }

    /// Rate of the timed group step under way, if any.
    fn group_step_rate(&self, state: &State) -> Option<f64> {
        match state.service {
            Service::Down(DownPhase::Detecting, _) => self.cluster.detection_rate,
            Service::Down(DownPhase::Starting(_), _) => self.cluster.start_rate,
            Service::Down(DownPhase::Stopping, _) => self.cluster.stop_rate,
            _ => None,
        }
    }

    /// The state once the group step under way (detection, start or stop) has completed.
    fn complete_group_step(&self, state: &State) -> State {
        let service = match state.service {
            Service::Down(DownPhase::Detecting | DownPhase::Stopping, cause) => {
                self.try_start(&state.queue, state.disk_up, cause)
            }
            // No failback check here: failback only reacts to a server returning.
            Service::Down(DownPhase::Starting(server), _) => Service::Online(server),
            unchanged => unchanged,
        };
        State { service, ..*state }
    }

    /// Carries out group steps that take no time until the group is in a timed phase.
    /// Terminates: a start leads to Online, and every other step to a start or a wait.
    fn settle(&self, mut state: State) -> State {
        loop {
            let instantaneous = match state.service {
                Service::Down(DownPhase::Detecting, _) => self.cluster.detection_rate.is_none(),
                Service::Down(DownPhase::Starting(_), _) => self.cluster.start_rate.is_none(),
                Service::Down(DownPhase::Stopping, _) => self.cluster.stop_rate.is_none(),
                _ => false,
            };
            if !instantaneous {
                return state;
            }
            state = self.complete_group_step(&state);
        }
    }

    /// Starts the group on the best server available, or waits for the disk or a server.
    /// A start keeps the cause of the outage it ends; a wait names its own cause.
    fn try_start(&self, queue: &RepairQueue, disk_up: bool, cause: DowntimeCause) -> Service {
        if !disk_up {
            Service::Down(DownPhase::DiskWait, DowntimeCause::SharedDisk)
        } else if let Some(server) = queue.highest_priority_up(self.cluster.servers) {
            Service::Down(DownPhase::Starting(server as u8), cause)
        } else {
            Service::Down(DownPhase::Waiting, DowntimeCause::AllServersDown)
        }
    }
}

fn summarize(states: &[State], transitions: &[(usize, usize, f64)], pi: &[f64]) -> ExactSolution {
    let mut availability = 0.0;
    let mut unavailability = 0.0;
    let mut down_by_cause: BTreeMap<DowntimeCause, f64> = BTreeMap::new();
    for (state, &p) in states.iter().zip(pi) {
        match state.cause() {
            None => availability += p,
            Some(cause) => {
                unavailability += p;
                *down_by_cause.entry(cause).or_insert(0.0) += p;
            }
        }
    }
    let outage_rate_per_hour: f64 = transitions
        .iter()
        .filter(|&&(from, to, _)| states[from].is_up() && !states[to].is_up())
        .map(|&(from, _, rate)| pi[from] * rate)
        .sum();
    ExactSolution {
        // The sums of the up and the down states each carry rounding: the availability could
        // come out a few ulps above 1 (1.0000000000000016 was seen) without the clamp.
        availability: availability.clamp(0.0, 1.0),
        unavailability: unavailability.clamp(0.0, 1.0),
        outage_rate_per_hour,
        mtbf_hours: availability / outage_rate_per_hour,
        mttr_hours: unavailability / outage_rate_per_hour,
        downtime_minutes_per_year: unavailability * MINUTES_PER_YEAR,
        downtime_by_cause_minutes_per_year: down_by_cause
            .into_iter()
            .map(|(cause, p)| (cause.name().to_string(), p * MINUTES_PER_YEAR))
            .collect(),
        states: states.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative_error(actual: f64, expected: f64) -> f64 {
        ((actual - expected) / expected).abs()
    }

    fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
        let error = relative_error(actual, expected);
        assert!(
            error <= tolerance,
            "{what}: {actual:e} vs expected {expected:e} (relative error {error:e})"
        );
    }

    /// Servers with MTTF 5000 h and MTTR 4 h; every group step instantaneous.
    fn instantaneous(servers: usize, repair_crews: Option<usize>) -> ExponentialCluster {
        ExponentialCluster {
            servers,
            failure_rate: 1.0 / 5000.0,
            repair_rate: 1.0 / 4.0,
            repair_crews,
            detection_rate: None,
            start_rate: None,
            stop_rate: None,
            failback: false,
            shared_disk: None,
        }
    }

    /// Everything timed: 30 s heartbeat, 1 min start, 20 s stop, failback, and a disk.
    fn full(servers: usize, repair_crews: Option<usize>) -> ExponentialCluster {
        ExponentialCluster {
            detection_rate: Some(120.0),
            start_rate: Some(60.0),
            stop_rate: Some(180.0),
            failback: true,
            shared_disk: Some((1.0 / 8760.0, 1.0 / 72.0)),
            ..instantaneous(servers, repair_crews)
        }
    }

    #[test]
    fn availability_is_never_above_one() {
        // Three servers with MTTF 10^6 h and instantaneous steps: the sum over the up states
        // alone rounds to 1.0000000000000002.
        let cluster = ExponentialCluster {
            failure_rate: 1e-6,
            ..instantaneous(3, None)
        };
        let s = solve(&cluster).unwrap();
        assert!(s.availability <= 1.0, "availability {}", s.availability);
        assert!(s.unavailability > 0.0 && s.unavailability < 1e-12);
    }

    fn cause(solution: &ExactSolution, name: &str) -> f64 {
        solution.downtime_by_cause_minutes_per_year[name]
    }

    fn assert_causes_add_up(solution: &ExactSolution) {
        let by_cause: f64 = solution.downtime_by_cause_minutes_per_year.values().sum();
        assert_close(
            by_cause,
            solution.downtime_minutes_per_year,
            1e-9,
            "downtime by cause",
        );
    }

    #[test]
    fn one_server_is_a_two_state_chain() {
        let cluster = instantaneous(1, None);
        let (lambda, mu) = (cluster.failure_rate, cluster.repair_rate);
        let solution = solve(&cluster).unwrap();
        assert_eq!(solution.states, 2);
        assert_close(solution.availability, mu / (lambda + mu), 1e-14, "A");
        assert_close(solution.unavailability, lambda / (lambda + mu), 1e-14, "U");
        assert_close(solution.mtbf_hours, 1.0 / lambda, 1e-14, "MTBF");
        assert_close(solution.mttr_hours, 1.0 / mu, 1e-14, "MTTR");
        assert_close(
            solution.downtime_minutes_per_year,
            lambda / (lambda + mu) * 525_600.0,
            1e-14,
            "downtime",
        );
        // Instantaneous detection finds no server up: the whole outage is a wait.
        let causes: Vec<&str> = solution
            .downtime_by_cause_minutes_per_year
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(causes, ["all_servers_down"]);
    }

    /// With instantaneous steps the service is down exactly when both servers are, and the
    /// number of failed servers is a birth–death chain: 0 -> 1 at 2 lambda, 1 -> 2 at lambda,
    /// 1 -> 0 at mu, 2 -> 1 at mu (one crew) or 2 mu (unlimited).
    #[test]
    fn two_servers_match_birth_death_for_one_and_unlimited_crews() {
        let cluster = instantaneous(2, Some(1));
        let rho = cluster.failure_rate / cluster.repair_rate;
        let one_crew = solve(&cluster).unwrap();
        let unlimited = solve(&instantaneous(2, None)).unwrap();

        let one_crew_expected = 2.0 * rho * rho / (1.0 + 2.0 * rho + 2.0 * rho * rho);
        let unlimited_expected = (rho / (1.0 + rho)).powi(2);
        assert_close(
            one_crew.unavailability,
            one_crew_expected,
            1e-12,
            "U, 1 crew",
        );
        assert_close(
            unlimited.unavailability,
            unlimited_expected,
            1e-12,
            "U, unlimited",
        );
        assert_close(
            1.0 - one_crew.availability,
            one_crew_expected,
            1e-9,
            "A, 1 crew",
        );
        assert!(one_crew.unavailability > 1.9 * unlimited.unavailability);
        // Outages end with the single repair in progress, at mu or 2 mu.
        assert_close(
            one_crew.mttr_hours,
            1.0 / cluster.repair_rate,
            1e-12,
            "MTTR, 1 crew",
        );
        assert_close(
            unlimited.mttr_hours,
            0.5 / cluster.repair_rate,
            1e-12,
            "MTTR, unlimited",
        );
    }

    /// Every Online state enters Detecting at lambda (its server fails) and Detecting is left
    /// only at rate d, so P(Detecting) = lambda A / d exactly; detection downtime is all
    /// server_failover. The rest is the both-down wait, which overlaps detection when the
    /// active server fails while the other is already down.
    #[test]
    fn timed_detection_adds_lambda_over_d() {
        let cluster = ExponentialCluster {
            failure_rate: 2e-5,
            detection_rate: Some(120.0),
            ..instantaneous(2, None)
        };
        let (lambda, mu, d) = (cluster.failure_rate, cluster.repair_rate, 120.0);
        let solution = solve(&cluster).unwrap();

        let one_down = 2.0 * lambda * mu / (lambda + mu).powi(2);
        let both_down = (lambda / (lambda + mu)).powi(2);
        let first_order = lambda / d + both_down;
        assert_close(solution.unavailability, first_order, 1e-3, "U, first order");
        // Detecting with both servers down is counted in both terms above; it is entered at
        // lambda from the one-down states and left at d + 2 mu.
        let overlap = one_down * lambda / (d + 2.0 * mu);
        assert_close(
            solution.unavailability,
            first_order - overlap,
            1e-6,
            "U, refined",
        );
        assert_close(
            cause(&solution, "server_failover") / 525_600.0,
            lambda * solution.availability / d,
            1e-12,
            "P(Detecting)",
        );
        assert_close(
            solution.outage_rate_per_hour,
            lambda * solution.availability,
            1e-12,
            "outage rate",
        );
        assert_causes_add_up(&solution);
    }

    /// With servers that (practically) never fail, the group cycles Online -> DiskWait
    /// (disk down, rate f) -> Starting (disk repaired, rate r) -> Online (rate s), and a disk
    /// failure during the start goes back to DiskWait. Balance gives
    /// P(DiskWait) = f / (f + r) and P(Starting) = A_disk f / (s + f).
    #[test]
    fn shared_disk_outage_includes_the_restart() {
        let (f, r, s) = (1.0 / 8760.0, 1.0 / 72.0, 60.0);
        let cluster = ExponentialCluster {
            failure_rate: 1e-12,
            detection_rate: Some(120.0),
            start_rate: Some(s),
            shared_disk: Some((f, r)),
            ..instantaneous(2, None)
        };
        let solution = solve(&cluster).unwrap();

        let disk_down = f / (f + r);
        let restarting = (1.0 - disk_down) * f / (s + f);
        let expected = disk_down + restarting;
        assert_close(solution.unavailability, expected, 1e-9, "U");
        assert_close(
            cause(&solution, "shared_disk"),
            expected * 525_600.0,
            1e-9,
            "shared_disk downtime",
        );
        // Outages: disk failures, and the (negligible) failures of the active server.
        let outage_rate = (f + cluster.failure_rate) * (1.0 - expected);
        assert_close(solution.outage_rate_per_hour, outage_rate, 1e-12, "outages");
        assert_causes_add_up(&solution);
    }

    #[test]
    fn failback_costs_availability_when_stop_and_start_are_slow() {
        let without = ExponentialCluster {
            failure_rate: 1e-3,
            repair_rate: 0.1,
            detection_rate: Some(120.0),
            start_rate: Some(1.0),
            stop_rate: Some(1.0),
            ..instantaneous(2, Some(1))
        };
        let with = ExponentialCluster {
            failback: true,
            ..without.clone()
        };
        let without = solve(&without).unwrap();
        let with = solve(&with).unwrap();
        assert!(
            with.availability < without.availability - 1e-4,
            "{} vs {}",
            with.availability,
            without.availability
        );
        assert!(!without
            .downtime_by_cause_minutes_per_year
            .contains_key("failback"));
        assert!(cause(&with, "failback") > 0.0);
        assert!(with.outage_rate_per_hour > without.outage_rate_per_hour);
        assert_causes_add_up(&with);
    }

    /// Two servers, unlimited crews, instantaneous detection, timed start and stop, failback:
    /// the chain written out by hand from the rules, state by state. This pins down every
    /// cause assignment, the failback trigger (only when a server returns while Online) and
    /// the instantaneous detection.
    #[test]
    fn two_server_failback_chain_matches_hand_derivation() {
        let (l, m, s, t) = (0.01, 0.5, 3.0, 7.0);
        let cluster = ExponentialCluster {
            failure_rate: l,
            repair_rate: m,
            start_rate: Some(s),
            stop_rate: Some(t),
            failback: true,
            ..instantaneous(2, None)
        };
        // Name: up servers, phase, cause.
        const A: usize = 0; // {0,1} Online(0)
        const B: usize = 1; // {0,1} Online(1)
        const C: usize = 2; // {1}   Online(1)
        const D: usize = 3; // {0}   Online(0)
        const E: usize = 4; // {1}   Starting(1)  server_failover
        const F: usize = 5; // {}    Waiting      all_servers_down
        const G: usize = 6; // {0,1} Starting(1)  server_failover
        const H: usize = 7; // {0}   Starting(0)  server_failover
        const I: usize = 8; // {0,1} Starting(0)  server_failover
        const J: usize = 9; // {0,1} Stopping     failback
        const K: usize = 10; // {0,1} Starting(0) failback
        const L: usize = 11; // {1}   Stopping    failback
        const M: usize = 12; // {0}   Stopping    failback
        const N: usize = 13; // {0}   Starting(0) failback
        const O: usize = 14; // {1}   Starting(1) failback
        const P: usize = 15; // {}    Stopping    failback
        const Q: usize = 16; // {0,1} Starting(1) failback
        const R: usize = 17; // {0}   Starting(0) all_servers_down
        const S: usize = 18; // {1}   Starting(1) all_servers_down
        const T: usize = 19; // {0,1} Starting(0) all_servers_down
        const U: usize = 20; // {0,1} Starting(1) all_servers_down
        #[rustfmt::skip]
        let transitions = [
            (A, E, l), (A, D, l),
            (B, C, l), (B, H, l),
            (C, F, l), (C, J, m),
            (D, F, l), (D, A, m),
            (E, C, s), (E, F, l), (E, G, m),
            (F, R, m), (F, S, m),
            (G, B, s), (G, E, l), (G, H, l),
            (H, D, s), (H, F, l), (H, I, m),
            (I, A, s), (I, E, l), (I, H, l),
            (J, K, t), (J, L, l), (J, M, l),
            (K, A, s), (K, E, l), (K, N, l),
            (L, O, t), (L, P, l), (L, J, m),
            (M, N, t), (M, P, l), (M, J, m),
            (N, D, s), (N, F, l), (N, K, m),
            (O, C, s), (O, F, l), (O, Q, m),
            (P, F, t), (P, M, m), (P, L, m),
            (Q, B, s), (Q, O, l), (Q, H, l),
            (R, D, s), (R, F, l), (R, T, m),
            (S, C, s), (S, F, l), (S, U, m),
            (T, A, s), (T, E, l), (T, R, l),
            (U, B, s), (U, S, l), (U, H, l),
        ];
        assert_matches_hand_chain(
            &cluster,
            21,
            &transitions,
            &[A, B, C, D],
            &[
                ("all_servers_down", &[F, R, S, T, U]),
                ("failback", &[J, K, L, M, N, O, P, Q]),
                ("server_failover", &[E, G, H, I]),
            ],
        );
    }

    /// Two servers, one crew, instantaneous detection and start, timed stop, failback. With
    /// both servers down the group restarts on the server that failed first (F to D, G to
    /// C), so the queue order is part of the state. (The two orders are entered at equal
    /// rates, so the figures alone would not tell FIFO from LIFO; the tests on the repair
    /// queue do.)
    #[test]
    fn two_server_one_crew_chain_matches_hand_derivation() {
        let (l, m, t) = (0.02, 0.3, 5.0);
        let cluster = ExponentialCluster {
            failure_rate: l,
            repair_rate: m,
            stop_rate: Some(t),
            failback: true,
            ..instantaneous(2, Some(1))
        };
        // Name: repair queue, phase (cause). Starts are instantaneous, so a start is Online.
        const A: usize = 0; // []     Online(0)
        const C: usize = 1; // [0]    Online(1)
        const D: usize = 2; // [1]    Online(0)
        const E: usize = 3; // []     Stopping (failback)
        const F: usize = 4; // [0, 1] Waiting (all_servers_down)
        const G: usize = 5; // [1, 0] Waiting (all_servers_down)
        const H: usize = 6; // [0]    Stopping (failback)
        const I: usize = 7; // [1]    Stopping (failback)
        const J: usize = 8; // [0, 1] Stopping (failback)
        const K: usize = 9; // [1, 0] Stopping (failback)
        #[rustfmt::skip]
        let transitions = [
            (A, C, l), (A, D, l),
            (C, E, m), (C, F, l),
            (D, A, m), (D, G, l),
            (E, A, t), (E, H, l), (E, I, l),
            (F, D, m),
            (G, C, m),
            (H, C, t), (H, E, m), (H, J, l),
            (I, D, t), (I, E, m), (I, K, l),
            (J, F, t), (J, I, m),
            (K, G, t), (K, H, m),
        ];
        assert_matches_hand_chain(
            &cluster,
            10,
            &transitions,
            &[A, C, D],
            &[
                ("all_servers_down", &[F, G]),
                ("failback", &[E, H, I, J, K]),
            ],
        );
    }

    /// One server, a shared disk, instantaneous detection, timed start: the disk and the
    /// server interleave. A disk repaired while the server is down leads to a wait that is
    /// blamed on the servers; a disk failure during that wait is blamed on the disk.
    #[test]
    fn disk_and_server_outages_hand_over_causes() {
        let (l, m, s, f, r) = (0.01, 0.2, 4.0, 0.003, 0.05);
        let cluster = ExponentialCluster {
            failure_rate: l,
            repair_rate: m,
            start_rate: Some(s),
            shared_disk: Some((f, r)),
            ..instantaneous(1, None)
        };
        // Name: server, disk, phase (cause).
        const A: usize = 0; // up,   up,   Online(0)
        const B: usize = 1; // down, up,   Waiting (all_servers_down)
        const C: usize = 2; // up,   down, DiskWait (shared_disk)
        const D: usize = 3; // up,   up,   Starting(0) (all_servers_down)
        const E: usize = 4; // down, down, DiskWait (shared_disk)
        const F: usize = 5; // up,   up,   Starting(0) (shared_disk)
        #[rustfmt::skip]
        let transitions = [
            (A, B, l), (A, C, f),
            (B, D, m), (B, E, f),
            (C, E, l), (C, F, r),
            (D, A, s), (D, B, l), (D, C, f),
            (E, C, m), (E, B, r),
            (F, A, s), (F, B, l), (F, C, f),
        ];
        assert_matches_hand_chain(
            &cluster,
            6,
            &transitions,
            &[A],
            &[("all_servers_down", &[B, D]), ("shared_disk", &[C, E, F])],
        );
    }

    fn queue_of(failed: &[u8], crews: usize) -> RepairQueue {
        failed.iter().fold(RepairQueue::EMPTY, |queue, &server| {
            queue.fail(server as usize, crews)
        })
    }

    /// The crews take failed servers in failure order; the order among servers already under
    /// repair is forgotten, the order of those still waiting is kept.
    #[test]
    fn repair_queue_serves_in_failure_order() {
        let one_crew = queue_of(&[2, 0, 1], 1);
        assert_eq!(one_crew.failed(), [2, 0, 1]);
        assert_eq!(one_crew.under_repair(1), 0..1);
        let (after, returned) = one_crew.repair(0, 1);
        assert_eq!((after.failed(), returned), (&[0, 1][..], 2));

        let two_crews = queue_of(&[2, 0, 1], 2);
        assert_eq!(two_crews.failed(), [0, 2, 1]);
        assert_eq!(queue_of(&[0, 2, 1], 2), two_crews);
        assert_ne!(queue_of(&[2, 1, 0], 2), two_crews);
        // Server 2 returns; server 1, which was waiting, is taken up.
        let (after, returned) = two_crews.repair(1, 2);
        assert_eq!((after.failed(), returned), (&[0, 1][..], 2));
    }

    /// Servers 2 then 0 failed while the group ran on 1. With one crew, server 2 comes back
    /// first, which is no reason for failback; server 0 returning would be.
    #[test]
    fn the_server_that_failed_first_returns_first() {
        let cluster = ExponentialCluster {
            stop_rate: Some(1.0),
            failback: true,
            ..instantaneous(3, Some(1))
        };
        let model = Model::new(&cluster);
        let state = State {
            queue: queue_of(&[2, 0], 1),
            disk_up: true,
            service: Service::Online(1),
        };
        let returns: Vec<State> = model
            .successors(&state)
            .into_iter()
            .filter(|&(_, rate)| rate == cluster.repair_rate)
            .map(|(next, _)| next)
            .collect();
        let expected = State {
            queue: queue_of(&[0], 1),
            disk_up: true,
            service: Service::Online(1),
        };
        assert_eq!(returns, [expected]);
    }

    /// Solves the hand-written chain and holds `solve(cluster)` to it: same number of states,
    /// availability, downtime per cause and outage rate.
    fn assert_matches_hand_chain(
        cluster: &ExponentialCluster,
        states: usize,
        transitions: &[(usize, usize, f64)],
        up: &[usize],
        causes: &[(&str, &[usize])],
    ) {
        let pi = Ctmc::from_transitions(states, transitions.iter().copied())
            .unwrap()
            .steady_state()
            .unwrap();
        let probability = |set: &[usize]| set.iter().map(|&x| pi[x]).sum::<f64>();
        let solution = solve(cluster).unwrap();

        assert_eq!(solution.states, states);
        assert_close(solution.availability, probability(up), 1e-12, "A");
        assert_eq!(
            solution.downtime_by_cause_minutes_per_year.len(),
            causes.len()
        );
        for &(name, set) in causes {
            assert_close(
                cause(&solution, name),
                probability(set) * 525_600.0,
                1e-12,
                name,
            );
        }
        let outage_rate: f64 = transitions
            .iter()
            .filter(|(from, to, _)| up.contains(from) && !up.contains(to))
            .map(|&(from, _, rate)| pi[from] * rate)
            .sum();
        assert_close(solution.outage_rate_per_hour, outage_rate, 1e-12, "outages");
    }

    #[test]
    fn as_many_crews_as_servers_is_unlimited() {
        let limited = solve(&full(3, Some(3))).unwrap();
        let unlimited = solve(&full(3, None)).unwrap();
        assert_eq!(limited, unlimited);
        let more = solve(&full(3, Some(5))).unwrap();
        assert_eq!(more, unlimited);
    }

    /// With one crew, which server comes back next depends on the failure order.
    #[test]
    fn one_crew_keeps_the_queue_order() {
        let one_crew = solve(&full(3, Some(1))).unwrap();
        let two_crews = solve(&full(3, Some(2))).unwrap();
        assert!(one_crew.states > two_crews.states);
        assert!(one_crew.unavailability > two_crews.unavailability);
    }

    #[test]
    fn four_servers_two_crews_failback_and_disk_solves_quickly() {
        let started = std::time::Instant::now();
        let solution = solve(&full(4, Some(2))).unwrap();
        let elapsed = started.elapsed();
        assert_close(
            solution.availability + solution.unavailability,
            1.0,
            1e-12,
            "sum",
        );
        assert_close(
            solution.mtbf_hours + solution.mttr_hours,
            1.0 / solution.outage_rate_per_hour,
            1e-12,
            "cycle",
        );
        assert_causes_add_up(&solution);
        assert_eq!(solution.downtime_by_cause_minutes_per_year.len(), 4);
        if !cfg!(debug_assertions) {
            assert!(elapsed.as_secs_f64() < 1.0, "took {elapsed:?}");
        }
    }

    /// Keeps the table in the module documentation honest.
    #[test]
    fn state_counts_match_the_documentation() {
        for (servers, crews, without_failback, with_failback) in [
            (1, None, 9, 9),
            (2, Some(1), 28, 37),
            (2, None, 25, 33),
            (3, Some(1), 98, 129),
            (3, None, 65, 85),
            (4, Some(1), 410, 539),
            (4, Some(2), 242, 317),
            (4, None, 161, 209),
            (5, None, 385, 497),
        ] {
            let with = solve(&full(servers, crews)).unwrap();
            let without = solve(&ExponentialCluster {
                failback: false,
                ..full(servers, crews)
            })
            .unwrap();
            let case = format!("{servers} servers, crews {crews:?}");
            assert_eq!(with.states, with_failback, "{case}, failback");
            assert_eq!(without.states, without_failback, "{case}, no failback");
        }
    }

    #[test]
    fn six_servers_with_one_crew_are_too_large() {
        assert_eq!(
            solve(&full(6, Some(1))),
            Err(CtmcError::TooManyStates {
                states: 16371,
                limit: crate::analysis::ctmc::MAX_DENSE_STATES
            })
        );
    }

    #[test]
    fn invalid_input_is_a_typed_error() {
        let invalid = |cluster: ExponentialCluster, name: &str| match solve(&cluster) {
            Err(CtmcError::InvalidParameter { parameter, .. }) => assert_eq!(parameter, name),
            other => panic!("expected an error for {name}, got {other:?}"),
        };
        invalid(instantaneous(0, None), "servers");
        invalid(instantaneous(7, None), "servers");
        invalid(instantaneous(2, Some(0)), "repair_crews");
        invalid(
            ExponentialCluster {
                failure_rate: 0.0,
                ..instantaneous(2, None)
            },
            "failure_rate",
        );
        invalid(
            ExponentialCluster {
                repair_rate: f64::NAN,
                ..instantaneous(2, None)
            },
            "repair_rate",
        );
        invalid(
            ExponentialCluster {
                detection_rate: Some(f64::INFINITY),
                ..instantaneous(2, None)
            },
            "detection_rate",
        );
        invalid(
            ExponentialCluster {
                stop_rate: Some(-1.0),
                ..instantaneous(2, None)
            },
            "stop_rate",
        );
        invalid(
            ExponentialCluster {
                shared_disk: Some((1e-4, 0.0)),
                ..instantaneous(2, None)
            },
            "shared_disk repair rate",
        );
    }
}
