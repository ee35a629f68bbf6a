//! ecxsim: discrete-event simulation and availability analysis of EXPRESSCLUSTER X deployments.

pub mod analysis;
pub mod backend;
pub mod compare;
pub mod control;
pub mod dist;
pub mod engine;
pub mod http_server;
pub mod interrupt;
pub mod merge;
pub mod metrics;
pub mod model;
pub mod partial;
pub mod production;
pub mod race;
pub mod rate;
pub mod report;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod shard;
pub mod sweep;
pub mod time;
pub mod workload;
pub mod world;
