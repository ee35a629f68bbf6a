//! Across replications: estimates with confidence intervals; and exact reference solutions
//! (with exponential times the models are continuous-time Markov chains, whose steady state is
//! computed exactly to hold the simulator to).

pub mod binomial;
pub mod ctmc;
pub mod exact;
pub mod standalone_ctmc;
pub mod stats;
pub mod summary;
