//! What the stack's template gave its roles (the functions' environment says it): the
//! Enhanced Monitoring roles it may pass, the KMS keys it may use through RDS, the topics it
//! may publish to; and what KMS said of the source's key.

use serde::{Deserialize, Serialize};

/// The template parameters that list what the stack was given.
pub const MONITORING_ROLES_PARAMETER: &str = "EnhancedMonitoringRoleArns";
pub const KMS_KEYS_PARAMETER: &str = "DatabaseKmsKeyArns";
pub const TOPICS_PARAMETER: &str = "NotificationTopicArns";

/// Who manages a KMS key (DescribeKey's `KeyManager`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyManager {
    /// `aws/rds` and the like: its key policy allows use through RDS, no grant needed.
    Aws,
    Customer,
}

/// What the stack's template gave its roles, as the functions' environment says it (an empty
/// list: none given; for `topics`, not told, so any topic is allowed as before).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackGrants {
    /// `EnhancedMonitoringRoleArns`: the roles the create worker may pass to RDS.
    pub monitoring_roles: Vec<String>,
    /// `DatabaseKmsKeyArns`: the customer managed keys the create worker may use through RDS.
    pub kms_keys: Vec<String>,
    /// The stack's topic and `NotificationTopicArns`: where the functions may publish.
    pub topics: Vec<String>,
}

impl StackGrants {
    /// Key ARNs compare exactly: the listed ARN must be the source's `KmsKeyId`.
    pub fn lists_key(&self, key: &str) -> bool {
        self.kms_keys.iter().any(|k| k == key)
    }

    pub fn lists_role(&self, role: &str) -> bool {
        self.monitoring_roles.iter().any(|r| r == role)
    }

    /// Without a list (the environment does not say), any topic, as before the list existed.
    pub fn may_publish_to(&self, topic: &str) -> bool {
        self.topics.is_empty() || self.topics.iter().any(|t| t == topic)
    }
}

/// What DescribeKey said of the source's key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeyLookup {
    /// Not asked: the source is not encrypted, or its key is listed (`key_to_look_up`).
    #[default]
    NotAsked,
    Manager(KeyManager),
    /// KMS knows no such key (or does not show it to this account).
    NotFound,
    /// DescribeKey was refused (a missing permission, a key policy that does not allow it).
    Unreadable(String),
}

/// Where a notification goes: the request's topic when the stack may publish to it; else the
/// stack's topic, with what to record about the request's.
pub fn notification_topic(
    requested: Option<&str>,
    grants: &StackGrants,
    default: Option<&str>,
) -> (Option<String>, Option<String>) {
    match requested {
        Some(t) if grants.may_publish_to(t) => (Some(t.to_string()), None),
        Some(t) => (
            default.map(str::to_string),
            Some(format!(
                "notification_topic_arn {t} is not one this stack may publish to (template \
                 parameter {TOPICS_PARAMETER}): published to the stack's topic"
            )),
        ),
        None => (default.map(str::to_string), None),
    }
}
