//! What the source database looks like before anything changes: the exported configuration
//! that every run keeps in its output as a record of what was there, and what surrounds it
//! (its topology: read replicas, Aurora members, RDS Proxies, custom endpoints, an Aurora
//! Global Database, zero-ETL integrations, AWS DMS tasks).

use crate::model::db::DbKind;
use crate::model::engine::Engine;
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
    /// the same key, and a customer managed one needs the stack's grant (`model::grants`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// The instance's Enhanced Monitoring role (`MonitoringRoleArn`); none for a cluster
    /// (its member instances carry their own: `topology.members`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_storage_gib: Option<i32>,
    /// An instance with a dedicated log volume (`DedicatedLogVolume`): blue/green needs it on
    /// every instance or none, read replicas included.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dedicated_log_volume: bool,
    /// Aurora MySQL backtrack (`BacktrackWindow`, seconds; 0 or none: off): not carried to green.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtrack_window: Option<i64>,
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
    /// Its replicas, proxies, custom endpoints, global database, integrations (`Topology`).
    #[serde(default, skip_serializing_if = "Topology::is_empty")]
    pub topology: Topology,
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
    // Aurora PostgreSQL, every blue/green (Aurora User Guide, blue/green prerequisites)
    "synchronous_commit",
    "rds.logically_replicate_unlogged_tables",
    // must be off on green (Aurora PostgreSQL query plan management)
    "apg_plan_mgmt.capture_plan_baselines",
    // Babelfish for Aurora PostgreSQL: blue/green from 15.7 and 16.3 only
    "rds.babelfish_status",
];

/// A parameter group looked up by name: its family, or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterGroupInfo {
    pub name: String,
    pub family: String,
}

/// A read replica of the source, as DescribeDBInstances reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub identifier: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub arn: String,
    /// Its own tags: IAM evaluates the opt-in tag on the replica itself
    /// (`precheck::checks::access`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dedicated_log_volume: bool,
    /// The Region, when the source lists it by ARN in another Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub engine_version: String,
    #[serde(default)]
    pub multi_az: bool,
    /// Replicas of this replica (a cascade).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<String>,
    /// What it replicates from, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicates_from: Option<String>,
}

impl Replica {
    /// A replica as DescribeDBInstances describes it now (`home_region`: the source's, to
    /// tell a cross-Region replica by its ARN).
    pub fn from_db(db: &SourceDb, home_region: Option<&str>) -> Self {
        let region =
            crate::model::names::arn_region(&db.arn).filter(|r| Some(r.as_str()) != home_region);
        Self {
            identifier: db.identifier.clone(),
            arn: db.arn.clone(),
            tags: db.tags.clone(),
            monitoring_role_arn: db.monitoring_role_arn.clone(),
            dedicated_log_volume: db.dedicated_log_volume,
            region,
            resource_id: db.resource_id.clone(),
            status: db.status.clone(),
            engine_version: db.engine_version.clone(),
            multi_az: db.multi_az,
            replicas: db.read_replicas.clone(),
            replicates_from: db.replica_source.clone(),
        }
    }
}

/// An instance of the source Aurora cluster, as DescribeDBInstances reports it: what IAM
/// and RDS look at on each member (its own tags, its own Enhanced Monitoring role).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub identifier: String,
    #[serde(default)]
    pub arn: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_role_arn: Option<String>,
}

impl Member {
    pub fn from_db(db: &SourceDb) -> Self {
        Self {
            identifier: db.identifier.clone(),
            arn: db.arn.clone(),
            tags: db.tags.clone(),
            monitoring_role_arn: db.monitoring_role_arn.clone(),
        }
    }
}

/// An RDS Proxy whose targets include the source, and that target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proxy {
    pub name: String,
    #[serde(default)]
    pub engine_family: String,
    /// The target's `RdsResourceId` (for a cluster target, the cluster identifier), its
    /// endpoint and `TargetHealth.State`.
    #[serde(default)]
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_endpoint: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An Aurora custom endpoint of the source cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomEndpoint {
    pub identifier: String,
    #[serde(default)]
    pub endpoint_type: String,
    #[serde(default)]
    pub static_members: Vec<String>,
    #[serde(default)]
    pub excluded_members: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub arn: String,
    /// Its tags (ListTagsForResource: DescribeDBClusterEndpoints returns none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Set when its tags could not be read (named in `Topology::unread`): the opt-in check
    /// cannot tell, and says so there instead of calling it untagged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tags_unread: bool,
}

/// The source cluster's place in an Aurora Global Database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalMembership {
    pub global_cluster: String,
    pub is_primary: bool,
    /// Every member cluster's ARN.
    #[serde(default)]
    pub members: Vec<String>,
}

/// A zero-ETL integration whose source is the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub name: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub status: String,
}

/// An AWS DMS task reading from (or writing to) the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmsTask {
    pub identifier: String,
    #[serde(default)]
    pub endpoint: String,
    #[serde(default)]
    pub status: String,
}

/// An AWS DMS endpoint as DescribeEndpoints lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmsEndpoint {
    pub arn: String,
    pub identifier: String,
    /// `ServerName`: the host DMS connects to.
    pub server_name: Option<String>,
    pub port: Option<i32>,
}

/// An AWS DMS replication task as DescribeReplicationTasks lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmsTaskListing {
    pub identifier: String,
    pub status: String,
    pub source_endpoint_arn: String,
    pub target_endpoint_arn: String,
}

/// Everything around the source the switchover touches, exported with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// An Aurora cluster's member instances, each as described (`SourceDb::members` names them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<Replica>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<Proxy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_endpoints: Vec<CustomEndpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalMembership>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<Integration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dms_tasks: Vec<DmsTask>,
    /// An Aurora cluster's Auto Scaling targets with their policies (Application Auto
    /// Scaling), which green does not get: `None` when not read (an instance, or a refusal
    /// named in `unread`), empty when the cluster has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<Vec<crate::model::scaling::ScalableTarget>>,
    /// What could not be read (a missing permission, an API not offered in the Region): a
    /// warning, never a silent pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

impl Topology {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
