//! The `campaign` Lambda function: see `bluegreen_workers::campaign`.

use bluegreen_workers::campaign::{handle, CampaignDeps};
use bluegreen_workers::runtime::{default_topic, serve_with, stack_grants};

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    serve_with(
        "campaign",
        |conf| CampaignDeps::from_conf(conf, default_topic(), stack_grants()),
        handle,
    )
    .await
}
