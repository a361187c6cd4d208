//! Where the state machine goes after the precheck: the route, from the action, the checks'
//! verdict and the deployment found. Refusals here change nothing.

use crate::model::check::{id, Verdict};
use crate::model::deployment::DeploymentView;
use crate::model::error::WorkerError;
use crate::model::report::{ExistingDeployment, Report};
use crate::model::request::{Action, Request, Trigger};
use crate::model::route::Route;

/// The note of a run whose input was a fleet request (an explicit selector or a Scheduled
/// Event): the fleet state machine runs it.
pub const HANDED_OVER_TO_FLEET: &str =
    "a fleet request: the fleet state machine runs it (see handed_over.fleet_execution)";

/// What the state machine does next. Refusals here change nothing.
pub fn route_for(
    request: &Request,
    report: &Report,
    ours: Option<&DeploymentView>,
    any_in_flight: bool,
    from_fleet: bool,
    db: &str,
) -> Result<Route, WorkerError> {
    let action = request.action;
    if action == Action::Plan {
        return Ok(Route::Plan);
    }
    // A flapping alarm must not start a second upgrade: anything in flight means a run is
    // (or was) already on it; this run touches nothing. A fleet run likewise never takes
    // over a database another run is on (a console run resumes one on purpose).
    if (request.trigger == Trigger::Alarm || from_fleet)
        && any_in_flight
        && matches!(action, Action::Prepare | Action::Upgrade)
    {
        return Ok(Route::AlreadyInProgress);
    }
    let account_failed = report
        .checks
        .iter()
        .any(|c| c.id == id::ACCOUNT && c.verdict == Verdict::Fail);
    match action {
        Action::Abort | Action::Cleanup => {
            let gating: Vec<_> = report
                .failures()
                .into_iter()
                .filter(|c| {
                    c.id == id::ACCOUNT || (c.id == id::EXISTING_DEPLOYMENT && ours.is_none())
                })
                .collect();
            if !gating.is_empty() {
                let only = Report::new(
                    gating.into_iter().cloned().collect(),
                    vec![],
                    report.existing_deployment.clone(),
                );
                return Err(only.failure_error(db));
            }
            let d = ours
                .ok_or_else(|| WorkerError::Refused(format!("no deployment of ours for {db}")))?;
            if action == Action::Cleanup && !d.is_switched_over() {
                return Err(WorkerError::Refused(format!(
                    "deployment {} is {}: cleanup runs only after a completed switchover; to drop an \
                     unswitched green use action `abort`",
                    d.name, d.status
                )));
            }
            Ok(if action == Action::Abort {
                Route::Abort
            } else {
                Route::Cleanup
            })
        }
        Action::Prepare | Action::Upgrade | Action::Switchover => {
            // A restarted run after its switchover continues with verification: the source
            // now runs the target, so the pre-switchover checks no longer apply.
            let already_switching =
                ours.is_some_and(|d| d.is_switched_over() || d.is_switchover_in_progress());
            if already_switching && !account_failed {
                if action == Action::Prepare {
                    return Err(WorkerError::Refused(format!(
                        "deployment {} is already {}: nothing to prepare; run `cleanup` after the soak",
                        ours.map(|d| d.name.as_str()).unwrap_or_default(),
                        ours.map(|d| d.status.as_str()).unwrap_or_default()
                    )));
                }
                return Ok(if action == Action::Upgrade {
                    Route::Upgrade
                } else {
                    Route::Switchover
                });
            }
            if !report.failures().is_empty() {
                return Err(report.failure_error(db));
            }
            if action == Action::Switchover
                && report.existing_deployment != ExistingDeployment::Adopt
            {
                return Err(report.failure_error(db));
            }
            Ok(match action {
                Action::Prepare => Route::Prepare,
                Action::Upgrade => Route::Upgrade,
                _ => Route::Switchover,
            })
        }
        Action::Plan => Ok(Route::Plan),
    }
}
