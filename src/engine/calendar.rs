//! A calendar of future events: a binary heap keyed by (time, sequence number).
//!
//! Equal times fire in the order they were scheduled, so a run is a pure function of its
//! inputs. Cancellation is by generation counter (`Timer`): a cancelled event stays in the heap
//! and is dropped when it surfaces, which is O(1) to cancel and never searches the heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Micros;

/// An event with its firing time and tie-breaking sequence number.
#[derive(Debug, Clone)]
pub struct Scheduled<E> {
    pub at: Micros,
    seq: u64,
    pub event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}

impl<E> Eq for Scheduled<E> {}

impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Scheduled<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .at
            .cmp(&self.at)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// The event calendar and the current virtual time.
#[derive(Debug)]
pub struct Calendar<E> {
    heap: BinaryHeap<Scheduled<E>>,
    now: Micros,
    next_seq: u64,
}

impl<E> Default for Calendar<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Calendar<E> {
    pub fn new() -> Self {
        Calendar {
            heap: BinaryHeap::new(),
            now: 0,
            next_seq: 0,
        }
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Calendar {
            heap: BinaryHeap::with_capacity(capacity),
            now: 0,
            next_seq: 0,
        }
    }

    pub fn now(&self) -> Micros {
        self.now
    }

    /// Schedules `event` after `delay`, saturating at the end of time.
    pub fn schedule_in(&mut self, delay: Micros, event: E) {
        self.schedule_at(self.now.saturating_add(delay), event);
    }

    /// Schedules `event` at an absolute time, which must not lie in the past.
    pub fn schedule_at(&mut self, at: Micros, event: E) {
        debug_assert!(at >= self.now, "scheduling into the past");
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Scheduled { at, seq, event });
    }

    /// Removes the earliest event if it fires no later than `until`, advancing the clock to it.
    pub fn pop_until(&mut self, until: Micros) -> Option<(Micros, E)> {
        if self.heap.peek()?.at > until {
            return None;
        }
        let next = self.heap.pop()?;
        self.now = next.at;
        Some((next.at, next.event))
    }

    /// Time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Micros> {
        self.heap.peek().map(|s| s.at)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Advances the clock with no event (e.g. to the horizon at the end of a run).
    pub fn advance_to(&mut self, at: Micros) {
        debug_assert!(at >= self.now);
        self.now = at;
    }

    /// Empties the calendar for reuse in the next replication, keeping its allocation.
    pub fn reset(&mut self) {
        self.heap.clear();
        self.now = 0;
        self.next_seq = 0;
    }
}

/// A cancellable timer slot: events carry the generation they were armed with, and an event
/// whose generation is no longer current was cancelled (or superseded by re-arming).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    generation: u32,
}

impl Timer {
    /// Invalidates whatever was armed before and returns the generation for the new event.
    pub fn arm(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1);
        self.generation
    }

    /// Cancels the armed event, if any.
    pub fn cancel(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// True if an event armed with `generation` is still the live one.
    pub fn is_current(&self, generation: u32) -> bool {
        self.generation == generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_and_ties_in_scheduling_order() {
        let mut cal = Calendar::new();
        cal.schedule_at(30, "c");
        cal.schedule_at(10, "a1");
        cal.schedule_at(20, "b");
        cal.schedule_at(10, "a2");
        cal.schedule_at(10, "a3");
        let mut order = vec![];
        while let Some((t, e)) = cal.pop_until(u64::MAX) {
            order.push((t, e));
        }
        assert_eq!(
            order,
            vec![(10, "a1"), (10, "a2"), (10, "a3"), (20, "b"), (30, "c")]
        );
        assert_eq!(cal.now(), 30);
    }

    #[test]
    fn stops_at_the_horizon_without_losing_the_event() {
        let mut cal = Calendar::new();
        cal.schedule_at(100, ());
        assert!(cal.pop_until(99).is_none());
        assert_eq!(cal.len(), 1);
        assert_eq!(cal.pop_until(100), Some((100, ())));
    }

    #[test]
    fn schedule_in_is_relative_to_now_and_saturates() {
        let mut cal = Calendar::new();
        cal.schedule_at(50, 1);
        cal.pop_until(u64::MAX);
        cal.schedule_in(25, 2);
        cal.schedule_in(u64::MAX, 3);
        assert_eq!(cal.pop_until(u64::MAX), Some((75, 2)));
        assert_eq!(cal.pop_until(u64::MAX), Some((u64::MAX, 3)));
    }

    #[test]
    fn timer_generations_cancel_and_supersede() {
        let mut timer = Timer::default();
        let first = timer.arm();
        assert!(timer.is_current(first));
        let second = timer.arm();
        assert!(!timer.is_current(first));
        assert!(timer.is_current(second));
        timer.cancel();
        assert!(!timer.is_current(second));
    }
}
