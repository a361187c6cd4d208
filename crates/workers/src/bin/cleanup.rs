//! The `cleanup` Lambda function: see `bluegreen_workers::cleanup`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve("cleanup", bluegreen_workers::cleanup::handle).await
}
