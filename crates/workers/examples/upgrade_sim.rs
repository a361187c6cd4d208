//! One simulated `upgrade`, for `make bench` (bench/run.py). Walks the real state machine
//! (statemachine/upgrade.asl.json) on a virtual clock and runs the real handlers for every Task
//! after Precheck (create, wait, guardrails, switchover, verify, cleanup, remediation-metric),
//! with RDS, CloudWatch and SNS answering from a scripted green timeline through
//! `aws-smithy-mocks`. The poll delays (`schedule::next_delay`), "ready twice in a row", the
//! guardrail's hold delay and the cleanup loop are therefore the product's own code.
//!
//! Usage: cargo run --example upgrade_sim -- PRECHECK_OUTPUT.json [key=value ...]
//!   PRECHECK_OUTPUT.json  the Precheck step's output for an `upgrade` (route "upgrade"),
//!                         recorded by bench/run.py from a run on the emulator
//!   ready=2700            seconds after CreateBlueGreenDeployment when the last task
//!                         completes: green ready
//!   window=300            seconds before ready that RDS already says AVAILABLE, with the last
//!                         task IN_PROGRESS (PROVISIONING until then)
//!   switchover=60         seconds RDS stays SWITCHOVER_IN_PROGRESS
//!   snapshot=300          seconds the final snapshot of the old blue takes
//!   task=1                seconds one Task takes (Lambda invoke plus the handler's AWS calls)
//!   sweep=120 step=2.5    also runs it with the whole timeline shifted by i*step - sweep*step/2,
//!                         i < sweep: green ready at a uniformly random moment (over 300 s, a
//!                         multiple of every poll period), for the detection latency
//! Prints one JSON document on stdout. Every state entered is one transition, as billed.

use aws_sdk_cloudwatch::types::Datapoint;
use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
use aws_sdk_rds::operation::describe_db_snapshots::DescribeDBSnapshotsError;
use aws_sdk_rds::types::{
    BlueGreenDeployment, BlueGreenDeploymentTask, DbInstance, DbSnapshot, Endpoint,
    SwitchoverDetail,
};
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use bluegreen_aws::{Clients, Metrics, Notifier, Rds};
use bluegreen_domain::run::Run;
use bluegreen_workers::runtime::epoch_seconds;
use bluegreen_workers::{
    cleanup, create, guardrails, remediation_metric, resolve, switchover, verify, wait, Deps,
    Invocation,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, UNIX_EPOCH};

const TASKS: [&str; 4] = [
    "CREATING_READ_REPLICA_OF_SOURCE",
    "DB_ENGINE_VERSION_UPGRADE",
    "CONFIGURE_BACKUPS",
    "CREATING_TOPOLOGY_OF_SOURCE",
];
const MAX_STATES: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Timeline {
    window: f64,
    ready: f64,
    switchover: f64,
    snapshot: f64,
}

/// Names from the recorded precheck output.
#[derive(Clone, Debug)]
struct Names {
    deployment: String,
    source_id: String,
    source_version: String,
    target_version: String,
    engine: String,
    endpoint: Option<String>,
    port: Option<i32>,
    arn_prefix: String,
}

impl Names {
    fn from_run(run: &Run) -> Result<Self, String> {
        let (plan, source) = (
            run.plan().map_err(|e| e.to_string())?,
            run.source().map_err(|e| e.to_string())?,
        );
        // arn:aws:rds:REGION:ACCOUNT:db:NAME -> arn:aws:rds:REGION:ACCOUNT
        let arn_prefix = source
            .arn
            .rsplitn(3, ':')
            .nth(2)
            .ok_or_else(|| format!("unexpected source ARN {}", source.arn))?
            .to_string();
        Ok(Self {
            deployment: plan.deployment_name.clone(),
            source_id: source.identifier.clone(),
            source_version: source.engine_version.clone(),
            target_version: plan.target_engine_version.clone(),
            engine: source.engine.as_str().to_string(),
            endpoint: source.endpoint.clone(),
            port: source.port,
            arn_prefix,
        })
    }
    fn green_id(&self) -> String {
        format!("{}-green-sim001", self.source_id)
    }
    fn arn(&self, id: &str) -> String {
        format!("{}:db:{id}", self.arn_prefix)
    }
}

/// The scripted account: one deployment's life on the virtual clock, and every call made.
struct World {
    now: f64,
    t: Timeline,
    n: Names,
    created: Option<f64>,
    switch_requested: Option<f64>,
    snapshot_started: Option<f64>,
    record_deleted: bool,
    calls: BTreeMap<String, u32>,
}

type Shared = Arc<Mutex<World>>;

fn lock(w: &Shared) -> MutexGuard<'_, World> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

impl World {
    fn call(&mut self, op: &str) {
        *self.calls.entry(op.to_string()).or_default() += 1;
    }

    fn switched(&self) -> bool {
        self.switch_requested
            .is_some_and(|s| self.now - s >= self.t.switchover)
    }

    fn deployment(&self) -> Option<BlueGreenDeployment> {
        let created = self.created.filter(|_| !self.record_deleted)?;
        let age = self.now - created;
        let (status, done) = match self.switch_requested {
            Some(_) if self.switched() => ("SWITCHOVER_COMPLETED", TASKS.len()),
            Some(_) => ("SWITCHOVER_IN_PROGRESS", TASKS.len()),
            None if age < self.t.ready - self.t.window => ("PROVISIONING", 0),
            None if age < self.t.ready => ("AVAILABLE", TASKS.len() - 1),
            None => ("AVAILABLE", TASKS.len()),
        };
        let n = &self.n;
        Some(
            BlueGreenDeployment::builder()
                .blue_green_deployment_identifier("bgd-sim0000000000001")
                .blue_green_deployment_name(&n.deployment)
                .source(n.arn(&n.source_id))
                .target(n.arn(&n.green_id()))
                .status(status)
                .set_tasks(Some(
                    TASKS
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            let s = match i {
                                i if i < done => "COMPLETED",
                                i if i == done => "IN_PROGRESS",
                                _ => "PENDING",
                            };
                            BlueGreenDeploymentTask::builder()
                                .name(*t)
                                .status(s)
                                .build()
                        })
                        .collect(),
                ))
                .switchover_details(
                    SwitchoverDetail::builder()
                        .source_member(n.arn(&n.source_id))
                        .target_member(n.arn(&n.green_id()))
                        .status(status)
                        .build(),
                )
                .build(),
        )
    }

    fn instance(&self, id: &str) -> Option<DbInstance> {
        let n = &self.n;
        let switched = self.switched();
        let old = format!("{}-old1", n.source_id);
        let version = if (id == n.source_id && !switched) || id == old {
            &n.source_version
        } else {
            &n.target_version
        };
        let exists = id == n.source_id
            || (id == n.green_id() && self.created.is_some() && !switched)
            || (id == old && switched);
        exists.then(|| {
            DbInstance::builder()
                .db_instance_identifier(id)
                .db_instance_arn(n.arn(id))
                .engine(&n.engine)
                .engine_version(version)
                .db_instance_status("available")
                .set_endpoint((id == n.source_id).then(|| {
                    Endpoint::builder()
                        .set_address(n.endpoint.clone())
                        .set_port(n.port)
                        .build()
                }))
                .build()
        })
    }
}

fn not_found(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message("not found")
        .build()
}

fn rds_rules(w: &Shared) -> Vec<Rule> {
    let (a, b, c, d, e, f, g) = (
        w.clone(),
        w.clone(),
        w.clone(),
        w.clone(),
        w.clone(),
        w.clone(),
        w.clone(),
    );
    vec![
        mock!(aws_sdk_rds::Client::describe_blue_green_deployments).then_compute_output(
            move |_| {
                let mut w = lock(&a);
                w.call("rds:DescribeBlueGreenDeployments");
                aws_sdk_rds::operation::describe_blue_green_deployments::DescribeBlueGreenDeploymentsOutput::builder()
                    .set_blue_green_deployments(Some(w.deployment().into_iter().collect()))
                    .build()
            },
        ),
        mock!(aws_sdk_rds::Client::create_blue_green_deployment).then_compute_output(move |_| {
            let mut w = lock(&b);
            w.call("rds:CreateBlueGreenDeployment");
            w.created = Some(w.now);
            aws_sdk_rds::operation::create_blue_green_deployment::CreateBlueGreenDeploymentOutput::builder()
                .set_blue_green_deployment(w.deployment())
                .build()
        }),
        mock!(aws_sdk_rds::Client::switchover_blue_green_deployment).then_compute_output(
            move |_| {
                let mut w = lock(&c);
                w.call("rds:SwitchoverBlueGreenDeployment");
                w.switch_requested = Some(w.now);
                aws_sdk_rds::operation::switchover_blue_green_deployment::SwitchoverBlueGreenDeploymentOutput::builder()
                    .set_blue_green_deployment(w.deployment())
                    .build()
            },
        ),
        mock!(aws_sdk_rds::Client::describe_db_instances).then_compute_response(move |req| {
            let mut w = lock(&d);
            w.call("rds:DescribeDBInstances");
            match w.instance(req.db_instance_identifier().unwrap_or_default()) {
                Some(db) => MockResponse::Output(
                    aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput::builder()
                        .db_instances(db)
                        .build(),
                ),
                None => MockResponse::Error(DescribeDBInstancesError::generic(not_found(
                    "DBInstanceNotFound",
                ))),
            }
        }),
        mock!(aws_sdk_rds::Client::describe_db_snapshots).then_compute_response(move |req| {
            let mut w = lock(&e);
            w.call("rds:DescribeDBSnapshots");
            match w.snapshot_started {
                Some(s) => MockResponse::Output(
                    aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput::builder()
                        .db_snapshots(
                            DbSnapshot::builder()
                                .set_db_snapshot_identifier(req.db_snapshot_identifier().map(str::to_string))
                                .status(if w.now - s < w.t.snapshot { "creating" } else { "available" })
                                .build(),
                        )
                        .build(),
                ),
                None => MockResponse::Error(DescribeDBSnapshotsError::generic(not_found(
                    "DBSnapshotNotFound",
                ))),
            }
        }),
        mock!(aws_sdk_rds::Client::create_db_snapshot).then_compute_output(move |_| {
            let mut w = lock(&f);
            w.call("rds:CreateDBSnapshot");
            w.snapshot_started = Some(w.now);
            aws_sdk_rds::operation::create_db_snapshot::CreateDbSnapshotOutput::builder().build()
        }),
        mock!(aws_sdk_rds::Client::delete_blue_green_deployment).then_compute_output(move |_| {
            let mut w = lock(&g);
            w.call("rds:DeleteBlueGreenDeployment");
            w.record_deleted = true;
            aws_sdk_rds::operation::delete_blue_green_deployment::DeleteBlueGreenDeploymentOutput::builder().build()
        }),
    ]
}

fn deps(w: &Shared) -> Deps<Clients> {
    let rds = rds_rules(w);
    let (a, b, c) = (w.clone(), w.clone(), w.clone());
    let cw = [
        mock!(aws_sdk_cloudwatch::Client::get_metric_statistics).then_compute_output(move |_| {
            lock(&a).call("cloudwatch:GetMetricStatistics");
            // Green's replica lag: 0 s, within any max_replica_lag_seconds.
            aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsOutput::builder()
                .datapoints(Datapoint::builder().maximum(0.0).minimum(0.0).build())
                .build()
        }),
        mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_compute_output(move |_| {
            lock(&b).call("cloudwatch:PutMetricData");
            aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput::builder().build()
        }),
    ];
    let sns = [
        mock!(aws_sdk_sns::Client::publish).then_compute_output(move |_| {
            lock(&c).call("sns:Publish");
            aws_sdk_sns::operation::publish::PublishOutput::builder()
                .message_id("sim")
                .build()
        }),
    ];
    let clients = Clients {
        rds: Rds::new(mock_client!(
            aws_sdk_rds,
            RuleMode::MatchAny,
            rds.iter(),
            |c| c.retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled())
        )),
        metrics: Metrics::new(mock_client!(
            aws_sdk_cloudwatch,
            RuleMode::MatchAny,
            cw.iter(),
            |c| c.retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled())
        )),
        notifier: Notifier::new(mock_client!(
            aws_sdk_sns,
            RuleMode::MatchAny,
            sns.iter(),
            |c| c.retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
        )),
    };
    Deps::new(
        clients,
        Some("arn:aws:sns:us-east-1:123456789012:rds-bluegreen".into()),
    )
}

/// `${WaitFunctionArn}` -> `wait`, `${RemediationMetricFunctionArn}` -> `remediation-metric`.
fn function_of(resource: &str) -> String {
    let name = resource
        .trim_start_matches("${")
        .trim_end_matches("FunctionArn}");
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// `$`, `$.a.b`, `$.a[0]` on the state's input (the only paths the definition uses).
fn path<'a>(doc: &'a Value, p: &str) -> Option<&'a Value> {
    let rest = p.strip_prefix('$')?;
    rest.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(doc, |v, segment| match segment.split_once('[') {
            Some((key, index)) => {
                let v = if key.is_empty() { v } else { v.get(key)? };
                v.get(index.strip_suffix(']')?.parse::<usize>().ok()?)
            }
            None => v.get(segment),
        })
}

fn parameters(p: &Value, doc: &Value) -> Value {
    match p {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.strip_suffix(".$"), v.as_str()) {
                    (Some(key), Some(expr)) => {
                        // `$$.Execution.*`: the context object of a simulated execution.
                        let context = json!({"Execution": {
                            "Id": "arn:aws:states:us-east-1:123456789012:execution:upgrade:simulated",
                            "StartTime": "2027-01-15T08:00:00Z",
                        }});
                        let value = match expr.strip_prefix('$') {
                            Some(rest) if rest.starts_with("$.") => path(&context, rest),
                            _ => path(doc, expr),
                        };
                        (key.to_string(), value.cloned().unwrap_or(Value::Null))
                    }
                    _ => (k.clone(), parameters(v, doc)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn rule_matches(rule: &Value, doc: &Value) -> Result<bool, String> {
    if let Some(all) = rule.get("And").and_then(Value::as_array) {
        return all
            .iter()
            .try_fold(true, |acc, r| Ok(acc && rule_matches(r, doc)?));
    }
    if let Some(any) = rule.get("Or").and_then(Value::as_array) {
        return any
            .iter()
            .try_fold(false, |acc, r| Ok(acc || rule_matches(r, doc)?));
    }
    if let Some(not) = rule.get("Not") {
        return Ok(!rule_matches(not, doc)?);
    }
    let var = rule["Variable"]
        .as_str()
        .ok_or("Choice rule without Variable")?;
    let value = path(doc, var);
    if let Some(s) = rule.get("StringEquals") {
        return Ok(value == Some(s));
    }
    if let Some(b) = rule.get("BooleanEquals") {
        return Ok(value == Some(b));
    }
    if let Some(b) = rule.get("IsPresent").and_then(Value::as_bool) {
        return Ok(value.is_some_and(|v| !v.is_null()) == b);
    }
    Err(format!("Choice operator not simulated: {rule}"))
}

/// What kind of invocation this was, to match the per-invocation AWS call counts that
/// bench/run.py recorded on the emulator (same rules there).
fn variant(function: &str, input: &Value, out: &Value) -> String {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    match function {
        // Precheck records the deployment when ours exists: create then adopts it.
        "create" if input["deployment"].is_object() => "adopted".into(),
        "create" => "created".into(),
        "wait" => s(out["wait"].get("status")),
        "guardrails" => s(out["guardrail"].get("verdict")),
        "switchover" if out["switchover"]["already_started"] == json!(true) => {
            "already_started".into()
        }
        "switchover" => "requested".into(),
        "cleanup" if out["cleanup"]["done"] == json!(true) => "done".into(),
        "cleanup" if input["cleanup"]["snapshot_identifier"].is_string() => {
            "snapshot_pending".into()
        }
        "cleanup" => "snapshot_started".into(),
        "abort" if out["abort"]["done"] == json!(true) => "done".into(),
        "abort" => "deleting".into(),
        "remediation-metric" => s(input.get("milestone")),
        "resolve" => s(out.get("mode")),
        _ => String::new(),
    }
}

async fn invoke(
    deps: &Deps<Clients>,
    function: &str,
    input: Value,
    inv: Invocation,
) -> Result<Value, String> {
    let run = |v: Value| serde_json::from_value::<Run>(v).map_err(|e| e.to_string());
    let d = deps.clone();
    if function == "resolve" {
        let received = serde_json::from_value(input).map_err(|e| e.to_string())?;
        let out = resolve::handle(d, received, inv)
            .await
            .map_err(|e| format!("{}: {e}", e.name()))?;
        return serde_json::to_value(out).map_err(|e| e.to_string());
    }
    let out = match function {
        "create" => create::handle(d, run(input)?, inv).await,
        "wait" => wait::handle(d, run(input)?, inv).await,
        "guardrails" => guardrails::handle(d, run(input)?, inv).await,
        "switchover" => switchover::handle(d, run(input)?, inv).await,
        "verify" => verify::handle(d, run(input)?, inv).await,
        "cleanup" => cleanup::handle(d, run(input)?, inv).await,
        "remediation-metric" => {
            let event = serde_json::from_value(input).map_err(|e| e.to_string())?;
            remediation_metric::handle(d, event, inv).await
        }
        other => return Err(format!("the happy path does not reach {other}")),
    };
    let out = out.map_err(|e| format!("{}: {e}", e.name()))?;
    serde_json::to_value(out).map_err(|e| e.to_string())
}

/// What a walk through the definition accumulates: the virtual clock and what was billed.
struct Walk {
    now: f64,
    transitions: u32,
    by_state: BTreeMap<String, u32>,
    tasks: Vec<Value>,
    waits: BTreeMap<String, BTreeMap<String, u32>>,
}

/// What every state needs to run: the clients, the scripted world, the recorded precheck.
struct Env<'a> {
    deps: Deps<Clients>,
    world: Shared,
    precheck_out: &'a Value,
    start: f64,
    task_seconds: f64,
}

type Step<'a> = Pin<Box<dyn Future<Output = Result<(String, Value), String>> + 'a>>;

/// Runs one States object from `start_at` to its terminal state (a Map runs its
/// ItemProcessor this way for each item); returns the terminal state's name and output.
fn walk<'a>(machine: &'a Value, mut doc: Value, w: &'a mut Walk, env: &'a Env<'a>) -> Step<'a> {
    Box::pin(async move {
        let function_arn = |f: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:{f}");
        let mut name = machine["StartAt"].as_str().unwrap_or_default().to_string();
        for _ in 0..MAX_STATES {
            let state = machine["States"]
                .get(&name)
                .ok_or_else(|| format!("no state {name}"))?;
            w.transitions += 1;
            *w.by_state.entry(name.clone()).or_default() += 1;
            let kind = state["Type"].as_str().unwrap_or_default();
            let next = state["Next"].as_str().map(str::to_string);
            match kind {
                "Pass" => {
                    if let Some(p) = state.get("Parameters") {
                        doc = parameters(p, &doc);
                    }
                    if let Some(p) = state["OutputPath"].as_str() {
                        doc = path(&doc, p).cloned().unwrap_or(Value::Null);
                    }
                    if state["End"] == json!(true) {
                        return Ok((name, doc));
                    }
                }
                "Task" => {
                    let function = function_of(state["Resource"].as_str().unwrap_or_default());
                    let input = match state.get("Parameters") {
                        Some(p) => parameters(p, &doc),
                        None => doc.clone(),
                    };
                    lock(&env.world).now = w.now;
                    let out = if function == "precheck" {
                        env.precheck_out.clone()
                    } else {
                        let at = UNIX_EPOCH + Duration::from_secs_f64(env.start + w.now);
                        let inv = Invocation::new(function_arn(&function), at);
                        let now = w.now;
                        invoke(&env.deps, &function, input.clone(), inv)
                            .await
                            .map_err(|e| format!("{name} at {now:.1}s: {e}"))?
                    };
                    let calls = std::mem::take(&mut lock(&env.world).calls);
                    w.tasks.push(json!({
                        "state": name, "function": function, "at": w.now,
                        "variant": variant(&function, &input, &out), "calls": calls,
                    }));
                    doc = out;
                    w.now += env.task_seconds;
                }
                "Map" => {
                    let items = state["ItemsPath"]
                        .as_str()
                        .and_then(|p| path(&doc, p))
                        .and_then(Value::as_array)
                        .cloned()
                        .ok_or_else(|| format!("{name}: no items"))?;
                    let mut results = Vec::new();
                    for item in items {
                        let (_, out) = walk(&state["ItemProcessor"], item, w, env).await?;
                        results.push(out);
                    }
                    let key = state["ResultPath"]
                        .as_str()
                        .and_then(|p| p.strip_prefix("$."))
                        .ok_or_else(|| format!("{name}: ResultPath not simulated"))?;
                    doc[key] = Value::Array(results);
                }
                "Choice" => {
                    let mut chosen = state["Default"].as_str().map(str::to_string);
                    for rule in state["Choices"].as_array().into_iter().flatten() {
                        if rule_matches(rule, &doc)? {
                            chosen = rule["Next"].as_str().map(str::to_string);
                            break;
                        }
                    }
                    name = chosen.ok_or_else(|| format!("{name}: no choice matched"))?;
                    continue;
                }
                "Wait" => {
                    let seconds = match (state.get("Seconds"), state["SecondsPath"].as_str()) {
                        (Some(s), _) => s.as_f64(),
                        (None, Some(p)) => path(&doc, p).and_then(Value::as_f64),
                        _ => None,
                    };
                    let seconds = seconds.ok_or_else(|| format!("{name}: no wait seconds"))?;
                    *w.waits
                        .entry(name.clone())
                        .or_default()
                        .entry(seconds.to_string())
                        .or_default() += 1;
                    w.now += seconds;
                }
                "Succeed" => return Ok((name, doc)),
                other => return Err(format!("{name}: ended in a {other} state: {doc}")),
            }
            name = next.ok_or_else(|| format!("{name} has no Next"))?;
        }
        Err(format!(
            "more than {MAX_STATES} states: a loop that never ends"
        ))
    })
}

/// One execution from `StartAt` to a terminal state. Precheck's output is the recorded one.
async fn simulate(
    def: &Value,
    precheck_out: &Value,
    t: Timeline,
    task_seconds: f64,
) -> Result<Value, String> {
    let run: Run = serde_json::from_value(precheck_out.clone()).map_err(|e| e.to_string())?;
    let names = Names::from_run(&run)?;
    let start = run
        .timeline
        .get("started")
        .and_then(|s| epoch_seconds(s))
        .unwrap_or(1_800_000_000) as f64;
    let world: Shared = Arc::new(Mutex::new(World {
        now: 0.0,
        t,
        n: names,
        created: None,
        switch_requested: None,
        snapshot_started: None,
        record_deleted: false,
        calls: BTreeMap::new(),
    }));
    let env = Env {
        deps: deps(&world),
        world: world.clone(),
        precheck_out,
        start,
        task_seconds,
    };
    let mut w = Walk {
        now: 0.0,
        transitions: 0,
        by_state: BTreeMap::new(),
        tasks: Vec::new(),
        waits: BTreeMap::new(),
    };
    // The execution input of a console-started upgrade (Precheck's answer is recorded).
    let input = run.input.clone().unwrap_or(Value::Null);
    let (end, doc) = walk(def, input, &mut w, &env).await?;
    let world = lock(&world);
    let created = world.created.ok_or("green was never created")?;
    let requested = world.switch_requested.ok_or("switchover never requested")?;
    let ready = created + t.ready;
    Ok(json!({
        "end_state": end,
        "transitions": w.transitions,
        "by_state": w.by_state,
        "waits": w.waits,
        "tasks": w.tasks,
        "green_requested_at": created,
        "green_ready_at": ready,
        "switchover_requested_at": requested,
        "detection_latency_seconds": requested - ready,
        "finished_at": w.now,
        "soak_seconds": doc["soak_seconds"],
    }))
}

fn arg(args: &BTreeMap<String, f64>, key: &str, default: f64) -> f64 {
    args.get(key).copied().unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: upgrade_sim PRECHECK_OUTPUT.json [ready=2700 window=300 switchover=60 snapshot=300 task=1 sweep=120 step=2.5]";
    let file = argv.first().ok_or(usage)?;
    let mut args = BTreeMap::new();
    for a in &argv[1..] {
        let (k, v) = a.split_once('=').ok_or(usage)?;
        args.insert(k.to_string(), v.parse::<f64>().map_err(|_| usage)?);
    }
    let precheck_out: Value =
        serde_json::from_str(&std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?)
            .map_err(|e| format!("{file}: {e}"))?;
    let definition = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../statemachine/upgrade.asl.json"
    );
    let def: Value = serde_json::from_str(
        &std::fs::read_to_string(definition).map_err(|e| format!("{definition}: {e}"))?,
    )
    .map_err(|e| e.to_string())?;
    let t = Timeline {
        window: arg(&args, "window", 300.0),
        ready: arg(&args, "ready", 2700.0),
        switchover: arg(&args, "switchover", 60.0),
        snapshot: arg(&args, "snapshot", 300.0),
    };
    let task_seconds = arg(&args, "task", 1.0);
    let mut main_run = simulate(&def, &precheck_out, t, task_seconds).await?;
    let (sweep, step) = (arg(&args, "sweep", 120.0) as usize, arg(&args, "step", 2.5));
    let mut sweep_runs = Vec::new();
    for i in 0..sweep {
        let offset = i as f64 * step - sweep as f64 * step / 2.0;
        let shifted = Timeline {
            ready: t.ready + offset,
            ..t
        };
        let r = simulate(&def, &precheck_out, shifted, task_seconds).await?;
        sweep_runs.push(json!({
            "ready_offset": offset,
            "transitions": r["transitions"],
            "detection_latency_seconds": r["detection_latency_seconds"],
        }));
    }
    main_run["sweep"] = Value::Array(sweep_runs);
    main_run["scenario"] = json!({
        "window_seconds": t.window, "ready_seconds": t.ready,
        "switchover_seconds": t.switchover, "snapshot_seconds": t.snapshot,
        "task_seconds": task_seconds, "sweep": sweep, "step": step,
    });
    println!("{main_run}");
    Ok(())
}
