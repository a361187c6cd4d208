//! What `ls` and `status DB` list: the blue/green deployments (RDS) and the executions in
//! flight (Step Functions).

use crate::awsctx::Aws;
use crate::exit::{CliError, Exit};
use crate::follow::{self, Execution};
use crate::history;
use crate::phase;
use bluegreen_aws::sfn::HistoryQuery;
use bluegreen_aws::Fault;
use bluegreen_domain::model::deployment::DeploymentView;
use serde_json::{json, Value};

/// A blue/green deployment, as `ls` and `status DB` list it.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: String,
    pub name: String,
    pub status: String,
    pub source: String,
    pub target: String,
    pub done: usize,
    pub total: usize,
}

impl Deployment {
    fn of(d: DeploymentView) -> Self {
        Self {
            done: d.tasks.iter().filter(|t| t.status == "COMPLETED").count(),
            total: d.tasks.len(),
            id: d.id,
            name: d.name,
            status: d.status,
            source: d.source_arn,
            target: d.target_arn,
        }
    }
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "status": self.status, "source": self.source,
               "target": self.target, "tasks": {"completed": self.done, "total": self.total}})
    }
    pub fn line(&self) -> String {
        let short = |arn: &str| arn.rsplit(':').next().unwrap_or(arn).to_string();
        format!(
            "  {}  {}  {} -> {}  {}  tasks {}/{}",
            self.name,
            self.id,
            short(&self.source),
            short(&self.target),
            self.status,
            self.done,
            self.total
        )
    }
}

/// Every deployment of the account and Region.
pub async fn deployments(aws: &Aws) -> Result<Vec<Deployment>, CliError> {
    Ok(aws
        .rds
        .all_deployments()
        .await
        .map_err(|e| aws.error("list the blue/green deployments", &e))?
        .into_iter()
        .map(Deployment::of)
        .collect())
}

/// An execution in flight.
pub struct InFlight {
    pub ex: Execution,
    pub phase: String,
}

impl InFlight {
    pub fn to_json(&self) -> Value {
        json!({"execution_arn": self.ex.arn, "name": self.ex.name, "db_identifier": self.ex.db(),
               "action": self.ex.action(), "fleet": self.ex.is_fleet(), "phase": self.phase,
               "elapsed_seconds": self.ex.elapsed().round()})
    }
    pub fn line(&self) -> String {
        format!(
            "  {}  {} {}  {}  {}  {}",
            self.ex.name,
            if self.ex.is_fleet() { "fleet" } else { "" },
            self.ex.action(),
            self.ex.db().unwrap_or_else(|| "-".into()),
            self.phase,
            phase::elapsed(self.ex.elapsed())
        )
        .replace("   ", "  ")
    }
}

/// The running executions of `machine`, each with its phase.
pub async fn in_flight(aws: &Aws, machine: &str) -> Result<Vec<InFlight>, CliError> {
    let running = aws
        .executions
        .list(machine, true, 100)
        .await
        .map_err(|e| list_error(aws, machine, &e.fault()))?;
    let mut out = Vec::new();
    for arn in running {
        let ex = match follow::describe(aws, &arn).await {
            Ok(ex) => ex,
            Err(e) if e.exit == Exit::NotFound => continue,
            Err(e) => return Err(e),
        };
        let query = HistoryQuery {
            max_results: 25,
            newest_first: true,
            with_data: false,
            next_token: None,
        };
        let recent = aws
            .executions
            .history(&ex.arn, query)
            .await
            .map(|p| {
                let mut events = p.events;
                events.reverse();
                events
            })
            .unwrap_or_default();
        let state = history::current_state(&recent)
            .map(|s| s.0.to_string())
            .unwrap_or_default();
        out.push(InFlight {
            phase: phase::phase(&state, history::has_entered(&recent, "Switchover")).to_string(),
            ex,
        });
    }
    Ok(out)
}

/// The sentence for a failed ListExecutions.
pub fn list_error(aws: &Aws, machine: &str, fault: &Fault) -> CliError {
    match fault.code() {
        Some("StateMachineDoesNotExist") => CliError::aws(format!(
            "state machine {machine} does not exist in {}: deploy the stack (make deploy) or fix --state-machine / RBG_STATE_MACHINE_ARN",
            aws.region
        )),
        _ => aws.explain("list the executions", fault),
    }
}
