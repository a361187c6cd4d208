//! How long the state machine waits between polls. Waiting happens in `Wait` states (free),
//! not in Lambda; each poll costs three state transitions, so the delay is short where it
//! shortens the upgrade (right after create, near "ready", during switchover) and long
//! while the bulk of a green build is still running.

/// Right after create (RDS may not list the deployment yet) and to confirm "ready".
pub const SHORT_DELAY: u32 = 15;
/// While green is being built and its engine upgraded (20–90 minutes typically). Every poll
/// costs three state transitions; 120 s keeps a 45-minute build near 130 transitions
/// (bench/results.md). Detection stays fast because an AVAILABLE deployment with tasks left
/// is polled every 30 s.
pub const BUILD_DELAY: u32 = 120;
/// While a switchover runs (typically under a minute).
pub const SWITCHOVER_DELAY: u32 = 20;

/// The guardrails hold at most this many times (each after `HOLD_DELAY_SECONDS`) before
/// failing with `GuardrailViolated`.
pub const MAX_HOLDS: u32 = 20;
pub const HOLD_DELAY_SECONDS: u32 = 30;
