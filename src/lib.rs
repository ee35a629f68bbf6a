//! ecxsim: discrete-event simulation and availability analysis of EXPRESSCLUSTER X deployments.

pub mod analysis;
pub mod dist;
pub mod engine;
pub mod time;
