//! The rules of an RDS blue/green major-version upgrade, free of Lambda and of the AWS SDK:
//! what a request is, what must be true before anything changes, what the deployment's
//! status means, when it is safe to switch over. Adapters gather facts; this crate decides.

pub mod checks;
pub mod database;
pub mod deployment;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod guardrail;
pub mod plan;
pub mod request;
pub mod run;
pub mod schedule;
pub mod source;
pub mod window;

pub use error::WorkerError;
