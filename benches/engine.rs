//! Engine throughput: the classic "hold" model (pop the earliest event, schedule one new event a
//! random delay later) with a steady calendar of 64 pending events, against the same loop on a
//! bare `BinaryHeap` as the floor. Throughput is reported in events per second.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ecxsim::engine::{Calendar, Timer};

const EVENTS: u64 = 1_000_000;
const PENDING: u64 = 64;

/// A tiny deterministic generator so that the measurement is of the calendar, not of the RNG.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Clone, Copy)]
enum Event {
    Fail { server: u16 },
    Step { generation: u32 },
}

fn engine_hold() -> u64 {
    let mut cal: Calendar<Event> = Calendar::with_capacity(PENDING as usize);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut timer = Timer::default();
    for i in 0..PENDING {
        cal.schedule_in(rng.next() % 1_000_000, Event::Fail { server: i as u16 });
    }
    let mut checksum = 0u64;
    for _ in 0..EVENTS {
        let (t, event) = cal.pop_until(u64::MAX).expect("never empty");
        checksum = checksum.wrapping_add(t);
        match event {
            Event::Fail { server } => {
                // Half the events re-arm a cancellable step, as group steps do in the model.
                if server % 2 == 0 {
                    let generation = timer.arm();
                    cal.schedule_in(rng.next() % 1_000_000, Event::Step { generation });
                } else {
                    cal.schedule_in(rng.next() % 1_000_000, Event::Fail { server });
                }
            }
            Event::Step { generation } => {
                if timer.is_current(generation) {
                    checksum ^= 1;
                }
                cal.schedule_in(rng.next() % 1_000_000, Event::Fail { server: 1 });
            }
        }
    }
    checksum
}

fn bare_heap_hold() -> u64 {
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> =
        BinaryHeap::with_capacity(PENDING as usize);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut seq = 0;
    for i in 0..PENDING {
        heap.push(Reverse((rng.next() % 1_000_000, seq, i as u32)));
        seq += 1;
    }
    let mut checksum = 0u64;
    for _ in 0..EVENTS {
        let Reverse((t, _, payload)) = heap.pop().expect("never empty");
        checksum = checksum.wrapping_add(t);
        heap.push(Reverse((t + rng.next() % 1_000_000, seq, payload)));
        seq += 1;
    }
    checksum
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold_64_pending");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    group.bench_function("ecxsim_calendar", |b| b.iter(engine_hold));
    group.bench_function("bare_binary_heap", |b| b.iter(bare_heap_hold));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
