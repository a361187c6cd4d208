//! `remediation-metric`: at each milestone, an SNS notification; at the end of every run that
//! changed something (or failed), the `Remediations` metric and the durations. A failure to
//! publish is logged and recorded in the run, never raised: it must not hide the run's outcome.

use crate::runtime::{epoch_seconds, notification_subject, Deps, Invocation, Labelled};
use bluegreen_aws::ports::{Datum, Unit};
use bluegreen_aws::{AwsRead, MetricsApi};
use bluegreen_domain::model::error::WorkerError;
pub use bluegreen_domain::model::milestone::Milestone;
use bluegreen_domain::model::milestone::PublishRecord;
use bluegreen_domain::model::names::METRIC_NAMESPACE as NAMESPACE;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::run::Run;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The step's input: which milestone, and the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MilestoneEvent {
    pub milestone: Milestone,
    pub run: Run,
    /// `approval_requested`: the task token the run waits on (never logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
}

impl Labelled for MilestoneEvent {
    fn execution(&self) -> String {
        self.run.execution()
    }
    fn db(&self) -> String {
        self.run.db()
    }
}

pub async fn handle<A: AwsRead>(
    deps: Deps<A>,
    event: MilestoneEvent,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let MilestoneEvent {
        milestone,
        mut run,
        task_token,
    } = event;
    let mut record = PublishRecord {
        milestone: milestone.as_str().into(),
        ..PublishRecord::default()
    };
    // Plan-only and no-op runs remediate nothing: no metric, no notification.
    if matches!(run.route, Some(Route::Plan | Route::Noop)) && milestone != Milestone::Failed {
        run.published.push(record);
        return Ok(run);
    }
    let data = metric_data(milestone, &run, &inv);
    if !data.is_empty() {
        match deps.metrics().put(NAMESPACE, data).await {
            Ok(()) => record.metric_published = true,
            Err(e) => {
                tracing::error!(error = %e, "could not publish the remediation metric; the run's outcome stands");
                record.errors.push(e.to_string());
            }
        }
    }
    let topic = run
        .request
        .as_ref()
        .and_then(|r| r.notification_topic_arn.clone());
    let (subject, mut body) = notification(milestone, &run);
    if let Some(token) = task_token.as_deref() {
        body["approval"] = approval_instructions(&run, token);
    }
    let outcome = milestone.outcome().unwrap_or(milestone.as_str());
    let db = crate::intake::db_label(&run);
    let attributes = [
        ("milestone", milestone.as_str()),
        ("outcome", outcome),
        ("db_identifier", db.as_str()),
    ];
    deps.notify(topic, &subject, &body, &attributes, &mut record)
        .await;
    run.published.push(record);
    Ok(run)
}

fn seconds_between(run: &Run, from: &str, to: &str) -> Option<f64> {
    let a = epoch_seconds(run.timeline.get(from)?)?;
    let b = epoch_seconds(run.timeline.get(to)?)?;
    (b >= a).then(|| (b - a) as f64)
}

/// The exact datums for a milestone: `Remediations` (Count) with DBIdentifier, Trigger and
/// Outcome, plus the durations that apply, for milestones that end a run.
pub fn metric_data(milestone: Milestone, run: &Run, inv: &Invocation) -> Vec<Datum> {
    let Some(outcome) = milestone.outcome() else {
        return Vec::new();
    };
    let db = run
        .source
        .as_ref()
        .map(|s| s.identifier.clone())
        .unwrap_or_else(|| crate::intake::db_label(run));
    let trigger = run
        .request
        .as_ref()
        .map(|r| r.trigger.as_str())
        .or_else(|| {
            run.input
                .as_ref()
                .and_then(|i| i.get("trigger"))
                .and_then(Value::as_str)
        })
        // A run that failed before its request was built still has its raw input: an
        // EventBridge event says how the run was started.
        .or_else(|| {
            match run
                .input
                .as_ref()
                .and_then(|i| i.get("detail-type"))
                .and_then(Value::as_str)
            {
                Some(bluegreen_domain::model::names::events::ALARM_STATE_CHANGE) => Some("alarm"),
                Some(bluegreen_domain::model::names::events::SCHEDULED_EVENT) => Some("schedule"),
                _ => None,
            }
        })
        .unwrap_or("console")
        .to_string();
    let dims = [
        ("DBIdentifier", db.as_str()),
        ("Trigger", trigger.as_str()),
        ("Outcome", outcome),
    ];
    let mut data = vec![Datum::new("Remediations", 1.0, Unit::Count, &dims, inv.now)];
    let db_only = [("DBIdentifier", db.as_str())];
    for (name, from, to) in [
        ("GreenProvisioningSeconds", "green_requested", "green_ready"),
        (
            "SwitchoverSeconds",
            "switchover_requested",
            "switchover_completed",
        ),
        ("UpgradeSeconds", "started", "verified"),
    ] {
        if let Some(seconds) = seconds_between(run, from, to) {
            data.push(Datum::new(name, seconds, Unit::Seconds, &db_only, inv.now));
        }
    }
    data
}

/// A short human subject (SNS allows 100 characters) and a JSON body with the run's audit record.
pub fn notification(milestone: Milestone, run: &Run) -> (String, Value) {
    let db = crate::intake::db_label(run);
    let from = run
        .source
        .as_ref()
        .map(|s| s.engine_version.as_str())
        .unwrap_or("?");
    let to = run
        .request
        .as_ref()
        .map(|r| r.target_engine_version.as_str())
        .unwrap_or("?");
    let what = match milestone {
        Milestone::Started => "upgrade started",
        Milestone::GreenReady => "green ready",
        Milestone::Prepared => "green prepared, awaiting switchover",
        Milestone::SwitchedOver => "switched over",
        Milestone::CleanedUp => "cleaned up",
        Milestone::Succeeded => "succeeded",
        Milestone::Failed => "FAILED",
        Milestone::Aborted => "aborted",
        Milestone::AlreadyInProgress => "already in progress, nothing done",
        Milestone::SwitchoverSkipped => "switchover window closed, green left prepared",
        Milestone::ApprovalRequested => "ready to switch over: approve or reject",
        Milestone::Rejected => "switchover rejected",
    };
    let subject = notification_subject(&format!("[rds-bluegreen] {db} {from} -> {to}: {what}"));
    let body = json!({
        "milestone": milestone.as_str(),
        "outcome": milestone.outcome(),
        "db_identifier": db,
        "engine_version_before": run.source.as_ref().map(|s| &s.engine_version),
        "target_engine_version": run.request.as_ref().map(|r| &r.target_engine_version),
        "action": run.request.as_ref().map(|r| r.action),
        "trigger": run.request.as_ref().map(|r| r.trigger),
        "execution": run.execution.id,
        "route": run.route,
        "deployment": run.deployment,
        "timeline": run.timeline,
        "verification": run.verify,
        "cleanup": run.cleanup,
        "abort": run.abort,
        "rollback": run.rollback,
        "error": run.error_summary().map(|(name, message)| json!({"name": name, "message": message})),
        "note": run.note,
        "database": run.database.as_ref().map(|d| d.summary()),
        "failed_checks": run.report.as_ref().map(|r| r.failures().into_iter().cloned().collect::<Vec<_>>()),
    });
    (subject, body)
}

/// What will happen and exactly how to approve or reject, for `approval_requested`.
pub fn approval_instructions(run: &Run, token: &str) -> Value {
    let execution = &run.execution.id;
    let db = crate::intake::db_label(run);
    let timeout_hours = run.request.as_ref().map_or(0, |r| r.approval_timeout_hours);
    let on_reject = run.request.as_ref().map_or("keep", |r| match r.on_reject {
        bluegreen_domain::model::request::OnReject::Keep => "keep",
        bluegreen_domain::model::request::OnReject::Abort => "abort",
    });
    json!({
        "what_happens": format!(
            "approving switches {db} over to green now (inside the switchover window when one is set): \
             writes stop for the switchover's duration, then production runs the new version and the \
             old blue is kept as the fallback; rejecting {} green; no answer within {timeout_hours} hours \
             leaves green prepared",
            if on_reject == "abort" { "deletes" } else { "keeps" }
        ),
        "approve": format!("rbg approve {execution}"),
        "reject": format!("rbg reject {execution} --reason \"...\""),
        "approve_with_aws_cli": format!(
            "aws stepfunctions send-task-success --task-token '{token}' --task-output '{{\"approved_by\": \"$USER\"}}'"
        ),
        "reject_with_aws_cli": format!(
            "aws stepfunctions send-task-failure --task-token '{token}' --error Rejected --cause \"...\""
        ),
        "timeout_hours": timeout_hours,
        "on_reject": on_reject,
    })
}
