//! The commands: one file per command (`plan`, `upgrade` for the actions that start the
//! upgrade state machine, `fleet`, `status`, `ls`, `approve`, `reject`), this module reading
//! the inputs and dispatching. What several commands share: `start` (start an execution and
//! follow it), `outcome` (what an ended execution printed and its exit code), `listing` (the
//! deployments and the executions in flight), `answer` (the approval's answer).

mod answer;
mod approve;
mod fleet;
mod listing;
mod ls;
mod outcome;
mod plan;
mod reject;
mod start;
mod status;
mod upgrade;

use crate::awsctx::Aws;
use crate::cli::{ActionName, Cli, Command, Global};
use crate::discover::{self, Discovery, Machine};
use crate::exit::{CliError, Exit};
use crate::render;
use serde_json::Value;

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

pub async fn run(cli: Cli) -> Result<Exit, CliError> {
    let Cli { global, command } = cli;
    // Inputs first: a refused input needs no AWS.
    let input = match &command {
        Command::Plan(a) => plan::input(a)?,
        Command::Prepare(a) => upgrade::input(a, ActionName::Prepare)?,
        Command::Upgrade(a) => upgrade::input(a, ActionName::Upgrade)?,
        Command::Switchover(a) => upgrade::input(a, ActionName::Switchover)?,
        Command::Abort(a) => upgrade::input(a, ActionName::Abort)?,
        Command::Cleanup(a) => upgrade::input(a, ActionName::Cleanup)?,
        Command::Fleet(f) => fleet::input(f)?,
        Command::Status(s) => {
            status::check(s)?;
            Value::Null
        }
        Command::Approve(_) | Command::Reject(_) | Command::Ls => Value::Null,
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
        Command::Plan(a) => plan::run(&mut ctx, &a, input).await,
        Command::Prepare(a)
        | Command::Upgrade(a)
        | Command::Switchover(a)
        | Command::Abort(a)
        | Command::Cleanup(a) => upgrade::run(&mut ctx, &a, input).await,
        Command::Fleet(f) => fleet::run(&mut ctx, &f, input).await,
        Command::Status(s) => status::run(&mut ctx, &s).await,
        Command::Approve(a) => approve::run(&mut ctx, a).await,
        Command::Reject(r) => reject::run(&mut ctx, r).await,
        Command::Ls => ls::run(&mut ctx).await,
    }
}
