//! The run document: the state every step receives and returns. It is also the audit
//! trail an execution ends with: what was there, what was planned, what was done and when.
//! It composes the steps' own states (each declared in its step's folder); no step reads it
//! whole: a rule takes what it needs as an argument.

use crate::cleanup::abort::AbortState;
use crate::cleanup::CleanupState;
use crate::database::{DatabaseState, Op};
use crate::fleet::ChildRun;
use crate::guardrails::GuardrailState;
use crate::model::db::DbRef;
use crate::model::deployment::DeploymentRecord;
use crate::model::error::{ErrorKind, WorkerError};
use crate::model::execution::ExecutionInfo;
use crate::model::milestone::PublishRecord;
use crate::model::old_blue::OldBlue;
use crate::model::plan::CreatePlan;
use crate::model::report::Report;
use crate::model::request::{FleetPosition, Request};
use crate::model::route::Route;
use crate::model::source::SourceDb;
use crate::switchover::{ApprovalState, SwitchoverRecord};
use crate::verify::Verification;
use crate::wait::WaitState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    #[serde(default)]
    pub execution: ExecutionInfo,
    /// The raw execution input, kept until it is normalized (and on early failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceDb>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<CreatePlan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitState>,
    /// The guardrails step's state (`guardrail` in run documents written before the rename).
    #[serde(default, alias = "guardrail", skip_serializing_if = "Option::is_none")]
    pub guardrails: Option<GuardrailState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switchover: Option<SwitchoverRecord>,
    /// The verify step's result (`verification` in run documents written before the rename).
    #[serde(
        default,
        alias = "verification",
        skip_serializing_if = "Option::is_none"
    )]
    pub verify: Option<Verification>,
    /// The old blue after the switchover, found by `verify::old_blue::locate` (verify, or the
    /// precheck of a run started after the switchover): what soak, snapshot and cleanup act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_blue: Option<OldBlue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalState>,
    /// Seconds the `Soak` state waits before cleanup (`soak_hours` * 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CleanupState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<AbortState>,
    /// Phase name -> RFC 3339 time it was reached.
    #[serde(default)]
    pub timeline: BTreeMap<String, String>,
    #[serde(default)]
    pub published: Vec<PublishRecord>,
    /// Set by the state machine's `Catch` (`{"Error": ..., "Cause": ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<AbortState>,
    /// Set when this database runs as part of a fleet (see `fleet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetPosition>,
    /// What the `sql` worker saw and did inside the database (only with a way in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseState>,
}

impl Run {
    pub fn request(&self) -> Result<&Request, WorkerError> {
        self.request.as_ref().ok_or_else(|| missing("request"))
    }
    pub fn source(&self) -> Result<&SourceDb, WorkerError> {
        self.source.as_ref().ok_or_else(|| missing("source"))
    }
    pub fn plan(&self) -> Result<&CreatePlan, WorkerError> {
        self.plan.as_ref().ok_or_else(|| missing("plan"))
    }
    pub fn deployment(&self) -> Result<&DeploymentRecord, WorkerError> {
        self.deployment
            .as_ref()
            .ok_or_else(|| missing("deployment"))
    }

    /// The database this run is about, for logs and metrics, even on early failures: the
    /// request's, else a well-formed `db_identifier` of the raw input. `None` when only the raw
    /// input's event could say: an alarm names its database in a metric dimension, which the
    /// edge reads (the workers' `intake::db_label`).
    pub fn known_db_label(&self) -> Option<String> {
        if let Some(r) = &self.request {
            return Some(r.db_identifier.clone());
        }
        // Only a well-formed identifier from raw input: it becomes a metric dimension and a
        // message attribute, where an empty value or control characters would be refused.
        match self.input.as_ref().and_then(|i| i.get("db_identifier")) {
            Some(Value::String(id)) if DbRef::parse(id).is_ok() => Some(id.clone()),
            Some(_) => Some("invalid".into()),
            None => None,
        }
    }

    /// `known_db_label`, or `unknown`: for a run document read after the precheck (the sql
    /// worker, `rbg`, a fleet's table), which always names its request.
    pub fn db_label(&self) -> String {
        self.known_db_label().unwrap_or_else(|| "unknown".into())
    }

    /// The error name the state machine's `Catch` recorded, if any.
    pub fn error_name(&self) -> Option<&str> {
        self.error.as_ref()?.get("Error")?.as_str()
    }

    /// The error's name and a readable message. Step Functions puts a Lambda error's whole
    /// payload, as a JSON string, in `Cause`: the message is lifted out of it.
    pub fn error_summary(&self) -> Option<(String, String)> {
        let error = self.error.as_ref()?;
        let name = error
            .get("Error")
            .and_then(Value::as_str)
            .unwrap_or("Unknown")
            .to_string();
        let cause = error
            .get("Cause")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let message = serde_json::from_str::<Value>(cause)
            .ok()
            .and_then(|c| {
                c.get("errorMessage")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| cause.to_string());
        Some((name, message))
    }

    /// Whether the failure path deletes this run's green: only for `prepare` / `upgrade`,
    /// only before a switchover was requested, and only when the build itself failed
    /// (`ErrorKind::means_build_failed`). Green is kept otherwise: an AWS outage, a refused
    /// switchover call or a guardrail leave a green that may be healthy.
    pub fn should_roll_back(&self) -> bool {
        matches!(self.route, Some(Route::Prepare | Route::Upgrade))
            && self.deployment.is_some()
            && self.switchover.is_none()
            && self
                .error_name()
                .and_then(ErrorKind::from_name)
                .is_some_and(ErrorKind::means_build_failed)
    }

    pub fn mark(&mut self, phase: &str, at: &str) {
        self.timeline
            .entry(phase.to_string())
            .or_insert_with(|| at.to_string());
    }
}

fn missing(what: &str) -> WorkerError {
    WorkerError::MalformedRun(format!(
        "the step's input has no `{what}`: this step must run after the precheck in the state \
         machine; start a new execution instead of invoking the function directly"
    ))
}

/// The `sql` worker's input (`database::Op`): `{"op": "precheck", "run": {...the run
/// document...}}`. Its output is the run document alone, with `database` filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlInput {
    pub op: Op,
    pub run: Run,
}

impl From<&Run> for ChildRun {
    /// What a fleet reads of a database's run document when its execution succeeded.
    fn from(run: &Run) -> Self {
        Self {
            db_label: run.db_label(),
            request: run.request.clone(),
            source: run.source.clone(),
            route: run.route,
            note: run.note.clone(),
            report: run.report.clone(),
            last_milestone: run.published.last().map(|p| p.milestone.clone()),
            error_name: run.error_name().map(str::to_string),
            error_summary: run.error_summary(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failed_run(route: Route, error: &str) -> Run {
        Run {
            route: Some(route),
            deployment: Some(DeploymentRecord {
                id: "bgd-1".into(),
                name: "rbg-orders-pg-to-16-4".into(),
                created_by_this_run: true,
                status: "PROVISIONING".into(),
                target_arn: None,
            }),
            error: Some(json!({"Error": error, "Cause": "..."})),
            ..Run::default()
        }
    }

    #[test]
    fn a_failed_build_rolls_green_back() {
        assert!(failed_run(Route::Prepare, "GreenFailed").should_roll_back());
        assert!(failed_run(Route::Upgrade, "ProvisioningTimedOut").should_roll_back());
    }

    #[test]
    fn any_other_failure_keeps_a_green_that_may_be_healthy() {
        for error in [
            "DeploymentStateTransient",
            "AwsUnavailable",
            "Throttled",
            "AwsRequestFailed",
            "States.Timeout",
            "Lambda.Unknown",
            "MalformedRun",
        ] {
            assert!(
                !failed_run(Route::Upgrade, error).should_roll_back(),
                "{error}"
            );
        }
    }

    #[test]
    fn green_is_kept_when_healthy_switched_or_not_ours() {
        assert!(!failed_run(Route::Upgrade, "GuardrailViolated").should_roll_back());
        assert!(!failed_run(Route::Upgrade, "DeploymentConflict").should_roll_back());
        assert!(!failed_run(Route::Switchover, "GreenFailed").should_roll_back());
        let mut switched = failed_run(Route::Upgrade, "VerificationFailed");
        assert!(!switched.should_roll_back());
        switched.error = Some(json!({"Error": "Lambda.Unknown"}));
        switched.switchover = Some(SwitchoverRecord {
            requested_at: "t".into(),
            timeout_seconds: 300,
            already_started: false,
        });
        assert!(!switched.should_roll_back());
        let mut nothing = failed_run(Route::Upgrade, "GreenFailed");
        nothing.deployment = None;
        assert!(!nothing.should_roll_back());
    }

    #[test]
    fn the_input_names_an_op_and_a_run() {
        let input: SqlInput =
            serde_json::from_value(json!({"op": "watch", "run": {"execution": {"id": "x"}}}))
                .unwrap();
        assert_eq!(input.op, Op::Watch);
        assert!(serde_json::from_value::<SqlInput>(json!({"op": "drop", "run": {}})).is_err());
        assert!(
            serde_json::from_value::<SqlInput>(json!({"op": "watch", "run": {}, "x": 1})).is_err()
        );
    }
}
