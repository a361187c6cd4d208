//! `rbg approve EXECUTION [--by WHO] [--comment TEXT]`: answers the approval the execution
//! waits for with yes (the guardrails are checked again, then the switchover).

use super::answer::{answer, default_user, Answer};
use super::Ctx;
use crate::cli::ApproveArgs;
use crate::exit::{CliError, Exit};

pub async fn run(ctx: &mut Ctx, a: ApproveArgs) -> Result<Exit, CliError> {
    let by = a.by.unwrap_or_else(default_user);
    answer(
        ctx,
        &a.execution,
        Answer::Approve {
            by,
            comment: a.comment,
        },
    )
    .await
}
