//! The `precheck` Lambda function: see `bluegreen_workers::precheck`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bluegreen_workers::runtime::serve("precheck", bluegreen_workers::precheck::handle).await
}
