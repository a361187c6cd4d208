//! `precheck`: normalizes the input (console, schedule or alarm), exports the source's
//! configuration, runs every check read-only, and decides the route. Changes nothing.

use crate::runtime::{Deps, Invocation};
use crate::verify::old_blue_name;
use aws_sdk_cloudwatch::types::Statistic;
use bluegreen_domain::checks::{evaluate, manual_checks, ExistingDeployment, PrecheckFacts};
use bluegreen_domain::plan::{deployment_name, EXECUTION_TAG};
use bluegreen_domain::request::{
    classify, request_for_member, request_from_tags, Action, DbKind, DbRef, Incoming, Trigger,
};
use bluegreen_domain::run::{DeploymentRecord, Report, Route, Run};
use bluegreen_domain::WorkerError;
use std::time::Duration;

pub async fn handle(deps: Deps, mut run: Run, inv: Invocation) -> Result<Run, WorkerError> {
    let input = run.input.clone().ok_or_else(|| {
        WorkerError::MalformedRun("the precheck step's input has no `input`: the state machine passes the execution input there".into())
    })?;
    run.mark("started", &inv.now_rfc3339());
    let incoming = classify(&input)?;
    let from_fleet = matches!(incoming, Incoming::FleetMember(_));
    let (request, source) = match incoming {
        Incoming::Ignored(reason) => {
            tracing::info!(%reason, "nothing to do");
            run.route = Some(Route::Noop);
            run.note = Some(reason);
            return Ok(run);
        }
        Incoming::Alarm(target) => {
            let source = deps.rds.find_source(&target.db).await?;
            let request = request_from_tags(&target, &source.tags)?;
            (request, source)
        }
        Incoming::FleetMember(member) => {
            let source = deps.rds.find_source(&member.db()).await?;
            let request = request_for_member(&member, &source.tags)?;
            (request, source)
        }
        Incoming::Request(request) => {
            let db = DbRef::parse(&request.db_identifier)?;
            check_arn_is_local(&db, &inv)?;
            let source = deps.rds.find_source(&db).await?;
            (request, source)
        }
    };

    let rds = &deps.rds;
    let current_version = rds
        .engine_version(&source.engine, &source.engine_version)
        .await?;
    let target_version = rds
        .engine_version(&source.engine, &request.target_engine_version)
        .await?;
    let target_parameter_group = match &request.target_db_parameter_group_name {
        Some(name) => rds.parameter_group(name, false).await?,
        None => None,
    };
    let target_cluster_parameter_group = match &request.target_db_cluster_parameter_group_name {
        Some(name) => rds.parameter_group(name, true).await?,
        None => None,
    };
    let name = deployment_name(&source.identifier, &request.target_engine_version);
    let mut deployments = rds.deployments_for_source(&source.arn).await?;
    // After a switchover RDS reports the renamed old blue as the source: find ours by name too.
    if !deployments.iter().any(|d| d.name == name) {
        if let Some(ours) = rds.deployment_by_name(&name).await? {
            deployments.push(ours);
        }
    }
    let pending_maintenance = match rds.pending_maintenance(&source.arn).await {
        Err(e) if e.is_transient() => return Err(e),
        other => other.map_err(|e| e.to_string()),
    };
    let free_storage_bytes = if source.kind == DbKind::Instance {
        deps.metrics
            .rds_statistic(
                "FreeStorageSpace",
                "DBInstanceIdentifier",
                &source.identifier,
                Statistic::Minimum,
                Duration::from_secs(3600),
                inv.now,
            )
            .await?
    } else {
        None
    };

    let facts = PrecheckFacts {
        request: request.clone(),
        account_id: inv.account_id(),
        source: source.clone(),
        current_version,
        target_version,
        target_parameter_group,
        target_cluster_parameter_group,
        deployments: deployments.clone(),
        pending_maintenance,
        free_storage_bytes,
        deployment_name: name.clone(),
    };
    let evaluation = evaluate(&facts);
    let report = Report::new(
        evaluation.checks,
        manual_checks(&source.engine),
        evaluation.existing.clone(),
    );
    let ours = deployments.iter().find(|d| d.name == name);
    let in_flight = deployments.iter().find(|d| d.is_in_flight());

    run.route = Some(route_for(
        &request,
        &report,
        ours,
        in_flight.is_some(),
        from_fleet,
        &source.identifier,
    )?);
    if let Some(d) = ours {
        run.deployment = Some(DeploymentRecord {
            id: d.id.clone(),
            name: d.name.clone(),
            created_by_this_run: false,
            status: d.status.clone(),
            target_arn: Some(d.target_arn.clone()).filter(|a| !a.is_empty()),
        });
    }
    let mut plan = evaluation.plan;
    if !run.execution.id.is_empty() {
        plan.tags
            .insert(EXECUTION_TAG.to_string(), run.execution.id.clone());
    }
    // A restart after the switchover: the name now answers with the upgraded green, so the
    // version we upgraded from (what verify and cleanup expect of the old blue, and what the
    // notifications say) is the old blue's, `NAME-old1`.
    let mut source = source;
    if ours.is_some_and(|d| d.is_switched_over() || d.is_switchover_in_progress())
        && source.engine_version == request.target_engine_version
    {
        if let Some(old) = rds
            .describe(source.kind, &old_blue_name(&source.identifier))
            .await?
        {
            tracing::info!(from = %old.engine_version, "restarted after the switchover: upgrading from the old blue's version");
            source.engine_version = old.engine_version;
        }
    }
    tracing::info!(route = ?run.route, verdict = ?report.verdict, "precheck done");
    run.request = Some(request);
    run.source = Some(source);
    run.plan = Some(plan);
    run.report = Some(report);
    Ok(run)
}

/// An ARN must name this function's own account and Region: a cross-account or
/// cross-Region blue/green deployment is not possible.
fn check_arn_is_local(db: &DbRef, inv: &Invocation) -> Result<(), WorkerError> {
    if let (Some(theirs), Some(ours)) = (&db.account_id, inv.account_id()) {
        if theirs != &ours {
            return Err(WorkerError::invalid(format!(
                "db_identifier names account {theirs}, but this state machine runs in account {ours}: \
                 start the execution in the account that owns the database"
            )));
        }
    }
    if let (Some(theirs), Some(ours)) = (&db.region, inv.region()) {
        if theirs != &ours {
            return Err(WorkerError::invalid(format!(
                "db_identifier names Region {theirs}, but this state machine runs in {ours}: \
                 blue/green works within one Region; use the deployment in {theirs}"
            )));
        }
    }
    Ok(())
}

/// What the state machine does next. Refusals here change nothing.
fn route_for(
    request: &bluegreen_domain::request::Request,
    report: &Report,
    ours: Option<&bluegreen_domain::deployment::DeploymentView>,
    any_in_flight: bool,
    from_fleet: bool,
    db: &str,
) -> Result<Route, WorkerError> {
    let action = request.action;
    if action == Action::Plan {
        return Ok(Route::Plan);
    }
    // A flapping alarm must not start a second upgrade: anything in flight means a run is
    // (or was) already on it; this run touches nothing. A fleet run likewise never takes
    // over a database another run is on (a console run resumes one on purpose).
    if (request.trigger == Trigger::Alarm || from_fleet)
        && any_in_flight
        && matches!(action, Action::Prepare | Action::Upgrade)
    {
        return Ok(Route::AlreadyInProgress);
    }
    let account_failed = report
        .checks
        .iter()
        .any(|c| c.id == "account" && c.verdict == bluegreen_domain::checks::Verdict::Fail);
    match action {
        Action::Abort | Action::Cleanup => {
            let gating: Vec<_> = report
                .failures()
                .into_iter()
                .filter(|c| c.id == "account" || (c.id == "existing-deployment" && ours.is_none()))
                .collect();
            if !gating.is_empty() {
                let only = Report::new(
                    gating.into_iter().cloned().collect(),
                    vec![],
                    report.existing_deployment.clone(),
                );
                return Err(only.failure_error(db));
            }
            let d = ours
                .ok_or_else(|| WorkerError::Refused(format!("no deployment of ours for {db}")))?;
            if action == Action::Cleanup && !d.is_switched_over() {
                return Err(WorkerError::Refused(format!(
                    "deployment {} is {}: cleanup runs only after a completed switchover; to drop an \
                     unswitched green use action `abort`",
                    d.name, d.status
                )));
            }
            Ok(if action == Action::Abort {
                Route::Abort
            } else {
                Route::Cleanup
            })
        }
        Action::Prepare | Action::Upgrade | Action::Switchover => {
            // A restarted run after its switchover continues with verification: the source
            // now runs the target, so the pre-switchover checks no longer apply.
            let already_switching =
                ours.is_some_and(|d| d.is_switched_over() || d.is_switchover_in_progress());
            if already_switching && !account_failed {
                if action == Action::Prepare {
                    return Err(WorkerError::Refused(format!(
                        "deployment {} is already {}: nothing to prepare; run `cleanup` after the soak",
                        ours.map(|d| d.name.as_str()).unwrap_or_default(),
                        ours.map(|d| d.status.as_str()).unwrap_or_default()
                    )));
                }
                return Ok(if action == Action::Upgrade {
                    Route::Upgrade
                } else {
                    Route::Switchover
                });
            }
            if !report.failures().is_empty() {
                return Err(report.failure_error(db));
            }
            if action == Action::Switchover
                && report.existing_deployment != ExistingDeployment::Adopt
            {
                return Err(report.failure_error(db));
            }
            Ok(match action {
                Action::Prepare => Route::Prepare,
                Action::Upgrade => Route::Upgrade,
                _ => Route::Switchover,
            })
        }
        Action::Plan => Ok(Route::Plan),
    }
}
