//! The rules of an RDS blue/green major-version upgrade, free of Lambda and of the AWS SDK:
//! what a request is, what must be true before anything changes, what the deployment's
//! status means, when it is safe to switch over, what the stack's own roles would be denied.
//! Adapters gather facts; this crate decides. Inbound events (an alarm's state change, a
//! Scheduled Event) are read at the edge, the workers' `intake`, and arrive here as typed
//! facts.
//!
//! # Code map
//!
//! One folder per step of the state machine, in the order a run takes them, over the nouns
//! they share:
//!
//! ```text
//! model/       the nouns, and nothing else of the crate: check (Check, Verdict, every check
//!              id, the manual checks), db (DbKind, DbRef), request (the contract), source
//!              (SourceDb and its topology), deployment, report, plan, old_blue, route,
//!              engine, names (+ tags), grants, lifecycle, window, milestone, execution,
//!              error, time, limits, schedule
//! precheck/    intake (the ways in, as typed facts), checks (source, versions, parameters,
//!              deployment, topology, access), topology, lifecycle (the cost of waiting),
//!              route, report; `decide`: the worker gathers facts, decides once, records
//! wait/        green's build, poll after poll (WaitState)
//! guardrails/  never switch over blind: the window, the lag per engine (lag), GuardrailState
//! switchover/  the window's rules, the approval, the switchover record
//! verify/      production after the switchover; old_blue (finding it: one place), topology
//! cleanup/     the final snapshot, the record, the old blue (CleanupState); abort (AbortState)
//! database/    inside the database (the sql worker's rules and DatabaseState)
//! fleet/       many databases, one request
//! run.rs       the run document: composes the steps' states; SqlInput
//! ```
//!
//! # Rules (checked by `tests/architecture.rs`)
//!
//! 1. `model/` imports nothing else of the crate.
//! 2. No step folder imports `run`: the run document composes the steps, not the reverse; a
//!    rule that needs data held in `Run` takes it as an argument or a facts struct.
//! 3. No import cycle among the top-level modules.

pub mod cleanup;
pub mod database;
pub mod fleet;
pub mod guardrails;
pub mod model;
pub mod precheck;
pub mod run;
pub mod switchover;
pub mod verify;
pub mod wait;
