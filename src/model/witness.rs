//! The witness server: one per scenario, shared by every cluster that resolves network
//! partitions with it. Its failure and repair times come from the streams `witness/ttf` and
//! `witness/ttr`.

use crate::engine::{component_stream, Stream};
use crate::scenario::Witness;
use crate::time::Micros;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitnessEvent {
    Fails,
    Repaired,
}

pub struct WitnessSim<'s> {
    spec: &'s Witness,
    up: bool,
    ttf: Stream,
    ttr: Stream,
}

impl<'s> WitnessSim<'s> {
    /// The witness, up at time 0; returns it and the delay of its first failure.
    pub fn new(spec: &'s Witness, seed: u64, replication: u64) -> (WitnessSim<'s>, Micros) {
        let mut sim = WitnessSim {
            spec,
            up: true,
            ttf: component_stream(seed, replication, "witness/ttf"),
            ttr: component_stream(seed, replication, "witness/ttr"),
        };
        let first = sim.spec.ttf.sample(&mut sim.ttf);
        (sim, first)
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Applies `event`; returns the next event and its delay.
    pub fn handle(&mut self, event: WitnessEvent) -> (WitnessEvent, Micros) {
        match event {
            WitnessEvent::Fails => {
                self.up = false;
                (WitnessEvent::Repaired, self.spec.ttr.sample(&mut self.ttr))
            }
            WitnessEvent::Repaired => {
                self.up = true;
                (WitnessEvent::Fails, self.spec.ttf.sample(&mut self.ttf))
            }
        }
    }

    /// A scripted outage or return: the pending random event is left to fire (it toggles the
    /// state it finds), so scripted scenarios give the witness no failure model.
    pub fn set_up(&mut self, up: bool) {
        self.up = up;
    }
}
