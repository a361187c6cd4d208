//! The `create` Lambda function: see `bluegreen_workers::create`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve("create", bluegreen_workers::create::handle).await
}
