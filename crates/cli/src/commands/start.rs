//! Starting an execution and following it (plan, the upgrade actions, fleet).

use super::outcome::finish;
use super::{print_json, Ctx};
use crate::awsctx::Aws;
use crate::cli::Start;
use crate::discover::{self, Machine};
use crate::exit::{CliError, Exit};
use crate::follow::{self, Progress};
use bluegreen_aws::Fault;
use serde_json::{json, Value};

/// What a followed execution was asked to do, for its outcome and exit code.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub action: &'a str,
    pub rate: Option<f64>,
}

pub async fn start_and_follow(
    ctx: &mut Ctx,
    which: Machine,
    input: Value,
    start: &Start,
    ask: Ask<'_>,
) -> Result<Exit, CliError> {
    let machine = ctx.machine(which).await?;
    if let Some(name) = &start.name {
        if !discover::is_execution_name(name) {
            return Err(CliError::usage(format!(
                "--name `{}` is not an execution name: use 1-80 letters, digits, - and _",
                name.escape_debug()
            )));
        }
    }
    let arn = ctx
        .aws
        .executions
        .start_execution(&machine, start.name.as_deref(), &input.to_string())
        .await
        .map_err(|e| start_error(&ctx.aws, &machine, which, &e.fault()))?;
    let mut progress = Progress::new(false);
    let what = describe_input(&input, which);
    progress.say(&format!("rbg: {what}: execution {arn}"));
    if start.no_follow {
        if ctx.json() {
            print_json(&json!({"execution_arn": arn}));
        } else {
            println!("{arn}");
        }
        return Ok(Exit::Ok);
    }
    let ex = follow::follow(&ctx.aws, &arn, ctx.global.poll_seconds, &mut progress).await?;
    finish(ctx, &ex, ask).await
}

fn describe_input(input: &Value, which: Machine) -> String {
    let action = input
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("plan");
    match which {
        Machine::Upgrade => format!(
            "{action} {} to {}",
            input
                .get("db_identifier")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            input
                .get("target_engine_version")
                .and_then(Value::as_str)
                .unwrap_or("?")
        ),
        Machine::Fleet => {
            let tags: Vec<String> = input
                .pointer("/selector/tags")
                .and_then(Value::as_object)
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            format!("fleet {action} of the databases tagged {}", tags.join(", "))
        }
    }
}

fn start_error(aws: &Aws, machine: &str, which: Machine, fault: &Fault) -> CliError {
    let flag = match which {
        Machine::Upgrade => "--state-machine / RBG_STATE_MACHINE_ARN",
        Machine::Fleet => "--fleet-state-machine / RBG_FLEET_STATE_MACHINE_ARN",
    };
    match fault {
        Fault::Service { code, .. } if code == "StateMachineDoesNotExist" => CliError::aws(format!(
            "state machine {machine} does not exist in {}: deploy the stack (make deploy) or fix {flag}",
            aws.region
        )),
        Fault::Service { code, .. } if code == "StateMachineDeleting" => CliError::aws(format!(
            "state machine {machine} is being deleted: deploy the stack again (make deploy) or fix {flag}"
        )),
        Fault::Service { code, .. } if code == "ExecutionAlreadyExists" => CliError::usage(
            "an execution with this --name already exists with another input: pick another --name, or drop it",
        ),
        Fault::Service { code, message }
            if ["InvalidName", "InvalidExecutionInput", "ValidationException", "InvalidArn"].contains(&code.as_str()) =>
        {
            CliError::usage(format!(
                "Step Functions refused the execution ({code}: {}): fix it and run again",
                crate::awsctx::short(message)
            ))
        }
        _ => aws.explain("start the execution", fault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_is_described() {
        let i = json!({"db_identifier": "orders-pg", "target_engine_version": "16.4", "action": "upgrade"});
        assert_eq!(
            describe_input(&i, Machine::Upgrade),
            "upgrade orders-pg to 16.4"
        );
        let f = json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "plan"});
        assert_eq!(
            describe_input(&f, Machine::Fleet),
            "fleet plan of the databases tagged bluegreen:wave=1"
        );
    }
}
