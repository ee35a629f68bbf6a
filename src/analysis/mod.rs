//! Across replications: estimates with confidence intervals, and exact reference solutions.

pub mod stats;
pub mod summary;
