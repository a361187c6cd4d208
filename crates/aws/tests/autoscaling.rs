//! The Application Auto Scaling adapter (the precheck's): what it asks for an Aurora cluster
//! (namespace `rds`, resource `cluster:<id>`, dimension `rds:cluster:ReadReplicaCount`), what
//! it reads back (every page, each policy on its target, a target-tracking policy's metric
//! and value), and what it keeps (only what names the cluster exactly). AWS trouble on these
//! calls: wire_faults.rs.

mod wire;

use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::{
    DescribeScalableTargetsInput, DescribeScalableTargetsOutput,
};
use aws_sdk_applicationautoscaling::operation::describe_scaling_policies::{
    DescribeScalingPoliciesInput, DescribeScalingPoliciesOutput,
};
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension,
    ScalableTarget as SdkTarget, ScalingPolicy as SdkPolicy, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_smithy_types::DateTime;
use bluegreen_domain::model::scaling::{ScalableTarget, ScalingPolicy, READ_REPLICA_COUNT};
use std::sync::{Arc, Mutex};
use wire::mock::mock;

const ROLE: &str = "arn:aws:iam::123456789012:role/aws-service-role/rds.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_RDSCluster";

fn sdk_target(resource: &str, min: i32, max: i32) -> SdkTarget {
    SdkTarget::builder()
        .service_namespace(ServiceNamespace::Rds)
        .resource_id(resource)
        .scalable_dimension(ScalableDimension::RdsClusterReadReplicaCount)
        .min_capacity(min)
        .max_capacity(max)
        .role_arn(ROLE)
        .creation_time(DateTime::from_secs(0))
        .build()
        .unwrap()
}

fn sdk_policy(
    resource: &str,
    name: &str,
    tracking: Option<TargetTrackingScalingPolicyConfiguration>,
) -> SdkPolicy {
    SdkPolicy::builder()
        .policy_arn(format!("arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/rds/{resource}:policyName/{name}"))
        .policy_name(name)
        .service_namespace(ServiceNamespace::Rds)
        .resource_id(resource)
        .scalable_dimension(ScalableDimension::RdsClusterReadReplicaCount)
        .policy_type(if tracking.is_some() {
            PolicyType::TargetTrackingScaling
        } else {
            PolicyType::StepScaling
        })
        .set_target_tracking_scaling_policy_configuration(tracking)
        .creation_time(DateTime::from_secs(0))
        .build()
        .unwrap()
}

fn cpu_at(value: f64) -> TargetTrackingScalingPolicyConfiguration {
    TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(value)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::RdsReaderAverageCpuUtilization)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_clusters_targets_and_their_policies_are_read_from_every_page() {
    let asked_targets: Arc<Mutex<Vec<DescribeScalableTargetsInput>>> = Arc::default();
    let asked_policies: Arc<Mutex<Vec<DescribeScalingPoliciesInput>>> = Arc::default();
    let (t, p) = (asked_targets.clone(), asked_policies.clone());
    let s = wire::scaling(&[
        mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
            .then_compute_output(move |req| {
                t.lock().unwrap().push(req.clone());
                match req.next_token() {
                    // A prefix of another cluster's id: never ours (moto matches by substring).
                    None => DescribeScalableTargetsOutput::builder()
                        .scalable_targets(sdk_target("cluster:ledger-reporting", 0, 2))
                        .next_token("page-2")
                        .build(),
                    Some(_) => DescribeScalableTargetsOutput::builder()
                        .scalable_targets(sdk_target("cluster:ledger", 1, 6))
                        .build(),
                }
            }),
        mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_policies)
            .then_compute_output(move |req| {
                p.lock().unwrap().push(req.clone());
                match req.next_token() {
                    None => DescribeScalingPoliciesOutput::builder()
                        .scaling_policies(sdk_policy(
                            "cluster:ledger",
                            "reader-cpu",
                            Some(cpu_at(55.0)),
                        ))
                        .scaling_policies(sdk_policy("cluster:ledger-reporting", "other", None))
                        .next_token("page-2")
                        .build(),
                    Some(_) => DescribeScalingPoliciesOutput::builder()
                        .scaling_policies(sdk_policy("cluster:ledger", "reader-steps", None))
                        .build(),
                }
            }),
    ]);
    let found = s.cluster_targets("ledger").await.unwrap();
    assert_eq!(
        found,
        vec![ScalableTarget {
            resource_id: "cluster:ledger".into(),
            dimension: READ_REPLICA_COUNT.into(),
            min_capacity: 1,
            max_capacity: 6,
            policies: vec![
                ScalingPolicy {
                    name: "reader-cpu".into(),
                    policy_type: "TargetTrackingScaling".into(),
                    tracking: Some("RDSReaderAverageCPUUtilization at 55".into()),
                },
                ScalingPolicy {
                    name: "reader-steps".into(),
                    policy_type: "StepScaling".into(),
                    tracking: None,
                },
            ],
        }]
    );
    let asked = asked_targets.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "every page");
    for a in &asked {
        assert_eq!(a.service_namespace(), Some(&ServiceNamespace::Rds));
        assert_eq!(a.resource_ids(), ["cluster:ledger"]);
        assert_eq!(
            a.scalable_dimension(),
            Some(&ScalableDimension::RdsClusterReadReplicaCount)
        );
    }
    assert_eq!(asked[1].next_token(), Some("page-2"));
    let asked = asked_policies.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "every page");
    assert_eq!(asked[0].service_namespace(), Some(&ServiceNamespace::Rds));
    assert_eq!(asked[0].resource_id(), Some("cluster:ledger"));
    assert_eq!(
        asked[0].scalable_dimension(),
        Some(&ScalableDimension::RdsClusterReadReplicaCount)
    );
}

#[tokio::test]
async fn a_cluster_without_a_target_is_empty_and_its_policies_are_not_asked_for() {
    // A DescribeScalingPolicies call would find no rule and panic.
    let s =
        wire::scaling(&[
            mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
                .then_output(|| DescribeScalableTargetsOutput::builder().build()),
        ]);
    assert_eq!(s.cluster_targets("ledger").await, Ok(vec![]));
}

#[tokio::test]
async fn access_denied_names_the_action_to_grant() {
    let s = wire::scaling(&[wire::refuse(
        "application-autoscaling:DescribeScalableTargets",
        400,
        "AccessDeniedException",
    )]);
    let e = s.cluster_targets("ledger").await.unwrap_err();
    assert_eq!(e.name(), "AwsRequestFailed");
    assert!(!e.is_transient());
    let msg = e.to_string();
    for part in [
        "application-autoscaling:DescribeScalableTargets was denied",
        "grant the function's role",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
}
