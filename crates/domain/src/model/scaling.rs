//! Aurora Auto Scaling: the replica-count targets and policies Application Auto Scaling holds
//! for an Aurora cluster (service namespace `rds`, resource id `cluster:<cluster id>`,
//! scalable dimension `rds:cluster:ReadReplicaCount`).
//!
//! Blue/green does not carry them: "Auto Scaling policies are not copied to green
//! (reconfigure after switchover)" (Aurora User Guide, "Considerations and limitations for
//! blue/green deployments",
//! <https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/blue-green-deployments-considerations.html>,
//! as `bluegreen-facts.md` records it). The switchover gives green blue's cluster name, so the
//! resource id that names production is the same before and after; what AWS leaves
//! registered under it after the switchover is not documented, so the advice holds either way:
//! register the target and put each policy again (both calls update an existing registration).

use serde::{Deserialize, Serialize};

/// Application Auto Scaling's service namespace for Aurora.
pub const SERVICE_NAMESPACE: &str = "rds";
/// The only dimension Aurora Auto Scaling scales a provisioned cluster on (Aurora Replicas).
pub const READ_REPLICA_COUNT: &str = "rds:cluster:ReadReplicaCount";

/// The resource id Application Auto Scaling names an Aurora cluster by.
pub fn resource_id(cluster: &str) -> String {
    format!("cluster:{cluster}")
}

/// One scalable target of the cluster, with the scaling policies attached to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalableTarget {
    /// `cluster:<cluster id>`.
    pub resource_id: String,
    /// `rds:cluster:ReadReplicaCount`.
    pub dimension: String,
    pub min_capacity: i32,
    pub max_capacity: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<ScalingPolicy>,
}

/// One scaling policy of a target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    pub name: String,
    /// `TargetTrackingScaling`, `StepScaling`, ...
    pub policy_type: String,
    /// A target-tracking policy's metric and target value, as it must be put again
    /// (`RDSReaderAverageCPUUtilization at 60`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
}

impl ScalableTarget {
    /// `cluster:ledger (rds:cluster:ReadReplicaCount, min 1, max 4) with policy cpu-60
    /// (TargetTrackingScaling, RDSReaderAverageCPUUtilization at 60)`.
    pub fn summary(&self) -> String {
        let head = format!(
            "{} ({}, min {}, max {})",
            self.resource_id, self.dimension, self.min_capacity, self.max_capacity
        );
        if self.policies.is_empty() {
            return format!("{head} with no scaling policy");
        }
        let policies: Vec<String> = self
            .policies
            .iter()
            .map(|p| match &p.tracking {
                Some(t) => format!("{} ({}, {t})", p.name, p.policy_type),
                None => format!("{} ({})", p.name, p.policy_type),
            })
            .collect();
        format!(
            "{head} with {} {}",
            if policies.len() == 1 {
                "policy"
            } else {
                "policies"
            },
            policies.join(", ")
        )
    }
}

/// What to do after the switchover, for the plan's `auto-scaling` check and the switched-over
/// notification: `None` when the cluster has no target.
pub fn after_switchover(cluster: &str, targets: &[ScalableTarget]) -> Option<String> {
    let first = targets.first()?;
    let policies: Vec<&str> = targets
        .iter()
        .flat_map(|t| t.policies.iter().map(|p| p.name.as_str()))
        .collect();
    let policies = if policies.is_empty() {
        String::new()
    } else {
        format!(
            ", then put each scaling policy again with the same configuration ({}: \
             aws application-autoscaling put-scaling-policy, as describe-scaling-policies \
             listed it before the upgrade)",
            policies.join(", ")
        )
    };
    Some(format!(
        "Aurora Auto Scaling is not copied to green: after the switchover, register the \
         scalable target again on the new production (it takes the name {cluster}): aws \
         application-autoscaling register-scalable-target --service-namespace {SERVICE_NAMESPACE} \
         --resource-id {} --scalable-dimension {} --min-capacity {} --max-capacity {}{policies}. \
         Both calls update a registration that is still there, so they are right whether or \
         not the old one still shows; until then production's replica count does not scale",
        first.resource_id, first.dimension, first.min_capacity, first.max_capacity
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(policies: Vec<ScalingPolicy>) -> ScalableTarget {
        ScalableTarget {
            resource_id: resource_id("ledger"),
            dimension: READ_REPLICA_COUNT.into(),
            min_capacity: 1,
            max_capacity: 4,
            policies,
        }
    }

    #[test]
    fn a_summary_names_the_target_its_capacity_and_each_policy() {
        let t = target(vec![
            ScalingPolicy {
                name: "cpu-60".into(),
                policy_type: "TargetTrackingScaling".into(),
                tracking: Some("RDSReaderAverageCPUUtilization at 60".into()),
            },
            ScalingPolicy {
                name: "steps".into(),
                policy_type: "StepScaling".into(),
                tracking: None,
            },
        ]);
        assert_eq!(
            t.summary(),
            "cluster:ledger (rds:cluster:ReadReplicaCount, min 1, max 4) with policies cpu-60 \
             (TargetTrackingScaling, RDSReaderAverageCPUUtilization at 60), steps (StepScaling)"
        );
        assert!(target(vec![]).summary().ends_with("with no scaling policy"));
    }

    #[test]
    fn the_advice_registers_the_same_target_under_the_same_name_and_names_each_policy() {
        assert_eq!(after_switchover("ledger", &[]), None);
        let advice = after_switchover(
            "ledger",
            &[target(vec![ScalingPolicy {
                name: "cpu-60".into(),
                policy_type: "TargetTrackingScaling".into(),
                tracking: None,
            }])],
        )
        .unwrap();
        for part in [
            "not copied to green",
            "takes the name ledger",
            "--service-namespace rds --resource-id cluster:ledger \
             --scalable-dimension rds:cluster:ReadReplicaCount --min-capacity 1 --max-capacity 4",
            "put each scaling policy again",
            "(cpu-60:",
        ] {
            assert!(advice.contains(part), "{part}: {advice}");
        }
        let no_policy = after_switchover("ledger", &[target(vec![])]).unwrap();
        assert!(
            !no_policy.contains("put each scaling policy"),
            "{no_policy}"
        );
    }
}
