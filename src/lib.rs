//! ecxsim: discrete-event simulation and availability analysis of EXPRESSCLUSTER X deployments.

pub mod dist;
pub mod engine;
pub mod time;
pub mod backend;
pub mod control;
pub mod world;
