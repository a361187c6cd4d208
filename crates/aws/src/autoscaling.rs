//! Application Auto Scaling: an Aurora cluster's Auto Scaling targets and policies (namespace
//! `rds`, resource `cluster:<id>`, dimension `rds:cluster:ReadReplicaCount`), read by the
//! precheck alone (only its binary links this client). Blue/green does not copy them to green:
//! the plan lists them (`model::scaling`).

use crate::errors::Classify;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_applicationautoscaling::Client;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::scaling::{self, ScalableTarget, ScalingPolicy};

#[derive(Clone, Debug)]
pub struct AutoScaling {
    client: Client,
}

impl AutoScaling {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
    }

    /// The cluster's replica-count targets, each with its policies (DescribeScalableTargets,
    /// then DescribeScalingPolicies for the cluster; every page of each). Only what names this
    /// cluster exactly is kept. Empty when none is registered.
    pub async fn cluster_targets(&self, cluster: &str) -> Result<Vec<ScalableTarget>, WorkerError> {
        let resource = scaling::resource_id(cluster);
        let dimension = ScalableDimension::RdsClusterReadReplicaCount;
        let mut targets = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Rds)
                .resource_ids(&resource)
                .scalable_dimension(dimension.clone())
                .set_next_token(next.clone())
                .send()
                .await
                .or_classify("application-autoscaling:DescribeScalableTargets")?;
            targets.extend(
                out.scalable_targets()
                    .iter()
                    .filter(|t| t.resource_id() == resource && *t.scalable_dimension() == dimension)
                    .map(|t| ScalableTarget {
                        resource_id: t.resource_id().to_string(),
                        dimension: t.scalable_dimension().as_str().to_string(),
                        min_capacity: t.min_capacity(),
                        max_capacity: t.max_capacity(),
                        policies: Vec::new(),
                    }),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        if targets.is_empty() {
            return Ok(targets);
        }
        let mut next: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_scaling_policies()
                .service_namespace(ServiceNamespace::Rds)
                .resource_id(&resource)
                .scalable_dimension(dimension.clone())
                .set_next_token(next.clone())
                .send()
                .await
                .or_classify("application-autoscaling:DescribeScalingPolicies")?;
            for p in out.scaling_policies() {
                let Some(target) = targets.iter_mut().find(|t| {
                    t.resource_id == p.resource_id()
                        && t.dimension == p.scalable_dimension().as_str()
                }) else {
                    continue;
                };
                let tracking = p.target_tracking_scaling_policy_configuration().map(|c| {
                    let metric = c
                        .predefined_metric_specification()
                        .map(|m| m.predefined_metric_type().as_str().to_string())
                        .or_else(|| {
                            c.customized_metric_specification()
                                .and_then(|m| m.metric_name())
                                .map(|n| format!("custom metric {n}"))
                        })
                        .unwrap_or_else(|| "a metric".into());
                    format!("{metric} at {}", c.target_value())
                });
                target.policies.push(ScalingPolicy {
                    name: p.policy_name().to_string(),
                    policy_type: p.policy_type().as_str().to_string(),
                    tracking,
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => return Ok(targets),
            }
        }
    }
}
