//! The `verify` Lambda function: see `bluegreen_workers::verify`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bluegreen_workers::runtime::serve("verify", bluegreen_workers::verify::handle).await
}
