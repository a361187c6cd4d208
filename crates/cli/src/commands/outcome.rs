//! What an ended execution printed, and its exit code: the run's plan or summary, the
//! fleet's table, or the failure as one sentence.

use super::start::Ask;
use super::{print_json, Ctx};
use crate::exit::{CliError, Exit};
use crate::follow::{self, Execution};
use crate::history;
use crate::phase;
use crate::render;
use bluegreen_domain::fleet::{Outcome, Row, Summary};
use bluegreen_domain::run::Run;
use serde_json::{json, Value};

/// The outcome of an ended execution: printed, and its exit code.
pub async fn finish(ctx: &Ctx, ex: &Execution, ask: Ask<'_>) -> Result<Exit, CliError> {
    let fleet_output = ex.output.as_ref().is_some_and(|o| o.get("rows").is_some());
    if ex.is_fleet() || fleet_output {
        return finish_fleet(ctx, ex, ask).await;
    }
    let took = phase::elapsed(ex.elapsed());
    if ex.status == "SUCCEEDED" {
        let output = ex.output.clone().unwrap_or(Value::Null);
        if let Some(fleet) = output.get("fleet_execution").and_then(Value::as_str) {
            if ctx.json() {
                print_json(&output);
            } else {
                println!("handed over to the fleet execution {fleet}: follow it with `rbg status {fleet} --follow`");
            }
            return Ok(Exit::Ok);
        }
        let run: Run = serde_json::from_value(output.clone()).map_err(|e| {
            CliError::new(
                Exit::ExecutionFailed,
                format!(
                    "the execution succeeded but its output is not a run document ({e}): deploy the \
                     state machine and rbg from the same release"
                ),
            )
        })?;
        let mut doc = output;
        if let Some(rate) = ask.rate {
            rerate(&mut doc, &run, rate);
        }
        if ctx.json() {
            print_json(&doc);
        } else if ask.action == "plan" {
            print!("{}", render::plan(&run, ask.rate, ctx.width()));
        } else {
            print!("{}", render::summary(&run, &took, ctx.width()));
        }
        if ask.action == "plan" {
            return Ok(if render::plan_fails(&run) {
                Exit::ChecksFail
            } else {
                Exit::Ok
            });
        }
        return Ok(exit_for(ask.action, render::outcome(&run)));
    }
    // FAILED, TIMED_OUT, ABORTED.
    let error = ex
        .error
        .clone()
        .unwrap_or_else(|| format!("States.{}", ex.status));
    let cause = ex.cause.clone().unwrap_or_default();
    let message = message_of(&cause);
    if ctx.json() {
        print_json(
            &json!({"execution_arn": ex.arn, "status": ex.status, "error": error, "cause": cause}),
        );
    } else if error == "PrecheckFailed" {
        // The failing checks as a table, from the run document the precheck left.
        if let Ok(events) = follow::newest_with_data(&ctx.aws, &ex.arn, 25).await {
            if let Some(run) = history::latest_document(&events)
                .and_then(|d| serde_json::from_value::<Run>(d).ok())
            {
                if let Some(report) = &run.report {
                    let failing: Vec<_> = report.failures().into_iter().cloned().collect();
                    print!("{}", render::check_table(&failing, ctx.width()));
                }
            }
        }
    }
    let exit = if error == "SourceNotFound" {
        Exit::NotFound
    } else {
        Exit::ExecutionFailed
    };
    Err(CliError::new(
        exit,
        failure_sentence(ex, &error, &message, &took),
    ))
}

/// The message of a failure's cause (a Lambda error's JSON carries it in `errorMessage`).
pub fn message_of(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|c| {
            c.get("errorMessage")
                .or_else(|| c.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string())
}

fn failure_sentence(ex: &Execution, error: &str, message: &str, took: &str) -> String {
    let message = crate::awsctx::short(message);
    match ex.status.as_str() {
        "TIMED_OUT" => format!(
            "the execution timed out after {took} ({error}): start the same request again, it continues where this one stopped"
        ),
        "ABORTED" => format!(
            "the execution was stopped after {took} ({error}{}): start the same request again, it continues where this one stopped",
            if message.is_empty() { String::new() } else { format!(": {message}") }
        ),
        _ if message.is_empty() => format!("the execution failed after {took}: {error}"),
        _ => format!("the execution failed after {took}: {error}: {message}"),
    }
}

/// `--rate`: the plan's estimate re-computed at that rate (from the vCPUs billed).
fn rerate(doc: &mut Value, run: &Run, rate: f64) {
    let Some(cost) = run.report.as_ref().and_then(|r| r.cost_of_waiting.as_ref()) else {
        return;
    };
    if let Some(c) = doc
        .pointer_mut("/report/cost_of_waiting")
        .and_then(Value::as_object_mut)
    {
        c.insert("rate_per_vcpu_hour".into(), json!(rate));
        c.insert(
            "monthly_usd".into(),
            json!(render::monthly_at(cost, Some(rate))),
        );
    }
}

/// The exit code of a run's outcome for the action asked.
pub fn exit_for(action: &str, outcome: Outcome) -> Exit {
    match outcome {
        Outcome::Failed => Exit::ExecutionFailed,
        Outcome::Succeeded | Outcome::SwitchedOver | Outcome::Planned | Outcome::NothingToDo => {
            Exit::Ok
        }
        Outcome::Prepared if action == "prepare" => Exit::Ok,
        Outcome::Aborted if action == "abort" => Exit::Ok,
        Outcome::Prepared
        | Outcome::Aborted
        | Outcome::SwitchoverSkipped
        | Outcome::Rejected
        | Outcome::AlreadyInProgress
        | Outcome::NotStarted
        | Outcome::Skipped => Exit::Pending,
    }
}

async fn finish_fleet(ctx: &Ctx, ex: &Execution, ask: Ask<'_>) -> Result<Exit, CliError> {
    let campaign = match &ex.output {
        Some(o) if o.get("rows").is_some() => Some(o.clone()),
        _ => follow::newest_with_data(&ctx.aws, &ex.arn, 25)
            .await
            .ok()
            .and_then(|events| history::last_output_with(&events, "rows")),
    };
    let rows: Vec<Row> = campaign
        .as_ref()
        .and_then(|c| c.get("rows"))
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default();
    if ctx.json() {
        match &campaign {
            Some(c) => print_json(c),
            None => print_json(
                &json!({"execution_arn": ex.arn, "status": ex.status, "error": ex.error, "cause": ex.cause}),
            ),
        }
    } else {
        let summary = Summary::of(&rows, false);
        println!("fleet {}: {}", ask.action, summary.headline());
        if !rows.is_empty() {
            println!();
            print!("{}", render::fleet_table(&rows, ask.rate));
        }
    }
    if ex.status != "SUCCEEDED" {
        let error = ex
            .error
            .clone()
            .unwrap_or_else(|| format!("States.{}", ex.status));
        let message = message_of(ex.cause.as_deref().unwrap_or_default());
        let took = phase::elapsed(ex.elapsed());
        return Err(CliError::new(
            Exit::ExecutionFailed,
            failure_sentence(ex, &error, &message, &took),
        ));
    }
    let failing_plan = rows.iter().any(|r| {
        r.outcome == Outcome::Planned
            && r.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("failed prechecks"))
    });
    if ask.action == "plan" && failing_plan {
        return Ok(Exit::ChecksFail);
    }
    let worst = rows
        .iter()
        .map(|r| exit_for(ask.action, r.outcome))
        .max_by_key(|e| match e {
            Exit::ExecutionFailed => 3,
            Exit::Pending => 2,
            _ => 1,
        })
        .unwrap_or(Exit::Ok);
    Ok(if worst == Exit::Pending && ask.action == "plan" {
        Exit::Ok
    } else {
        worst
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_outcome_and_the_action() {
        assert_eq!(exit_for("upgrade", Outcome::Succeeded), Exit::Ok);
        assert_eq!(
            exit_for("upgrade", Outcome::SwitchoverSkipped),
            Exit::Pending
        );
        assert_eq!(exit_for("upgrade", Outcome::Rejected), Exit::Pending);
        assert_eq!(exit_for("upgrade", Outcome::Prepared), Exit::Pending);
        assert_eq!(exit_for("prepare", Outcome::Prepared), Exit::Ok);
        assert_eq!(exit_for("abort", Outcome::Aborted), Exit::Ok);
        assert_eq!(
            exit_for("upgrade", Outcome::Aborted),
            Exit::Pending,
            "on_reject abort"
        );
        assert_eq!(
            exit_for("upgrade", Outcome::AlreadyInProgress),
            Exit::Pending
        );
        assert_eq!(exit_for("cleanup", Outcome::Succeeded), Exit::Ok);
        assert_eq!(exit_for("upgrade", Outcome::Failed), Exit::ExecutionFailed);
    }

    #[test]
    fn a_lambda_cause_gives_its_message() {
        let cause = r#"{"errorType":"SourceNotFound","errorMessage":"no RDS DB instance or cluster named nope"}"#;
        assert_eq!(
            message_of(cause),
            "no RDS DB instance or cluster named nope"
        );
        assert_eq!(message_of("plain text"), "plain text");
    }
}
