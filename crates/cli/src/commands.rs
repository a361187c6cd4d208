//! The commands.

use crate::awsctx::{Aws, Failure};
use crate::cli::{self, ActionName, Cli, Command, Global, Start};
use crate::discover::{self, Discovery, Machine};
use crate::exit::{CliError, Exit};
use crate::follow::{self, Execution, Progress};
use crate::history::{self, Approval, Closed};
use crate::phase;
use crate::render;
use bluegreen_domain::fleet::{Outcome, Row, Summary};
use bluegreen_domain::run::Run;
use serde_json::{json, Value};

pub struct Ctx {
    pub aws: Aws,
    pub global: Global,
    pub discovery: Discovery,
}

impl Ctx {
    async fn machine(&mut self, which: Machine) -> Result<String, CliError> {
        self.discovery.machine(&self.aws, &self.global, which).await
    }
    fn json(&self) -> bool {
        self.global.json
    }
    fn width(&self) -> usize {
        render::width()
    }
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// What a followed execution was asked to do, for its outcome and exit code.
#[derive(Debug, Clone, Copy)]
struct Ask<'a> {
    action: &'a str,
    rate: Option<f64>,
}

pub async fn run(cli: Cli) -> Result<Exit, CliError> {
    let Cli { global, command } = cli;
    // Inputs first: a refused input needs no AWS.
    let input = match &command {
        Command::Plan(a) => {
            cli::check_rate(a.rate)?;
            Some(cli::request(&a.target, ActionName::Plan, &a.options)?)
        }
        Command::Prepare(a) => Some(cli::request(&a.target, ActionName::Prepare, &a.options)?),
        Command::Upgrade(a) => Some(cli::request(&a.target, ActionName::Upgrade, &a.options)?),
        Command::Switchover(a) => {
            Some(cli::request(&a.target, ActionName::Switchover, &a.options)?)
        }
        Command::Abort(a) => Some(cli::request(&a.target, ActionName::Abort, &a.options)?),
        Command::Cleanup(a) => Some(cli::request(&a.target, ActionName::Cleanup, &a.options)?),
        Command::Fleet(f) => {
            cli::check_rate(f.rate)?;
            Some(cli::fleet_request(f)?)
        }
        Command::Status(s) => {
            cli::check_rate(s.rate)?;
            None
        }
        _ => None,
    };
    if let Some(sm) = &global.state_machine {
        discover::check_machine_arn(sm, "--state-machine ARN (or RBG_STATE_MACHINE_ARN)")?;
    }
    if let Some(sm) = &global.fleet_state_machine {
        discover::check_machine_arn(
            sm,
            "--fleet-state-machine ARN (or RBG_FLEET_STATE_MACHINE_ARN)",
        )?;
    }
    let aws = Aws::connect(global.profile.as_deref(), global.region.as_deref()).await?;
    let mut ctx = Ctx {
        aws,
        global,
        discovery: Discovery::new(),
    };
    match command {
        Command::Plan(a) => {
            let ask = Ask {
                action: "plan",
                rate: a.rate,
            };
            start_and_follow(
                &mut ctx,
                Machine::Upgrade,
                input.unwrap_or_default(),
                &a.start,
                ask,
            )
            .await
        }
        Command::Prepare(a)
        | Command::Upgrade(a)
        | Command::Switchover(a)
        | Command::Abort(a)
        | Command::Cleanup(a) => {
            let action = input
                .as_ref()
                .and_then(|i| i.get("action"))
                .and_then(Value::as_str)
                .unwrap_or("plan")
                .to_string();
            let ask = Ask {
                action: &action,
                rate: None,
            };
            start_and_follow(
                &mut ctx,
                Machine::Upgrade,
                input.unwrap_or_default(),
                &a.start,
                ask,
            )
            .await
        }
        Command::Fleet(f) => {
            let ask = Ask {
                action: f.action.as_str(),
                rate: f.rate,
            };
            start_and_follow(
                &mut ctx,
                Machine::Fleet,
                input.unwrap_or_default(),
                &f.start,
                ask,
            )
            .await
        }
        Command::Status(s) => status(&mut ctx, s.target.as_deref(), s.follow, s.rate).await,
        Command::Approve(a) => {
            let by = a.by.unwrap_or_else(default_user);
            answer(
                &mut ctx,
                &a.execution,
                Answer::Approve {
                    by,
                    comment: a.comment,
                },
            )
            .await
        }
        Command::Reject(r) => {
            let by = r.by.unwrap_or_else(default_user);
            answer(
                &mut ctx,
                &r.execution,
                Answer::Reject {
                    by,
                    reason: r.reason,
                },
            )
            .await
        }
        Command::Ls => ls(&mut ctx).await,
    }
}

fn default_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

// ---------------------------------------------------------------- start and follow

async fn start_and_follow(
    ctx: &mut Ctx,
    which: Machine,
    input: Value,
    start: &Start,
    ask: Ask<'_>,
) -> Result<Exit, CliError> {
    let machine = ctx.machine(which).await?;
    let mut call = ctx
        .aws
        .sfn
        .start_execution()
        .state_machine_arn(&machine)
        .input(input.to_string());
    if let Some(name) = &start.name {
        if !discover::is_execution_name(name) {
            return Err(CliError::usage(format!(
                "--name `{}` is not an execution name: use 1-80 letters, digits, - and _",
                name.escape_debug()
            )));
        }
        call = call.name(name);
    }
    let started = call.send().await.map_err(|e| {
        let failure = ctx.aws.failure(&e);
        start_error(&ctx.aws, &machine, which, &failure)
    })?;
    let arn = started.execution_arn().to_string();
    let mut progress = Progress::new(false);
    let what = describe_input(&input, which);
    progress.say(&format!("rbg: {what}: execution {arn}"));
    if start.no_follow {
        if ctx.json() {
            print_json(&json!({"execution_arn": arn}));
        } else {
            println!("{arn}");
        }
        return Ok(Exit::Ok);
    }
    let ex = follow::follow(&ctx.aws, &arn, ctx.global.poll_seconds, &mut progress).await?;
    finish(ctx, &ex, ask).await
}

fn describe_input(input: &Value, which: Machine) -> String {
    let action = input
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("plan");
    match which {
        Machine::Upgrade => format!(
            "{action} {} to {}",
            input
                .get("db_identifier")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            input
                .get("target_engine_version")
                .and_then(Value::as_str)
                .unwrap_or("?")
        ),
        Machine::Fleet => {
            let tags: Vec<String> = input
                .pointer("/selector/tags")
                .and_then(Value::as_object)
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            format!("fleet {action} of the databases tagged {}", tags.join(", "))
        }
    }
}

fn start_error(aws: &Aws, machine: &str, which: Machine, failure: &Failure) -> CliError {
    let flag = match which {
        Machine::Upgrade => "--state-machine / RBG_STATE_MACHINE_ARN",
        Machine::Fleet => "--fleet-state-machine / RBG_FLEET_STATE_MACHINE_ARN",
    };
    match failure {
        Failure::Service { code, .. } if code == "StateMachineDoesNotExist" => CliError::aws(format!(
            "state machine {machine} does not exist in {}: deploy the stack (make deploy) or fix {flag}",
            aws.region
        )),
        Failure::Service { code, .. } if code == "StateMachineDeleting" => CliError::aws(format!(
            "state machine {machine} is being deleted: deploy the stack again (make deploy) or fix {flag}"
        )),
        Failure::Service { code, .. } if code == "ExecutionAlreadyExists" => CliError::usage(
            "an execution with this --name already exists with another input: pick another --name, or drop it",
        ),
        Failure::Service { code, message }
            if ["InvalidName", "InvalidExecutionInput", "ValidationException", "InvalidArn"].contains(&code.as_str()) =>
        {
            CliError::usage(format!(
                "Step Functions refused the execution ({code}: {}): fix it and run again",
                crate::awsctx::short(message)
            ))
        }
        _ => aws.explain("start the execution", failure),
    }
}

/// The outcome of an ended execution: printed, and its exit code.
async fn finish(ctx: &Ctx, ex: &Execution, ask: Ask<'_>) -> Result<Exit, CliError> {
    let fleet_output = ex.output.as_ref().is_some_and(|o| o.get("rows").is_some());
    if ex.is_fleet() || fleet_output {
        return finish_fleet(ctx, ex, ask).await;
    }
    let took = phase::elapsed(ex.elapsed());
    if ex.status == "SUCCEEDED" {
        let output = ex.output.clone().unwrap_or(Value::Null);
        if let Some(fleet) = output.get("fleet_execution").and_then(Value::as_str) {
            if ctx.json() {
                print_json(&output);
            } else {
                println!("handed over to the fleet execution {fleet}: follow it with `rbg status {fleet} --follow`");
            }
            return Ok(Exit::Ok);
        }
        let run: Run = serde_json::from_value(output.clone()).map_err(|e| {
            CliError::new(
                Exit::ExecutionFailed,
                format!(
                    "the execution succeeded but its output is not a run document ({e}): deploy the \
                     state machine and rbg from the same release"
                ),
            )
        })?;
        let mut doc = output;
        if let Some(rate) = ask.rate {
            rerate(&mut doc, &run, rate);
        }
        if ctx.json() {
            print_json(&doc);
        } else if ask.action == "plan" {
            print!("{}", render::plan(&run, ask.rate, ctx.width()));
        } else {
            print!("{}", render::summary(&run, &took, ctx.width()));
        }
        if ask.action == "plan" {
            return Ok(if render::plan_fails(&run) {
                Exit::ChecksFail
            } else {
                Exit::Ok
            });
        }
        return Ok(exit_for(ask.action, render::outcome(&run)));
    }
    // FAILED, TIMED_OUT, ABORTED.
    let error = ex
        .error
        .clone()
        .unwrap_or_else(|| format!("States.{}", ex.status));
    let cause = ex.cause.clone().unwrap_or_default();
    let message = message_of(&cause);
    if ctx.json() {
        print_json(
            &json!({"execution_arn": ex.arn, "status": ex.status, "error": error, "cause": cause}),
        );
    } else if error == "PrecheckFailed" {
        // The failing checks as a table, from the run document the precheck left.
        if let Ok(events) = follow::newest_with_data(&ctx.aws, &ex.arn, 25).await {
            if let Some(run) = history::latest_document(&events)
                .and_then(|d| serde_json::from_value::<Run>(d).ok())
            {
                if let Some(report) = &run.report {
                    let failing: Vec<_> = report.failures().into_iter().cloned().collect();
                    print!("{}", render::check_table(&failing, ctx.width()));
                }
            }
        }
    }
    let exit = if error == "SourceNotFound" {
        Exit::NotFound
    } else {
        Exit::ExecutionFailed
    };
    Err(CliError::new(
        exit,
        failure_sentence(ex, &error, &message, &took),
    ))
}

/// The message of a failure's cause (a Lambda error's JSON carries it in `errorMessage`).
pub fn message_of(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|c| {
            c.get("errorMessage")
                .or_else(|| c.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string())
}

fn failure_sentence(ex: &Execution, error: &str, message: &str, took: &str) -> String {
    let message = crate::awsctx::short(message);
    match ex.status.as_str() {
        "TIMED_OUT" => format!(
            "the execution timed out after {took} ({error}): start the same request again, it continues where this one stopped"
        ),
        "ABORTED" => format!(
            "the execution was stopped after {took} ({error}{}): start the same request again, it continues where this one stopped",
            if message.is_empty() { String::new() } else { format!(": {message}") }
        ),
        _ if message.is_empty() => format!("the execution failed after {took}: {error}"),
        _ => format!("the execution failed after {took}: {error}: {message}"),
    }
}

/// `--rate`: the plan's estimate re-computed at that rate (from the vCPUs billed).
fn rerate(doc: &mut Value, run: &Run, rate: f64) {
    let Some(cost) = run.report.as_ref().and_then(|r| r.cost_of_waiting.as_ref()) else {
        return;
    };
    if let Some(c) = doc
        .pointer_mut("/report/cost_of_waiting")
        .and_then(Value::as_object_mut)
    {
        c.insert("rate_per_vcpu_hour".into(), json!(rate));
        c.insert(
            "monthly_usd".into(),
            json!(render::monthly_at(cost, Some(rate))),
        );
    }
}

/// The exit code of a run's outcome for the action asked.
pub fn exit_for(action: &str, outcome: Outcome) -> Exit {
    match outcome {
        Outcome::Failed => Exit::ExecutionFailed,
        Outcome::Succeeded | Outcome::SwitchedOver | Outcome::Planned | Outcome::NothingToDo => {
            Exit::Ok
        }
        Outcome::Prepared if action == "prepare" => Exit::Ok,
        Outcome::Aborted if action == "abort" => Exit::Ok,
        Outcome::Prepared
        | Outcome::Aborted
        | Outcome::SwitchoverSkipped
        | Outcome::Rejected
        | Outcome::AlreadyInProgress
        | Outcome::NotStarted
        | Outcome::Skipped => Exit::Pending,
    }
}

async fn finish_fleet(ctx: &Ctx, ex: &Execution, ask: Ask<'_>) -> Result<Exit, CliError> {
    let campaign = match &ex.output {
        Some(o) if o.get("rows").is_some() => Some(o.clone()),
        _ => follow::newest_with_data(&ctx.aws, &ex.arn, 25)
            .await
            .ok()
            .and_then(|events| history::last_output_with(&events, "rows")),
    };
    let rows: Vec<Row> = campaign
        .as_ref()
        .and_then(|c| c.get("rows"))
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default();
    if ctx.json() {
        match &campaign {
            Some(c) => print_json(c),
            None => print_json(
                &json!({"execution_arn": ex.arn, "status": ex.status, "error": ex.error, "cause": ex.cause}),
            ),
        }
    } else {
        let summary = Summary::of(&rows, false);
        println!("fleet {}: {}", ask.action, summary.headline());
        if !rows.is_empty() {
            println!();
            print!("{}", render::fleet_table(&rows, ask.rate));
        }
    }
    if ex.status != "SUCCEEDED" {
        let error = ex
            .error
            .clone()
            .unwrap_or_else(|| format!("States.{}", ex.status));
        let message = message_of(ex.cause.as_deref().unwrap_or_default());
        let took = phase::elapsed(ex.elapsed());
        return Err(CliError::new(
            Exit::ExecutionFailed,
            failure_sentence(ex, &error, &message, &took),
        ));
    }
    let failing_plan = rows.iter().any(|r| {
        r.outcome == Outcome::Planned
            && r.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("failed prechecks"))
    });
    if ask.action == "plan" && failing_plan {
        return Ok(Exit::ChecksFail);
    }
    let worst = rows
        .iter()
        .map(|r| exit_for(ask.action, r.outcome))
        .max_by_key(|e| match e {
            Exit::ExecutionFailed => 3,
            Exit::Pending => 2,
            _ => 1,
        })
        .unwrap_or(Exit::Ok);
    Ok(if worst == Exit::Pending && ask.action == "plan" {
        Exit::Ok
    } else {
        worst
    })
}

// ---------------------------------------------------------------- status

async fn status(
    ctx: &mut Ctx,
    target: Option<&str>,
    follow_it: bool,
    rate: Option<f64>,
) -> Result<Exit, CliError> {
    let Some(target) = target else {
        let machine = ctx.machine(Machine::Upgrade).await?;
        let list = ctx
            .aws
            .sfn
            .list_executions()
            .state_machine_arn(&machine)
            .max_results(1)
            .send()
            .await
            .map_err(|e| list_error(&ctx.aws, &machine, &ctx.aws.failure(&e)))?;
        let Some(latest) = list.executions().first() else {
            return Err(CliError::not_found(format!(
                "no execution of {machine} yet: start one (rbg plan DB --to VERSION)"
            )));
        };
        let arn = latest.execution_arn().to_string();
        return show_execution(ctx, &arn, follow_it, rate).await;
    };
    if target.starts_with("arn:") && target.contains(":states:") {
        let arn = discover::execution_arn("", target)?;
        return show_execution(ctx, &arn, follow_it, rate).await;
    }
    let is_db =
        target.starts_with("arn:") || bluegreen_domain::model::db::validate_db_name(target).is_ok();
    if is_db {
        let name = bluegreen_domain::model::db::DbRef::parse(target)
            .map_err(|e| CliError::usage(cli::sentence(&e.to_string())))?
            .name;
        match show_database(ctx, &name).await {
            Err(e) if e.exit == Exit::NotFound && !target.starts_with("arn:") => {}
            other => return other,
        }
    }
    // An execution's name: of the upgrade machine, else of the fleet machine.
    let upgrade = ctx.machine(Machine::Upgrade).await?;
    let arn = discover::execution_arn(&upgrade, target)?;
    match follow::describe(&ctx.aws, &arn).await {
        Ok(_) => return show_execution(ctx, &arn, follow_it, rate).await,
        Err(e) if e.exit != Exit::NotFound => return Err(e),
        Err(_) => {}
    }
    if let Ok(fleet) = ctx.machine(Machine::Fleet).await {
        let arn = discover::execution_arn(&fleet, target)?;
        if follow::describe(&ctx.aws, &arn).await.is_ok() {
            return show_execution(ctx, &arn, follow_it, rate).await;
        }
    }
    Err(CliError::not_found(format!(
        "no database or execution named {target} in {}: check the name (rbg ls lists deployments and executions in flight)",
        ctx.aws.region
    )))
}

async fn show_execution(
    ctx: &mut Ctx,
    arn: &str,
    follow_it: bool,
    rate: Option<f64>,
) -> Result<Exit, CliError> {
    let mut ex = follow::describe(&ctx.aws, arn).await?;
    let action = ex.action();
    if ex.running() && follow_it {
        let mut progress = Progress::new(false);
        progress.say(&format!("rbg: following {arn}"));
        ex = follow::follow(&ctx.aws, arn, ctx.global.poll_seconds, &mut progress).await?;
    }
    if !ex.running() {
        return finish(
            ctx,
            &ex,
            Ask {
                action: &action,
                rate,
            },
        )
        .await;
    }
    let mut watch = follow::Watch::new(arn);
    watch.refresh(&ctx.aws).await?;
    let events = follow::newest_with_data(&ctx.aws, arn, 5).await?;
    let doc = history::latest_document(&events);
    let state = history::current_state(&watch.events)
        .map(|s| s.0.to_string())
        .unwrap_or_default();
    let phase = phase::phase(&state, history::has_entered(&watch.events, "Switchover"));
    let mut tasks = None;
    if phase::is_building(phase) {
        if let Some(id) = doc
            .as_ref()
            .and_then(|d| d.pointer("/deployment/id"))
            .and_then(Value::as_str)
        {
            tasks = follow::deployment_tasks(&ctx.aws, id).await;
        }
    }
    if ctx.json() {
        print_json(&json!({
            "execution_arn": arn, "status": ex.status, "action": action, "state": state, "phase": phase,
            "elapsed_seconds": ex.elapsed().round(), "db_identifier": ex.db(),
            "waiting_for_approval": matches!(history::approval(&watch.events), Approval::Waiting { .. }),
            "tasks": tasks.as_ref().map(|(d, t, _)| json!({"completed": d, "total": t})),
            "run": doc,
        }));
    } else {
        println!(
            "{} {}: {} (running)",
            action,
            ex.db().unwrap_or_else(|| "fleet".into()),
            arn
        );
        println!(
            "{}",
            follow::status_line(&watch.events, &ex, tasks.as_ref())
        );
    }
    Ok(Exit::Ok)
}

fn list_error(aws: &Aws, machine: &str, failure: &Failure) -> CliError {
    match failure.code() {
        Some("StateMachineDoesNotExist") => CliError::aws(format!(
            "state machine {machine} does not exist in {}: deploy the stack (make deploy) or fix --state-machine / RBG_STATE_MACHINE_ARN",
            aws.region
        )),
        _ => aws.explain("list the executions", failure),
    }
}

/// A database as DescribeDBInstances / DescribeDBClusters reports it.
struct Database {
    name: String,
    arn: String,
    engine: String,
    version: String,
    status: String,
    class: Option<String>,
    multi_az: bool,
    kind: &'static str,
}

async fn database(aws: &Aws, name: &str) -> Result<Database, CliError> {
    match aws
        .rds
        .describe_db_instances()
        .db_instance_identifier(name)
        .send()
        .await
    {
        Ok(out) => {
            if let Some(d) = out.db_instances().first() {
                return Ok(Database {
                    name: name.to_string(),
                    arn: d.db_instance_arn().unwrap_or_default().to_string(),
                    engine: d.engine().unwrap_or_default().to_string(),
                    version: d.engine_version().unwrap_or_default().to_string(),
                    status: d.db_instance_status().unwrap_or_default().to_string(),
                    class: d.db_instance_class().map(str::to_string),
                    multi_az: d.multi_az().unwrap_or(false),
                    kind: "instance",
                });
            }
        }
        Err(e) => {
            let f = aws.failure(&e);
            if f.code() != Some("DBInstanceNotFound") && f.code() != Some("DBInstanceNotFoundFault")
            {
                return Err(aws.explain("describe the database", &f));
            }
        }
    }
    match aws
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(name)
        .send()
        .await
    {
        Ok(out) => {
            if let Some(c) = out.db_clusters().first() {
                return Ok(Database {
                    name: name.to_string(),
                    arn: c.db_cluster_arn().unwrap_or_default().to_string(),
                    engine: c.engine().unwrap_or_default().to_string(),
                    version: c.engine_version().unwrap_or_default().to_string(),
                    status: c.status().unwrap_or_default().to_string(),
                    class: c.db_cluster_instance_class().map(str::to_string),
                    multi_az: c.multi_az().unwrap_or(false),
                    kind: "cluster",
                });
            }
        }
        Err(e) => {
            let f = aws.failure(&e);
            if f.code() != Some("DBClusterNotFoundFault") {
                return Err(aws.explain("describe the database", &f));
            }
        }
    }
    Err(CliError::not_found(format!(
        "no database {name} in {}: check the name (aws rds describe-db-instances) and the Region",
        aws.region
    )))
}

/// A blue/green deployment, as `ls` and `status DB` list it.
#[derive(Debug, Clone)]
struct Deployment {
    id: String,
    name: String,
    status: String,
    source: String,
    target: String,
    done: usize,
    total: usize,
}

impl Deployment {
    fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "status": self.status, "source": self.source,
               "target": self.target, "tasks": {"completed": self.done, "total": self.total}})
    }
    fn line(&self) -> String {
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

async fn deployments(aws: &Aws) -> Result<Vec<Deployment>, CliError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = aws
            .rds
            .describe_blue_green_deployments()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| aws.error("list the blue/green deployments", &e))?;
        for d in page.blue_green_deployments() {
            let tasks = d.tasks();
            out.push(Deployment {
                id: d
                    .blue_green_deployment_identifier()
                    .unwrap_or_default()
                    .to_string(),
                name: d
                    .blue_green_deployment_name()
                    .unwrap_or_default()
                    .to_string(),
                status: d.status().unwrap_or_default().to_string(),
                source: d.source().unwrap_or_default().to_string(),
                target: d.target().unwrap_or_default().to_string(),
                done: tasks
                    .iter()
                    .filter(|t| t.status() == Some("COMPLETED"))
                    .count(),
                total: tasks.len(),
            });
        }
        match page.marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(out),
        }
    }
}

/// An execution in flight.
struct InFlight {
    ex: Execution,
    phase: String,
}

impl InFlight {
    fn to_json(&self) -> Value {
        json!({"execution_arn": self.ex.arn, "name": self.ex.name, "db_identifier": self.ex.db(),
               "action": self.ex.action(), "fleet": self.ex.is_fleet(), "phase": self.phase,
               "elapsed_seconds": self.ex.elapsed().round()})
    }
    fn line(&self) -> String {
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

async fn in_flight(aws: &Aws, machine: &str) -> Result<Vec<InFlight>, CliError> {
    let list = aws
        .sfn
        .list_executions()
        .state_machine_arn(machine)
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Running)
        .max_results(100)
        .send()
        .await
        .map_err(|e| list_error(aws, machine, &aws.failure(&e)))?;
    let mut out = Vec::new();
    for item in list.executions() {
        let ex = match follow::describe(aws, item.execution_arn()).await {
            Ok(ex) => ex,
            Err(e) if e.exit == Exit::NotFound => continue,
            Err(e) => return Err(e),
        };
        let recent = aws
            .sfn
            .get_execution_history()
            .execution_arn(&ex.arn)
            .reverse_order(true)
            .max_results(25)
            .include_execution_data(false)
            .send()
            .await
            .map(|p| {
                let mut events: Vec<_> = p.events().iter().map(history::Event::from_sdk).collect();
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

async fn show_database(ctx: &mut Ctx, name: &str) -> Result<Exit, CliError> {
    let db = database(&ctx.aws, name).await?;
    let deps: Vec<Deployment> = deployments(&ctx.aws)
        .await?
        .into_iter()
        .filter(|d| {
            d.source == db.arn
                || d.target == db.arn
                || d.name
                    .starts_with(&bluegreen_domain::model::names::deployment_name_prefix(
                        name,
                    ))
        })
        .collect();
    let machine = ctx.machine(Machine::Upgrade).await?;
    let runs: Vec<InFlight> = in_flight(&ctx.aws, &machine)
        .await?
        .into_iter()
        .filter(|r| r.ex.db().as_deref() == Some(name))
        .collect();
    if ctx.json() {
        print_json(&json!({
            "database": {"identifier": db.name, "arn": db.arn, "kind": db.kind, "engine": db.engine,
                         "engine_version": db.version, "status": db.status, "instance_class": db.class,
                         "multi_az": db.multi_az},
            "deployments": deps.iter().map(Deployment::to_json).collect::<Vec<_>>(),
            "executions": runs.iter().map(InFlight::to_json).collect::<Vec<_>>(),
        }));
        return Ok(Exit::Ok);
    }
    println!(
        "{} ({}): {} {}, {}{}{}",
        db.name,
        db.kind,
        db.engine,
        db.version,
        db.status,
        db.class
            .as_ref()
            .map(|c| format!(", {c}"))
            .unwrap_or_default(),
        if db.multi_az { ", Multi-AZ" } else { "" }
    );
    println!("deployments:{}", if deps.is_empty() { " none" } else { "" });
    for d in &deps {
        println!("{}", d.line());
    }
    println!(
        "executions in flight:{}",
        if runs.is_empty() { " none" } else { "" }
    );
    for r in &runs {
        println!("{}", r.line());
    }
    Ok(Exit::Ok)
}

async fn ls(ctx: &mut Ctx) -> Result<Exit, CliError> {
    let deps = deployments(&ctx.aws).await?;
    let upgrade = ctx.machine(Machine::Upgrade).await?;
    let mut runs = in_flight(&ctx.aws, &upgrade).await?;
    match ctx.machine(Machine::Fleet).await {
        Ok(fleet) => runs.extend(in_flight(&ctx.aws, &fleet).await?),
        Err(e) => eprintln!("rbg: fleet executions not listed: {e}"),
    }
    if ctx.json() {
        print_json(&json!({
            "deployments": deps.iter().map(Deployment::to_json).collect::<Vec<_>>(),
            "executions": runs.iter().map(InFlight::to_json).collect::<Vec<_>>(),
        }));
        return Ok(Exit::Ok);
    }
    println!(
        "blue/green deployments:{}",
        if deps.is_empty() { " none" } else { "" }
    );
    for d in &deps {
        println!("{}", d.line());
    }
    println!(
        "executions in flight:{}",
        if runs.is_empty() { " none" } else { "" }
    );
    for r in &runs {
        println!("{}", r.line());
    }
    Ok(Exit::Ok)
}

// ---------------------------------------------------------------- approve / reject

enum Answer {
    Approve { by: String, comment: Option<String> },
    Reject { by: String, reason: String },
}

async fn answer(ctx: &mut Ctx, execution: &str, answer: Answer) -> Result<Exit, CliError> {
    let arn = if execution.starts_with("arn:") {
        discover::execution_arn("", execution)?
    } else {
        let machine = ctx.machine(Machine::Upgrade).await?;
        discover::execution_arn(&machine, execution)?
    };
    let ex = follow::describe(&ctx.aws, &arn).await?;
    let events = follow::history_for_approval(&ctx.aws, &arn).await?;
    let verb = match &answer {
        Answer::Approve { .. } => "approve",
        Answer::Reject { .. } => "reject",
    };
    let token = match history::approval(&events) {
        Approval::Waiting { token, .. } if ex.running() && !token.is_empty() => token,
        Approval::Waiting { .. } if ex.running() => {
            return Err(CliError::aws(format!(
                "{arn} waits for an approval but its history shows no task token: check that this role may \
                 read the execution's data (states:GetExecutionHistory), and run again"
            )))
        }
        Approval::Waiting { .. } => {
            return Err(CliError::new(
                Exit::AlreadyAnswered,
                format!(
                    "already answered: {arn} ended {} while it waited for an approval; nothing was changed",
                    ex.status
                ),
            ))
        }
        Approval::Closed { how, detail } => {
            let who = detail
                .as_deref()
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .and_then(|v| v.get("approved_by").and_then(Value::as_str).map(|b| format!(" by {b}")))
                .unwrap_or_default();
            let how = match how {
                Closed::Approved => format!("approved{who}"),
                Closed::Rejected => "rejected".to_string(),
                Closed::TimedOut => "timed out (no answer within approval_timeout_hours)".to_string(),
                Closed::Ended => "closed".to_string(),
            };
            return Err(CliError::new(
                Exit::AlreadyAnswered,
                format!("already answered: the switchover of {arn} was already {how}; nothing was changed"),
            ));
        }
        Approval::NeverAsked if ex.running() => {
            let state = history::current_state(&events).map(|s| s.0.to_string()).unwrap_or_default();
            return Err(CliError::new(
                Exit::Pending,
                format!(
                    "{arn} is not waiting for an approval (it is {}): run rbg {verb} again once `rbg status` says waiting for approval",
                    phase::phase(&state, history::has_entered(&events, "Switchover"))
                ),
            ));
        }
        Approval::NeverAsked => {
            return Err(CliError::usage(format!(
                "{arn} ended {} without asking for an approval: nothing to {verb} (start it with --require-approval)",
                ex.status
            )))
        }
    };
    let at = bluegreen_domain::model::time::rfc3339(follow::now() as i64);
    let sent = match &answer {
        Answer::Approve { by, comment } => {
            let mut output = json!({"approved_by": by, "at": at});
            if let Some(c) = comment {
                output["comment"] = json!(c);
            }
            ctx.aws
                .sfn
                .send_task_success()
                .task_token(&token)
                .output(output.to_string())
                .send()
                .await
                .map(|_| output)
                .map_err(|e| ctx.aws.failure(&e))
        }
        Answer::Reject { by, reason } => ctx
            .aws
            .sfn
            .send_task_failure()
            .task_token(&token)
            .error("Rejected")
            .cause(reason)
            .send()
            .await
            .map(|_| json!({"rejected_by": by, "at": at, "reason": reason}))
            .map_err(|e| ctx.aws.failure(&e)),
    };
    match sent {
        Ok(output) => {
            if ctx.json() {
                print_json(
                    &json!({"execution_arn": arn, "answer": if verb == "approve" { "approved" } else { "rejected" }, "output": output}),
                );
            } else if verb == "approve" {
                println!("approved: {arn} resumes (the guardrails are checked again, then the switchover); follow it with `rbg status {arn} --follow`");
            } else {
                println!("rejected: {arn} leaves green as asked (on_reject); follow it with `rbg status {arn} --follow`");
            }
            Ok(Exit::Ok)
        }
        Err(f) => Err(closed_answer(&arn, &f)
            .unwrap_or_else(|| ctx.aws.explain(&format!("{verb} the switchover"), &f))),
    }
}

/// SendTaskSuccess / SendTaskFailure on a token that is closed (answered meanwhile by someone
/// else, or timed out): AWS answers TaskTimedOut (or InvalidToken / TaskDoesNotExist); harmless.
pub fn closed_answer(arn: &str, failure: &Failure) -> Option<CliError> {
    let code = failure.code()?;
    ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"]
        .contains(&code)
        .then(|| {
            CliError::new(
                Exit::AlreadyAnswered,
                format!("already answered: the approval of {arn} is closed ({code}); nothing was changed"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_to_a_closed_token_is_already_answered() {
        let closed = |code: &str| Failure::Service {
            code: code.into(),
            message: "Task Timed Out: 'Provided task does not exist anymore'".into(),
        };
        for code in ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"] {
            let e = closed_answer("arn:x", &closed(code)).unwrap();
            assert_eq!(e.exit, Exit::AlreadyAnswered);
            assert_eq!(e.message, format!("already answered: the approval of arn:x is closed ({code}); nothing was changed"));
        }
        assert!(closed_answer("arn:x", &closed("AccessDeniedException")).is_none());
        assert!(closed_answer("arn:x", &Failure::Unreachable("io".into())).is_none());
    }

    #[test]
    fn exit_codes_follow_the_outcome_and_the_action() {
        assert_eq!(exit_for("upgrade", Outcome::Succeeded), Exit::Ok);
        assert_eq!(
            exit_for("upgrade", Outcome::SwitchoverSkipped),
            Exit::Pending
        );
        assert_eq!(exit_for("upgrade", Outcome::Rejected), Exit::Pending);
        assert_eq!(exit_for("upgrade", Outcome::Prepared), Exit::Pending);
        assert_eq!(exit_for("prepare", Outcome::Prepared), Exit::Ok);
        assert_eq!(exit_for("abort", Outcome::Aborted), Exit::Ok);
        assert_eq!(
            exit_for("upgrade", Outcome::Aborted),
            Exit::Pending,
            "on_reject abort"
        );
        assert_eq!(
            exit_for("upgrade", Outcome::AlreadyInProgress),
            Exit::Pending
        );
        assert_eq!(exit_for("cleanup", Outcome::Succeeded), Exit::Ok);
        assert_eq!(exit_for("upgrade", Outcome::Failed), Exit::ExecutionFailed);
    }

    #[test]
    fn a_lambda_cause_gives_its_message() {
        let cause = r#"{"errorType":"SourceNotFound","errorMessage":"no RDS DB instance or cluster named nope"}"#;
        assert_eq!(
            message_of(cause),
            "no RDS DB instance or cluster named nope"
        );
        assert_eq!(message_of("plain text"), "plain text");
    }

    #[test]
    fn the_input_is_described() {
        let i = json!({"db_identifier": "orders-pg", "target_engine_version": "16.4", "action": "upgrade"});
        assert_eq!(
            describe_input(&i, Machine::Upgrade),
            "upgrade orders-pg to 16.4"
        );
        let f = json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "plan"});
        assert_eq!(
            describe_input(&f, Machine::Fleet),
            "fleet plan of the databases tagged bluegreen:wave=1"
        );
    }
}
