//! The `guardrails` Lambda function: see `bluegreen_workers::guardrails`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve("guardrails", bluegreen_workers::guardrails::handle).await
}
