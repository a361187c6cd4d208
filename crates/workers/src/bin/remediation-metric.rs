//! The `remediation-metric` Lambda function: see `bluegreen_workers::remediation_metric`.

#[tokio::main]
async fn main() -> Result<(), bluegreen_lambda::Error> {
    bluegreen_workers::runtime::serve(
        "remediation-metric",
        bluegreen_workers::remediation_metric::handle,
    )
    .await
}
