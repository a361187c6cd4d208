//! The run document: the state every step receives and returns. It is also the audit
//! trail an execution ends with: what was there, what was planned, what was done and when.

use crate::checks::{Check, ExistingDeployment, ManualCheck, Verdict};
use crate::deployment::Phase;
use crate::error::ErrorKind;
use crate::error::WorkerError;
pub use crate::guardrail::GuardrailState;
use crate::old_blue::OldBlue;
use crate::plan::CreatePlan;
use crate::request::Request;
use crate::source::SourceDb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    /// `$$.Execution.Id`: the ARN of the Step Functions execution.
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
}

/// Where the state machine goes after the precheck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// An alarm back to OK, or similar: nothing to do, nothing published.
    Noop,
    Plan,
    Prepare,
    Upgrade,
    Switchover,
    Abort,
    Cleanup,
    /// An alarm-triggered run found a deployment already in flight for this database.
    AlreadyInProgress,
    /// A fleet request: handed over to the fleet state machine.
    Fleet,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub verdict: Verdict,
    pub checks: Vec<Check>,
    pub manual_checks: Vec<ManualCheck>,
    pub existing_deployment: ExistingDeployment,
    /// What not upgrading costs: the end of standard support and the Extended Support estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_of_waiting: Option<crate::lifecycle::CostOfWaiting>,
}

impl Report {
    pub fn new(
        checks: Vec<Check>,
        manual_checks: Vec<ManualCheck>,
        existing: ExistingDeployment,
    ) -> Self {
        let verdict = if checks.iter().any(|c| c.verdict == Verdict::Fail) {
            Verdict::Fail
        } else if checks.iter().any(|c| c.verdict == Verdict::Warn) {
            Verdict::Warn
        } else {
            Verdict::Pass
        };
        Self {
            verdict,
            checks,
            manual_checks,
            existing_deployment: existing,
            cost_of_waiting: None,
        }
    }

    pub fn failures(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .collect()
    }

    /// The error for a mutating action with failed checks: names every one and its fix.
    pub fn failure_error(&self, db: &str) -> WorkerError {
        let list: Vec<String> = self
            .failures()
            .iter()
            .map(|c| format!("[{}] {}: {}", c.id, c.observed, c.fix))
            .collect();
        WorkerError::PrecheckFailed(format!(
            "{} precheck(s) failed for {db}, nothing was changed: {}",
            list.len(),
            list.join(" | ")
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub id: String,
    pub name: String,
    /// True when this run created it; false when it adopted an existing one.
    pub created_by_this_run: bool,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitState {
    pub phase: Phase,
    pub polls: u32,
    pub consecutive_ready: u32,
    pub next_delay_seconds: u32,
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_tasks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchoverRecord {
    pub requested_at: String,
    pub timeout_seconds: u32,
    /// True when a switchover was already running or done when this step ran.
    pub already_started: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub production_identifier: String,
    pub engine_version: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub endpoint_kept: bool,
    /// What RDS named the old blue (`NAME-oldN`): see `old_blue`.
    pub old_blue_identifier: String,
    pub old_blue_arn: String,
    pub deployment_status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleanupState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_status: Option<String>,
    /// When this run started the snapshot (epoch seconds): the wait for it is bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_started_at: Option<i64>,
    pub deployment_deleted: bool,
    pub old_blue_deleted: bool,
    /// True when nothing is left to do.
    pub done: bool,
    pub next_delay_seconds: u32,
    #[serde(default)]
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AbortState {
    pub deleted_target: bool,
    pub done: bool,
    pub next_delay_seconds: u32,
    #[serde(default)]
    pub steps: Vec<String>,
}

/// `require_approval`: the wait for an operator before the switchover.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalState {
    /// The approval task's timeout (`approval_timeout_hours`).
    pub timeout_seconds: u64,
    /// SendTaskSuccess's output (who, when, why), once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
    /// SendTaskFailure's error and cause, once rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timed_out: Option<Value>,
}

impl ApprovalState {
    pub fn for_request(request: &Request) -> Option<Self> {
        request.require_approval.then(|| Self {
            timeout_seconds: u64::from(request.approval_timeout_hours) * 3600,
            ..Self::default()
        })
    }
}

/// What each notification/metric publication did; failures are kept, never raised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublishRecord {
    pub milestone: String,
    pub metric_published: bool,
    pub notification_published: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<GuardrailState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switchover: Option<SwitchoverRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// The old blue after the switchover, found by `old_blue::locate` (verify, or the
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
    pub fleet: Option<crate::request::FleetPosition>,
    /// What the `sql` worker saw and did inside the database (only with a way in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<crate::database::DatabaseState>,
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

    /// The database this run is about, for logs and metrics, even on early failures.
    pub fn db_label(&self) -> String {
        if let Some(r) = &self.request {
            return r.db_identifier.clone();
        }
        let input = self.input.as_ref();
        // Only a well-formed identifier from raw input: it becomes a metric dimension and a
        // message attribute, where an empty value or control characters would be refused.
        match input.and_then(|i| i.get("db_identifier")) {
            Some(Value::String(id)) if crate::request::DbRef::parse(id).is_ok() => {
                return id.clone()
            }
            Some(_) => return "invalid".into(),
            None => {}
        }
        // An alarm event names its database in a metric dimension, not in `db_identifier`.
        match input.map(crate::request::classify) {
            Some(Ok(crate::request::Incoming::Alarm(target))) => target.db.name,
            _ => "unknown".into(),
        }
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
}
