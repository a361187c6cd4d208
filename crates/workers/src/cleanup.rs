//! `cleanup`: after the soak, one step per invocation (the state machine loops until
//! `done`): snapshot the old blue and wait for it, delete the deployment record (never
//! with DeleteTarget after switchover), then, only if asked, delete the old blue.

use crate::runtime::{Deps, Invocation};
use crate::verify::old_blue_name;
use bluegreen_domain::plan::{MANAGED_BY_TAG, MANAGED_BY_VALUE};
use bluegreen_domain::request::DbKind;
use bluegreen_domain::run::{CleanupState, Run};
use bluegreen_domain::WorkerError;
use std::collections::BTreeMap;

const SNAPSHOT_POLL_SECONDS: u32 = 60;

pub async fn handle(deps: Deps, mut run: Run, inv: Invocation) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let source = run.source()?.clone();
    let record = run.deployment()?.clone();
    let mut state = run.cleanup.clone().unwrap_or_default();
    let old_name = old_blue_name(&source.identifier);
    let rds = &deps.rds;

    let view = rds.deployment_by_name(&record.name).await?;
    if let Some(v) = &view {
        // DELETING is our own record deletion from an earlier pass (or from a retried one):
        // RDS keeps listing the deployment for a while after DeleteBlueGreenDeployment.
        if !v.is_switched_over() && !v.is_deleting() {
            return Err(WorkerError::Refused(format!(
                "deployment {} is {}: cleanup runs only after a completed switchover, nothing was deleted",
                v.name, v.status
            )));
        }
    }
    let old = rds.describe(source.kind, &old_name).await?;
    // Never act on production: the old blue must still run the version we upgraded from
    // (a run started after the switchover takes that version from the old blue itself, see
    // precheck).
    if let Some(o) = &old {
        if o.engine_version != source.engine_version {
            return Err(WorkerError::Refused(format!(
                "{old_name} runs {}, not the pre-upgrade version {}: it may not be the old blue, so \
                 nothing was deleted; check it by hand",
                o.engine_version, source.engine_version
            )));
        }
    }

    // 1. A final snapshot of the old blue, complete before anything is deleted.
    if request.final_snapshot && state.snapshot_status.as_deref() != Some("available") {
        let Some(old) = &old else {
            return Err(WorkerError::Refused(format!(
                "the old blue {old_name} is gone before its final snapshot was taken: nothing else was deleted; \
                 set final_snapshot to false to clean up without it"
            )));
        };
        let snapshot_id = format!("{}-final", record.name);
        let status = rds.snapshot_status(source.kind, &snapshot_id).await?;
        match status.as_deref() {
            None => {
                let mut tags = BTreeMap::new();
                tags.insert(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string());
                tags.insert("bluegreen:old-blue".to_string(), old.identifier.clone());
                rds.create_snapshot(source.kind, &old.identifier, &snapshot_id, &tags)
                    .await?;
                state
                    .steps
                    .push(format!("started snapshot {snapshot_id} of {old_name}"));
                state.snapshot_identifier = Some(snapshot_id);
                state.snapshot_status = Some("creating".into());
                return Ok(pending(run, state, SNAPSHOT_POLL_SECONDS));
            }
            Some("available") => {
                state
                    .steps
                    .push(format!("snapshot {snapshot_id} available"));
                state.snapshot_identifier = Some(snapshot_id);
                state.snapshot_status = Some("available".into());
            }
            Some(s) if s.eq_ignore_ascii_case("failed") || s.eq_ignore_ascii_case("error") => {
                return Err(WorkerError::Refused(format!(
                    "the final snapshot {snapshot_id} of {old_name} is `{s}`: nothing was deleted; delete the \
                     failed snapshot and run action `cleanup` again"
                )));
            }
            Some(s) => {
                state.snapshot_identifier = Some(snapshot_id);
                state.snapshot_status = Some(s.to_string());
                return Ok(pending(run, state, SNAPSHOT_POLL_SECONDS));
            }
        }
    }

    // 2. The deployment record. After switchover, DeleteTarget is not allowed (and would be wrong).
    if !state.deployment_deleted {
        if let Some(v) = view.as_ref().filter(|v| !v.is_deleting()) {
            rds.delete_deployment(&v.id, false).await?;
            state.steps.push(format!(
                "deleted deployment record {} (kept both databases)",
                v.name
            ));
        }
        state.deployment_deleted = true;
    }

    // 3. The old blue, only when asked; deletion protection is turned off on it alone.
    if request.delete_old_blue && !state.old_blue_deleted {
        if let Some(o) = &old {
            if o.deletion_protection {
                rds.disable_deletion_protection(source.kind, &o.identifier)
                    .await?;
                state
                    .steps
                    .push(format!("turned off deletion protection on {old_name}"));
            }
            if source.kind == DbKind::Cluster && !o.members.is_empty() {
                for member in &o.members {
                    // The cluster lists its instances until they are gone: one already being
                    // deleted (an earlier pass) is not deleted again, which RDS refuses.
                    let deleting = rds
                        .describe(DbKind::Instance, member)
                        .await?
                        .is_none_or(|m| m.status.eq_ignore_ascii_case("deleting"));
                    if deleting {
                        continue;
                    }
                    rds.delete_db(DbKind::Instance, member).await?;
                    state
                        .steps
                        .push(format!("deleting {member} (instance of {old_name})"));
                }
                return Ok(pending(run, state, SNAPSHOT_POLL_SECONDS));
            }
            // Already being deleted: an earlier attempt whose answer was lost (a timeout, a
            // reset connection) did it; RDS refuses a second delete.
            if o.status.eq_ignore_ascii_case("deleting") {
                state
                    .steps
                    .push(format!("{old_name} is already being deleted"));
            } else {
                rds.delete_db(source.kind, &o.identifier).await?;
                state.steps.push(format!("deleting {old_name}"));
            }
        }
        state.old_blue_deleted = true;
    }
    state.done = true;
    state.next_delay_seconds = 0;
    run.cleanup = Some(state);
    run.mark("cleaned_up", &inv.now_rfc3339());
    tracing::info!("cleanup done");
    Ok(run)
}

fn pending(mut run: Run, mut state: CleanupState, delay: u32) -> Run {
    state.done = false;
    state.next_delay_seconds = delay;
    run.cleanup = Some(state);
    run
}
