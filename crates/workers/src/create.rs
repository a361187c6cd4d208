//! `create`: creates the blue/green deployment from the plan, or adopts ours if it exists
//! (a restarted execution, or a retry after a lost response). Idempotent by name.

use crate::runtime::{Deps, Invocation};
use bluegreen_aws::{Aws, RdsRead, RdsWrite};
use bluegreen_domain::model::deployment::DeploymentRecord;
use bluegreen_domain::model::deployment::{DeploymentView, Phase};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::names::tags::EXECUTION as EXECUTION_TAG;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::schedule::SHORT_DELAY;
use bluegreen_domain::run::Run;
use bluegreen_domain::wait::WaitState;

pub async fn handle<A: Aws>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let plan = run.plan()?.clone();
    let (view, created) = match deps.rds().deployment_by_name(&plan.deployment_name).await? {
        Some(existing) => (adoptable(existing, &plan.source_arn)?, false),
        None => match deps.rds().create_deployment(&plan).await? {
            Some(created) => (created, true),
            // It appeared between our describe and our create: either our own create whose
            // answer was lost (adopt it), or another execution that started at the same moment
            // (it owns the upgrade; this run changes nothing more).
            None => {
                let found = deps
                    .rds()
                    .deployment_by_name(&plan.deployment_name)
                    .await?
                    .ok_or_else(|| {
                        WorkerError::DeploymentStateTransient(format!(
                            "RDS says deployment {} exists but does not list it yet; retrying",
                            plan.deployment_name
                        ))
                    })?;
                match found.tags.get(EXECUTION_TAG) {
                    Some(creator) if *creator != run.execution.id => {
                        tracing::warn!(%creator, "another execution created the deployment at the same moment");
                        run.note = Some(format!(
                            "execution {creator} created deployment {} at the same moment and owns this upgrade; this run changed nothing",
                            found.name
                        ));
                        run.route = Some(Route::AlreadyInProgress);
                        return Ok(run);
                    }
                    _ => (adoptable(found, &plan.source_arn)?, false),
                }
            }
        },
    };
    tracing::info!(deployment = %view.id, created, status = %view.status, "deployment recorded");
    let created_by_this_run = created
        || run
            .deployment
            .as_ref()
            .is_some_and(|d| d.created_by_this_run);
    run.deployment = Some(DeploymentRecord {
        id: view.id.clone(),
        name: view.name.clone(),
        created_by_this_run,
        status: view.status.clone(),
        target_arn: Some(view.target_arn.clone()).filter(|a| !a.is_empty()),
    });
    run.mark("green_requested", &inv.now_rfc3339());
    run.wait = Some(WaitState::start(
        Phase::Provisioning,
        SHORT_DELAY,
        &view.status,
    ));
    Ok(run)
}

fn adoptable(d: DeploymentView, source_arn: &str) -> Result<DeploymentView, WorkerError> {
    let same_source = d.source_arn == source_arn;
    if d.is_adoptable_before_switchover() && same_source {
        return Ok(d);
    }
    if d.is_switchover_in_progress() || d.is_switched_over() {
        return Ok(d);
    }
    Err(WorkerError::DeploymentConflict(if same_source {
        format!(
            "deployment {} ({}) already exists and is {}: it cannot be resumed; run action `abort` \
             to delete it and its green, then start again",
            d.name, d.id, d.status
        )
    } else {
        format!(
            "a deployment named {} ({}) exists for another source ({}): delete or rename it, then run again",
            d.name, d.id, d.source_arn
        )
    }))
}
