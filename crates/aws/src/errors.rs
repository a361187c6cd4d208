//! SDK errors to stable error names: throttling, 5xx and network trouble are transient
//! (the state machine retries them); everything else says what AWS refused and what to do.

use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bluegreen_domain::WorkerError;

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
];

/// Maps an SDK error from `operation` (e.g. "rds:DescribeDBInstances").
pub fn classify<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> WorkerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::TimeoutError(_) => WorkerError::AwsUnavailable(format!(
            "{operation} timed out: AWS did not answer in time; the state machine retries this step"
        )),
        SdkError::DispatchFailure(f) => WorkerError::AwsUnavailable(format!(
            "{operation} could not reach AWS ({}): the state machine retries this step; if it \
             persists, check the function's network access and AWS_ENDPOINT_URL",
            if f.is_io() {
                "connection failed or reset"
            } else if f.is_timeout() {
                "timed out"
            } else {
                "dispatch failure"
            }
        )),
        SdkError::ResponseError(_) => WorkerError::AwsUnavailable(format!(
            "{operation} returned a response that could not be read: the state machine retries this step"
        )),
        SdkError::ServiceError(service) => {
            let e = service.err();
            from_code(
                operation,
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or("no message"),
                service.raw().status().as_u16(),
            )
        }
        other => WorkerError::AwsRequestFailed(format!(
            "{operation} failed: {}",
            DisplayErrorContext(other)
        )),
    }
}

/// The rule on its own, so it can be tested on every code without building SDK errors.
pub fn from_code(operation: &str, code: &str, message: &str, status: u16) -> WorkerError {
    if THROTTLING_CODES.contains(&code) || status == 429 {
        return WorkerError::Throttled(format!(
            "{operation} was throttled by AWS ({code}: {message}); the state machine retries with backoff"
        ));
    }
    if code == "InvalidBlueGreenDeploymentStateFault" {
        return WorkerError::DeploymentStateTransient(format!(
            "{operation}: RDS says the deployment is not in a state for this call yet ({message}); \
             this is often eventual consistency right after a change, and the state machine retries"
        ));
    }
    if status >= 500 || code == "InternalFailure" || code == "ServiceUnavailable" {
        return WorkerError::AwsUnavailable(format!(
            "{operation} failed on the AWS side ({code}, HTTP {status}: {message}); the state machine retries"
        ));
    }
    if code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation"
    {
        return WorkerError::AwsRequestFailed(format!(
            "{operation} was denied ({message}): grant the function's role this action on the \
             database (see infra/template.yaml; the database may need the bluegreen:managed=true tag)"
        ));
    }
    WorkerError::AwsRequestFailed(format!(
        "{operation} was refused by AWS ({code}: {message})"
    ))
}

/// Maps any SDK result, naming the operation.
pub trait Classify<T> {
    fn or_classify(self, operation: &str) -> Result<T, WorkerError>;
}

impl<T, E> Classify<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn or_classify(self, operation: &str) -> Result<T, WorkerError> {
        self.map_err(|e| classify(operation, &e))
    }
}

/// The AWS error code of a service error, if the error is one.
pub fn code_of<E>(err: &SdkError<E, HttpResponse>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_and_429_are_throttled() {
        for code in ["Throttling", "ThrottlingException", "RequestLimitExceeded"] {
            assert_eq!(
                from_code("rds:X", code, "Rate exceeded", 400).name(),
                "Throttled"
            );
        }
        assert_eq!(from_code("rds:X", "Whatever", "", 429).name(), "Throttled");
    }

    #[test]
    fn server_errors_are_transient_and_client_errors_are_not() {
        assert_eq!(
            from_code("rds:X", "InternalFailure", "", 500).name(),
            "AwsUnavailable"
        );
        assert_eq!(
            from_code("rds:X", "Unknown", "", 503).name(),
            "AwsUnavailable"
        );
        assert!(from_code("rds:X", "InternalFailure", "", 500).is_transient());
        let denied = from_code(
            "rds:DeleteDBInstance",
            "AccessDenied",
            "not authorized",
            403,
        );
        assert_eq!(denied.name(), "AwsRequestFailed");
        assert!(!denied.is_transient());
        assert!(denied.to_string().contains("grant the function's role"));
    }

    #[test]
    fn invalid_deployment_state_is_its_own_transient_name() {
        let e = from_code(
            "rds:SwitchoverBlueGreenDeployment",
            "InvalidBlueGreenDeploymentStateFault",
            "not ready",
            400,
        );
        assert_eq!(e.name(), "DeploymentStateTransient");
        assert!(e.is_transient());
    }
}
