//! How long the state machine waits between polls. Waiting happens in `Wait` states (free),
//! not in Lambda; each poll costs three state transitions, so the delay is short where it
//! shortens the upgrade (right after create, near "ready", during switchover) and long
//! while the bulk of a green build is still running.

use crate::deployment::{DeploymentView, Phase};

/// Right after create (RDS may not list the deployment yet) and to confirm "ready".
pub const SHORT_DELAY: u32 = 15;
/// While green is being built and its engine upgraded (20–90 minutes typically). Every poll
/// costs three state transitions; 120 s keeps a 45-minute build near 130 transitions
/// (bench/results.md). Detection stays fast because an AVAILABLE deployment with tasks left
/// is polled every 30 s.
pub const BUILD_DELAY: u32 = 120;
/// While a switchover runs (typically under a minute).
pub const SWITCHOVER_DELAY: u32 = 20;

/// The delay before the next poll, given what this poll saw.
pub fn next_delay(phase: Phase, view: Option<&DeploymentView>, seconds_since_create: u64) -> u32 {
    match phase {
        Phase::Ready => SHORT_DELAY,
        Phase::Switching => SWITCHOVER_DELAY,
        Phase::Switched | Phase::Failed => 0,
        Phase::Provisioning => {
            // Right after create: RDS may not list the deployment yet, and a failed create
            // (INVALID_CONFIGURATION) often shows within seconds.
            if seconds_since_create < 30 {
                return SHORT_DELAY;
            }
            // Once AVAILABLE with only the last tasks left, ready is near: poll faster so
            // the switchover starts soon after green is ready.
            let nearly = view.is_some_and(|v| v.status.eq_ignore_ascii_case("AVAILABLE"));
            if nearly {
                30
            } else {
                BUILD_DELAY
            }
        }
    }
}
