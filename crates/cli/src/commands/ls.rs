//! `rbg ls`: the blue/green deployments of the account and Region, and the executions in
//! flight of both state machines.

use super::listing::{deployments, in_flight, Deployment, InFlight};
use super::{print_json, Ctx};
use crate::discover::Machine;
use crate::exit::{CliError, Exit};
use serde_json::json;

pub async fn run(ctx: &mut Ctx) -> Result<Exit, CliError> {
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
