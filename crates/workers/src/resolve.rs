//! `resolve`: the first step of a fleet execution. The fleet request (a `selector`, or an
//! EventBridge Scheduled Event) is resolved into its databases with paginated describes: the
//! RDS calls grow with the account, never per selected database. The result is the
//! campaign's first state.

use crate::intake::fleet_request;
use crate::runtime::{Deps, Invocation, Labelled};
use bluegreen_aws::{AwsRead, RdsRead};
use bluegreen_domain::fleet::{select, Campaign};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::execution::ExecutionInfo;
use bluegreen_domain::precheck::intake::check_event_origin;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The execution input as the fleet machine's `Receive` state wraps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Received {
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub execution: ExecutionInfo,
    /// The per-database state machine each database runs in (the definition names it).
    #[serde(default)]
    pub upgrade_state_machine: String,
}

impl Labelled for Received {
    fn execution(&self) -> String {
        self.execution.id.clone()
    }
    fn db(&self) -> String {
        "fleet".into()
    }
}

pub async fn handle<A: AwsRead>(
    deps: Deps<A>,
    received: Received,
    inv: Invocation,
) -> Result<Campaign, WorkerError> {
    let Some(request) = fleet_request(&received.input)? else {
        return Err(WorkerError::invalid(
            "this is the fleet state machine: it takes a request with a `selector` (or an \
             EventBridge Scheduled Event). Start a single database's request on the upgrade \
             state machine",
        ));
    };
    check_event_origin(
        "the Scheduled Event",
        request.event_account.as_deref(),
        request.event_region.as_deref(),
        inv.account_id().as_deref(),
        inv.region().as_deref(),
    )?;
    let candidates = deps.rds().fleet_candidates().await?;
    let not_databases: std::collections::BTreeSet<String> = deps
        .rds()
        .all_deployments()
        .await?
        .iter()
        .flat_map(|d| d.non_production_members())
        .collect();
    let selection = select(&request, &candidates, &not_databases)?;
    tracing::info!(
        candidates = candidates.len(),
        selected = selection.members.len(),
        reported = selection.skipped.len(),
        "fleet resolved"
    );
    Ok(Campaign::begin(
        request,
        selection,
        received.execution,
        received.upgrade_state_machine,
    ))
}
