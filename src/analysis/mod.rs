//! Exact analysis: with exponential times the models are continuous-time Markov chains, whose
//! steady state we compute exactly to hold the simulator to.

pub mod ctmc;
pub mod standalone_ctmc;
