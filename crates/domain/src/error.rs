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

impl WorkerError {
    /// The stable `errorType` that Step Functions sees.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::SourceNotFound(_) => "SourceNotFound",
            Self::PrecheckFailed(_) => "PrecheckFailed",
            Self::Throttled(_) => "Throttled",
            Self::AwsUnavailable(_) => "AwsUnavailable",
            Self::DeploymentStateTransient(_) => "DeploymentStateTransient",
            Self::AwsRequestFailed(_) => "AwsRequestFailed",
            Self::DeploymentConflict(_) => "DeploymentConflict",
            Self::GreenFailed(_) => "GreenFailed",
            Self::ProvisioningTimedOut(_) => "ProvisioningTimedOut",
            Self::GuardrailViolated(_) => "GuardrailViolated",
            Self::SwitchoverFailed(_) => "SwitchoverFailed",
            Self::VerificationFailed(_) => "VerificationFailed",
            Self::Refused(_) => "Refused",
            Self::MalformedRun(_) => "MalformedRun",
        }
    }

    /// Whether retrying the same step later may succeed. The ASL `Retry` lists mirror this.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Throttled(_) | Self::AwsUnavailable(_) | Self::DeploymentStateTransient(_)
        )
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidRequest(msg.into())
    }
}

/// Every error name, for tests that keep the ASL in step with the code.
pub const ERROR_NAMES: &[&str] = &[
    "InvalidRequest",
    "SourceNotFound",
    "PrecheckFailed",
    "Throttled",
    "AwsUnavailable",
    "DeploymentStateTransient",
    "AwsRequestFailed",
    "DeploymentConflict",
    "GreenFailed",
    "ProvisioningTimedOut",
    "GuardrailViolated",
    "SwitchoverFailed",
    "VerificationFailed",
    "Refused",
    "MalformedRun",
];
