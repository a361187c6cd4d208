//! Step Functions: the fleet starts and follows one execution of the per-database state
//! machine per database.

use crate::errors::{classify, code_of, Classify};
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;
use bluegreen_domain::fleet::{ChildRun, ChildStatus};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::run::Run;

#[derive(Clone, Debug)]
pub struct Executions {
    client: Client,
}

/// `arn:aws:states:R:A:stateMachine:M` + `N` -> `arn:aws:states:R:A:execution:M:N`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

impl Executions {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Starts an execution named `name`. Idempotent: the same name and input again is the
    /// same execution (an ExecutionAlreadyExists for one that has ended since is taken as
    /// started; the next poll reads how it ended).
    pub async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<String, WorkerError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(out) => Ok(out.execution_arn().to_string()),
            Err(e) if code_of(&e) == Some("ExecutionAlreadyExists") => {
                Ok(execution_arn(state_machine_arn, name))
            }
            Err(e) => Err(classify("states:StartExecution", &e)),
        }
    }

    /// How an execution stands; a succeeded one's output read as a run document.
    pub async fn status(&self, execution_arn: &str) -> Result<ChildStatus, WorkerError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .or_classify("states:DescribeExecution")?;
        Ok(match out.status() {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => ChildStatus::Running,
            ExecutionStatus::Succeeded => {
                match serde_json::from_str::<Run>(out.output().unwrap_or("{}")) {
                    Ok(run) => ChildStatus::Succeeded(Box::new(ChildRun::from(&run))),
                    Err(e) => ChildStatus::Unreadable(format!(
                        "the execution's output is not a run document ({e})"
                    )),
                }
            }
            ExecutionStatus::Failed => ChildStatus::Failed {
                error: out.error().unwrap_or("Unknown").to_string(),
                cause: out.cause().unwrap_or_default().to_string(),
            },
            other => ChildStatus::Ended(other.as_str().to_string()),
        })
    }
}
