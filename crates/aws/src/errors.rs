//! SDK errors to stable error names: throttling, 5xx and network trouble are transient
//! (the state machine retries them); everything else says what AWS refused and what to do.
//!
//! An SDK error is read once, into an [`AwsError`]: the call, what happened, the SDK's own
//! words. It has two readings. The workers end with a [`WorkerError`] (`From<AwsError>`:
//! [`classify`], whose names the state machine's `Retry` and `Catch` match); rbg tells its
//! operator what to do, from a [`Fault`] ([`AwsError::fault`]: credentials missing or
//! expired, an endpoint out of reach, or AWS's own answer).

use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bluegreen_domain::model::error::WorkerError;
use std::fmt;

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

/// One AWS call that failed, as the SDK reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The call, as IAM names it: `rds:DescribeDBInstances`.
    pub operation: String,
    pub cause: Cause,
    /// The SDK's whole chain of messages (`DisplayErrorContext`).
    pub detail: String,
}

/// What happened to the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// No answer in time: the attempt or the operation timeout fired.
    TimedOut,
    /// The request did not get through (the SDK's dispatch failure).
    Dispatch(Dispatch),
    /// An answer came that could not be read.
    Unreadable,
    /// AWS answered with an error: its code (none when the answer named none), its message,
    /// the HTTP status.
    Service {
        code: Option<String>,
        message: Option<String>,
        status: u16,
    },
    /// The request could not be built or sent for another reason (credentials that could not
    /// be loaded, say).
    Other,
}

/// Why a request did not get through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// The connection failed or was reset.
    Io,
    /// Connecting timed out.
    Timeout,
    /// Anything else below the HTTP request (TLS, say).
    Other,
}

/// What went wrong, as an operator can act on it: rbg words each one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// AWS answered with an error code (`Unknown` when the answer named none).
    Service {
        code: String,
        message: String,
    },
    /// No credentials could be loaded (none configured, or the profile's source failed).
    NoCredentials(String),
    /// Credentials were found but have expired (an SSO session, a role session).
    Expired,
    /// The endpoint could not be reached (connection refused, DNS, timeout).
    Unreachable(String),
    Other(String),
}

impl Fault {
    /// The AWS error code, when AWS answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Fault::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A failure without a service answer, from the error's whole chain of messages.
pub fn classify_transport(detail: &str) -> Fault {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("expired") {
        Fault::Expired
    } else if lower.contains("credential") {
        Fault::NoCredentials(detail.to_string())
    } else if lower.contains("connect")
        || lower.contains("dns")
        || lower.contains("timed out")
        || lower.contains("timeout")
        || lower.contains("io error")
    {
        Fault::Unreachable(detail.to_string())
    } else {
        Fault::Other(detail.to_string())
    }
}

impl AwsError {
    /// Reads an SDK error from `operation` (e.g. "rds:DescribeDBInstances").
    pub fn new<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let cause = match err {
            SdkError::TimeoutError(_) => Cause::TimedOut,
            SdkError::DispatchFailure(f) => Cause::Dispatch(if f.is_io() {
                Dispatch::Io
            } else if f.is_timeout() {
                Dispatch::Timeout
            } else {
                Dispatch::Other
            }),
            SdkError::ResponseError(_) => Cause::Unreadable,
            SdkError::ServiceError(service) => Cause::Service {
                code: service.err().code().map(str::to_string),
                message: service.err().message().map(str::to_string),
                status: service.raw().status().as_u16(),
            },
            _ => Cause::Other,
        };
        Self {
            operation: operation.to_string(),
            cause,
            detail: DisplayErrorContext(err).to_string(),
        }
    }

    /// The AWS error code of a service error, if the error is one.
    pub fn code(&self) -> Option<&str> {
        match &self.cause {
            Cause::Service { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The AWS error message of a service error, if it came with one.
    pub fn message(&self) -> Option<&str> {
        match &self.cause {
            Cause::Service { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The operator's reading.
    pub fn fault(&self) -> Fault {
        match &self.cause {
            Cause::Service { code, message, .. } => Fault::Service {
                code: code.clone().unwrap_or_else(|| "Unknown".into()),
                message: message.clone().unwrap_or_default(),
            },
            Cause::TimedOut | Cause::Dispatch(Dispatch::Io | Dispatch::Timeout) => {
                Fault::Unreachable(self.detail.clone())
            }
            Cause::Dispatch(Dispatch::Other) | Cause::Unreadable | Cause::Other => {
                classify_transport(&self.detail)
            }
        }
    }

    /// The workers' reading: the stable error name and its message.
    pub fn worker_error(&self) -> WorkerError {
        let operation = &self.operation;
        match &self.cause {
            Cause::TimedOut => WorkerError::AwsUnavailable(format!(
                "{operation} timed out: AWS did not answer in time; the state machine retries this step"
            )),
            Cause::Dispatch(d) => WorkerError::AwsUnavailable(format!(
                "{operation} could not reach AWS ({}): the state machine retries this step; if it \
                 persists, check the function's network access and AWS_ENDPOINT_URL",
                match d {
                    Dispatch::Io => "connection failed or reset",
                    Dispatch::Timeout => "timed out",
                    Dispatch::Other => "dispatch failure",
                }
            )),
            Cause::Unreadable => WorkerError::AwsUnavailable(format!(
                "{operation} returned a response that could not be read: the state machine retries this step"
            )),
            // A success status whose body the SDK could not read comes back as a service error
            // without a code: not a refusal.
            Cause::Service {
                code: None, status, ..
            } if (200..300).contains(status) => WorkerError::AwsRequestFailed(format!(
                "{operation} answered HTTP {status} with a body this build's AWS SDK could not read: \
                 if it persists, report it with the function's log (an SDK update may be needed)"
            )),
            Cause::Service {
                code,
                message,
                status,
            } => from_code(
                operation,
                code.as_deref().unwrap_or("Unknown"),
                message.as_deref().unwrap_or("no message"),
                *status,
            ),
            Cause::Other => {
                WorkerError::AwsRequestFailed(format!("{operation} failed: {}", self.detail))
            }
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.worker_error().fmt(f)
    }
}

impl std::error::Error for AwsError {}

impl From<AwsError> for WorkerError {
    fn from(e: AwsError) -> Self {
        e.worker_error()
    }
}

/// Maps an SDK error from `operation` (e.g. "rds:DescribeDBInstances") to the workers' error.
pub fn classify<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> WorkerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::new(operation, err).worker_error()
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

/// Maps any SDK result, naming the operation: to the workers' error (`or_classify`), or read
/// once for a caller that needs more than its name (`or_aws`).
pub trait Classify<T> {
    fn or_classify(self, operation: &str) -> Result<T, WorkerError>;
    fn or_aws(self, operation: &str) -> Result<T, AwsError>;
}

impl<T, E> Classify<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn or_classify(self, operation: &str) -> Result<T, WorkerError> {
        self.map_err(|e| classify(operation, &e))
    }
    fn or_aws(self, operation: &str) -> Result<T, AwsError> {
        self.map_err(|e| AwsError::new(operation, &e))
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

    #[test]
    fn expired_credentials_are_their_own_fault() {
        let sso = classify_transport("failed to load credentials: the SSO session has expired");
        assert_eq!(sso, Fault::Expired);
    }

    #[test]
    fn transport_failures_are_classified() {
        assert!(matches!(
            classify_transport("dispatch failure: io error: Connection refused (os error 111)"),
            Fault::Unreachable(_)
        ));
        assert!(matches!(
            classify_transport("failed to construct request: no credentials in the property bag"),
            Fault::NoCredentials(_)
        ));
        assert!(matches!(
            classify_transport("io error: Connection refused"),
            Fault::Unreachable(_)
        ));
        assert!(matches!(
            classify_transport("something else"),
            Fault::Other(_)
        ));
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

        fn fault(e: &E) -> super::super::Fault {
            super::super::AwsError::new("rds:DescribeDBInstances", e).fault()
        }

        #[test]
        fn the_operator_reads_a_service_answer_as_its_code_and_message() {
            assert_eq!(
                fault(&service(Some("AccessDenied"), 403)),
                super::super::Fault::Service {
                    code: "AccessDenied".into(),
                    message: "boom".into()
                }
            );
            assert_eq!(
                fault(&service(None, 502)),
                super::super::Fault::Service {
                    code: "Unknown".into(),
                    message: "boom".into()
                }
            );
        }

        #[test]
        fn the_operator_reads_trouble_on_the_way_as_unreachable() {
            use super::super::Fault;
            let reset = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
            let e: E = SdkError::dispatch_failure(ConnectorError::io(Box::new(reset)));
            assert!(
                matches!(fault(&e), Fault::Unreachable(_)),
                "{:?}",
                fault(&e)
            );
            let e: E = SdkError::timeout_error("operation timeout (all attempts) exceeded 25s");
            assert!(matches!(fault(&e), Fault::Unreachable(_)));
            let e: E =
                SdkError::dispatch_failure(ConnectorError::timeout("connect timed out".into()));
            assert!(matches!(fault(&e), Fault::Unreachable(_)));
        }

        #[test]
        fn the_same_error_keeps_its_code_for_callers_that_map_one() {
            let e = super::super::AwsError::new(
                "rds:DescribeDBInstances",
                &service(Some("DBInstanceNotFound"), 404),
            );
            assert_eq!(e.code(), Some("DBInstanceNotFound"));
            assert_eq!(e.message(), Some("boom"));
            assert_eq!(e.to_string(), e.worker_error().to_string());
            assert_eq!(
                super::super::WorkerError::from(e.clone()).name(),
                "AwsRequestFailed"
            );
        }
    }
}
