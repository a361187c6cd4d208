//! `rbg plan DB --to VERSION`: the upgrade state machine with action `plan` (read-only: every
//! precheck, nothing changed), followed; the checks and the cost of waiting printed, exit 10
//! when a check fails.

use super::start::{start_and_follow, Ask};
use super::Ctx;
use crate::cli::{self, ActionName, PlanArgs};
use crate::discover::Machine;
use crate::exit::{CliError, Exit};
use serde_json::Value;

/// The request, checked before anything reaches AWS.
pub fn input(a: &PlanArgs) -> Result<Value, CliError> {
    cli::check_rate(a.rate)?;
    cli::request(&a.target, ActionName::Plan, &a.options)
}

pub async fn run(ctx: &mut Ctx, a: &PlanArgs, input: Value) -> Result<Exit, CliError> {
    let ask = Ask {
        action: "plan",
        rate: a.rate,
    };
    start_and_follow(ctx, Machine::Upgrade, input, &a.start, ask).await
}
