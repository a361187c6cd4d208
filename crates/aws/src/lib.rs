//! Thin adapters over the AWS SDK: each call returns domain facts, each SDK error becomes a
//! `WorkerError` with a stable name. No rules live here; they live in `bluegreen-domain`.

pub mod cloudwatch;
pub mod config;
pub mod errors;
pub mod rds;
pub mod sfn;
pub mod sns;

pub use cloudwatch::Metrics;
pub use rds::Rds;
pub use sfn::Executions;
pub use sns::Notifier;
