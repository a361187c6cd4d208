//! The `resolve` Lambda function: see `bluegreen_workers::resolve`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bluegreen_workers::runtime::serve("resolve", bluegreen_workers::resolve::handle).await
}
