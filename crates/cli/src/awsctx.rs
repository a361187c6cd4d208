//! The AWS clients (the SDK's default chain: profile, Region, `AWS_ENDPOINT_URL`) and what an
//! SDK error means for the operator, as one sentence and an exit code.

use crate::exit::{CliError, Exit};
use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub struct Aws {
    pub sfn: aws_sdk_sfn::Client,
    pub rds: aws_sdk_rds::Client,
    pub cfn: aws_sdk_cloudformation::Client,
    pub region: String,
    /// `AWS_ENDPOINT_URL` (or the profile's `endpoint_url`), when set.
    pub endpoint: Option<String>,
}

impl Aws {
    /// Clients from the default chain; `profile` and `region` override it as the AWS CLI's
    /// `--profile` / `--region` do.
    pub async fn connect(profile: Option<&str>, region: Option<&str>) -> Result<Self, CliError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r.to_string()));
        }
        let conf = loader.load().await;
        let Some(region) = conf.region().map(|r| r.to_string()) else {
            return Err(CliError::aws(
                "no AWS Region is set: set AWS_REGION (or region in your AWS profile) or pass \
                 --region, and run again",
            ));
        };
        Ok(Self {
            sfn: aws_sdk_sfn::Client::new(&conf),
            rds: aws_sdk_rds::Client::new(&conf),
            cfn: aws_sdk_cloudformation::Client::new(&conf),
            endpoint: conf.endpoint_url().map(str::to_string),
            region,
        })
    }

    /// What failed, classified.
    pub fn failure<E, R>(&self, err: &SdkError<E, R>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let detail = DisplayErrorContext(err).to_string();
        match err {
            SdkError::ServiceError(_) => Failure::Service {
                code: err.code().unwrap_or("Unknown").to_string(),
                message: err.message().unwrap_or_default().to_string(),
            },
            SdkError::TimeoutError(_) => Failure::Unreachable(detail),
            SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
                Failure::Unreachable(detail)
            }
            _ => classify_transport(&detail),
        }
    }

    /// The sentence for a failure no command-specific rule explains (`what`: the call, e.g.
    /// "start the execution").
    pub fn error<E, R>(&self, what: &str, err: &SdkError<E, R>) -> CliError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.explain(what, &self.failure(err))
    }

    pub fn explain(&self, what: &str, failure: &Failure) -> CliError {
        explain(what, failure, &self.region, self.endpoint.as_deref())
    }
}

/// An SDK failure, as far as the operator is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// AWS answered with an error code.
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

impl Failure {
    pub fn code(&self) -> Option<&str> {
        match self {
            Failure::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A failure without a service answer, from the error's whole chain of messages.
pub fn classify_transport(detail: &str) -> Failure {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("expired") {
        Failure::Expired
    } else if lower.contains("credential") {
        Failure::NoCredentials(detail.to_string())
    } else if lower.contains("connect")
        || lower.contains("dns")
        || lower.contains("timed out")
        || lower.contains("timeout")
        || lower.contains("io error")
    {
        Failure::Unreachable(detail.to_string())
    } else {
        Failure::Other(detail.to_string())
    }
}

/// Error codes that mean the credentials have expired.
const EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException", "RequestExpired"];
/// Error codes that mean AWS does not accept the credentials at all.
const REJECTED: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
];
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
];
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// One sentence for a failure: what is wrong and what to do.
pub fn explain(what: &str, failure: &Failure, region: &str, endpoint: Option<&str>) -> CliError {
    let at = endpoint.map_or_else(|| format!("AWS in {region}"), |e| e.to_string());
    match failure {
        Failure::Expired => {
            CliError::aws("AWS credentials expired: refresh them (aws sso login) and run again")
        }
        Failure::NoCredentials(detail) => CliError::aws(format!(
            "no usable AWS credentials ({}): set AWS_PROFILE (and aws sso login) or \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and run again",
            short(detail)
        )),
        Failure::Unreachable(detail) => CliError::aws(format!(
            "cannot reach {at} to {what} ({}): check AWS_ENDPOINT_URL, the Region and the \
             network, and run again",
            short(detail)
        )),
        Failure::Service { code, .. } if EXPIRED.contains(&code.as_str()) => {
            explain(what, &Failure::Expired, region, endpoint)
        }
        Failure::Service { code, message } if REJECTED.contains(&code.as_str()) => {
            CliError::aws(format!(
                "AWS does not accept these credentials ({code}: {}): check AWS_PROFILE or the \
                 access key, and run again",
                short(message)
            ))
        }
        Failure::Service { code, message } if DENIED.contains(&code.as_str()) => {
            CliError::aws(format!(
                "access denied when trying to {what} ({}): use a role allowed to operate \
                 rds-bluegreen (see infra/README.md), and run again",
                short(message)
            ))
        }
        Failure::Service { code, .. } if THROTTLED.contains(&code.as_str()) => CliError::aws(
            format!("AWS throttled the calls to {what} ({code}): wait a minute and run again"),
        ),
        Failure::Service { code, message } => CliError::aws(format!(
            "AWS refused to {what} ({code}: {}): fix what it names and run again",
            short(message)
        )),
        Failure::Other(detail) => CliError::new(
            Exit::Aws,
            format!(
                "could not {what} ({}): check the AWS configuration and run again",
                short(detail)
            ),
        ),
    }
}

/// A message cut to one line of reasonable length.
pub fn short(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let one_line = one_line.trim_end_matches('.').to_string();
    if one_line.chars().count() > 200 {
        let cut: String = one_line.chars().take(199).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(code: &str) -> Failure {
        Failure::Service {
            code: code.into(),
            message: "The security token included in the request is expired.".into(),
        }
    }

    #[test]
    fn expired_credentials_say_how_to_refresh() {
        let e = explain(
            "start the execution",
            &service("ExpiredTokenException"),
            "us-east-1",
            None,
        );
        assert_eq!(e.exit, Exit::Aws);
        assert_eq!(
            e.message,
            "AWS credentials expired: refresh them (aws sso login) and run again"
        );
        let sso = classify_transport("failed to load credentials: the SSO session has expired");
        assert_eq!(sso, Failure::Expired);
    }

    #[test]
    fn transport_failures_are_classified() {
        assert!(matches!(
            classify_transport("dispatch failure: io error: Connection refused (os error 111)"),
            Failure::Unreachable(_)
        ));
        assert!(matches!(
            classify_transport("failed to construct request: no credentials in the property bag"),
            Failure::NoCredentials(_)
        ));
        let e = explain(
            "describe the stack",
            &classify_transport("io error: Connection refused"),
            "us-east-1",
            Some("http://127.0.0.1:1"),
        );
        assert!(
            e.message
                .starts_with("cannot reach http://127.0.0.1:1 to describe the stack"),
            "{}",
            e.message
        );
    }

    #[test]
    fn denied_and_throttled() {
        let e = explain(
            "list executions",
            &service("AccessDeniedException"),
            "eu-west-1",
            None,
        );
        assert!(e
            .message
            .starts_with("access denied when trying to list executions"));
        let t = explain(
            "list executions",
            &service("ThrottlingException"),
            "eu-west-1",
            None,
        );
        assert_eq!(
            t.message,
            "AWS throttled the calls to list executions (ThrottlingException): wait a minute and run again"
        );
    }

    #[test]
    fn short_is_one_line() {
        assert_eq!(short("a\n  b.  "), "a b");
        assert_eq!(short(&"x".repeat(300)).chars().count(), 200);
    }
}
