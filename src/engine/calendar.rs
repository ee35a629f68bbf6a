//! A calendar of future events: a binary min-heap keyed by (time, sequence number).
//!
//! Equal times fire in the order they were scheduled, so a run is a pure function of its
//! inputs. Cancellation is by generation counter (`Timer`): a cancelled event stays in the heap
//! and is dropped when it surfaces, which is O(1) to cancel and never searches the heap.
//!
//! Most handlers schedule an event right after they were handed one (a failure schedules its
//! repair, a repair the next failure). So `pop_until` leaves the event it hands out at the root
//! and the next `schedule_at` writes over it: one sift down instead of a removal and an
//! insertion. The order of events is exactly that of a plain heap on (time, sequence number).

use crate::time::Micros;

/// An event with its firing time and tie-breaking sequence number, packed into one key that
/// compares as the pair (time, sequence) does.
#[derive(Debug, Clone, Copy)]
pub struct Scheduled<E> {
    key: u128,
    pub event: E,
}

impl<E> Scheduled<E> {
    fn new(at: Micros, seq: u64, event: E) -> Scheduled<E> {
        Scheduled {
            key: Self::key(at, seq),
            event,
        }
    }

    fn key(at: Micros, seq: u64) -> u128 {
        (at as u128) << 64 | seq as u128
    }

    pub fn at(&self) -> Micros {
        (self.key >> 64) as Micros
    }
}

/// The event calendar and the current virtual time.
#[derive(Debug)]
pub struct Calendar<E> {
    /// A min-heap on `key`: every entry's key is below its children's.
    heap: Vec<Scheduled<E>>,
    /// The root was handed out by the last `pop_until` and is no longer pending: the next
    /// `schedule_at` overwrites it, anything else removes it first.
    root_taken: bool,
    now: Micros,
    next_seq: u64,
}

impl<E: Copy> Default for Calendar<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Calendar<E> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Calendar {
            heap: Vec::with_capacity(capacity),
            root_taken: false,
            now: 0,
            next_seq: 0,
        }
    }

    pub fn now(&self) -> Micros {
        self.now
    }

    /// Schedules `event` after `delay`, saturating at the end of time.
    #[inline(always)]
    pub fn schedule_in(&mut self, delay: Micros, event: E) {
        self.schedule_at(self.now.saturating_add(delay), event);
    }

    /// Schedules `event` at an absolute time, which must not lie in the past.
    ///
    /// Inlined, and the entry written once, from registers, where the sift leaves its hole:
    /// the caller builds the event field by field, and an entry handed to an out-of-line
    /// function is stored that way and read back whole at once, which the processor cannot
    /// forward from its store buffer (a stall of a dozen cycles on every schedule).
    #[inline(always)]
    pub fn schedule_at(&mut self, at: Micros, event: E) {
        debug_assert!(at >= self.now, "scheduling into the past");
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Scheduled::new(at, seq, event);
        let hole = if self.root_taken {
            self.root_taken = false;
            self.hole_down(0, entry.key)
        } else {
            self.heap.push(entry);
            self.hole_up(self.heap.len() - 1, entry.key)
        };
        self.heap[hole] = entry;
    }

    /// Removes the earliest event if it fires no later than `until`, advancing the clock to it.
    pub fn pop_until(&mut self, until: Micros) -> Option<(Micros, E)> {
        self.settle();
        let root = *self.heap.first()?;
        let at = root.at();
        if at > until {
            return None;
        }
        self.root_taken = true;
        self.now = at;
        Some((at, root.event))
    }

    /// Time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Micros> {
        if self.root_taken {
            // The earliest pending one is a child of the taken root.
            self.heap[1..].iter().take(2).map(Scheduled::at).min()
        } else {
            self.heap.first().map(Scheduled::at)
        }
    }

    /// Moves the earliest pending event to `to` if it is due at `due` and no other event is
    /// due at or before `to`; says whether it did. The event keeps its sequence number, and
    /// stays the earliest, so the heap needs no change but its key.
    pub fn postpone_next(&mut self, due: Micros, to: Micros) -> bool {
        self.settle();
        let Some(first) = self.heap.first() else {
            return false;
        };
        if first.at() != due {
            return false;
        }
        let next_other = self.heap[1..].iter().take(2).map(Scheduled::at).min();
        if next_other.is_some_and(|at| at <= to) {
            return false;
        }
        let seq = first.key as u64;
        self.heap[0].key = Scheduled::<E>::key(to, seq);
        true
    }

    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.root_taken)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Advances the clock with no event (e.g. to the horizon at the end of a run).
    pub fn advance_to(&mut self, at: Micros) {
        debug_assert!(at >= self.now);
        self.now = at;
    }

    /// Empties the calendar for reuse in the next replication, keeping its allocation.
    pub fn reset(&mut self) {
        self.heap.clear();
        self.root_taken = false;
        self.now = 0;
        self.next_seq = 0;
    }

    /// Removes the root handed out by the last `pop_until`, if nothing overwrote it.
    /// Inline, as every pop begins with it and most find the root overwritten already.
    #[inline(always)]
    fn settle(&mut self) {
        if std::mem::take(&mut self.root_taken) {
            self.remove_root();
        }
    }

    #[inline(never)]
    fn remove_root(&mut self) {
        let last = self.heap.pop().expect("a taken root is in the heap");
        if !self.heap.is_empty() {
            let hole = self.hole_down(0, last.key);
            self.heap[hole] = last;
        }
    }

    /// Where an entry keyed `key` goes at `hole` or below it: moves the smaller children up
    /// and returns the hole left, for the caller to fill.
    fn hole_down(&mut self, mut hole: usize, key: u128) -> usize {
        let heap = self.heap.as_mut_slice();
        let len = heap.len();
        loop {
            let left = 2 * hole + 1;
            let child = if left + 1 < len {
                left + usize::from(heap[left + 1].key < heap[left].key)
            } else if left < len {
                left
            } else {
                break;
            };
            if heap[child].key >= key {
                break;
            }
            heap[hole] = heap[child];
            hole = child;
        }
        hole
    }

    /// Where an entry keyed `key` goes at `hole` or above it: moves the larger parents down
    /// and returns the hole left, for the caller to fill.
    fn hole_up(&mut self, mut hole: usize, key: u128) -> usize {
        let heap = self.heap.as_mut_slice();
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if heap[parent].key <= key {
                break;
            }
            heap[hole] = heap[parent];
            hole = parent;
        }
        hole
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

    /// Against a plain `BinaryHeap` on (time, sequence): the same events in the same order,
    /// whatever the mix of pops, schedules and peeks.
    #[test]
    fn fires_in_the_order_of_a_plain_heap() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut cal = Calendar::new();
        let mut reference = BinaryHeap::new();
        let (mut seq, mut state) = (0u64, 0x2545_F491_4F6C_DD1Du64);
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for step in 0..20_000u64 {
            let r = next();
            if r % 3 == 0 {
                let got = cal.pop_until(u64::MAX);
                let want = reference.pop().map(|Reverse((at, _, e))| (at, e));
                assert_eq!(got, want, "step {step}");
            } else {
                // Few distinct delays, so that equal times are common.
                let delay = if r % 7 == 0 { u64::MAX } else { (r >> 8) % 16 };
                let at = cal.now().saturating_add(delay);
                cal.schedule_at(at, step);
                reference.push(Reverse((at, seq, step)));
                seq += 1;
            }
            assert_eq!(cal.len(), reference.len());
            let want = reference.peek().map(|Reverse((at, _, _))| *at);
            assert_eq!(cal.peek_time(), want);
        }
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
