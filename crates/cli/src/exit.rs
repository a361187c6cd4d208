//! Exit codes and errors: every failure is one sentence (what is wrong, what to do) and a
//! documented exit code.

use std::fmt;

/// rbg's exit codes (also in `rbg --help` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command did what it was asked: the execution succeeded with the outcome asked for.
    Ok = 0,
    /// The execution failed (or timed out, or was aborted): its error and message are printed.
    ExecutionFailed = 1,
    /// Bad usage or a refused input (clap's own errors, and requests the contract refuses).
    Usage = 2,
    /// AWS or configuration: credentials, Region, endpoint, missing stack or state machine.
    Aws = 3,
    /// The database or execution does not exist.
    NotFound = 4,
    /// approve / reject: the approval was already answered (or timed out).
    AlreadyAnswered = 5,
    /// Nothing failed, but the change asked for is not done: green was left prepared
    /// (switchover skipped, rejected, approval timed out), another run is in progress, or the
    /// execution is not (yet) waiting for an approval.
    Pending = 6,
    /// plan: the plan ran and at least one check fails (a mutating action would be refused).
    ChecksFail = 10,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// What `rbg --help` and the README say about exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   done: the execution succeeded with the outcome asked for (plan: every check passes or warns)
  1   the execution failed, timed out or was aborted (its error and message are printed)
  2   usage error or a refused input (nothing was started)
  3   AWS or configuration problem: credentials, Region, endpoint, stack or state machine not found
  4   the database or execution does not exist
  5   approve/reject: already answered (or the approval timed out); nothing was changed
  6   pending: nothing failed but the change is not done (green left prepared: switchover skipped,
      rejected or approval timed out; already in progress; not waiting for an approval yet)
  10  plan: the plan ran and at least one check fails (prepare/upgrade would be refused)

Every command takes --json: the raw document (run, campaign, rows, execution) on stdout, nothing else.
The state machine: --state-machine / RBG_STATE_MACHINE_ARN (fleet: --fleet-state-machine /
RBG_FLEET_STATE_MACHINE_ARN), else the outputs StateMachineArn / FleetStateMachineArn of the stack
--stack / RBG_STACK (default rds-bluegreen). AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL are honoured.";

/// A failure of rbg itself: one sentence and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }
    pub fn aws(message: impl Into<String>) -> Self {
        Self::new(Exit::Aws, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let codes: Vec<u8> = [
            Exit::Ok,
            Exit::ExecutionFailed,
            Exit::Usage,
            Exit::Aws,
            Exit::NotFound,
            Exit::AlreadyAnswered,
            Exit::Pending,
            Exit::ChecksFail,
        ]
        .iter()
        .map(|e| e.code())
        .collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 10]);
    }

    #[test]
    fn the_help_documents_every_code() {
        for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "6 ", "10 "] {
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {code}")),
                "code {code} undocumented"
            );
        }
    }
}
