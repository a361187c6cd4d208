//! The `abort` Lambda function: see `bluegreen_workers::abort`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve("abort", bluegreen_workers::abort::handle).await
}
