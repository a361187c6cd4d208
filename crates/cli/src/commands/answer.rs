//! The answer to an approval, approve's and reject's: the execution's history says whether it
//! waits and for which task token; the token is answered (SendTaskSuccess / SendTaskFailure)
//! once, and an approval already closed is said as such (exit 5).

use super::{print_json, Ctx};
use crate::discover::{self, Machine};
use crate::exit::{CliError, Exit};
use crate::follow;
use crate::history::{self, Approval, Closed};
use crate::phase;
use bluegreen_aws::Fault;
use serde_json::{json, Value};

pub fn default_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

pub enum Answer {
    Approve { by: String, comment: Option<String> },
    Reject { by: String, reason: String },
}

pub async fn answer(ctx: &mut Ctx, execution: &str, answer: Answer) -> Result<Exit, CliError> {
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
                .executions
                .send_task_success(&token, &output.to_string())
                .await
                .map(|_| output)
                .map_err(|e| e.fault())
        }
        Answer::Reject { by, reason } => ctx
            .aws
            .executions
            .send_task_failure(&token, "Rejected", reason)
            .await
            .map(|_| json!({"rejected_by": by, "at": at, "reason": reason}))
            .map_err(|e| e.fault()),
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
pub fn closed_answer(arn: &str, fault: &Fault) -> Option<CliError> {
    let code = fault.code()?;
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
        let closed = |code: &str| Fault::Service {
            code: code.into(),
            message: "Task Timed Out: 'Provided task does not exist anymore'".into(),
        };
        for code in ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"] {
            let e = closed_answer("arn:x", &closed(code)).unwrap();
            assert_eq!(e.exit, Exit::AlreadyAnswered);
            assert_eq!(e.message, format!("already answered: the approval of arn:x is closed ({code}); nothing was changed"));
        }
        assert!(closed_answer("arn:x", &closed("AccessDeniedException")).is_none());
        assert!(closed_answer("arn:x", &Fault::Unreachable("io".into())).is_none());
    }
}
