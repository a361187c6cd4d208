//! Where the state machine goes after the precheck: the route, from the action, the checks'
//! verdict and the deployment found. Refusals here change nothing.

use crate::checks::{ExistingDeployment, Verdict};
use crate::deployment::DeploymentView;
use crate::error::WorkerError;
use crate::fleet::{fleet_request, FleetRequest};
use crate::request::{classify, Action, Incoming, Request, Trigger};
use crate::run::{Report, Route};
use serde_json::Value;

/// What an execution input of the upgrade state machine is: a fleet (handed over to the fleet
/// state machine, once its request is valid) or one database.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    Fleet(FleetRequest),
    One(Incoming),
}

pub fn arrival(input: &Value) -> Result<Arrival, WorkerError> {
    match fleet_request(input)? {
        Some(fleet) => Ok(Arrival::Fleet(fleet)),
        None => classify(input).map(Arrival::One),
    }
}

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
        .any(|c| c.id == "account" && c.verdict == Verdict::Fail);
    match action {
        Action::Abort | Action::Cleanup => {
            let gating: Vec<_> = report
                .failures()
                .into_iter()
                .filter(|c| c.id == "account" || (c.id == "existing-deployment" && ours.is_none()))
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
