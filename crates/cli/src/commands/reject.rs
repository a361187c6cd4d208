//! `rbg reject EXECUTION --reason TEXT [--by WHO]`: answers the approval the execution waits
//! for with no (green stays prepared, or is deleted with on_reject abort).

use super::answer::{answer, default_user, Answer};
use super::Ctx;
use crate::cli::RejectArgs;
use crate::exit::{CliError, Exit};

pub async fn run(ctx: &mut Ctx, r: RejectArgs) -> Result<Exit, CliError> {
    let by = r.by.unwrap_or_else(default_user);
    answer(
        ctx,
        &r.execution,
        Answer::Reject {
            by,
            reason: r.reason,
        },
    )
    .await
}
