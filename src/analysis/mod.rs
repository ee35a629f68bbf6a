//! Across replications: estimates with confidence intervals; and exact reference solutions
//! (with exponential times the models are continuous-time Markov chains, whose steady state is
//! computed exactly to hold the simulator to).

pub mod binomial;
pub mod cost;
pub mod ctmc;
pub mod exact;
pub mod sla;
pub mod standalone_ctmc;
pub mod stats;
pub mod summary;
