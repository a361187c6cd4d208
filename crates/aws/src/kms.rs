//! AWS KMS: who manages the key that encrypts the source, read by the precheck alone (only its
//! binary links this client). Green is created with the source's key; a customer managed one
//! needs the stack's grant, an AWS managed one (`aws/rds`) does not.

use crate::errors::{classify, code_of};
use aws_sdk_kms::types::KeyManagerType;
use aws_sdk_kms::Client;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::grants::KeyManager;

#[derive(Clone, Debug)]
pub struct Kms {
    client: Client,
}

impl Kms {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
    }

    /// The key's manager (DescribeKey, `KeyMetadata.KeyManager`); `None` when KMS knows no
    /// such key. A manager the answer does not give, or that this SDK does not know, counts as
    /// the customer's: the precheck then asks for the grant rather than assume none is needed.
    pub async fn key_manager(&self, key_id: &str) -> Result<Option<KeyManager>, WorkerError> {
        match self.client.describe_key().key_id(key_id).send().await {
            Ok(out) => Ok(Some(
                match out.key_metadata().and_then(|m| m.key_manager()) {
                    Some(KeyManagerType::Aws) => KeyManager::Aws,
                    _ => KeyManager::Customer,
                },
            )),
            Err(e) if code_of(&e) == Some("NotFoundException") => Ok(None),
            Err(e) => Err(classify("kms:DescribeKey", &e)),
        }
    }
}
