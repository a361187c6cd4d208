//! The AWS adapters rbg uses (`bluegreen_aws`: Step Functions, RDS, CloudFormation), on the
//! SDK's default chain (profile, Region, `AWS_ENDPOINT_URL`), and what a failed call means
//! for the operator, as one sentence and an exit code. The call's error is read once by
//! `bluegreen_aws::errors` (an `AwsError`, its `Fault`); the sentences are rbg's.

use crate::exit::{CliError, Exit};
use bluegreen_aws::{AwsError, Executions, Fault, Rds, Stacks};

pub struct Aws {
    pub executions: Executions,
    pub rds: Rds,
    pub stacks: Stacks,
    pub region: String,
    /// `AWS_ENDPOINT_URL` (or the profile's `endpoint_url`), when set.
    pub endpoint: Option<String>,
}

impl Aws {
    /// The adapters on the default chain; `profile` and `region` override it as the AWS CLI's
    /// `--profile` / `--region` do.
    pub async fn connect(profile: Option<&str>, region: Option<&str>) -> Result<Self, CliError> {
        let conf = bluegreen_aws::config::load_operator(profile, region).await;
        let Some(region) = conf.region().map(|r| r.to_string()) else {
            return Err(CliError::aws(
                "no AWS Region is set: set AWS_REGION (or region in your AWS profile) or pass \
                 --region, and run again",
            ));
        };
        Ok(Self {
            executions: Executions::from_conf(&conf),
            rds: Rds::from_conf(&conf),
            stacks: Stacks::from_conf(&conf),
            endpoint: conf.endpoint_url().map(str::to_string),
            region,
        })
    }

    /// The sentence for a failed call no command-specific rule explains (`what`: the call,
    /// e.g. "start the execution").
    pub fn error(&self, what: &str, err: &AwsError) -> CliError {
        self.explain(what, &err.fault())
    }

    pub fn explain(&self, what: &str, fault: &Fault) -> CliError {
        explain(what, fault, &self.region, self.endpoint.as_deref())
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
pub fn explain(what: &str, fault: &Fault, region: &str, endpoint: Option<&str>) -> CliError {
    let at = endpoint.map_or_else(|| format!("AWS in {region}"), |e| e.to_string());
    match fault {
        Fault::Expired => {
            CliError::aws("AWS credentials expired: refresh them (aws sso login) and run again")
        }
        Fault::NoCredentials(detail) => CliError::aws(format!(
            "no usable AWS credentials ({}): set AWS_PROFILE (and aws sso login) or \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and run again",
            short(detail)
        )),
        Fault::Unreachable(detail) => CliError::aws(format!(
            "cannot reach {at} to {what} ({}): check AWS_ENDPOINT_URL, the Region and the \
             network, and run again",
            short(detail)
        )),
        Fault::Service { code, .. } if EXPIRED.contains(&code.as_str()) => {
            explain(what, &Fault::Expired, region, endpoint)
        }
        Fault::Service { code, message } if REJECTED.contains(&code.as_str()) => {
            CliError::aws(format!(
                "AWS does not accept these credentials ({code}: {}): check AWS_PROFILE or the \
                 access key, and run again",
                short(message)
            ))
        }
        Fault::Service { code, message } if DENIED.contains(&code.as_str()) => {
            CliError::aws(format!(
                "access denied when trying to {what} ({}): use a role allowed to operate \
                 rds-bluegreen (see infra/README.md), and run again",
                short(message)
            ))
        }
        Fault::Service { code, .. } if THROTTLED.contains(&code.as_str()) => CliError::aws(
            format!("AWS throttled the calls to {what} ({code}): wait a minute and run again"),
        ),
        Fault::Service { code, message } => CliError::aws(format!(
            "AWS refused to {what} ({code}: {}): fix what it names and run again",
            short(message)
        )),
        Fault::Other(detail) => CliError::new(
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

    use bluegreen_aws::errors::classify_transport;

    fn service(code: &str) -> Fault {
        Fault::Service {
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
    }

    /// How the faults are classified is `bluegreen_aws::errors`' (tested there); what rbg says
    /// of one is this module's.
    #[test]
    fn an_unreachable_endpoint_names_it() {
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
