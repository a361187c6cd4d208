//! The Lambda workers. Each step of the state machine is a handler here, called directly
//! in tests with SDK clients mocked at the HTTP layer, and served by a binary in `src/bin/`
//! that is a few lines long.

pub mod abort;
pub mod campaign;
pub mod cleanup;
pub mod create;
pub mod guardrails;
pub mod precheck;
pub mod remediation_metric;
pub mod resolve;
pub mod runtime;
pub mod switchover;
pub mod verify;
pub mod wait;

pub use runtime::{Deps, Invocation};
