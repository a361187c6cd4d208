//! The state machines' states, as the operator's phases.

/// The human phase of a state of the upgrade or fleet machine. `after_switchover`: the
/// execution has entered `Switchover` (the green polls after it are the switchover's). The
/// states' names before they took their step's (`CreateGreen`, `CheckGreen`, `CheckGuardrails`)
/// are kept: an execution started before the stack was updated still reads right.
pub fn phase(state: &str, after_switchover: bool) -> &'static str {
    match state {
        "Receive" | "Precheck" | "Route" | "Resume" => "prechecking",
        "HandOverFleet" | "HandedOver" => "handing over to the fleet machine",
        "DatabaseAccess" | "DatabasePrecheck" => "prechecking the databases",
        "NotifyStarted" | "Create" | "CreateGreen" | "Created" => "creating green",
        "DatabaseFingerprint" => "fingerprinting the schema",
        "DatabaseWatch" | "DatabaseWatchVerdict" | "WaitForDatabaseWatch" => {
            "watching the databases"
        }
        "DatabaseAnalyze" | "DatabaseAnalyzeDone" | "WaitForDatabaseAnalyze" => "analyzing green",
        "FinishAccess" | "DatabaseFinish" | "DatabaseFinishDone" | "WaitForDatabaseFinish" => {
            "finishing in the databases"
        }
        "WaitForGreen" | "Wait" | "CheckGreen" | "GreenPhase" if after_switchover => {
            "switching over"
        }
        "NotifySwitchoverStarted" => "checking green",
        "WaitForGreen" | "Wait" | "CheckGreen" | "GreenPhase" => "building green",
        "NotifyGreenReady" | "Guardrails" | "CheckGuardrails" | "GuardrailVerdict"
        | "WaitForGuardrails" | "NeedsApproval" => "guardrails",
        "AwaitApproval" => "waiting for approval",
        "Switchover" => "switching over",
        "Verify" => "verifying",
        "NotifySwitchedOver" | "SoakHere" | "Soak" => "soaking",
        "SwitchedOver" => "switched over",
        "Cleanup" | "CleanupDone" | "WaitForCleanup" | "NotifyCleanedUp" | "NotifySucceeded" => {
            "cleaning up"
        }
        "Upgraded" | "CleanedUp" => "done",
        "NotifyPrepared" | "Prepared" => "green prepared",
        "AfterRejection" | "NotifyRejected" => "rejected",
        "ApprovalTimedOut" => "approval timed out",
        "NotifySwitchoverSkipped" | "SwitchoverSkipped" => "switchover skipped",
        "Abort" | "AbortDone" | "WaitForAbort" | "NotifyAborted" | "Aborted" => "aborting",
        "RollBackGreen" | "RollBackDone" | "WaitForRollBack" => "rolling back",
        "NotifyFailed" | "FailRun" | "HandOverFailed" | "UnknownRoute" => "failing",
        "Planned" => "planned",
        "NothingToDo" => "nothing to do",
        "NotifyAlreadyInProgress" | "AlreadyInProgress" => "already in progress",
        // The fleet machine.
        "Resolve" | "NotifyResolveFailed" | "ResolveFailed" => "selecting databases",
        "ContinueCampaign" | "CampaignStep" | "NextStep" | "Poll" => "running the databases",
        "FleetSoak" => "soaking",
        "ContinueFleet" | "Continued" => "continuing in a new execution",
        "FleetReport" | "Finished" | "FleetDone" | "FleetIncomplete" | "CampaignFailed" => {
            "reporting"
        }
        _ => "running",
    }
}

/// Whether the phase is the green build (the progress bar comes from the deployment's tasks).
pub fn is_building(phase: &str) -> bool {
    phase == "building green"
}

/// `1h02m03s`, `4m05s`, `12s`.
pub fn elapsed(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `[########--------] 2/4 tasks`
pub fn progress_bar(done: usize, total: usize, width: usize) -> String {
    if total == 0 {
        return format!("[{}] no tasks yet", "-".repeat(width));
    }
    let filled = (done.min(total) * width + total / 2) / total;
    format!(
        "[{}{}] {done}/{total} tasks",
        "#".repeat(filled),
        "-".repeat(width - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_of_both_machines_has_a_phase() {
        for file in ["upgrade", "fleet"] {
            let path = format!(
                "{}/../../statemachine/{file}.asl.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).unwrap();
            let def: serde_json::Value = serde_json::from_str(&text).unwrap();
            for name in def["States"].as_object().unwrap().keys() {
                assert_ne!(
                    phase(name, false),
                    "running",
                    "{file}: state {name} has no phase"
                );
            }
        }
    }

    #[test]
    fn green_polls_after_the_switchover_are_the_switchover() {
        assert_eq!(phase("WaitForGreen", false), "building green");
        assert_eq!(phase("Wait", true), "switching over");
        assert_eq!(
            phase("CheckGreen", true),
            "switching over",
            "an execution of before the rename"
        );
        assert_eq!(phase("AwaitApproval", false), "waiting for approval");
        assert_eq!(phase("Soak", true), "soaking");
        assert_eq!(phase("WaitForCleanup", true), "cleaning up");
        assert!(is_building(phase("Wait", false)));
    }

    #[test]
    fn elapsed_and_progress() {
        assert_eq!(elapsed(12.7), "12s");
        assert_eq!(elapsed(245.0), "4m05s");
        assert_eq!(elapsed(3723.0), "1h02m03s");
        assert_eq!(progress_bar(2, 4, 16), "[########--------] 2/4 tasks");
        assert_eq!(progress_bar(0, 3, 6), "[------] 0/3 tasks");
        assert_eq!(progress_bar(3, 3, 6), "[######] 3/3 tasks");
        assert_eq!(progress_bar(0, 0, 4), "[----] no tasks yet");
    }
}
