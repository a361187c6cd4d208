//! `switchover`: asks RDS to switch over with the request's timeout. Idempotent: a
//! switchover already in progress or completed (a retry after a crash between "requested"
//! and "recorded") is recorded, never started twice.

use crate::runtime::{Deps, Invocation};
use bluegreen_aws::{Aws, RdsRead, RdsWrite};
use bluegreen_domain::model::deployment::Phase;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::schedule::SWITCHOVER_DELAY;
use bluegreen_domain::run::Run;
use bluegreen_domain::switchover::SwitchoverRecord;
use bluegreen_domain::wait::WaitState;

pub async fn handle<A: Aws>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let record = run.deployment()?.clone();
    let view = deps
        .rds()
        .deployment_by_name(&record.name)
        .await?
        .ok_or_else(|| {
            WorkerError::GreenFailed(format!(
                "deployment {} no longer exists: it was deleted outside this run",
                record.name
            ))
        })?;
    let already_started = view.is_switchover_in_progress() || view.is_switched_over();
    if already_started {
        tracing::info!(status = %view.status, "switchover already started; not requesting another");
    } else {
        // Refuses failed states with the deployment's own details; an earlier switchover that
        // RDS rolled back (SWITCHOVER_FAILED) left the deployment intact: it switches over again.
        view.phase_to_switch(&[])?;
        if view.is_switchover_failed() {
            tracing::info!(deployment = %view.id, "an earlier switchover of this deployment failed and was rolled back; requesting it again");
        }
        tracing::info!(deployment = %view.id, timeout = request.switchover_timeout_seconds, "requesting switchover");
        deps.rds()
            .switchover(&view.id, request.switchover_timeout_seconds)
            .await?;
    }
    let at = inv.now_rfc3339();
    run.mark("switchover_requested", &at);
    if run.switchover.is_none() {
        run.switchover = Some(SwitchoverRecord {
            requested_at: at,
            timeout_seconds: request.switchover_timeout_seconds,
            already_started,
        });
    }
    run.wait = Some(WaitState::start(
        if view.is_switched_over() {
            Phase::Switched
        } else {
            Phase::Switching
        },
        SWITCHOVER_DELAY,
        &view.status,
    ));
    Ok(run)
}
