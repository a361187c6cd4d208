//! One SDK configuration for every worker. Endpoints come only from the standard
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, which `aws-config` reads.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Adaptive retry: standard exponential backoff with jitter plus a client-side token
/// bucket that slows down when RDS throttles, so parallel workers back off together.
/// Four attempts fit the workers' 30-second Lambda timeout; what is still failing after
/// them reaches the state machine as `Throttled` / `AwsUnavailable`, whose `Retry` waits longer.
pub fn retry_config() -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

/// Connect and per-attempt limits well inside the Lambda timeout, so a hung connection is
/// retried instead of eating the whole invocation.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(8))
        .operation_timeout(Duration::from_secs(25))
        .build()
}

pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}
