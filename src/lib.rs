//! ecxsim: discrete-event simulation and availability analysis of EXPRESSCLUSTER X deployments.

pub mod backend;
pub mod control;
pub mod dist;
pub mod engine;
pub mod race;
pub mod time;
pub mod world;
