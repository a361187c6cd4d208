//! `cleanup`: after the soak, one pass per invocation (the state machine loops until `done`).
//! Reads the old blue found after the switchover, the deployment and the final snapshot;
//! `cleanup::next` says what to do; this carries it out.

use crate::runtime::{now_epoch, Deps, Invocation};
use bluegreen_aws::{Aws, RdsRead, RdsWrite};
use bluegreen_domain::cleanup::{next, CleanupAction, CleanupFacts};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::names::final_snapshot_id;
use bluegreen_domain::run::Run;

pub async fn handle<A: Aws>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let source = run.source()?.clone();
    let record = run.deployment()?.clone();
    let old = run.old_blue.clone().ok_or_else(|| {
        WorkerError::MalformedRun(
            "the cleanup step's input has no `old_blue`: it runs after verify (or a precheck that \
             found the switchover done); start an execution with action `cleanup`"
                .into(),
        )
    })?;
    let rds = deps.rds();
    let view = rds.deployment_by_name(&record.name).await?;
    let old_now = rds.describe(old.kind, &old.identifier).await?;
    let mut old_members = Vec::new();
    if request.delete_old_blue && old.kind == DbKind::Cluster {
        for m in old_now
            .as_ref()
            .map(|o| o.members.clone())
            .unwrap_or_default()
        {
            let status = rds.describe(DbKind::Instance, &m).await?.map(|d| d.status);
            old_members.push((m, status));
        }
    }
    let mut old_replicas = Vec::new();
    let mut old_replicas_protected = Vec::new();
    if request.delete_old_blue {
        for r in &old.replicas {
            let now = rds.describe(DbKind::Instance, r).await?;
            if now.as_ref().is_some_and(|d| d.deletion_protection) {
                old_replicas_protected.push(r.clone());
            }
            old_replicas.push((r.clone(), now.map(|d| d.status)));
        }
    }
    let state = run.cleanup.clone().unwrap_or_default();
    let snapshot_status =
        if request.final_snapshot && state.snapshot_status.as_deref() != Some("available") {
            rds.snapshot_status(old.kind, &final_snapshot_id(old.kind, &record.name))
                .await?
        } else {
            None
        };
    let (actions, state) = next(CleanupFacts {
        request: &request,
        deployment_name: &record.name,
        version_before: &source.engine_version,
        old_blue: &old,
        deployment: view.as_ref(),
        old_blue_now: old_now.as_ref(),
        old_members: &old_members,
        old_replicas: &old_replicas,
        old_replicas_protected: &old_replicas_protected,
        snapshot_status: snapshot_status.as_deref(),
        state: &state,
        now: now_epoch(&inv),
    })?;
    for action in actions {
        tracing::info!(?action, "cleanup action");
        match action {
            CleanupAction::Snapshot { kind, of, id, tags } => {
                rds.create_snapshot(kind, &of, &id, &tags).await?;
            }
            CleanupAction::DeleteDeploymentRecord { id } => {
                rds.delete_deployment(&id, false).await?;
            }
            CleanupAction::DisableDeletionProtection { kind, of } => {
                rds.disable_deletion_protection(kind, &of).await?;
            }
            CleanupAction::DeleteInstance { name } => {
                rds.delete_db(DbKind::Instance, &name).await?;
            }
            CleanupAction::DeleteOldBlue { kind, of } => {
                rds.delete_db(kind, &of).await?;
            }
        }
    }
    if state.done {
        run.mark("cleaned_up", &inv.now_rfc3339());
        tracing::info!("cleanup done");
    }
    run.cleanup = Some(state);
    Ok(run)
}
