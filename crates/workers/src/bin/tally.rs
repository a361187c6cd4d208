//! The `tally` Lambda function: see `bluegreen_workers::tally`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bluegreen_workers::runtime::serve("tally", bluegreen_workers::tally::handle).await
}
