//! The `sql` Lambda function: see `bluegreen_sql::handler` and crates/sql/README.md.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    bluegreen_sql::runtime::serve().await
}
