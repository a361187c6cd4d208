//! `rbg fleet ACTION --tag K=V ...`: the fleet state machine over the databases whose tags
//! match, followed; the fleet's table printed, the exit code the worst row's.

use super::start::{start_and_follow, Ask};
use super::Ctx;
use crate::cli::{self, FleetArgs};
use crate::discover::Machine;
use crate::exit::{CliError, Exit};
use serde_json::Value;

/// The fleet request, checked before anything reaches AWS.
pub fn input(f: &FleetArgs) -> Result<Value, CliError> {
    cli::check_rate(f.rate)?;
    cli::fleet_request(f)
}

pub async fn run(ctx: &mut Ctx, f: &FleetArgs, input: Value) -> Result<Exit, CliError> {
    let ask = Ask {
        action: f.action.as_str(),
        rate: f.rate,
    };
    start_and_follow(ctx, Machine::Fleet, input, &f.start, ask).await
}
