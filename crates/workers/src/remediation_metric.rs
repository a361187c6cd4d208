//! `remediation-metric`: at each milestone, an SNS notification; at the end of every run that
//! changed something (or failed), the `Remediations` metric and the durations. A failure to
//! publish is logged and recorded in the run, never raised: it must not hide the run's outcome.

use crate::runtime::{epoch_seconds, notification_subject, Deps, Invocation, Labelled};
use bluegreen_aws::ports::{Datum, Unit};
use bluegreen_aws::{AwsRead, MetricsApi};
use bluegreen_domain::database::prechecks::{databases_in_message, failed_checks_in_message};
use bluegreen_domain::model::check::Check;
use bluegreen_domain::model::error::WorkerError;
pub use bluegreen_domain::model::milestone::Milestone;
use bluegreen_domain::model::milestone::PublishRecord;
use bluegreen_domain::model::names::METRIC_NAMESPACE as NAMESPACE;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::scaling::after_switchover;
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
        "database": database_lines(milestone, run),
        "failed_checks": failed_checks(run),
    });
    let mut body = body;
    if matches!(milestone, Milestone::GreenReady | Milestone::Prepared) {
        let warnings = match (&run.database, &run.source) {
            (Some(d), Some(s)) => d.green_ready_warnings(&s.engine),
            _ => vec![],
        };
        if !warnings.is_empty() {
            body["warnings"] = json!(warnings);
        }
    }
    if milestone == Milestone::SwitchedOver {
        if let Some(reminder) = auto_scaling_reminder(run) {
            body["warnings"] = json!([reminder]);
        }
    }
    (subject, body)
}

/// The Aurora Auto Scaling the plan recorded on blue (`auto-scaling`): green did not get it,
/// production needs it registered again now.
fn auto_scaling_reminder(run: &Run) -> Option<String> {
    let source = run.source.as_ref()?;
    let targets = source.topology.auto_scaling.as_deref()?;
    let advice = after_switchover(&source.identifier, targets)?;
    let listed: Vec<String> = targets.iter().map(|t| t.summary()).collect();
    Some(format!("{advice}. Recorded at plan: {}", listed.join("; ")))
}

/// The failed checks: the report's, and those a `PrecheckFailed` error lists. A step that
/// fails returns no run document (Step Functions keeps the step's input and adds `error`):
/// the in-database precheck's checks, and the AWS-level precheck's whole report, reach the
/// failure path only in the error's message. The same list whichever step failed.
pub fn failed_checks(run: &Run) -> Option<Vec<Check>> {
    let mut out: Vec<Check> = run
        .report
        .as_ref()
        .map(|r| r.failures().into_iter().cloned().collect())
        .unwrap_or_default();
    if let Some((_, message)) = run.error_summary().filter(|(n, _)| n == "PrecheckFailed") {
        let known: Vec<Check> = run
            .report
            .as_ref()
            .map(|r| r.checks.clone())
            .unwrap_or_default();
        for c in failed_checks_in_message(&message, &known) {
            if !out.iter().any(|o| o.id == c.id) {
                out.push(c);
            }
        }
    }
    (run.report.is_some() || !out.is_empty()).then_some(out)
}

/// `database`: one line per in-database step that ran. When the in-database precheck refused
/// the run, its record went with the error: the line is rebuilt from the error's message
/// (the failed checks, the databases read).
fn database_lines(milestone: Milestone, run: &Run) -> Option<Vec<String>> {
    let d = run.database.as_ref()?;
    let mut lines = d.summary();
    if milestone == Milestone::Failed && d.precheck.is_none() {
        if let Some((_, message)) = run.error_summary().filter(|(n, _)| n == "PrecheckFailed") {
            if let Some(databases) = databases_in_message(&message) {
                let ids: Vec<String> = failed_checks_in_message(&message, &[])
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                lines.insert(
                    0,
                    format!(
                        "precheck: refused: {} database(s) ({}), {} check(s) failed ({})",
                        databases.len(),
                        databases.join(", "),
                        ids.len(),
                        ids.join(", ")
                    ),
                );
            }
        }
    }
    Some(lines)
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
