//! Step Functions: the fleet starts and follows one execution of the per-database state
//! machine per database; rbg starts, lists, follows and answers executions.

use crate::errors::{AwsError, Classify};
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

/// An execution as DescribeExecution reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionDescription {
    pub arn: String,
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`.
    pub status: String,
    /// Epoch seconds.
    pub started: f64,
    pub stopped: Option<f64>,
    /// The input and output documents, as JSON text.
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// One history event, the fields rbg reads (GetExecutionHistory's `HistoryEvent`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryEvent {
    pub id: i64,
    pub previous_id: i64,
    /// The event type, e.g. `TaskStateEntered`, `TaskScheduled`.
    pub kind: String,
    /// Epoch seconds.
    pub timestamp: f64,
    /// The state, for `*StateEntered` / `*StateExited`.
    pub state: Option<String>,
    /// The state's input (entered), output (exited), a task's or the execution's output.
    pub data: Option<String>,
    /// `TaskScheduled`: the resolved parameters (JSON text) and the resource.
    pub parameters: Option<String>,
    pub resource: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl HistoryEvent {
    /// A `*StateEntered` event.
    pub fn entered(&self) -> bool {
        self.kind.ends_with("StateEntered")
    }

    fn from_sdk(e: &aws_sdk_sfn::types::HistoryEvent) -> Self {
        let mut out = Self {
            id: e.id(),
            previous_id: e.previous_event_id(),
            kind: e.r#type().as_str().to_string(),
            timestamp: e.timestamp().as_secs_f64(),
            ..Self::default()
        };
        if let Some(d) = e.state_entered_event_details() {
            out.state = Some(d.name().to_string());
            out.data = d.input().map(str::to_string);
        }
        if let Some(d) = e.state_exited_event_details() {
            out.state = Some(d.name().to_string());
            out.data = d.output().map(str::to_string);
        }
        if let Some(d) = e.task_scheduled_event_details() {
            out.parameters = Some(d.parameters().to_string());
            out.resource = Some(d.resource().to_string());
        }
        if let Some(d) = e.task_succeeded_event_details() {
            out.data = d.output().map(str::to_string);
        }
        if let Some(d) = e.execution_succeeded_event_details() {
            out.data = d.output().map(str::to_string);
        }
        let failure = e
            .task_failed_event_details()
            .map(|d| (d.error(), d.cause()))
            .or_else(|| {
                e.task_timed_out_event_details()
                    .map(|d| (d.error(), d.cause()))
            })
            .or_else(|| {
                e.execution_failed_event_details()
                    .map(|d| (d.error(), d.cause()))
            })
            .or_else(|| {
                e.execution_aborted_event_details()
                    .map(|d| (d.error(), d.cause()))
            })
            .or_else(|| {
                e.execution_timed_out_event_details()
                    .map(|d| (d.error(), d.cause()))
            })
            .or_else(|| {
                e.lambda_function_failed_event_details()
                    .map(|d| (d.error(), d.cause()))
            });
        if let Some((error, cause)) = failure {
            out.error = error.map(str::to_string);
            out.cause = cause.map(str::to_string);
        }
        out
    }
}

/// Which page of an execution's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery<'a> {
    pub max_results: i32,
    /// Newest event first (`reverseOrder`).
    pub newest_first: bool,
    /// With the states' input and output and the tasks' parameters (`includeExecutionData`).
    pub with_data: bool,
    /// The page after the one that answered this token.
    pub next_token: Option<&'a str>,
}

/// One page of an execution's history, in the order asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPage {
    pub events: Vec<HistoryEvent>,
    pub next_token: Option<String>,
}

impl Executions {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
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
            .start_execution(state_machine_arn, Some(name), input)
            .await
        {
            Ok(arn) => Ok(arn),
            Err(e) if e.code() == Some("ExecutionAlreadyExists") => {
                Ok(execution_arn(state_machine_arn, name))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// StartExecution, named `name` or by Step Functions; its ARN. An execution of that name
    /// is refused (ExecutionAlreadyExists) unless the input is the same.
    pub async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: &str,
    ) -> Result<String, AwsError> {
        let call = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .set_name(name.map(str::to_string))
            .input(input);
        match call.send().await {
            Ok(out) => Ok(out.execution_arn().to_string()),
            Err(e) => Err(AwsError::new("states:StartExecution", &e)),
        }
    }

    /// How an execution stands; a succeeded one's output read as a run document.
    pub async fn status(&self, execution_arn: &str) -> Result<ChildStatus, WorkerError> {
        let out = self.describe(execution_arn).await?;
        Ok(match out.status.as_str() {
            "RUNNING" | "PENDING_REDRIVE" => ChildStatus::Running,
            "SUCCEEDED" => match serde_json::from_str::<Run>(out.output.as_deref().unwrap_or("{}"))
            {
                Ok(run) => ChildStatus::Succeeded(Box::new(ChildRun::from(&run))),
                Err(e) => ChildStatus::Unreadable(format!(
                    "the execution's output is not a run document ({e})"
                )),
            },
            "FAILED" => ChildStatus::Failed {
                error: out.error.unwrap_or_else(|| "Unknown".into()),
                cause: out.cause.unwrap_or_default(),
            },
            other => ChildStatus::Ended(other.to_string()),
        })
    }

    /// DescribeExecution.
    pub async fn describe(&self, execution_arn: &str) -> Result<ExecutionDescription, AwsError> {
        let d = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .or_aws("states:DescribeExecution")?;
        Ok(ExecutionDescription {
            arn: d.execution_arn().to_string(),
            name: d.name().unwrap_or_default().to_string(),
            status: d.status().as_str().to_string(),
            started: d.start_date().as_secs_f64(),
            stopped: d.stop_date().map(|t| t.as_secs_f64()),
            input: d.input().map(str::to_string),
            output: d.output().map(str::to_string),
            error: d.error().map(str::to_string),
            cause: d.cause().map(str::to_string),
        })
    }

    /// One page of an execution's history (GetExecutionHistory).
    pub async fn history(
        &self,
        execution_arn: &str,
        query: HistoryQuery<'_>,
    ) -> Result<HistoryPage, AwsError> {
        let mut call = self
            .client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(query.max_results)
            .include_execution_data(query.with_data)
            .set_next_token(query.next_token.map(str::to_string));
        if query.newest_first {
            call = call.reverse_order(true);
        }
        let page = call.send().await.or_aws("states:GetExecutionHistory")?;
        Ok(HistoryPage {
            events: page.events().iter().map(HistoryEvent::from_sdk).collect(),
            next_token: page.next_token().map(str::to_string),
        })
    }

    /// The ARNs of a state machine's executions, newest first (ListExecutions, one page of at
    /// most `max_results`); the running ones alone with `running_only`.
    pub async fn list(
        &self,
        state_machine_arn: &str,
        running_only: bool,
        max_results: i32,
    ) -> Result<Vec<String>, AwsError> {
        let mut call = self
            .client
            .list_executions()
            .state_machine_arn(state_machine_arn)
            .max_results(max_results);
        if running_only {
            call = call.status_filter(ExecutionStatus::Running);
        }
        let out = call.send().await.or_aws("states:ListExecutions")?;
        Ok(out
            .executions()
            .iter()
            .map(|e| e.execution_arn().to_string())
            .collect())
    }

    /// Answers a task token with success and `output` (JSON text): SendTaskSuccess.
    pub async fn send_task_success(&self, token: &str, output: &str) -> Result<(), AwsError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
            .or_aws("states:SendTaskSuccess")
            .map(|_| ())
    }

    /// Answers a task token with a failure, its error name and cause: SendTaskFailure.
    pub async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), AwsError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .or_aws("states:SendTaskFailure")
            .map(|_| ())
    }
}
