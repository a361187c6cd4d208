//! The Lambda workers. Each step of the state machine is a handler here, generic over the
//! AWS ports (`bluegreen_aws::ports`): served by a binary in `src/bin/` (a few lines long)
//! with the SDK adapters, called directly in tests with the in-memory account
//! (`bluegreen_memory`).

pub mod abort;
pub mod campaign;
pub mod cleanup;
pub mod create;
pub mod guardrails;
pub mod intake;
pub mod old_blue;
pub mod precheck;
pub mod remediation_metric;
pub mod resolve;
pub mod runtime;
pub mod switchover;
pub mod verify;
pub mod wait;

pub use runtime::{Deps, Invocation};
