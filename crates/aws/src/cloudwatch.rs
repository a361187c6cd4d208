//! CloudWatch: the metrics the prechecks and guardrails read, and the remediation metric.

use crate::errors::Classify;
use crate::ports::{Datum, Stat, Unit};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, Statistic};
use aws_sdk_cloudwatch::Client;
use aws_smithy_types::DateTime;
use bluegreen_domain::model::error::WorkerError;
use std::time::{Duration, SystemTime};

#[derive(Clone, Debug)]
pub struct Metrics {
    client: Client,
}

impl Metrics {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
    }

    /// One statistic of an AWS/RDS metric with exactly these dimensions (CloudWatch matches
    /// the whole set) over the last `lookback`, reduced across datapoints (minimum of
    /// minimums, maximum of maximums). `None` without datapoints.
    pub async fn rds_statistic(
        &self,
        metric: &str,
        dimensions: &[(&str, &str)],
        statistic: Stat,
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
            .statistics(self::statistic(statistic))
            .send()
            .await
            .or_classify("cloudwatch:GetMetricStatistics")?;
        let values = out.datapoints().iter().filter_map(|d| match statistic {
            Stat::Minimum => d.minimum(),
            Stat::Maximum => d.maximum(),
        });
        Ok(match statistic {
            Stat::Minimum => values.fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.min(v)))
            }),
            Stat::Maximum => values.fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            }),
        })
    }

    pub async fn put(&self, namespace: &str, data: Vec<Datum>) -> Result<(), WorkerError> {
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data.iter().map(metric_datum).collect()))
            .send()
            .await
            .or_classify("cloudwatch:PutMetricData")
            .map(|_| ())
    }
}

/// The SDK's statistic for the port's.
pub fn statistic(statistic: Stat) -> Statistic {
    match statistic {
        Stat::Minimum => Statistic::Minimum,
        Stat::Maximum => Statistic::Maximum,
    }
}

/// The SDK's datum for the port's: string dimensions, the datum's timestamp.
pub fn metric_datum(d: &Datum) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(&d.name)
        .value(d.value)
        .unit(match d.unit {
            Unit::Count => StandardUnit::Count,
            Unit::Seconds => StandardUnit::Seconds,
        })
        .timestamp(DateTime::from(d.timestamp))
        .set_dimensions(Some(
            d.dimensions
                .iter()
                .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                .collect(),
        ))
        .build()
}
