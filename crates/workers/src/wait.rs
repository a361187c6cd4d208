//! `wait`: one poll of the deployment. `wait::observe` says what it means (phase, the
//! delay before the next poll, green instances to resize, green members loading their data);
//! the waiting itself happens in the state machine's `Wait` state.

use crate::runtime::{epoch_seconds, now_epoch, Deps, Invocation};
use bluegreen_aws::{Aws, RdsRead, RdsWrite};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::run::Run;
use bluegreen_domain::wait::{loading_budget_seconds, observe, PollFacts};

pub async fn handle<A: Aws>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let record = run.deployment()?.clone();
    // Every green instance runs the request's class before the switchover: Aurora's (AWS
    // refuses the class at create), and an RDS green's read replicas (AWS sizes only the
    // primary: "you must manually modify the DB instance class of the read replicas in the
    // green environment"). One path for both: `observe` resizes whoever does not run it.
    let green_instance_class = run.plan.as_ref().and_then(|p| {
        p.green_instance_class
            .clone()
            .or_else(|| p.target_db_instance_class.clone())
    });
    let view = deps
        .rds()
        .deployment_by_name(&record.name)
        .await?
        .ok_or_else(|| {
            WorkerError::GreenFailed(format!(
                "deployment {} ({}) no longer exists: it was deleted outside this run; start a \
                 new execution to create it again",
                record.name, record.id
            ))
        })?;
    let members = if view.status.eq_ignore_ascii_case("AVAILABLE") || view.is_switchover_failed() {
        deps.rds()
            .member_statuses(&view.green_member_arns())
            .await?
    } else {
        Vec::new()
    };
    let now = now_epoch(&inv);
    let requested = run
        .timeline
        .get("green_requested")
        .and_then(|t| epoch_seconds(t))
        .unwrap_or(now);
    let outcome = observe(PollFacts {
        db: &request.db_identifier,
        view: &view,
        members: &members,
        previous: run.wait.as_ref(),
        switchover_requested: run.switchover.is_some(),
        seconds_since_create: (now - requested).max(0) as u64,
        max_provisioning_minutes: request.max_provisioning_minutes,
        green_instance_class: green_instance_class.as_deref(),
        loading_budget_seconds: loading_budget_seconds(&request),
    })?;
    if let Some(class) = &green_instance_class {
        for name in &outcome.resize {
            tracing::info!(instance = %name, %class, "resizing a green instance to the request's class before the switchover");
            deps.rds().modify_instance_class(name, class).await?;
        }
    }
    let at = inv.now_rfc3339();
    for mark in &outcome.marks {
        run.mark(mark, &at);
    }
    for l in &outcome.state.loading {
        tracing::info!(member = %l.member, status = %l.status, percent = ?l.percent, "green member loading its data");
    }
    tracing::info!(phase = ?outcome.state.phase, status = %view.status, polls = outcome.state.polls, delay = outcome.state.next_delay_seconds, "deployment polled");
    if let Some(d) = run.deployment.as_mut() {
        d.status = view.status.clone();
        if d.target_arn.is_none() && !view.target_arn.is_empty() {
            d.target_arn = Some(view.target_arn.clone());
        }
    }
    run.wait = Some(outcome.state);
    Ok(run)
}
