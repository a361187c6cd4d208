//! `resolve`: the first step of every execution. A request that names one database (or an
//! alarm) goes on to the precheck unchanged, without an AWS call. A fleet request (a
//! `selector`, or an EventBridge Scheduled Event) is resolved into its databases with
//! paginated describes; each becomes one item of the state machine's Map state.

use crate::runtime::{Deps, Invocation, Labelled};
use bluegreen_domain::fleet::{fleet_request, select, FleetRun};
use bluegreen_domain::request::check_event_origin;
use bluegreen_domain::run::{ExecutionInfo, Run};
use bluegreen_domain::WorkerError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The execution input as the `Receive` state wraps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Received {
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub execution: ExecutionInfo,
}

impl Labelled for Received {
    fn execution(&self) -> String {
        self.execution.id.clone()
    }
    fn db(&self) -> String {
        let fleet = self.input.get("selector").is_some()
            || self.input.get("detail-type").and_then(Value::as_str)
                == Some(bluegreen_domain::names::events::SCHEDULED_EVENT);
        if fleet {
            return "fleet".into();
        }
        Run {
            input: Some(self.input.clone()),
            ..Run::default()
        }
        .db_label()
    }
}

pub async fn handle(
    deps: Deps,
    received: Received,
    inv: Invocation,
) -> Result<FleetRun, WorkerError> {
    let Some(request) = fleet_request(&received.input)? else {
        return Ok(FleetRun::single(received.input, received.execution));
    };
    check_event_origin(
        "the Scheduled Event",
        request.event_account.as_deref(),
        request.event_region.as_deref(),
        inv.account_id().as_deref(),
        inv.region().as_deref(),
    )?;
    let candidates = deps.rds.fleet_candidates().await?;
    let not_databases: std::collections::BTreeSet<String> = deps
        .rds
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
    Ok(FleetRun::fleet(request, selection, received.execution))
}
