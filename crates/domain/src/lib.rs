//! The rules of an RDS blue/green major-version upgrade, free of Lambda and of the AWS SDK:
//! what a request is, what must be true before anything changes, what the deployment's
//! status means, when it is safe to switch over, what the stack's own roles would be denied
//! (`access`: the opt-in tag on every resource acted on, the monitoring roles, KMS keys and
//! topics the stack was given). Adapters gather facts; this crate decides.

pub mod access;
pub mod checks;
pub mod cleanup;
pub mod database;
pub mod deployment;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod guardrail;
pub mod lag;
pub mod lifecycle;
pub mod limits;
pub mod milestone;
pub mod names;
pub mod old_blue;
pub mod plan;
pub mod readiness;
pub mod request;
pub mod route;
pub mod run;
pub mod schedule;
pub mod source;
pub mod time;
pub mod topology;
pub mod verify;
pub mod window;

pub use error::WorkerError;
