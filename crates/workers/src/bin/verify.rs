//! The `verify` Lambda function: see `bluegreen_workers::verify`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve("verify", bluegreen_workers::verify::handle).await
}
