//! The `switchover` Lambda function: see `bluegreen_workers::switchover`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve("switchover", bluegreen_workers::switchover::handle).await
}
