//! Which state machines to start: the flag or environment variable, else the deployed stack's
//! outputs (CloudFormation DescribeStacks).

use crate::awsctx::Aws;
use crate::cli::Global;
use crate::exit::CliError;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    Upgrade,
    Fleet,
}

impl Machine {
    pub fn output_key(self) -> &'static str {
        match self {
            Machine::Upgrade => "StateMachineArn",
            Machine::Fleet => "FleetStateMachineArn",
        }
    }
    fn flag(self) -> &'static str {
        match self {
            Machine::Upgrade => "--state-machine ARN (or RBG_STATE_MACHINE_ARN)",
            Machine::Fleet => "--fleet-state-machine ARN (or RBG_FLEET_STATE_MACHINE_ARN)",
        }
    }
}

/// A state machine ARN as given: `arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME`.
pub fn check_machine_arn(arn: &str, flag: &str) -> Result<(), CliError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() == 7
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == "stateMachine"
        && !parts[6].is_empty()
    {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "{flag} `{arn}` is not a state machine ARN: give arn:aws:states:REGION:ACCOUNT:stateMachine:NAME \
             (the stack's output StateMachineArn)"
        )))
    }
}

/// The ARN of an execution of `machine_arn` named `name`; an execution ARN as it is.
pub fn execution_arn(machine_arn: &str, name_or_arn: &str) -> Result<String, CliError> {
    if name_or_arn.starts_with("arn:") {
        let parts: Vec<&str> = name_or_arn.split(':').collect();
        return if parts.len() == 8 && parts[2] == "states" && parts[5] == "execution" {
            Ok(name_or_arn.to_string())
        } else {
            Err(CliError::usage(format!(
                "`{name_or_arn}` is not an execution ARN: give arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME \
                 or the execution's name"
            )))
        };
    }
    if !is_execution_name(name_or_arn) {
        return Err(CliError::usage(format!(
            "`{}` is neither an execution ARN nor an execution name (1-80 letters, digits, - and _): \
             give one as rbg ls shows it",
            name_or_arn.escape_debug()
        )));
    }
    Ok(format!(
        "{}:{name_or_arn}",
        machine_arn.replacen(":stateMachine:", ":execution:", 1)
    ))
}

pub fn is_execution_name(name: &str) -> bool {
    (1..=80).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The outputs of the stack, read once.
pub struct Discovery {
    outputs: Option<BTreeMap<String, String>>,
}

impl Discovery {
    pub fn new() -> Self {
        Self { outputs: None }
    }

    /// The state machine's ARN: flag / environment, else the stack's output.
    pub async fn machine(
        &mut self,
        aws: &Aws,
        global: &Global,
        which: Machine,
    ) -> Result<String, CliError> {
        let given = match which {
            Machine::Upgrade => global.state_machine.as_deref(),
            Machine::Fleet => global.fleet_state_machine.as_deref(),
        };
        if let Some(arn) = given.filter(|a| !a.is_empty()) {
            check_machine_arn(arn, which.flag())?;
            return Ok(arn.to_string());
        }
        let outputs = self.outputs(aws, &global.stack, which).await?;
        outputs
            .get(which.output_key())
            .cloned()
            .ok_or_else(|| {
                CliError::aws(format!(
                    "stack {} in {} has no output {}: deploy this release's template (make deploy) or pass {}",
                    global.stack,
                    aws.region,
                    which.output_key(),
                    which.flag()
                ))
            })
    }

    async fn outputs(
        &mut self,
        aws: &Aws,
        stack: &str,
        which: Machine,
    ) -> Result<&BTreeMap<String, String>, CliError> {
        if self.outputs.is_none() {
            let outputs = match aws.stacks.outputs(stack).await {
                Ok(Some(outputs)) => outputs,
                Ok(None) => {
                    return Err(CliError::aws(format!(
                        "no stack {stack} in {}: deploy it (make deploy) or pass {}",
                        aws.region,
                        which.flag()
                    )))
                }
                Err(e) => return Err(aws.error(&format!("read the outputs of stack {stack}"), &e)),
            };
            self.outputs = Some(outputs);
        }
        Ok(self.outputs.as_ref().expect("set above"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:upgrade";

    #[test]
    fn an_execution_name_becomes_its_arn() {
        assert_eq!(
            execution_arn(SM, "2f1e-ab_1").unwrap(),
            "arn:aws:states:us-east-1:123456789012:execution:upgrade:2f1e-ab_1"
        );
        let arn = "arn:aws:states:us-east-1:123456789012:execution:upgrade:x";
        assert_eq!(execution_arn(SM, arn).unwrap(), arn);
        assert!(execution_arn(SM, "arn:aws:rds:us-east-1:1:db:x").is_err());
        assert!(execution_arn(SM, "has space").is_err());
    }

    #[test]
    fn a_state_machine_arn_is_checked() {
        assert!(check_machine_arn(SM, "--state-machine").is_ok());
        let e = check_machine_arn("upgrade", "--state-machine ARN").unwrap_err();
        assert_eq!(e.exit, crate::exit::Exit::Usage);
        assert!(e
            .message
            .starts_with("--state-machine ARN `upgrade` is not a state machine ARN"));
    }
}
