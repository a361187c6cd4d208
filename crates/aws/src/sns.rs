//! SNS: one notification per milestone.

use crate::errors::Classify;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use bluegreen_domain::model::error::WorkerError;

#[derive(Clone, Debug)]
pub struct Notifier {
    client: Client,
}

impl Notifier {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
    }

    /// Publishes `body` with `subject`; `attributes` become SNS message attributes so a
    /// subscription filter policy can route on them (outcome, milestone, database).
    pub async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        body: &str,
        attributes: &[(&str, &str)],
    ) -> Result<String, WorkerError> {
        let mut call = self
            .client
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(body);
        for (k, v) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(*v)
                .build()
                .map_err(|e| WorkerError::MalformedRun(format!("message attribute {k}: {e}")))?;
            call = call.message_attributes(*k, value);
        }
        let out = call.send().await.or_classify("sns:Publish")?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}
