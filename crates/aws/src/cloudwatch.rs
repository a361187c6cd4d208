//! CloudWatch: the metrics the prechecks and guardrails read, and the remediation metric.

use crate::errors::Classify;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, Statistic};
use aws_sdk_cloudwatch::Client;
use aws_smithy_types::DateTime;
use bluegreen_domain::WorkerError;
use std::time::{Duration, SystemTime};

#[derive(Clone, Debug)]
pub struct Metrics {
    client: Client,
}

impl Metrics {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// One statistic of an AWS/RDS metric with exactly these dimensions (CloudWatch matches
    /// the whole set) over the last `lookback`, reduced across datapoints (minimum of
    /// minimums, maximum of maximums). `None` without datapoints.
    pub async fn rds_statistic(
        &self,
        metric: &str,
        dimensions: &[(&str, &str)],
        statistic: Statistic,
        lookback: Duration,
        now: SystemTime,
    ) -> Result<Option<f64>, WorkerError> {
        let out = self
            .client
            .get_metric_statistics()
            .namespace("AWS/RDS")
            .metric_name(metric)
            .set_dimensions(Some(
                dimensions
                    .iter()
                    .map(|(k, v)| Dimension::builder().name(*k).value(*v).build())
                    .collect(),
            ))
            .start_time(DateTime::from(now - lookback))
            .end_time(DateTime::from(now))
            .period(60)
            .statistics(statistic.clone())
            .send()
            .await
            .or_classify("cloudwatch:GetMetricStatistics")?;
        let values = out.datapoints().iter().filter_map(|d| match statistic {
            Statistic::Minimum => d.minimum(),
            Statistic::Maximum => d.maximum(),
            _ => d.average(),
        });
        Ok(match statistic {
            Statistic::Minimum => values.fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.min(v)))
            }),
            _ => values.fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            }),
        })
    }

    pub async fn put(&self, namespace: &str, data: Vec<MetricDatum>) -> Result<(), WorkerError> {
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .or_classify("cloudwatch:PutMetricData")
            .map(|_| ())
    }
}

/// A datum with string dimensions, timestamped `now`.
pub fn datum(
    name: &str,
    value: f64,
    unit: StandardUnit,
    dims: &[(&str, &str)],
    now: SystemTime,
) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(name)
        .value(value)
        .unit(unit)
        .timestamp(DateTime::from(now))
        .set_dimensions(Some(
            dims.iter()
                .map(|(k, v)| Dimension::builder().name(*k).value(*v).build())
                .collect(),
        ))
        .build()
}
