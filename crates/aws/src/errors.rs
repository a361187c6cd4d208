//! SDK errors to stable error names: throttling, 5xx and network trouble are transient
//! (the state machine retries them); everything else says what AWS refused and what to do.

use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bluegreen_domain::model::error::WorkerError;

/// The codes the SDK's own retry classifier treats as throttling (`aws-runtime`'s
/// `THROTTLING_ERRORS`): what the SDK retried as throttling must reach the state machine as
/// `Throttled`, not as a refusal.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes the SDK treats as transient although they come with a 4xx status (`aws-runtime`'s
/// `TRANSIENT_ERRORS`): AWS timed out reading the request.
const TRANSIENT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

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
        // A success status whose body the SDK could not read comes back as a service error
        // without a code: not a refusal.
        SdkError::ServiceError(service)
            if service.err().code().is_none() && service.raw().status().is_success() =>
        {
            WorkerError::AwsRequestFailed(format!(
                "{operation} answered HTTP {} with a body this build's AWS SDK could not read: \
                 if it persists, report it with the function's log (an SDK update may be needed)",
                service.raw().status().as_u16()
            ))
        }
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
    if status >= 500
        || code == "InternalFailure"
        || code == "ServiceUnavailable"
        || TRANSIENT_CODES.contains(&code)
    {
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

    #[test]
    fn every_code_the_sdk_retries_is_retried_by_the_state_machine_too() {
        for code in [
            "PriorRequestNotComplete",
            "EC2ThrottledException",
            "BandwidthLimitExceeded",
            "ProvisionedThroughputExceededException",
        ] {
            assert_eq!(
                from_code("rds:X", code, "", 400).name(),
                "Throttled",
                "{code}"
            );
        }
        for code in ["RequestTimeout", "RequestTimeoutException"] {
            let e = from_code("rds:X", code, "Your socket connection to the server was not read from or written to within the timeout period.", 400);
            assert_eq!(e.name(), "AwsUnavailable", "{code}");
        }
    }

    // Errors below the API, built as the SDK builds them: what `classify` sees when the
    // network or the HTTP layer fails.
    mod sdk_errors {
        use super::super::classify;
        use aws_sdk_rds::config::http::HttpResponse;
        use aws_sdk_rds::error::{ConnectorError, SdkError};
        use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;

        type E = SdkError<DescribeDBInstancesError, HttpResponse>;

        fn raw(status: u16) -> HttpResponse {
            HttpResponse::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from("<html>bad gateway</html>"),
            )
        }

        fn service(code: Option<&str>, status: u16) -> E {
            let mut meta = ErrorMetadata::builder().message("boom");
            if let Some(code) = code {
                meta = meta.code(code);
            }
            SdkError::service_error(DescribeDBInstancesError::generic(meta.build()), raw(status))
        }

        fn name(e: &E) -> (&'static str, String) {
            let w = classify("rds:DescribeDBInstances", e);
            (w.name(), w.to_string())
        }

        #[test]
        fn a_reset_connection_is_retried() {
            let reset = std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            );
            let e: E = SdkError::dispatch_failure(ConnectorError::io(Box::new(reset)));
            let (n, msg) = name(&e);
            assert_eq!(n, "AwsUnavailable");
            assert!(
                msg.contains("connection failed or reset")
                    && msg.contains("rds:DescribeDBInstances"),
                "{msg}"
            );
        }

        #[test]
        fn a_connect_timeout_is_retried() {
            let e: E =
                SdkError::dispatch_failure(ConnectorError::timeout("connect timed out".into()));
            let (n, msg) = name(&e);
            assert_eq!(n, "AwsUnavailable");
            assert!(msg.contains("timed out"), "{msg}");
        }

        #[test]
        fn an_attempt_or_operation_timeout_is_retried() {
            let e: E = SdkError::timeout_error("operation timeout (all attempts) exceeded 25s");
            let (n, msg) = name(&e);
            assert_eq!(n, "AwsUnavailable");
            assert!(msg.contains("timed out"), "{msg}");
        }

        #[test]
        fn any_other_dispatch_failure_is_retried() {
            let e: E =
                SdkError::dispatch_failure(ConnectorError::other("tls handshake eof".into(), None));
            assert_eq!(name(&e).0, "AwsUnavailable");
        }

        #[test]
        fn an_unreadable_answer_is_retried() {
            let e: E = SdkError::response_error("truncated body", raw(200));
            assert_eq!(name(&e).0, "AwsUnavailable");
        }

        #[test]
        fn server_errors_with_or_without_a_code_are_retried() {
            for (code, status) in [
                (Some("InternalFailure"), 500),
                (Some("ServiceUnavailable"), 503),
                (None, 502),
                (None, 504),
            ] {
                assert_eq!(
                    name(&service(code, status)).0,
                    "AwsUnavailable",
                    "{code:?} {status}"
                );
            }
        }

        #[test]
        fn client_errors_are_not_retried_but_throttling_is() {
            assert_eq!(
                name(&service(Some("InvalidParameterValue"), 400)).0,
                "AwsRequestFailed"
            );
            assert_eq!(name(&service(None, 403)).0, "AwsRequestFailed");
            assert_eq!(name(&service(Some("Throttling"), 400)).0, "Throttled");
            assert_eq!(name(&service(None, 429)).0, "Throttled");
        }

        #[test]
        fn a_request_that_could_not_be_built_is_not_retried() {
            let e: E = SdkError::construction_failure("missing required field");
            assert_eq!(name(&e).0, "AwsRequestFailed");
        }
    }
}
