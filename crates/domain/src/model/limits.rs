//! Step Functions' own limits, which the definition and every state must live within: past
//! them the execution fails in ways no `Catch` sees (nothing rolled back, nothing notified).
//! See `shared/reference/bluegreen-facts.md`, "Step Functions limits".

use crate::model::request::Request;
use crate::model::schedule::{HOLD_DELAY_SECONDS, MAX_HOLDS};
use crate::model::window::SwitchoverWindow;

/// Every state's input and output, and every task result: 256 KiB of UTF-8.
/// `States.DataLimitExceeded` cannot be caught.
pub const MAX_STATE_BYTES: usize = 262_144;
/// A failure's `cause`.
pub const MAX_CAUSE_CHARS: usize = 32_768;
/// A failure's `error`.
pub const MAX_ERROR_CHARS: usize = 256;
/// A worker's error message: Step Functions puts the whole Lambda error payload (type and
/// message, as JSON) in the cause, so the message keeps well inside `MAX_CAUSE_CHARS`.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 16_384;

/// The per-database state machine's `TimeoutSeconds` (30 days). It cannot be caught, so it
/// must exceed the longest run any accepted request can take (`longest_run_seconds`); a
/// test keeps the definition and this constant in step.
pub const UPGRADE_MACHINE_TIMEOUT_SECONDS: u64 = 30 * 24 * 3600;

/// How long the cleanup may wait for the final snapshot before it stops (the snapshot of a
/// large old blue can take hours; nothing is deleted before it is available).
pub const MAX_SNAPSHOT_WAIT_SECONDS: u64 = 24 * 3600;

/// Polls (each `schedule::SWITCHOVER_DELAY` apart) for RDS to show a requested switchover.
pub const MAX_POLLS_FOR_SWITCHOVER_TO_START: u32 = 30;

/// Allowance for everything else: notifications, verification, retries with backoff,
/// deleting an Aurora old blue's instances.
const SLACK_SECONDS: u64 = 2 * 24 * 3600;

/// The longest an accepted request can keep one execution running: the switchover window
/// (up to a week before it opens, plus its length), or the longest build, whichever is later;
/// guardrail holds; the switchover; the soak; the final snapshot.
pub fn longest_run_seconds(request: &Request) -> u64 {
    let build = u64::from(request.max_provisioning_minutes) * 60;
    let window = request
        .switchover_window
        .as_deref()
        .and_then(|w| SwitchoverWindow::parse(w).ok())
        .map_or(0, |w| w.longest_wait_seconds());
    let before_switchover = build.max(window);
    let holds = u64::from(MAX_HOLDS * HOLD_DELAY_SECONDS);
    let switchover = u64::from(request.switchover_timeout_seconds)
        + u64::from(MAX_POLLS_FOR_SWITCHOVER_TO_START * crate::model::schedule::SWITCHOVER_DELAY);
    let soak = u64::from(request.soak_hours) * 3600;
    let approval = if request.require_approval {
        u64::from(request.approval_timeout_hours) * 3600
    } else {
        0
    };
    before_switchover
        + holds
        + approval
        + switchover
        + soak
        + MAX_SNAPSHOT_WAIT_SECONDS
        + SLACK_SECONDS
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip(&"é".repeat(10), 4).chars().count(), 4);
    }
}

#[cfg(test)]
mod definition {
    use super::UPGRADE_MACHINE_TIMEOUT_SECONDS;

    #[test]
    fn the_generated_definition_carries_the_machine_timeout() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../statemachine/upgrade.asl.json"
        );
        let text = std::fs::read_to_string(path).expect("statemachine/upgrade.asl.json");
        let definition: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            definition["TimeoutSeconds"].as_u64(),
            Some(UPGRADE_MACHINE_TIMEOUT_SECONDS),
            "statemachine/source.py UPGRADE_TIMEOUT_SECONDS must equal the domain's"
        );
    }
}
