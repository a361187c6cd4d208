//! `precheck`: reads the input (console, schedule, alarm or fleet member: `intake`), reads
//! the source and everything around it, and records what `precheck::decide` makes of it: the
//! checks, the route, the plan. Changes nothing.

use crate::intake::{arrival, Arrival};
use crate::runtime::{Deps, Invocation};
use bluegreen_aws::ports::Stat;
use bluegreen_aws::{
    DmsApi, KeysApi, MetricsApi, RdsRead, ScalingApi, WithDms, WithKeys, WithScaling,
};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::engine::major_version;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::grants::{KeyLookup, StackGrants};
use bluegreen_domain::model::names::{arn_region, deployment_name, parse_rds_arn};
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::source::{DmsTask, Member, Replica, SourceDb, Topology};
use bluegreen_domain::precheck::checks::access::key_to_look_up;
use bluegreen_domain::precheck::intake::{check_event_origin, start, Intake};
use bluegreen_domain::precheck::route::HANDED_OVER_TO_FLEET;
use bluegreen_domain::precheck::topology::{
    dms_endpoints_reaching, dms_tasks_using, proxies_targeting,
};
use bluegreen_domain::precheck::{
    decide, green_parameter_groups, old_blue_lookup, our_deployment, PrecheckFacts,
};
use bluegreen_domain::run::Run;
use std::collections::BTreeMap;
use std::time::Duration;

pub async fn handle<A: WithDms + WithKeys + WithScaling>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let input = run.input.clone().ok_or_else(|| {
        WorkerError::MalformedRun("the precheck step's input has no `input`: the state machine passes the execution input there".into())
    })?;
    run.mark("started", &inv.now_rfc3339());
    let (account, region) = (inv.account_id(), inv.region());
    let incoming = match arrival(&input)? {
        Arrival::Fleet(fleet) => {
            check_event_origin(
                "the Scheduled Event",
                fleet.event_account.as_deref(),
                fleet.event_region.as_deref(),
                account.as_deref(),
                region.as_deref(),
            )?;
            tracing::info!("a fleet request: handed over to the fleet state machine");
            run.route = Some(Route::Fleet);
            run.note = Some(HANDED_OVER_TO_FLEET.into());
            return Ok(run);
        }
        Arrival::One(incoming) => incoming,
    };
    let wanted = match start(incoming, account.as_deref(), region.as_deref())? {
        Intake::Nothing(reason) => {
            tracing::info!(%reason, "nothing to do");
            run.route = Some(Route::Noop);
            run.note = Some(reason);
            return Ok(run);
        }
        Intake::Read(wanted) => wanted,
    };

    // Gather: every fact, read-only.
    let rds = deps.rds();
    let mut source = rds.find_source(&wanted.db).await?;
    let from_fleet = wanted.from_fleet();
    let request = wanted.request(&source.tags)?;
    source.topology = gather_topology(rds, deps.aws.dms(), deps.aws.scaling(), &source).await?;
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
    // The parameters of the groups green will use: the cluster group's, then the DB group's.
    let groups = green_parameter_groups(&request, &source, target_version.as_ref());
    let mut target_parameters = BTreeMap::new();
    if let Some(name) = &groups.cluster {
        target_parameters.extend(rds.parameters(name, true).await?);
    }
    if let Some(name) = &groups.instance {
        for (k, v) in rds.parameters(name, false).await? {
            target_parameters.entry(k).or_insert(v);
        }
    }
    let name = deployment_name(&source.identifier, &request.target_engine_version);
    let mut deployments = rds.deployments_for_source(&source.arn).await?;
    if our_deployment(&deployments, &name).is_none() {
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
    // A refusal (a missing permission, an API not offered) leaves the cost of waiting
    // unknown, never fails the precheck; a transient error is retried as every read is.
    let major = major_version(&source.engine, &source.engine_version);
    let lifecycle = match rds.major_lifecycle(&source.engine, &major).await {
        Ok(l) => Ok(l),
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the engine lifecycle");
            Err(e.to_string())
        }
    };
    let old_blue = match old_blue_lookup(our_deployment(&deployments, &name), &source, &request) {
        Some(lookup) => Some(crate::old_blue::gather(rds, &lookup).await?),
        None => None,
    };

    let outcome = decide(PrecheckFacts {
        request,
        account_id: account,
        source,
        current_version,
        target_version,
        target_parameter_group,
        target_cluster_parameter_group,
        target_parameters,
        deployments,
        pending_maintenance,
        free_storage_bytes,
        deployment_name: name,
        grants: deps.grants.clone(),
        key_manager,
        from_fleet,
        sql_worker_deployed: database_checks_deployed(),
        execution_id: run.execution.id.clone(),
        lifecycle,
        today: inv.now_rfc3339().chars().take(10).collect(),
        old_blue,
    })?;

    // Record.
    if let Some(old) = &outcome.old_blue {
        tracing::info!(old_blue = %old.identifier, from = %old.engine_version, "started after the switchover: upgrading from the old blue's version");
    }
    if let Some(problem) = &outcome.old_blue_problem {
        tracing::warn!(%problem, "the old blue could not be found");
    }
    tracing::info!(route = ?outcome.route, verdict = ?outcome.report.verdict, "precheck done");
    run.route = Some(outcome.route);
    if outcome.deployment.is_some() {
        run.deployment = outcome.deployment;
    }
    if outcome.old_blue.is_some() {
        run.old_blue = outcome.old_blue;
    }
    run.approval = outcome.approval;
    run.database = outcome.database;
    run.request = Some(outcome.request);
    run.source = Some(outcome.source);
    run.plan = Some(outcome.plan);
    run.report = Some(outcome.report);
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
    grants: &StackGrants,
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
/// `dms_endpoints_reaching`); DMS itself is optional the same way. So is an Aurora cluster's
/// Auto Scaling (Application Auto Scaling), which green does not get.
async fn gather_topology<R: RdsRead, M: DmsApi, S: ScalingApi>(
    rds: &R,
    dms: &M,
    scaling: &S,
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
        match scaling.cluster_targets(&source.identifier).await {
            Ok(targets) => t.auto_scaling = Some(targets),
            Err(e) => optional(
                "Aurora Auto Scaling: application-autoscaling:DescribeScalableTargets, \
                 application-autoscaling:DescribeScalingPolicies",
                e,
            )?,
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
