//! Errors a worker can end with. Each has a stable name: it becomes the Lambda `errorType`,
//! which the state machine's `Retry` and `Catch` match on. Renaming one is a breaking change
//! to `statemachine/upgrade.asl.json`.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum WorkerError {
    /// The execution input is not a request we accept. Never retried.
    #[error("{0}")]
    InvalidRequest(String),
    /// The database named by the request does not exist in this account and Region.
    #[error("{0}")]
    SourceNotFound(String),
    /// One or more prechecks failed for a mutating action; the message names each of them.
    #[error("{0}")]
    PrecheckFailed(String),
    /// AWS throttled us; the state machine retries with backoff.
    #[error("{0}")]
    Throttled(String),
    /// A transient AWS-side failure (5xx, connection reset, timeout); retried.
    #[error("{0}")]
    AwsUnavailable(String),
    /// The deployment is in a state that RDS says is transiently invalid for this call
    /// (eventual consistency right after a change); retried a few times.
    #[error("{0}")]
    DeploymentStateTransient(String),
    /// AWS refused a call for a reason retrying will not fix (permissions, validation).
    #[error("{0}")]
    AwsRequestFailed(String),
    /// A blue/green deployment exists that this run may not adopt.
    #[error("{0}")]
    DeploymentConflict(String),
    /// The green environment failed to build or the deployment reached a failed state.
    #[error("{0}")]
    GreenFailed(String),
    /// Green did not become ready within the request's `max_provisioning_minutes`.
    #[error("{0}")]
    ProvisioningTimedOut(String),
    /// A switchover guardrail (replica lag, task status) stayed violated past its bound.
    #[error("{0}")]
    GuardrailViolated(String),
    /// RDS reported the switchover as failed (it rolls back on its own).
    #[error("{0}")]
    SwitchoverFailed(String),
    /// After switchover, production does not look like what the plan promised.
    #[error("{0}")]
    VerificationFailed(String),
    /// The operation is refused because it would lose the fallback or act on the wrong thing.
    #[error("{0}")]
    Refused(String),
    /// The run's own document (the state passed between steps) is missing something a step
    /// needs: a state machine wiring bug, not a user error.
    #[error("{0}")]
    MalformedRun(String),
}

/// The stable name of each error, typed: the state machine's `Retry` and `Catch` match on
/// `as_str()`, the run document records it, the rules below read it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidRequest,
    SourceNotFound,
    PrecheckFailed,
    Throttled,
    AwsUnavailable,
    DeploymentStateTransient,
    AwsRequestFailed,
    DeploymentConflict,
    GreenFailed,
    ProvisioningTimedOut,
    GuardrailViolated,
    SwitchoverFailed,
    VerificationFailed,
    Refused,
    MalformedRun,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 15] = [
        Self::InvalidRequest,
        Self::SourceNotFound,
        Self::PrecheckFailed,
        Self::Throttled,
        Self::AwsUnavailable,
        Self::DeploymentStateTransient,
        Self::AwsRequestFailed,
        Self::DeploymentConflict,
        Self::GreenFailed,
        Self::ProvisioningTimedOut,
        Self::GuardrailViolated,
        Self::SwitchoverFailed,
        Self::VerificationFailed,
        Self::Refused,
        Self::MalformedRun,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "InvalidRequest",
            Self::SourceNotFound => "SourceNotFound",
            Self::PrecheckFailed => "PrecheckFailed",
            Self::Throttled => "Throttled",
            Self::AwsUnavailable => "AwsUnavailable",
            Self::DeploymentStateTransient => "DeploymentStateTransient",
            Self::AwsRequestFailed => "AwsRequestFailed",
            Self::DeploymentConflict => "DeploymentConflict",
            Self::GreenFailed => "GreenFailed",
            Self::ProvisioningTimedOut => "ProvisioningTimedOut",
            Self::GuardrailViolated => "GuardrailViolated",
            Self::SwitchoverFailed => "SwitchoverFailed",
            Self::VerificationFailed => "VerificationFailed",
            Self::Refused => "Refused",
            Self::MalformedRun => "MalformedRun",
        }
    }

    /// The kind of a recorded error name; `None` for Step Functions' own (`States.*`,
    /// `Lambda.*`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether retrying the same step later may succeed. The ASL's retry policy lists these.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::Throttled | Self::AwsUnavailable | Self::DeploymentStateTransient
        )
    }

    /// Green's build itself failed (or can never finish): the only errors after which the
    /// failure path deletes an unswitched green. Any other failure keeps a green that may be
    /// healthy (an AWS outage, a refused switchover call, a guardrail), for `switchover`
    /// or `abort` later.
    pub fn means_build_failed(self) -> bool {
        matches!(self, Self::GreenFailed | Self::ProvisioningTimedOut)
    }
}

impl WorkerError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidRequest(_) => ErrorKind::InvalidRequest,
            Self::SourceNotFound(_) => ErrorKind::SourceNotFound,
            Self::PrecheckFailed(_) => ErrorKind::PrecheckFailed,
            Self::Throttled(_) => ErrorKind::Throttled,
            Self::AwsUnavailable(_) => ErrorKind::AwsUnavailable,
            Self::DeploymentStateTransient(_) => ErrorKind::DeploymentStateTransient,
            Self::AwsRequestFailed(_) => ErrorKind::AwsRequestFailed,
            Self::DeploymentConflict(_) => ErrorKind::DeploymentConflict,
            Self::GreenFailed(_) => ErrorKind::GreenFailed,
            Self::ProvisioningTimedOut(_) => ErrorKind::ProvisioningTimedOut,
            Self::GuardrailViolated(_) => ErrorKind::GuardrailViolated,
            Self::SwitchoverFailed(_) => ErrorKind::SwitchoverFailed,
            Self::VerificationFailed(_) => ErrorKind::VerificationFailed,
            Self::Refused(_) => ErrorKind::Refused,
            Self::MalformedRun(_) => ErrorKind::MalformedRun,
        }
    }

    /// The stable `errorType` that Step Functions sees.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Whether retrying the same step later may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind().is_transient()
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidRequest(msg.into())
    }
}

/// Every error name, for tests that keep the ASL in step with the code.
pub fn error_names() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// Shows user input in a message without letting control characters through: the first 80
/// characters, escaped, and `…` when cut.
pub fn printable(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    let mut out = cut.escape_debug().to_string();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}
