//! The discrete-event core: a calendar of timed events and per-component random streams.
//! It knows nothing about clusters; models define their own event enums and drive the loop.

mod calendar;
mod streams;

pub use calendar::{Calendar, Scheduled, Timer};
pub use streams::{
    component_stream, component_stream_of, stream_seed, NamePrefix, ReplicationStreams, Stream,
};
