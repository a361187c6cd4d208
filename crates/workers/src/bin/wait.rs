//! The `wait` Lambda function: see `bluegreen_workers::wait`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve("wait", bluegreen_workers::wait::handle).await
}
