//! `wait`: one poll of the deployment. Reports the phase and proposes the delay before the
//! next poll; the waiting itself happens in the state machine's `Wait` state.

use crate::runtime::{epoch_seconds, now_epoch, Deps, Invocation};
use bluegreen_domain::deployment::Phase;
use bluegreen_domain::run::{Run, WaitState};
use bluegreen_domain::schedule::{next_delay, READY_POLLS_REQUIRED, SHORT_DELAY};
use bluegreen_domain::WorkerError;

/// Polls (10 s apart) for RDS to show a requested switchover before it counts as failed.
const MAX_POLLS_FOR_SWITCHOVER_TO_START: u32 = 30;

pub async fn handle(deps: Deps, mut run: Run, inv: Invocation) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let record = run.deployment()?.clone();
    let view = deps
        .rds
        .deployment_by_name(&record.name)
        .await?
        .ok_or_else(|| {
            WorkerError::GreenFailed(format!(
            "deployment {} ({}) no longer exists: it was deleted outside this run; start a new \
             execution to create it again",
            record.name, record.id
        ))
        })?;
    let members = if view.status.eq_ignore_ascii_case("AVAILABLE") {
        deps.rds.member_statuses(&view.green_member_arns()).await?
    } else {
        Vec::new()
    };
    let observed = view.phase(&members)?;
    let previous = run.wait.clone();
    let polls = previous.as_ref().map_or(0, |w| w.polls) + 1;
    let consecutive_ready = if observed == Phase::Ready {
        previous.as_ref().map_or(0, |w| w.consecutive_ready) + 1
    } else {
        0
    };
    // Eventual consistency: "ready" must be seen twice in a row.
    let mut phase = if observed == Phase::Ready && consecutive_ready < READY_POLLS_REQUIRED {
        Phase::Provisioning
    } else {
        observed
    };
    // Right after a switchover request RDS may still say AVAILABLE: that is "switching",
    // never "ready" again (which would ask for a second switchover).
    if run.switchover.is_some() && matches!(phase, Phase::Ready | Phase::Provisioning) {
        if polls > MAX_POLLS_FOR_SWITCHOVER_TO_START {
            return Err(WorkerError::SwitchoverFailed(format!(
                "RDS has not started the switchover of {} after {polls} polls (status {}): blue is \
                 still production; check the deployment's events, then run action `switchover` again",
                record.name, view.status
            )));
        }
        phase = Phase::Switching;
    }
    let now = now_epoch(&inv);
    let requested = run
        .timeline
        .get("green_requested")
        .and_then(|t| epoch_seconds(t))
        .unwrap_or(now);
    let since_create = (now - requested).max(0) as u64;
    // A green seen ready on this poll only awaits its confirming poll: not a timeout.
    if phase == Phase::Provisioning
        && observed != Phase::Ready
        && since_create > request.max_provisioning_minutes as u64 * 60
    {
        return Err(WorkerError::ProvisioningTimedOut(format!(
            "green for {} has not been ready after {} minutes (max_provisioning_minutes = {}; status {}). \
             The failure path deletes this unswitched green; raise max_provisioning_minutes for a \
             large database and run again",
            request.db_identifier,
            since_create / 60,
            request.max_provisioning_minutes,
            view.status
        )));
    }
    let at = inv.now_rfc3339();
    match phase {
        Phase::Ready => run.mark("green_ready", &at),
        Phase::Switched => run.mark("switchover_completed", &at),
        _ => {}
    }
    let delay = if observed == Phase::Ready && phase == Phase::Provisioning {
        SHORT_DELAY
    } else {
        next_delay(phase, Some(&view), since_create)
    };
    let pending_tasks = view
        .tasks
        .iter()
        .filter(|t| !t.status.eq_ignore_ascii_case("COMPLETED"))
        .map(|t| format!("{} {}", t.name, t.status))
        .collect();
    tracing::info!(?phase, status = %view.status, polls, delay, "deployment polled");
    if let Some(d) = run.deployment.as_mut() {
        d.status = view.status.clone();
        if d.target_arn.is_none() && !view.target_arn.is_empty() {
            d.target_arn = Some(view.target_arn.clone());
        }
    }
    run.wait = Some(WaitState {
        phase,
        polls,
        consecutive_ready,
        next_delay_seconds: delay,
        status: view.status,
        pending_tasks,
    });
    Ok(run)
}
