//! The `precheck` Lambda function: see `bluegreen_workers::precheck`. The only worker that
//! links the AWS DMS client (to name the DMS tasks that use the source).

use bluegreen_aws::PrecheckClients;
use bluegreen_workers::runtime::{default_topic, serve_with, Deps};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve_with(
        "precheck",
        |conf| Deps::new(PrecheckClients::from_conf(conf), default_topic()),
        bluegreen_workers::precheck::handle,
    )
    .await
}
