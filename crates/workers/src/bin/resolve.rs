//! The `resolve` Lambda function: see `bluegreen_workers::resolve`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve("resolve", bluegreen_workers::resolve::handle).await
}
