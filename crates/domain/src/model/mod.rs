//! The nouns: what a request, a source database and its topology, a deployment, a check, a
//! report, a plan and an old blue are, as every step reads and records them, with the names
//! AWS and the product define, the errors, the limits and the timings. Imports nothing else
//! of the crate (checked by `tests/architecture.rs`).

pub mod check;
pub mod db;
pub mod deployment;
pub mod engine;
pub mod error;
pub mod execution;
pub mod grants;
pub mod lifecycle;
pub mod limits;
pub mod milestone;
pub mod names;
pub mod old_blue;
pub mod plan;
pub mod report;
pub mod request;
pub mod route;
pub mod scaling;
pub mod schedule;
pub mod source;
pub mod time;
pub mod window;
