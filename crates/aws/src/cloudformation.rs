//! CloudFormation: the outputs of the deployed stack (rbg finds the state machines there).

use crate::errors::AwsError;
use aws_sdk_cloudformation::Client;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Stacks {
    client: Client,
}

impl Stacks {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
    }

    /// The outputs of stack `name`, key to value (DescribeStacks); `None` when there is no
    /// such stack (CloudFormation answers `ValidationError` ... `does not exist`).
    pub async fn outputs(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        match self.client.describe_stacks().stack_name(name).send().await {
            Ok(out) => Ok(Some(
                out.stacks()
                    .first()
                    .map(|s| {
                        s.outputs()
                            .iter()
                            .filter_map(|o| {
                                Some((o.output_key()?.to_string(), o.output_value()?.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            Err(e) => {
                let e = AwsError::new("cloudformation:DescribeStacks", &e);
                if e.code() == Some("ValidationError")
                    && e.message().unwrap_or_default().contains("does not exist")
                {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}
