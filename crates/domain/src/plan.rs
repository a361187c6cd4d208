//! The deployment a run will create: a deterministic name (so a restarted run finds and
//! adopts it) and the exact CreateBlueGreenDeployment parameters.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CreateBlueGreenDeployment: 1–60 characters, `[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*`.
pub const MAX_DEPLOYMENT_NAME: usize = 60;
pub const MANAGED_BY_TAG: &str = "bluegreen:managed-by";
pub const MANAGED_BY_VALUE: &str = "rds-bluegreen";
/// The execution that created the deployment: tells a lost create answer of our own run
/// from another run that created it at the same moment.
pub const EXECUTION_TAG: &str = "bluegreen:execution";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePlan {
    pub deployment_name: String,
    pub source_arn: String,
    pub target_engine_version: String,
    pub is_major_upgrade: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_parameter_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_cluster_parameter_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_instance_class: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// `rbg-<db>-to-<version>`, e.g. `rbg-orders-pg-to-16-4`. Names that would pass 60
/// characters keep a readable prefix and end in a hash of the full name, so two long
/// names never collide and the same inputs always give the same name.
pub fn deployment_name(db_name: &str, target_version: &str) -> String {
    let version = sanitize(target_version);
    let full = format!("rbg-{}-to-{}", sanitize(db_name), version);
    if full.len() <= MAX_DEPLOYMENT_NAME {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(&full) as u32);
    let keep = MAX_DEPLOYMENT_NAME - hash.len() - 1;
    let prefix = full[..keep].trim_end_matches('-');
    format!("{prefix}-{hash}")
}

/// Letters and digits kept; every other run of characters becomes one hyphen.
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Whether a name satisfies the CreateBlueGreenDeployment pattern and length.
pub fn is_valid_deployment_name(name: &str) -> bool {
    let mut parts = name.split('-');
    let first_ok = parts
        .next()
        .map(|p| {
            p.starts_with(|c: char| c.is_ascii_alphabetic())
                && p.chars().all(|c| c.is_ascii_alphanumeric())
        })
        .unwrap_or(false);
    !name.is_empty()
        && name.len() <= MAX_DEPLOYMENT_NAME
        && first_ok
        && parts.all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_readable_and_valid() {
        assert_eq!(
            deployment_name("orders-pg", "16.4"),
            "rbg-orders-pg-to-16-4"
        );
        assert_eq!(
            deployment_name("billing", "8.0.mysql_aurora.3.05.2"),
            "rbg-billing-to-8-0-mysql-aurora-3-05-2"
        );
        assert!(is_valid_deployment_name(&deployment_name(
            "orders-pg",
            "16.4"
        )));
    }

    #[test]
    fn long_names_are_cut_to_60_with_a_stable_distinct_hash() {
        let long = "a".repeat(30) + "-" + &"b".repeat(32);
        let a = deployment_name(&long, "8.0.mysql_aurora.3.05.2");
        let b = deployment_name(&long, "8.0.mysql_aurora.3.06.0");
        assert!(a.len() <= 60 && b.len() <= 60, "{a} {b}");
        assert!(
            is_valid_deployment_name(&a) && is_valid_deployment_name(&b),
            "{a} {b}"
        );
        assert_ne!(a, b);
        assert_eq!(a, deployment_name(&long, "8.0.mysql_aurora.3.05.2"));
    }

    #[test]
    fn the_validator_rejects_what_the_api_rejects() {
        for bad in ["", "1abc", "a--b", "a-", "-a", "a_b", &"a".repeat(61)] {
            assert!(!is_valid_deployment_name(bad), "{bad}");
        }
    }
}
