//! The `create` Lambda function: see `bluegreen_workers::create`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bluegreen_workers::runtime::serve("create", bluegreen_workers::create::handle).await
}
