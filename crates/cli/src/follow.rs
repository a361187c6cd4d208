//! Following an execution: DescribeExecution and GetExecutionHistory (paged) polled, the phase,
//! the elapsed time and, while green builds, a progress bar from the deployment's tasks and the
//! members still loading their data with their percentage (the run document's wait state); on
//! a terminal one line redrawn, otherwise a line per change (stderr).

use crate::awsctx::Aws;
use crate::exit::CliError;
use crate::history::{self, Approval, Event};
use crate::phase::{self, elapsed};
use bluegreen_aws::sfn::HistoryQuery;
use bluegreen_aws::{AwsError, RdsRead};
use bluegreen_domain::wait::Loading;
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// An execution as DescribeExecution reports it.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub status: String,
    pub started: f64,
    pub stopped: Option<f64>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Execution {
    pub fn running(&self) -> bool {
        self.status == "RUNNING"
    }
    pub fn elapsed(&self) -> f64 {
        self.stopped.unwrap_or_else(now) - self.started
    }
    /// The action the execution was started with (`plan` unless it says otherwise).
    pub fn action(&self) -> String {
        let input = self.input.as_ref();
        input
            .and_then(|i| i.get("action"))
            .or_else(|| input.and_then(|i| i.pointer("/fleet_member/request/action")))
            .or_else(|| input.and_then(|i| i.pointer("/continued/request/request/action")))
            .and_then(Value::as_str)
            .unwrap_or("plan")
            .to_string()
    }
    /// Whether it is an execution of the fleet machine (by its input).
    pub fn is_fleet(&self) -> bool {
        let input = self.input.as_ref();
        input.is_some_and(|i| i.get("selector").is_some() || i.get("continued").is_some())
    }
    /// The database it is about, from its input.
    pub fn db(&self) -> Option<String> {
        let input = self.input.as_ref()?;
        input
            .get("db_identifier")
            .or_else(|| input.pointer("/fleet_member/db_identifier"))
            .and_then(Value::as_str)
            .map(|s| s.rsplit(':').next().unwrap_or(s).to_string())
    }
}

/// DescribeExecution; `ExecutionDoesNotExist` is exit 4.
pub async fn describe(aws: &Aws, arn: &str) -> Result<Execution, CliError> {
    let d = aws
        .executions
        .describe(arn)
        .await
        .map_err(|e| execution_error(aws, arn, "describe the execution", &e))?;
    let json = |s: Option<&str>| s.and_then(|t| serde_json::from_str::<Value>(t).ok());
    Ok(Execution {
        input: json(d.input.as_deref()),
        output: json(d.output.as_deref()),
        arn: d.arn,
        name: d.name,
        status: d.status,
        started: d.started,
        stopped: d.stopped,
        error: d.error,
        cause: d.cause,
    })
}

/// The sentence for a failed call about one execution.
pub fn execution_error(aws: &Aws, arn: &str, what: &str, err: &AwsError) -> CliError {
    let fault = err.fault();
    match fault.code() {
        Some("ExecutionDoesNotExist") => CliError::not_found(format!(
            "no execution {arn} in {}: check the ARN or name (rbg ls lists the executions in flight)",
            aws.region
        )),
        Some("InvalidArn") => CliError::usage(format!(
            "`{arn}` is not an execution ARN: give arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME or the execution's name"
        )),
        _ => aws.explain(what, &fault),
    }
}

/// Reads an execution's history as it grows: the last page is read again until it is full,
/// then its nextToken leads on (events without their data: small pages).
pub struct Watch {
    pub arn: String,
    pub events: Vec<Event>,
    token: Option<String>,
    seen: usize,
}

impl Watch {
    pub fn new(arn: &str) -> Self {
        Self {
            arn: arn.to_string(),
            events: Vec::new(),
            token: None,
            seen: 0,
        }
    }

    pub async fn refresh(&mut self, aws: &Aws) -> Result<(), CliError> {
        loop {
            let query = HistoryQuery {
                max_results: 1000,
                newest_first: false,
                with_data: false,
                next_token: self.token.as_deref(),
            };
            let page = aws
                .executions
                .history(&self.arn, query)
                .await
                .map_err(|e| execution_error(aws, &self.arn, "read the execution's history", &e))?;
            let events = page.events.len();
            self.events.extend(page.events.into_iter().skip(self.seen));
            self.seen = events;
            match page.next_token {
                Some(t) => {
                    self.token = Some(t);
                    self.seen = 0;
                }
                None => return Ok(()),
            }
        }
    }
}

/// The newest `n` events with their data (run documents), oldest first.
pub async fn newest_with_data(aws: &Aws, arn: &str, n: i32) -> Result<Vec<Event>, CliError> {
    let query = HistoryQuery {
        max_results: n,
        newest_first: true,
        with_data: true,
        next_token: None,
    };
    let page = aws
        .executions
        .history(arn, query)
        .await
        .map_err(|e| execution_error(aws, arn, "read the execution's history", &e))?;
    let mut events = page.events;
    events.reverse();
    Ok(events)
}

/// The history back from the newest event, with data, until the approval state was entered
/// (or the whole history): what approve / reject read. Oldest first.
pub async fn history_for_approval(aws: &Aws, arn: &str) -> Result<Vec<Event>, CliError> {
    let mut newest_first: Vec<Event> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let query = HistoryQuery {
            max_results: 100,
            newest_first: true,
            with_data: true,
            next_token: token.as_deref(),
        };
        let page = aws
            .executions
            .history(arn, query)
            .await
            .map_err(|e| execution_error(aws, arn, "read the execution's history", &e))?;
        newest_first.extend(page.events);
        let entered = newest_first
            .iter()
            .any(|e| e.entered() && e.state.as_deref() == Some(history::APPROVAL_STATE));
        match page.next_token {
            Some(t) if !entered => token = Some(t),
            _ => break,
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// The deployment's tasks: (completed, all, the first one not completed); `None` when they
/// cannot be read. Read-only: it takes RDS's read port.
pub async fn deployment_tasks(
    rds: &impl RdsRead,
    id: &str,
) -> Option<(usize, usize, Option<String>)> {
    let d = rds.deployment(id).await.ok()??;
    let done = d.tasks.iter().filter(|t| t.status == "COMPLETED").count();
    let next = d
        .tasks
        .iter()
        .find(|t| t.status != "COMPLETED")
        .map(|t| t.name.clone())
        .filter(|name| !name.is_empty());
    Some((done, d.tasks.len(), next))
}

/// Green's members loading their data, as the run document's wait state (`wait.loading`) last
/// recorded them: `orders-pg-green-abc storage-initialization 42%`.
pub fn loading_of(doc: Option<&Value>) -> Vec<String> {
    doc.and_then(|d| d.pointer("/wait/loading"))
        .cloned()
        .and_then(|v| serde_json::from_value::<Vec<Loading>>(v).ok())
        .unwrap_or_default()
        .iter()
        .map(Loading::describe)
        .collect()
}

/// The commands that answer an approval, for the operator to copy.
pub fn approval_commands(arn: &str) -> String {
    format!("approve: rbg approve {arn}  |  reject: rbg reject {arn} --reason \"...\"")
}

/// What the progress line says now.
pub fn status_line(
    events: &[Event],
    execution: &Execution,
    tasks: Option<&(usize, usize, Option<String>)>,
    loading: &[String],
) -> String {
    let state = history::current_state(events)
        .map(|s| s.0)
        .unwrap_or("Receive");
    let after = history::has_entered(events, "Switchover");
    let phase = phase::phase(state, after);
    let mut line = format!("[{:>8}] {phase}", elapsed(execution.elapsed()));
    if phase::is_building(phase) {
        match tasks {
            Some((done, total, next)) => {
                line.push_str(&format!("  {}", phase::progress_bar(*done, *total, 20)));
                if let Some(n) = next {
                    line.push_str(&format!(" ({})", n.to_ascii_lowercase().replace('_', " ")));
                }
            }
            None => line.push_str("  (waiting for the deployment's tasks)"),
        }
        if !loading.is_empty() {
            line.push_str(&format!("  loading data: {}", loading.join(", ")));
        }
    }
    if state == history::APPROVAL_STATE {
        if let Approval::Waiting { .. } = history::approval(events) {
            line.push_str(&format!(": {}", approval_commands(&execution.arn)));
        }
    }
    line
}

/// Prints progress on stderr: a redrawn line on a terminal, otherwise a line per change.
pub struct Progress {
    tty: bool,
    last: String,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            last: String::new(),
            quiet,
        }
    }

    pub fn say(&mut self, line: &str) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr();
        if self.tty && !self.last.is_empty() {
            let _ = writeln!(err);
        }
        let _ = writeln!(err, "{line}");
        self.last.clear();
    }

    /// A status line: printed when it changed (ignoring the elapsed time).
    pub fn show(&mut self, line: &str) {
        if self.quiet {
            return;
        }
        let key = line.split_once("] ").map_or(line, |(_, rest)| rest);
        let last_key = self
            .last
            .split_once("] ")
            .map_or(self.last.as_str(), |(_, rest)| rest);
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        } else if key != last_key {
            let _ = writeln!(err, "{line}");
        }
        self.last = line.to_string();
    }

    pub fn done(&mut self) {
        if self.tty && !self.last.is_empty() && !self.quiet {
            let _ = writeln!(std::io::stderr());
        }
        self.last.clear();
    }
}

/// Follows `arn` until it ends; returns its final description.
pub async fn follow(
    aws: &Aws,
    arn: &str,
    poll: f64,
    progress: &mut Progress,
) -> Result<Execution, CliError> {
    let mut watch = Watch::new(arn);
    let mut deployment: Option<String> = None;
    let mut loading = Vec::new();
    loop {
        let execution = describe(aws, arn).await?;
        watch.refresh(aws).await?;
        let state = history::current_state(&watch.events)
            .map(|s| s.0)
            .unwrap_or("Receive");
        let building = phase::is_building(phase::phase(
            state,
            history::has_entered(&watch.events, "Switchover"),
        ));
        let mut tasks = None;
        if building && execution.running() {
            // The run document as the last poll left it: the deployment, and green's members
            // still loading their data (read on every poll: the percentage moves).
            let doc = newest_with_data(aws, arn, 3)
                .await
                .ok()
                .and_then(|events| history::latest_document(&events));
            if deployment.is_none() {
                deployment = doc
                    .as_ref()
                    .and_then(|d| d.pointer("/deployment/id"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            if doc.is_some() {
                loading = loading_of(doc.as_ref());
            }
            if let Some(id) = &deployment {
                tasks = deployment_tasks(&aws.rds, id).await;
            }
        } else {
            loading.clear();
        }
        if execution.running() {
            progress.show(&status_line(
                &watch.events,
                &execution,
                tasks.as_ref(),
                &loading,
            ));
        } else {
            progress.done();
            return Ok(execution);
        }
        tokio::time::sleep(Duration::from_secs_f64(poll.clamp(0.05, 60.0))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entered(state: &str) -> Event {
        Event {
            kind: "TaskStateEntered".into(),
            state: Some(state.into()),
            ..Event::default()
        }
    }

    #[test]
    fn the_line_shows_phase_progress_and_approval_commands() {
        let ex = Execution {
            arn: "arn:aws:states:us-east-1:1:execution:upgrade:x".into(),
            status: "RUNNING".into(),
            started: now() - 65.0,
            ..Execution::default()
        };
        let building = [entered("Precheck"), entered("Create"), entered("Wait")];
        let line = status_line(
            &building,
            &ex,
            Some(&(1, 4, Some("CREATING_READ_REPLICA_OF_SOURCE".into()))),
            &[],
        );
        assert!(
            line.starts_with("[   1m05s] building green  [#####---------------] 1/4 tasks"),
            "{line}"
        );
        assert!(
            line.ends_with("(creating read replica of source)"),
            "{line}"
        );
        let mut waiting = building.to_vec();
        waiting.push(entered("AwaitApproval"));
        waiting.push(Event {
            kind: "TaskScheduled".into(),
            parameters: Some(
                r#"{"Payload":{"milestone":"approval_requested","task_token":"t"}}"#.into(),
            ),
            ..Event::default()
        });
        let line = status_line(&waiting, &ex, None, &[]);
        assert!(line.contains("waiting for approval: approve: rbg approve arn:aws:states:us-east-1:1:execution:upgrade:x"), "{line}");
        assert!(
            line.contains(
                "reject: rbg reject arn:aws:states:us-east-1:1:execution:upgrade:x --reason"
            ),
            "{line}"
        );
    }

    #[test]
    fn the_action_and_database_come_from_the_input() {
        let ex = Execution {
            input: Some(
                serde_json::json!({"fleet_member": {"db_identifier": "a", "kind": "instance",
                "request": {"action": "upgrade"}}}),
            ),
            ..Execution::default()
        };
        assert_eq!(ex.action(), "upgrade");
        assert_eq!(ex.db().as_deref(), Some("a"));
        assert!(!ex.is_fleet());
        let fleet = Execution {
            input: Some(serde_json::json!({"selector": {"tags": {"a": "b"}}})),
            ..Execution::default()
        };
        assert!(fleet.is_fleet());
        assert_eq!(fleet.action(), "plan");
    }

    #[test]
    fn while_green_loads_its_data_the_line_shows_each_member_and_its_percentage() {
        let ex = Execution {
            status: "RUNNING".into(),
            started: now() - 7_300.0,
            ..Execution::default()
        };
        let doc = serde_json::json!({"wait": {"phase": "provisioning", "polls": 30,
            "consecutive_ready": 0, "next_delay_seconds": 300, "status": "AVAILABLE",
            "loading": [
                {"member": "orders-pg-green-abc", "status": "storage-initialization",
                 "percent": 42.0, "progressed_at_seconds": 7000},
                {"member": "orders-pg-r1-green-def", "status": "storage-initialization",
                 "progressed_at_seconds": 7000}]}});
        let loading = loading_of(Some(&doc));
        let building = [entered("Precheck"), entered("Create"), entered("Wait")];
        let line = status_line(&building, &ex, Some(&(4, 4, None)), &loading);
        assert!(
            line.starts_with("[2h01m40s] building green  [####################] 4/4 tasks"),
            "{line}"
        );
        assert!(
            line.ends_with(
                "  loading data: orders-pg-green-abc storage-initialization 42%, \
                 orders-pg-r1-green-def storage-initialization (no percentage reported)"
            ),
            "{line}"
        );
        assert!(loading_of(Some(&serde_json::json!({"wait": {}}))).is_empty());
        assert!(loading_of(None).is_empty());
    }
}
