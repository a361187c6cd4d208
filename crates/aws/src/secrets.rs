//! Secrets Manager: the login a request names for the sql worker (GetSecretValue of that
//! secret only). The value stays in memory; nothing here logs it.

use crate::errors::{AwsError, Classify};
use aws_sdk_secretsmanager::Client;

#[derive(Clone, Debug)]
pub struct Secrets {
    client: Client,
}

impl Secrets {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
    }

    /// The secret's current value as text (GetSecretValue `SecretString`); `None` when it
    /// holds binary data instead.
    pub async fn secret_string(&self, secret_id: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .or_aws("secretsmanager:GetSecretValue")?;
        Ok(out.secret_string().map(str::to_string))
    }
}
