//! What every worker binary shares: JSON logs naming the execution and database on every
//! line, SDK clients built once per process, and stable `errorType` names for Step Functions.
//! Handlers are generic over the AWS ports (`bluegreen_aws::ports`); `serve` gives them the
//! SDK adapters.

use bluegreen_aws::{Aws, Clients, NotifyApi};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::grants::{notification_topic, StackGrants};
use bluegreen_domain::run::Run;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::time::SystemTime;
use tracing::Instrument;

/// What a handler uses: the AWS ports (`Clients`, the SDK adapters, in the functions; an
/// in-memory account in tests), built once per process and reused across invocations (the
/// TLS handshake and credential lookup are paid once per cold start).
#[derive(Clone, Debug)]
pub struct Deps<A: Aws> {
    pub aws: A,
    /// The deployment's notification topic (`NOTIFICATION_TOPIC_ARN`); a request may override it.
    pub default_topic_arn: Option<String>,
    /// What the stack's template gave its roles (`stack_grants`, read once per process);
    /// `Deps::new` starts with none listed.
    pub grants: StackGrants,
}

impl Deps<Clients> {
    pub fn from_conf(conf: &aws_config::SdkConfig, default_topic_arn: Option<String>) -> Self {
        Self::new(Clients::from_conf(conf), default_topic_arn).with_grants(stack_grants())
    }
}

impl<A: Aws> Deps<A> {
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

/// Facts about this invocation that handlers need, passed in so tests control them.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// This function's ARN; it names the account and Region the worker runs in.
    pub function_arn: String,
    pub now: SystemTime,
}

impl Invocation {
    pub fn new(function_arn: impl Into<String>, now: SystemTime) -> Self {
        Self {
            function_arn: function_arn.into(),
            now,
        }
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME` -> ACCOUNT
    pub fn account_id(&self) -> Option<String> {
        self.arn_part(4)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    }

    pub fn region(&self) -> Option<String> {
        self.arn_part(3).filter(|r| !r.is_empty())
    }

    fn arn_part(&self, index: usize) -> Option<String> {
        let parts: Vec<&str> = self.function_arn.split(':').collect();
        (parts.len() >= 7 && parts[0] == "arn").then(|| parts[index].to_string())
    }

    /// RFC 3339, as recorded in the run's timeline.
    pub fn now_rfc3339(&self) -> String {
        rfc3339(self.now)
    }
}

pub fn rfc3339(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Seconds since the epoch of an RFC 3339 time from the timeline.
pub fn epoch_seconds(rfc3339: &str) -> Option<i64> {
    aws_smithy_types::DateTime::from_str(rfc3339, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .map(|d| d.secs())
}

pub fn now_epoch(inv: &Invocation) -> i64 {
    aws_smithy_types::DateTime::from(inv.now).secs()
}

/// The error a worker returns to Lambda: its `errorType` is the stable domain name.
#[derive(Debug)]
pub struct StepError(pub WorkerError);

impl From<WorkerError> for StepError {
    fn from(e: WorkerError) -> Self {
        Self(e)
    }
}

impl From<StepError> for Diagnostic {
    fn from(e: StepError) -> Self {
        // Step Functions puts the whole error payload in the failure's cause, which may not
        // pass 32,768 characters: the message is bounded well inside it.
        Diagnostic {
            error_type: e.0.name().to_string(),
            error_message: bluegreen_domain::model::limits::clip(
                &e.0.to_string(),
                bluegreen_domain::model::limits::MAX_ERROR_MESSAGE_CHARS,
            ),
        }
    }
}

/// JSON logs on stdout (CloudWatch Logs), with the invocation span's fields (execution,
/// database, step) on every line. `RUST_LOG` tunes the level; `info` by default, `debug` at
/// most in release builds (trace is compiled out: Cargo.toml).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .flatten_event(true)
        .init();
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
) -> Result<(), lambda_runtime::Error>
where
    I: DeserializeOwned + Labelled + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(Deps<Clients>, I, Invocation) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, WorkerError>> + Send,
{
    serve_with(step, |conf| Deps::from_conf(conf, default_topic()), handler).await
}

/// `serve` with the worker's own clients (`make` builds them once per process): a worker
/// that needs another service links its client alone.
pub async fn serve_with<D, I, O, F, Fut>(
    step: &'static str,
    make: impl FnOnce(&aws_config::SdkConfig) -> D,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    D: Clone + Send + Sync + 'static,
    I: DeserializeOwned + Labelled + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(D, I, Invocation) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, WorkerError>> + Send,
{
    init_tracing();
    let conf = bluegreen_aws::config::load().await;
    let deps = make(&conf);
    let handler = &handler;
    let deps = &deps;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let inv = Invocation::new(
                event.context.invoked_function_arn.clone(),
                SystemTime::now(),
            );
            let input: I = serde_json::from_value(event.payload).map_err(|e| {
                StepError(WorkerError::MalformedRun(format!(
                    "the {step} step's input is not a run document ({e}): start the state machine \
                 instead of invoking the function directly"
                )))
            })?;
            let span =
                tracing::info_span!("step", step, execution = %input.execution(), db = %input.db());
            async move {
                tracing::info!("step started");
                // Boxed: one allocation per invocation keeps the future's type shallow (the
                // handlers' nested SDK futures otherwise exceed rustc's layout depth limit).
                match Box::pin(handler(deps.clone(), input, inv)).await {
                    Ok(out) => {
                        tracing::info!("step finished");
                        Ok(out)
                    }
                    Err(e) => {
                        tracing::warn!(error_type = e.name(), error = %e, "step failed");
                        Err(StepError(e))
                    }
                }
            }
            .instrument(span)
            .await
        },
    ))
    .await
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
