//! The `precheck` Lambda function: see `bluegreen_workers::precheck`. The only worker that
//! links the AWS DMS client (to name the DMS tasks that use the source) and the AWS KMS
//! client (to tell whether the source's key is AWS managed).

use bluegreen_aws::PrecheckClients;
use bluegreen_workers::runtime::{default_topic, serve_with, stack_grants, Deps};

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    serve_with(
        "precheck",
        |conf| {
            Deps::new(PrecheckClients::from_conf(conf), default_topic()).with_grants(stack_grants())
        },
        bluegreen_workers::precheck::handle,
    )
    .await
}
