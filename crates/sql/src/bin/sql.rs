//! The `sql` Lambda function: see `bluegreen_sql::handler` and crates/sql/README.md.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_sql::runtime::serve().await
}
