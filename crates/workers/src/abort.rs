//! `abort`: deletes an unswitched deployment together with its green (DeleteTarget), after
//! turning off deletion protection on green alone. Refused after switchover: green is then
//! production and the fallback is the old blue. The failure path calls the same step to roll
//! back a failed `prepare`/`upgrade` (see `Run::should_roll_back`).

use crate::runtime::{Deps, Invocation};
use bluegreen_aws::rds::parse_member_arn;
use bluegreen_aws::{Aws, RdsRead, RdsWrite};
use bluegreen_domain::cleanup::abort::AbortState;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::run::Run;

const DELETE_POLL_SECONDS: u32 = 30;

pub async fn handle<A: Aws>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let rollback = run.error.is_some();
    if rollback && !run.should_roll_back() {
        run.rollback = Some(AbortState {
            done: true,
            steps: vec![match run.deployment.as_ref() {
                Some(d) => format!("kept deployment {} and its green (switchover requested, green healthy, or not ours)", d.name),
                None => "no deployment was created: nothing to roll back".into(),
            }],
            ..AbortState::default()
        });
        return Ok(run);
    }
    let record = run.deployment()?.clone();
    let mut state = (if rollback {
        run.rollback.clone()
    } else {
        run.abort.clone()
    })
    .unwrap_or_default();
    let view = deps.rds().deployment_by_name(&record.name).await?;
    match view {
        None => {
            state
                .steps
                .push(format!("deployment {} and its green are gone", record.name));
            state.done = true;
            state.next_delay_seconds = 0;
            run.mark(
                if rollback { "rolled_back" } else { "aborted" },
                &inv.now_rfc3339(),
            );
        }
        Some(v) if v.is_switched_over() || v.is_switchover_in_progress() => {
            let old = run
                .old_blue
                .as_ref()
                .map(|o| o.identifier.clone())
                .or_else(|| {
                    bluegreen_domain::model::names::parse_rds_arn(&v.source_arn)
                        .map(|(_, n)| n.to_string())
                        .filter(|n| run.source.as_ref().is_none_or(|s| &s.identifier != n))
                })
                .unwrap_or_else(|| "(NAME-oldN, see the deployment's source)".into());
            return Err(WorkerError::Refused(format!(
                "deployment {} is {}: green is now production and abort cannot undo a switchover. \
                 The fallback is the old blue {old} (data as of the switchover) or its final \
                 snapshot: point applications at it, or restore from the snapshot",
                v.name, v.status,
            )));
        }
        Some(v) if v.is_deleting() => {
            state.next_delay_seconds = DELETE_POLL_SECONDS;
        }
        Some(v) => {
            let source_members: Vec<&str> = v
                .switchover_details
                .iter()
                .map(|s| s.source_member.as_str())
                .collect();
            for arn in v.green_member_arns() {
                // Only green: never touch a member of the source.
                if arn == v.source_arn || source_members.contains(&arn.as_str()) {
                    continue;
                }
                let Some((kind, name)) = parse_member_arn(&arn) else {
                    continue;
                };
                if deps
                    .rds()
                    .describe(kind, &name)
                    .await?
                    .is_some_and(|g| g.deletion_protection)
                {
                    deps.rds().disable_deletion_protection(kind, &name).await?;
                    state
                        .steps
                        .push(format!("turned off deletion protection on green {name}"));
                }
            }
            deps.rds().delete_deployment(&v.id, true).await?;
            state.deleted_target = true;
            state.steps.push(format!(
                "deleting deployment {} with its green (DeleteTarget)",
                v.name
            ));
            state.next_delay_seconds = DELETE_POLL_SECONDS;
        }
    }
    tracing::info!(rollback, done = state.done, "abort step");
    if rollback {
        run.rollback = Some(state);
    } else {
        run.abort = Some(state);
    }
    Ok(run)
}
