//! What the source database looks like before anything changes: the exported configuration
//! that every run keeps in its output as a record of what was there.

use crate::engine::Engine;
use crate::request::DbKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A parameter group, option group or other named membership and its apply status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub name: String,
    /// `in-sync`, `pending-reboot`, `applying`, ... as RDS reports it.
    pub status: String,
}

impl Membership {
    pub fn new(name: impl Into<String>, status: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: status.into(),
        }
    }

    pub fn is_default(&self) -> bool {
        self.name.starts_with("default.") || self.name.starts_with("default:")
    }
}

/// The source instance or cluster, as exported before the run changes anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceDb {
    pub kind: DbKind,
    pub identifier: String,
    pub arn: String,
    /// `DbiResourceId` (`db-...`) or `DbClusterResourceId` (`cluster-...`): unlike the name
    /// and the ARN, it stays with the database through the switchover's renames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    pub engine: Engine,
    pub engine_version: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<String>,
    #[serde(default)]
    pub multi_az: bool,
    /// An RDS Multi-AZ DB cluster (not Aurora), which blue/green does not support.
    #[serde(default)]
    pub multi_az_db_cluster: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    pub backup_retention_days: i32,
    pub deletion_protection: bool,
    #[serde(default)]
    pub storage_encrypted: bool,
    /// `KmsKeyId` of the instance or cluster (an ARN) when encrypted: green is created with
    /// the same key, and a customer managed one needs the stack's grant (`access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// The instance's Enhanced Monitoring role (`MonitoringRoleArn`); none for a cluster
    /// (its member instances carry their own: `topology.members`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_storage_gib: Option<i32>,
    /// DB parameter groups (of the instance; of the writer for a cluster).
    #[serde(default)]
    pub parameter_groups: Vec<Membership>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_parameter_group: Option<Membership>,
    #[serde(default)]
    pub option_groups: Vec<Membership>,
    /// A Secrets Manager-managed master password, which blue/green does not support.
    #[serde(default)]
    pub managed_master_password: bool,
    #[serde(default)]
    pub read_replicas: Vec<String>,
    /// Its replicas, proxies, custom endpoints, global database, integrations (`topology`).
    #[serde(default, skip_serializing_if = "crate::topology::Topology::is_empty")]
    pub topology: crate::topology::Topology,
    /// Set when the source is itself a replica of another database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_source: Option<String>,
    /// Cluster members (Aurora), writer first.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The parameters that matter to a blue/green upgrade, from the source's parameter
    /// group(s), as RDS reports them (values may be formulas such as `{DBInstanceClassMemory/9531392}`).
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// Parameters the prechecks read; the adapters fetch just these.
pub const RELEVANT_PARAMETERS: &[&str] = &[
    "rds.logical_replication",
    "max_replication_slots",
    "max_wal_senders",
    "max_logical_replication_workers",
    "max_worker_processes",
    "binlog_format",
    "lower_case_table_names",
    "shared_preload_libraries",
    "event_scheduler",
];
