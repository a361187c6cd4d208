//! What the per-step workers share: their dependencies (`Deps`: the AWS ports, the
//! notification topic, the stack's grants), notifications, the time helpers, and `serve`,
//! which hands a handler to the Lambda glue (`bluegreen_lambda`: JSON logs naming the
//! execution and database on every line, the SDK configuration built once per process, stable
//! `errorType` names) with the workers' labels. Handlers are generic over the AWS ports
//! (`bluegreen_aws::ports`); `serve` gives them the SDK adapters.

use bluegreen_aws::{AwsRead, Clients, NotifyApi, SdkConfig};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::grants::{notification_topic, StackGrants};
use bluegreen_domain::run::Run;
use bluegreen_lambda::Step;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

pub use bluegreen_lambda::{rfc3339, Invocation};

/// What a handler uses: the AWS ports (`Clients`, the SDK adapters, in the functions; an
/// in-memory account in tests), built once per process and reused across invocations (the
/// TLS handshake and credential lookup are paid once per cold start).
#[derive(Clone, Debug)]
pub struct Deps<A: AwsRead> {
    pub aws: A,
    /// The deployment's notification topic (`NOTIFICATION_TOPIC_ARN`); a request may override it.
    pub default_topic_arn: Option<String>,
    /// What the stack's template gave its roles (`stack_grants`, read once per process);
    /// `Deps::new` starts with none listed.
    pub grants: StackGrants,
}

impl Deps<Clients> {
    pub fn from_conf(conf: &SdkConfig, default_topic_arn: Option<String>) -> Self {
        Self::new(Clients::from_conf(conf), default_topic_arn).with_grants(stack_grants())
    }
}

impl<A: AwsRead> Deps<A> {
    pub fn new(aws: A, default_topic_arn: Option<String>) -> Self {
        Self {
            aws,
            default_topic_arn,
            grants: StackGrants::default(),
        }
    }

    pub fn with_grants(mut self, grants: StackGrants) -> Self {
        self.grants = grants;
        self
    }

    pub fn rds(&self) -> &A::Rds {
        self.aws.rds()
    }

    pub fn metrics(&self) -> &A::Metrics {
        self.aws.metrics()
    }

    /// Publishes one notification to `topic` when the stack may publish to it, else to the
    /// deployment's topic (`publish_topic`). A failure to publish is logged and recorded in
    /// `record`, never raised: it must not hide the outcome.
    pub async fn notify(
        &self,
        topic: Option<String>,
        subject: &str,
        body: &serde_json::Value,
        attributes: &[(&str, &str)],
        record: &mut bluegreen_domain::model::milestone::PublishRecord,
    ) {
        let topic = publish_topic(
            topic.as_deref(),
            &self.grants,
            self.default_topic_arn.as_deref(),
            record,
        );
        notify(
            self.aws.notifier(),
            topic,
            subject,
            body,
            attributes,
            record,
        )
        .await
    }
}

/// The topic to publish to: the request's when the stack may publish to it
/// (`NOTIFICATION_TOPIC_ARNS`, any when unset), else the stack's topic, saying why in `record`.
pub fn publish_topic(
    requested: Option<&str>,
    grants: &StackGrants,
    default_topic_arn: Option<&str>,
    record: &mut bluegreen_domain::model::milestone::PublishRecord,
) -> Option<String> {
    let (topic, refused) = notification_topic(requested, grants, default_topic_arn);
    if let Some(why) = refused {
        tracing::warn!(%why, "the request's topic is not the stack's to publish to");
        record.errors.push(why);
    }
    topic
}

/// Publishes one notification to `topic`; a failure is logged and recorded, never raised.
pub async fn notify(
    notifier: &impl NotifyApi,
    topic: Option<String>,
    subject: &str,
    body: &serde_json::Value,
    attributes: &[(&str, &str)],
    record: &mut bluegreen_domain::model::milestone::PublishRecord,
) {
    let Some(topic) = topic else {
        record.errors.push(
            "no notification topic: set NOTIFICATION_TOPIC_ARN or notification_topic_arn".into(),
        );
        return;
    };
    match notifier
        .publish(
            &topic,
            &notification_subject(subject),
            &body.to_string(),
            attributes,
        )
        .await
    {
        Ok(_) => record.notification_published = true,
        Err(e) => {
            tracing::error!(error = %e, "could not publish the notification; the run's outcome stands");
            record.errors.push(e.to_string());
        }
    }
}

pub use bluegreen_domain::model::names::sns_subject as notification_subject;

/// Seconds since the epoch of an RFC 3339 time from the timeline.
pub fn epoch_seconds(rfc3339: &str) -> Option<i64> {
    aws_smithy_types::DateTime::from_str(rfc3339, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .map(|d| d.secs())
}

pub fn now_epoch(inv: &Invocation) -> i64 {
    aws_smithy_types::DateTime::from(inv.now).secs()
}

/// The parts of an input every log line names.
pub trait Labelled {
    fn execution(&self) -> String;
    fn db(&self) -> String;
}

impl Labelled for Run {
    fn execution(&self) -> String {
        self.execution.id.clone()
    }
    fn db(&self) -> String {
        crate::intake::db_label(self)
    }
}

/// The deployment's notification topic (`NOTIFICATION_TOPIC_ARN`).
pub fn default_topic() -> Option<String> {
    std::env::var("NOTIFICATION_TOPIC_ARN")
        .ok()
        .filter(|s| !s.is_empty())
}

/// What the template gave the stack, as it sets it on the functions: comma-separated ARNs
/// (empty: none). `EnhancedMonitoringRoleArns` and `DatabaseKmsKeyArns` on the precheck.
pub const ENHANCED_MONITORING_ROLE_ARNS: &str = "ENHANCED_MONITORING_ROLE_ARNS";
pub const DATABASE_KMS_KEY_ARNS: &str = "DATABASE_KMS_KEY_ARNS";
/// The stack's own topic and `NotificationTopicArns`, on every function.
pub const NOTIFICATION_TOPIC_ARNS: &str = "NOTIFICATION_TOPIC_ARNS";

/// A comma-separated list of ARNs: each trimmed, empty ones dropped (CloudFormation's
/// `!Join` of an empty list, or a trailing comma, leaves them).
pub fn arn_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `StackGrants` from the environment `var` reads (unset: none listed).
pub fn stack_grants_from(var: impl Fn(&str) -> Option<String>) -> StackGrants {
    let list = |name: &str| var(name).map(|v| arn_list(&v)).unwrap_or_default();
    StackGrants {
        monitoring_roles: list(ENHANCED_MONITORING_ROLE_ARNS),
        kms_keys: list(DATABASE_KMS_KEY_ARNS),
        topics: list(NOTIFICATION_TOPIC_ARNS),
    }
}

/// `StackGrants` from this process's environment, read once when the clients are built.
pub fn stack_grants() -> StackGrants {
    stack_grants_from(|name| std::env::var(name).ok())
}

/// Runs `handler` for every invocation, with clients built once.
pub async fn serve<I, O, F, Fut>(
    step: &'static str,
    handler: F,
) -> Result<(), bluegreen_lambda::Error>
where
    I: DeserializeOwned + Labelled + 'static,
    O: Serialize + 'static,
    F: Fn(Deps<Clients>, I, Invocation) -> Fut + 'static,
    Fut: Future<Output = Result<O, WorkerError>> + 'static,
{
    serve_with(step, |conf| Deps::from_conf(conf, default_topic()), handler).await
}

/// `serve` with the worker's own clients (`make` builds them once per process): a worker
/// that needs another service links its client alone.
pub async fn serve_with<D, I, O, F, Fut>(
    step: &'static str,
    make: impl FnOnce(&SdkConfig) -> D,
    handler: F,
) -> Result<(), bluegreen_lambda::Error>
where
    D: Clone + 'static,
    I: DeserializeOwned + Labelled + 'static,
    O: Serialize + 'static,
    F: Fn(D, I, Invocation) -> Fut + 'static,
    Fut: Future<Output = Result<O, WorkerError>> + 'static,
{
    let step = Step {
        name: step,
        span: span::<I>,
        malformed,
    };
    bluegreen_lambda::serve(step, make, handler).await
}

/// The span of one invocation: the step, the execution, the database.
fn span<I: Labelled>(step: &'static str, input: &I) -> tracing::Span {
    tracing::info_span!("step", step, execution = %input.execution(), db = %input.db())
}

fn malformed(step: &'static str, e: &serde_json::Error) -> String {
    format!(
        "the {step} step's input is not a run document ({e}): start the state machine \
         instead of invoking the function directly"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluegreen_domain::model::milestone::PublishRecord;

    #[test]
    fn an_arn_list_is_trimmed_and_drops_empty_entries() {
        assert_eq!(
            arn_list(
                " arn:aws:sns:us-east-1:123456789012:a ,arn:aws:sns:us-east-1:123456789012:b,"
            ),
            [
                "arn:aws:sns:us-east-1:123456789012:a",
                "arn:aws:sns:us-east-1:123456789012:b"
            ]
        );
        assert!(arn_list("").is_empty());
        assert!(arn_list(" , ,").is_empty());
    }

    #[test]
    fn the_grants_are_read_from_the_three_variables_unset_meaning_none() {
        let env = |name: &str| {
            match name {
            "ENHANCED_MONITORING_ROLE_ARNS" => {
                Some("arn:aws:iam::123456789012:role/rds-monitoring".to_string())
            }
            "DATABASE_KMS_KEY_ARNS" => Some(String::new()),
            "NOTIFICATION_TOPIC_ARNS" => Some(
                "arn:aws:sns:us-east-1:123456789012:rds-bluegreen, arn:aws:sns:us-east-1:123456789012:dba"
                    .to_string(),
            ),
            _ => None,
        }
        };
        assert_eq!(
            stack_grants_from(env),
            StackGrants {
                monitoring_roles: vec!["arn:aws:iam::123456789012:role/rds-monitoring".into()],
                kms_keys: vec![],
                topics: vec![
                    "arn:aws:sns:us-east-1:123456789012:rds-bluegreen".into(),
                    "arn:aws:sns:us-east-1:123456789012:dba".into()
                ],
            }
        );
        assert_eq!(stack_grants_from(|_| None), StackGrants::default());
    }

    #[test]
    fn a_topic_the_stack_may_not_publish_to_falls_back_to_its_own_saying_so() {
        let stack = "arn:aws:sns:us-east-1:123456789012:rds-bluegreen";
        let other = "arn:aws:sns:us-east-1:123456789012:elsewhere";
        let grants = StackGrants {
            topics: vec![stack.into()],
            ..StackGrants::default()
        };
        let mut record = PublishRecord::default();
        assert_eq!(
            publish_topic(Some(other), &grants, Some(stack), &mut record).as_deref(),
            Some(stack)
        );
        assert_eq!(
            record.errors,
            [format!(
                "notification_topic_arn {other} is not one this stack may publish to (template \
                 parameter NotificationTopicArns): published to the stack's topic"
            )]
        );
        // Unset: as before, the request's topic.
        let mut record = PublishRecord::default();
        assert_eq!(
            publish_topic(
                Some(other),
                &StackGrants::default(),
                Some(stack),
                &mut record
            )
            .as_deref(),
            Some(other)
        );
        assert!(record.errors.is_empty());
    }
}
