//! `rbg prepare | upgrade | switchover | abort | cleanup DB --to VERSION`: the upgrade state
//! machine with that action, followed; the run's summary printed, the exit code its outcome's.

use super::start::{start_and_follow, Ask};
use super::Ctx;
use crate::cli::{self, ActionArgs, ActionName};
use crate::discover::Machine;
use crate::exit::{CliError, Exit};
use serde_json::Value;

/// The request, checked before anything reaches AWS.
pub fn input(a: &ActionArgs, action: ActionName) -> Result<Value, CliError> {
    cli::request(&a.target, action, &a.options)
}

pub async fn run(ctx: &mut Ctx, a: &ActionArgs, input: Value) -> Result<Exit, CliError> {
    let action = input
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("plan")
        .to_string();
    let ask = Ask {
        action: &action,
        rate: None,
    };
    start_and_follow(ctx, Machine::Upgrade, input, &a.start, ask).await
}
