//! The precheck: the first step of every run. It changes nothing: the worker reads the input
//! (`intake`: the ways in, as typed facts), gathers every fact read-only, and `decide` says,
//! once, what they mean: the checks and their verdict (`checks`), the report with its manual
//! checks and its cost of waiting (`report`, `lifecycle`), the route (`route`), the plan, the
//! deployment it adopts, the database side (`database::admission`) and, for a run started
//! after the switchover, the old blue it continues from.

pub mod checks;
pub mod intake;
pub mod lifecycle;
pub mod report;
pub mod route;
pub mod topology;

use crate::database::admission::admit;
use crate::database::DatabaseState;
use crate::model::deployment::{DeploymentRecord, DeploymentView};
use crate::model::engine::EngineVersionInfo;
use crate::model::error::WorkerError;
use crate::model::grants::{KeyLookup, StackGrants};
use crate::model::lifecycle::MajorLifecycle;
use crate::model::names::tags;
use crate::model::old_blue::OldBlue;
use crate::model::plan::CreatePlan;
use crate::model::report::Report;
use crate::model::request::Request;
use crate::model::route::Route;
use crate::model::source::{ParameterGroupInfo, SourceDb};
use crate::switchover::ApprovalState;
use crate::verify::old_blue::{locate, OldBlueFacts, OldBlueLookup};
use std::collections::BTreeMap;

/// Everything the precheck decides on, gathered read-only by the precheck worker.
#[derive(Debug, Clone)]
pub struct PrecheckFacts {
    pub request: Request,
    /// The account the worker runs in (from its own function ARN), when known.
    pub account_id: Option<String>,
    pub source: SourceDb,
    /// The source's current version in DescribeDBEngineVersions, if RDS knows it.
    pub current_version: Option<EngineVersionInfo>,
    /// The target version in DescribeDBEngineVersions, if RDS knows it.
    pub target_version: Option<EngineVersionInfo>,
    /// Looked-up target DB parameter group (`None` when not requested or not found).
    pub target_parameter_group: Option<ParameterGroupInfo>,
    pub target_cluster_parameter_group: Option<ParameterGroupInfo>,
    /// The relevant parameters (`model::source::RELEVANT_PARAMETERS`) of the groups green will
    /// use (`green_parameter_groups`):
    /// the target DB parameter group (named, or the target family's default), and the target
    /// cluster parameter group (Aurora).
    pub target_parameters: BTreeMap<String, String>,
    /// Blue/green deployments whose source is this database.
    pub deployments: Vec<DeploymentView>,
    /// Pending maintenance action descriptions, or why they could not be read.
    pub pending_maintenance: Result<Vec<String>, String>,
    /// Minimum `FreeStorageSpace` over the last hour, in bytes (instances only).
    pub free_storage_bytes: Option<f64>,
    pub deployment_name: String,
    /// What the stack's template gave its roles (the precheck function's environment).
    pub grants: StackGrants,
    /// What KMS said of the source's key, when it had to be asked
    /// (`checks::access::key_to_look_up`).
    pub key_manager: KeyLookup,
    /// The request came as one database of a fleet (`Incoming::FleetMember`).
    pub from_fleet: bool,
    /// The deployment has the `sql` worker (`database::admission::admit`).
    pub sql_worker_deployed: bool,
    /// The execution's ARN (`$$.Execution.Id`), tagged on the deployment it creates; empty
    /// when unknown.
    pub execution_id: String,
    /// The support dates of the source's current major (`DescribeDBMajorEngineVersions`), or
    /// why they could not be read.
    pub lifecycle: Result<Option<MajorLifecycle>, String>,
    /// Today, `YYYY-MM-DD` (UTC).
    pub today: String,
    /// What was read of the old blue, for a run started after the switchover
    /// (`old_blue_lookup`).
    pub old_blue: Option<OldBlueFacts>,
}

/// What the precheck decided: everything the worker records in the run.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecheckOutcome {
    pub route: Route,
    pub request: Request,
    /// The source as exported; for a run started after the switchover, re-based on the old
    /// blue (its version and resource id: what verify and cleanup expect of it).
    pub source: SourceDb,
    pub report: Report,
    pub plan: CreatePlan,
    /// Ours, when one exists: the run continues with it.
    pub deployment: Option<DeploymentRecord>,
    /// The old blue a run started after the switchover continues from, when found.
    pub old_blue: Option<OldBlue>,
    /// Why the old blue was not found (verify and cleanup refuse with the same finding; the
    /// precheck only says so).
    pub old_blue_problem: Option<String>,
    pub approval: Option<ApprovalState>,
    /// The database side: recorded for the sql worker, or `None`.
    pub database: Option<DatabaseState>,
}

/// Decides on everything the precheck gathered: the verdict, the route, the plan, the report
/// (with the cost of waiting), the deployment record, the old-blue re-base. Pure. An error is
/// a refusal (failed prechecks, an action that does not apply): nothing was changed.
pub fn decide(f: PrecheckFacts) -> Result<PrecheckOutcome, WorkerError> {
    let evaluation = checks::evaluate(&f);
    // The database side: recorded for the sql worker, or refused when it is not deployed.
    let admission = admit(&f.request, f.sql_worker_deployed);
    let mut found = evaluation.checks;
    found.extend(admission.check);
    let mut report = report::report(found, &f.source.engine, evaluation.existing);
    report.cost_of_waiting = Some(lifecycle::cost_of_waiting_as_read(
        &f.source,
        &f.lifecycle,
        &f.today,
    ));
    let ours = our_deployment(&f.deployments, &f.deployment_name);
    let in_flight = f.deployments.iter().any(DeploymentView::is_in_flight);
    let route = route::route_for(
        &f.request,
        &report,
        ours,
        in_flight,
        f.from_fleet,
        &f.source.identifier,
    )?;
    let deployment = ours.map(DeploymentRecord::adopted);
    let mut plan = evaluation.plan;
    if !f.execution_id.is_empty() {
        plan.tags
            .insert(tags::EXECUTION.to_string(), f.execution_id.clone());
    }
    let mut source = f.source;
    let (old_blue, old_blue_problem) = match f.old_blue.as_ref().map(locate) {
        Some(Ok(old)) => {
            rebase_on_old_blue(&mut source, &old);
            (Some(old), None)
        }
        Some(Err(problem)) => (None, Some(problem)),
        None => (None, None),
    };
    Ok(PrecheckOutcome {
        route,
        approval: ApprovalState::for_request(&f.request),
        request: f.request,
        source,
        report,
        plan,
        deployment,
        old_blue,
        old_blue_problem,
        database: admission.database,
    })
}

/// A run started after the switchover (a restart, or action `cleanup`): the name now answers
/// with the upgraded green. The version we upgraded from (what verify and cleanup expect of
/// the old blue, and what the notifications say) and blue's resource id are the old blue's.
fn rebase_on_old_blue(source: &mut SourceDb, old: &OldBlue) {
    source.engine_version = old.engine_version.clone();
    source.resource_id = old.resource_id.clone();
    // The replicas found now are production's (green's, renamed): the old ones are what the
    // old blue lists (`OldBlue::replicas`), not these resource ids.
    for r in &mut source.topology.replicas {
        r.resource_id = None;
    }
}

/// Ours among the deployments found: the one with our deterministic name. After a switchover
/// RDS reports the renamed old blue as the source: when none of those is ours, the worker
/// looks ours up by name too.
pub fn our_deployment<'a>(
    deployments: &'a [DeploymentView],
    name: &str,
) -> Option<&'a DeploymentView> {
    deployments.iter().find(|d| d.name == name)
}

/// Where to look for the old blue, for a run started after the switchover: ours is switched
/// over (or switching, and the name already answers with the target version). Blue's resource
/// id is the deployment's `bluegreen:source-resource-id` tag.
pub fn old_blue_lookup(
    ours: Option<&DeploymentView>,
    source: &SourceDb,
    request: &Request,
) -> Option<OldBlueLookup> {
    let d = ours.filter(|d| {
        d.is_switched_over()
            || (d.is_switchover_in_progress()
                && source.engine_version == request.target_engine_version)
    })?;
    Some(OldBlueLookup {
        kind: source.kind,
        production: source.identifier.clone(),
        resource_id: d.tags.get(tags::SOURCE_RESOURCE_ID).cloned(),
        reported_source_arn: Some(d.source_arn.clone()),
    })
}

/// The parameter groups green will use, whose relevant parameters the precheck reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GreenParameterGroups {
    /// The named target cluster parameter group (Aurora).
    pub cluster: Option<String>,
    /// The named target DB parameter group, or the target family's default group when the
    /// source uses default groups only.
    pub instance: Option<String>,
}

/// The target parameter group choice: the named groups, else the target family's default
/// (`default.FAMILY`) when the source uses a default group.
pub fn green_parameter_groups(
    request: &Request,
    source: &SourceDb,
    target_version: Option<&EngineVersionInfo>,
) -> GreenParameterGroups {
    let instance = request.target_db_parameter_group_name.clone().or_else(|| {
        let source_default = source.parameter_groups.iter().all(|g| g.is_default());
        target_version
            .filter(|_| source_default)
            .map(|v| format!("default.{}", v.family))
    });
    GreenParameterGroups {
        cluster: request.target_db_cluster_parameter_group_name.clone(),
        instance,
    }
}
