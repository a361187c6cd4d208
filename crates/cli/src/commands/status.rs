//! `rbg status [DB | EXECUTION] [--follow]`: where a database stands (its deployments and the
//! executions in flight for it) or an execution (followed with `--follow`); without an
//! argument, the latest execution of the upgrade state machine.

use super::listing::{deployments, in_flight, list_error, Deployment, InFlight};
use super::outcome::finish;
use super::start::Ask;
use super::{print_json, Ctx};
use crate::awsctx::Aws;
use crate::cli::{self, StatusArgs};
use crate::discover::{self, Machine};
use crate::exit::{CliError, Exit};
use crate::follow::{self, Progress};
use crate::history::{self, Approval};
use crate::phase;
use bluegreen_domain::model::db::{DbKind, DbRef};
use bluegreen_domain::model::source::SourceDb;
use serde_json::{json, Value};

/// The flags, checked before anything reaches AWS.
pub fn check(s: &StatusArgs) -> Result<(), CliError> {
    cli::check_rate(s.rate)
}

pub async fn run(ctx: &mut Ctx, s: &StatusArgs) -> Result<Exit, CliError> {
    let (follow_it, rate) = (s.follow, s.rate);
    let Some(target) = s.target.as_deref() else {
        let machine = ctx.machine(Machine::Upgrade).await?;
        let latest = ctx
            .aws
            .executions
            .list(&machine, false, 1)
            .await
            .map_err(|e| list_error(&ctx.aws, &machine, &e.fault()))?;
        let Some(arn) = latest.into_iter().next() else {
            return Err(CliError::not_found(format!(
                "no execution of {machine} yet: start one (rbg plan DB --to VERSION)"
            )));
        };
        return show_execution(ctx, &arn, follow_it, rate).await;
    };
    if target.starts_with("arn:") && target.contains(":states:") {
        let arn = discover::execution_arn("", target)?;
        return show_execution(ctx, &arn, follow_it, rate).await;
    }
    let is_db =
        target.starts_with("arn:") || bluegreen_domain::model::db::validate_db_name(target).is_ok();
    if is_db {
        let name = DbRef::parse(target)
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
            tasks = follow::deployment_tasks(&ctx.aws.rds, id).await;
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
            follow::status_line(
                &watch.events,
                &ex,
                tasks.as_ref(),
                &follow::loading_of(doc.as_ref())
            )
        );
    }
    Ok(Exit::Ok)
}

/// A database as RDS describes it (`Rds::describe`), as `status DB` shows it.
struct Database {
    kind: &'static str,
    db: SourceDb,
}

/// The instance, else the cluster, named `name`.
async fn database(aws: &Aws, name: &str) -> Result<Database, CliError> {
    for (kind, label) in [(DbKind::Instance, "instance"), (DbKind::Cluster, "cluster")] {
        match aws.rds.describe(kind, name).await {
            Ok(Some(db)) => {
                return Ok(Database { kind: label, db });
            }
            Ok(None) => {}
            Err(e) => return Err(aws.error("describe the database", &e)),
        }
    }
    Err(CliError::not_found(format!(
        "no database {name} in {}: check the name (aws rds describe-db-instances) and the Region",
        aws.region
    )))
}

async fn show_database(ctx: &mut Ctx, name: &str) -> Result<Exit, CliError> {
    let Database { kind, db } = database(&ctx.aws, name).await?;
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
            "database": {"identifier": name, "arn": db.arn, "kind": kind, "engine": db.engine.as_str(),
                         "engine_version": db.engine_version, "status": db.status, "instance_class": db.instance_class,
                         "multi_az": db.multi_az},
            "deployments": deps.iter().map(Deployment::to_json).collect::<Vec<_>>(),
            "executions": runs.iter().map(InFlight::to_json).collect::<Vec<_>>(),
        }));
        return Ok(Exit::Ok);
    }
    println!(
        "{} ({}): {} {}, {}{}{}",
        name,
        kind,
        db.engine.as_str(),
        db.engine_version,
        db.status,
        db.instance_class
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
