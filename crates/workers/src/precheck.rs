//! `precheck`: normalizes the input (console, schedule or alarm), exports the source's
//! configuration, runs every check read-only, and decides the route. Changes nothing.

use crate::runtime::{Deps, Invocation};
use bluegreen_aws::ports::Stat;
use bluegreen_aws::{DmsApi, KeysApi, MetricsApi, RdsApi, WithDms, WithKeys};
use bluegreen_domain::access::{key_to_look_up, KeyLookup};
use bluegreen_domain::checks::{evaluate, manual_checks, PrecheckFacts};
use bluegreen_domain::database::admission::admit;
use bluegreen_domain::engine::major_version;
use bluegreen_domain::lifecycle::{cost_of_waiting, DEFAULT_RATE_PER_VCPU_HOUR};
use bluegreen_domain::names::{arn_region, deployment_name, parse_rds_arn, tags};
use bluegreen_domain::old_blue::{locate, OldBlueFacts};
use bluegreen_domain::request::{
    check_event_origin, request_for_member, request_from_tags, DbKind, DbRef, Incoming,
};
use bluegreen_domain::route::{arrival, route_for, Arrival};
use bluegreen_domain::run::{DeploymentRecord, Report, Route, Run};
use bluegreen_domain::source::SourceDb;
use bluegreen_domain::topology::{
    dms_endpoints_reaching, dms_tasks_using, proxies_targeting, DmsTask, Member, Replica, Topology,
};
use bluegreen_domain::WorkerError;
use std::time::Duration;

pub async fn handle<A: WithDms + WithKeys>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let input = run.input.clone().ok_or_else(|| {
        WorkerError::MalformedRun("the precheck step's input has no `input`: the state machine passes the execution input there".into())
    })?;
    run.mark("started", &inv.now_rfc3339());
    let incoming = match arrival(&input)? {
        Arrival::Fleet(fleet) => {
            check_event_origin(
                "the Scheduled Event",
                fleet.event_account.as_deref(),
                fleet.event_region.as_deref(),
                inv.account_id().as_deref(),
                inv.region().as_deref(),
            )?;
            tracing::info!("a fleet request: handed over to the fleet state machine");
            run.route = Some(Route::Fleet);
            run.note = Some(
                "a fleet request: the fleet state machine runs it (see handed_over.fleet_execution)"
                    .into(),
            );
            return Ok(run);
        }
        Arrival::One(incoming) => incoming,
    };
    let from_fleet = matches!(incoming, Incoming::FleetMember(_));
    let (request, source) = match incoming {
        Incoming::Ignored(reason) => {
            tracing::info!(%reason, "nothing to do");
            run.route = Some(Route::Noop);
            run.note = Some(reason);
            return Ok(run);
        }
        Incoming::Alarm(target) => {
            check_event_origin(
                &format!("alarm `{}`", target.alarm_name),
                target.account_id.as_deref(),
                target.region.as_deref(),
                inv.account_id().as_deref(),
                inv.region().as_deref(),
            )?;
            let source = deps.rds().find_source(&target.db).await?;
            let request = request_from_tags(&target, &source.tags)?;
            (request, source)
        }
        Incoming::FleetMember(member) => {
            let source = deps.rds().find_source(&member.db()).await?;
            let request = request_for_member(&member, &source.tags)?;
            (request, source)
        }
        Incoming::Request(request) => {
            let db = DbRef::parse(&request.db_identifier)?;
            check_arn_is_local(&db, &inv)?;
            let source = deps.rds().find_source(&db).await?;
            (request, source)
        }
    };

    let rds = deps.rds();
    let mut source = source;
    source.topology = gather_topology(rds, deps.aws.dms(), &source).await?;
    let key_manager = read_key_manager(deps.aws.keys(), &source, &deps.grants).await?;
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
    // The parameters of the groups green will use: the named ones, or the target family's
    // default group when the source uses a default one.
    let mut target_parameters = std::collections::BTreeMap::new();
    if let Some(name) = &request.target_db_cluster_parameter_group_name {
        target_parameters.extend(rds.parameters(name, true).await?);
    }
    let target_group = request.target_db_parameter_group_name.clone().or_else(|| {
        let source_default = source.parameter_groups.iter().all(|g| g.is_default());
        target_version
            .as_ref()
            .filter(|_| source_default)
            .map(|v| format!("default.{}", v.family))
    });
    if let Some(name) = &target_group {
        for (k, v) in rds.parameters(name, false).await? {
            target_parameters.entry(k).or_insert(v);
        }
    }
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
        deps.metrics()
            .rds_statistic(
                "FreeStorageSpace",
                &[("DBInstanceIdentifier", &source.identifier)],
                Stat::Minimum,
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
        target_parameters,
        deployments: deployments.clone(),
        pending_maintenance,
        free_storage_bytes,
        deployment_name: name.clone(),
        grants: deps.grants.clone(),
        key_manager,
    };
    let mut evaluation = evaluate(&facts);
    // The database side: recorded for the sql worker, or refused when it is not deployed.
    let admission = admit(&request, database_checks_deployed());
    evaluation.checks.extend(admission.check);
    let mut report = Report::new(
        evaluation.checks,
        manual_checks(&source.engine),
        evaluation.existing.clone(),
    );
    // The cost of waiting: a refusal (a missing permission, an API not offered) leaves it
    // unknown, never fails the precheck; a transient error is retried as every read is.
    let major = major_version(&source.engine, &source.engine_version);
    let today: String = inv.now_rfc3339().chars().take(10).collect();
    let (lifecycle, unread) = match rds.major_lifecycle(&source.engine, &major).await {
        Ok(l) => (l, None),
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the engine lifecycle");
            (None, Some(e.to_string()))
        }
    };
    let mut cost = cost_of_waiting(
        &source,
        &major,
        lifecycle.as_ref(),
        DEFAULT_RATE_PER_VCPU_HOUR,
        &today,
    );
    if let Some(e) = unread {
        cost.note = format!(
            "the end of standard support of {} {major} is unknown: {e}",
            source.engine.as_str()
        );
    }
    report.cost_of_waiting = Some(cost);
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
            .insert(tags::EXECUTION.to_string(), run.execution.id.clone());
    }
    // A run started after the switchover (a restart, or action `cleanup`): the name now
    // answers with the upgraded green. The version we upgraded from (what verify and cleanup
    // expect of the old blue, and what the notifications say) and blue's resource id are the
    // old blue's, found through the deployment (`old_blue::locate`).
    if let Some(d) = ours.filter(|d| {
        d.is_switched_over()
            || (d.is_switchover_in_progress()
                && source.engine_version == request.target_engine_version)
    }) {
        let blue_id = d.tags.get(tags::SOURCE_RESOURCE_ID).cloned();
        let by_resource_id = match &blue_id {
            Some(id) => rds.describe_by_resource_id(source.kind, id).await?,
            None => None,
        };
        let reported_name = parse_rds_arn(&d.source_arn)
            .map(|(_, n)| n.to_string())
            .filter(|n| !n.eq_ignore_ascii_case(&source.identifier));
        let reported = match (&reported_name, &by_resource_id) {
            (Some(n), None) => rds.describe(source.kind, n).await?,
            _ => None,
        };
        match locate(&OldBlueFacts {
            production: &source.identifier,
            resource_id: blue_id.as_deref(),
            by_resource_id: by_resource_id.as_ref(),
            reported_source_arn: Some(&d.source_arn),
            reported: reported.as_ref(),
        }) {
            Ok(old) => {
                tracing::info!(old_blue = %old.identifier, from = %old.engine_version, "started after the switchover: upgrading from the old blue's version");
                source.engine_version = old.engine_version.clone();
                source.resource_id = old.resource_id.clone();
                // The replicas found now are production's (green's, renamed): the old ones
                // are what the old blue lists (`OldBlue::replicas`), not these resource ids.
                for r in &mut source.topology.replicas {
                    r.resource_id = None;
                }
                run.old_blue = Some(old);
            }
            // Verify and cleanup refuse with the same finding; the precheck only reports.
            Err(problem) => tracing::warn!(%problem, "the old blue could not be found"),
        }
    }
    tracing::info!(route = ?run.route, verdict = ?report.verdict, "precheck done");
    run.approval = bluegreen_domain::run::ApprovalState::for_request(&request);
    run.database = admission.database;
    run.request = Some(request);
    run.source = Some(source);
    run.plan = Some(plan);
    run.report = Some(report);
    Ok(run)
}

/// The template sets `DATABASE_CHECKS=on` on this function when it deploys the sql worker.
fn database_checks_deployed() -> bool {
    std::env::var("DATABASE_CHECKS").is_ok_and(|v| v.eq_ignore_ascii_case("on"))
}

/// Who manages the source's key, asked of KMS only when the source is encrypted with a key
/// the stack's list does not name. A refusal (a missing permission, a key policy that does
/// not allow it) is for the `kms-key` check to report; a transient error is retried as every
/// read is.
async fn read_key_manager<K: KeysApi>(
    keys: &K,
    source: &SourceDb,
    grants: &bluegreen_domain::access::StackGrants,
) -> Result<KeyLookup, WorkerError> {
    let Some(key) = key_to_look_up(source, grants) else {
        return Ok(KeyLookup::NotAsked);
    };
    Ok(match keys.key_manager(key).await {
        Ok(Some(manager)) => KeyLookup::Manager(manager),
        Ok(None) => KeyLookup::NotFound,
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "the source's KMS key could not be described");
            KeyLookup::Unreadable(e.to_string())
        }
    })
}

/// What surrounds the source: an Aurora cluster's member instances and each in-Region read
/// replica as they are described now (their own tags and monitoring roles), the RDS
/// Proxies whose targets include it, an Aurora cluster's custom endpoints (with their tags)
/// and global database, zero-ETL integrations reading from it. The optional reads (proxies,
/// custom endpoints and their tags, global clusters, integrations) that AWS refuses (a
/// missing permission) are listed as `unread` (a warning check naming the permission), never
/// a failed precheck.
/// AWS DMS tasks are those using an endpoint whose host is the source's (see
/// `dms_endpoints_reaching`); DMS itself is optional the same way.
async fn gather_topology<R: RdsApi, M: DmsApi>(
    rds: &R,
    dms: &M,
    source: &SourceDb,
) -> Result<Topology, WorkerError> {
    let home = arn_region(&source.arn);
    let mut t = Topology::default();
    if source.kind == DbKind::Cluster {
        // IAM and RDS look at each member itself: its tags, its monitoring role.
        for name in &source.members {
            if let Some(db) = rds.describe(DbKind::Instance, name).await? {
                t.members.push(Member::from_db(&db));
            }
        }
    }
    if source.kind == DbKind::Instance {
        for listed in &source.read_replicas {
            let (name, region) = match parse_rds_arn(listed) {
                Some((_, n)) => (n.to_string(), arn_region(listed)),
                None => (listed.clone(), None),
            };
            // A replica in another Region cannot be described here: the listing says enough.
            if region.is_some() && region != home {
                continue;
            }
            if let Some(db) = rds.describe(DbKind::Instance, &name).await? {
                t.replicas.push(Replica::from_db(&db, home.as_deref()));
            }
        }
    }
    let mut unread = Vec::new();
    let mut optional = |what: &str, e: WorkerError| -> Result<(), WorkerError> {
        if e.is_transient() {
            return Err(e);
        }
        tracing::warn!(error = %e, "{what} could not be read");
        unread.push(format!("{what} ({e})"));
        Ok(())
    };
    match rds.proxy_targets().await {
        Ok(all) => t.proxies = proxies_targeting(&all, &source.identifier),
        Err(e) => optional(
            "RDS Proxies: rds:DescribeDBProxies, rds:DescribeDBProxyTargets",
            e,
        )?,
    }
    if source.kind == DbKind::Cluster {
        match rds.custom_endpoints(&source.identifier).await {
            Ok(e) => t.custom_endpoints = e,
            Err(e) => optional("custom endpoints: rds:DescribeDBClusterEndpoints", e)?,
        }
        // DescribeDBClusterEndpoints returns no tags; IAM evaluates each endpoint's own.
        for endpoint in &mut t.custom_endpoints {
            match rds.tags_of(&endpoint.arn).await {
                Ok(tags) => endpoint.tags = tags,
                Err(e) => {
                    endpoint.tags_unread = true;
                    optional(
                        &format!(
                            "the tags of custom endpoint {}: rds:ListTagsForResource",
                            endpoint.identifier
                        ),
                        e,
                    )?
                }
            }
        }
        match rds.global_membership(&source.arn).await {
            Ok(g) => t.global = g,
            Err(e) => optional("Aurora Global Database: rds:DescribeGlobalClusters", e)?,
        }
    }
    match rds.integrations(&source.arn).await {
        Ok(i) => t.integrations = i,
        Err(e) => optional("zero-ETL integrations: rds:DescribeIntegrations", e)?,
    }
    match gather_dms_tasks(dms, source).await {
        Ok(tasks) => t.dms_tasks = tasks,
        Err(e) => optional(
            "AWS DMS tasks: dms:DescribeEndpoints, dms:DescribeReplicationTasks",
            e,
        )?,
    }
    t.unread = unread;
    Ok(t)
}

/// The DMS tasks that use an endpoint reaching the source; no task read when none does.
async fn gather_dms_tasks<M: DmsApi>(
    dms: &M,
    source: &SourceDb,
) -> Result<Vec<DmsTask>, WorkerError> {
    let endpoints = dms.endpoints().await?;
    let reaching = dms_endpoints_reaching(source, &endpoints);
    if reaching.is_empty() {
        return Ok(Vec::new());
    }
    let arns: Vec<String> = reaching.iter().map(|e| e.arn.clone()).collect();
    let tasks = dms.tasks_using(&arns).await?;
    Ok(dms_tasks_using(&reaching, &tasks))
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
