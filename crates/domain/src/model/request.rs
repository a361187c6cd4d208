//! The request contract: the normalized request every way in leads to (a console-started
//! execution, an EventBridge Scheduler input, an alarm's database tags, a fleet's member), its
//! fields and their defaults. Parsing and validation: `precheck::intake`.

use crate::model::db::{DbKind, DbRef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What the run is asked to do. `plan` is the default: nothing changes unless the input says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    #[default]
    Plan,
    Prepare,
    Upgrade,
    Switchover,
    Abort,
    Cleanup,
}

impl Action {
    pub const ALL: &'static str = "plan, prepare, upgrade, switchover, abort, cleanup";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Prepare => "prepare",
            Self::Upgrade => "upgrade",
            Self::Switchover => "switchover",
            Self::Abort => "abort",
            Self::Cleanup => "cleanup",
        }
    }

    /// Every action but `plan` may change AWS resources.
    pub fn is_mutating(self) -> bool {
        self != Self::Plan
    }

    /// Actions that create or switch a deployment, and so must pass every precheck.
    pub fn needs_passing_prechecks(self) -> bool {
        matches!(self, Self::Prepare | Self::Upgrade | Self::Switchover)
    }
}

/// What a rejected approval leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReject {
    /// Green stays prepared; a later `switchover` run finishes, or `abort` deletes it.
    #[default]
    Keep,
    /// Green is deleted (as action `abort` does).
    Abort,
}

/// How the run was started; a dimension of the `Remediations` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    #[default]
    Console,
    Schedule,
    Alarm,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Schedule => "schedule",
            Self::Alarm => "alarm",
        }
    }
}

pub const DEFAULT_SWITCHOVER_TIMEOUT_SECONDS: u32 = 300;
pub const DEFAULT_MAX_REPLICA_LAG_SECONDS: u32 = 5;
pub const DEFAULT_SOAK_HOURS: u32 = 24;
pub const DEFAULT_MAX_PROVISIONING_MINUTES: u32 = 240;
/// How long a run waits for an operator's approval before it ends as a closed window would
/// (green kept, `switchover_skipped`).
pub const DEFAULT_APPROVAL_TIMEOUT_HOURS: u32 = 24;
pub const MAX_APPROVAL_TIMEOUT_HOURS: u32 = 168;
/// PostgreSQL logical replication (every major upgrade) has no lag metric on green: blue's
/// `OldestReplicationSlotLag` (bytes) is the signal, bounded by its own field.
pub const DEFAULT_MAX_REPLICATION_SLOT_LAG_BYTES: u64 = 64 * 1024 * 1024;
pub const MAX_REPLICATION_SLOT_LAG_BYTES: u64 = 100 * 1024 * 1024 * 1024;
/// The state machine's own timeout leaves room for the longest soak plus a build.
pub const MAX_SOAK_HOURS: u32 = 168;

fn default_switchover_timeout() -> u32 {
    DEFAULT_SWITCHOVER_TIMEOUT_SECONDS
}
fn default_max_lag() -> u32 {
    DEFAULT_MAX_REPLICA_LAG_SECONDS
}
fn default_soak() -> u32 {
    DEFAULT_SOAK_HOURS
}
fn default_max_provisioning() -> u32 {
    DEFAULT_MAX_PROVISIONING_MINUTES
}
fn default_max_slot_lag() -> u64 {
    DEFAULT_MAX_REPLICATION_SLOT_LAG_BYTES
}
fn default_approval_timeout() -> u32 {
    DEFAULT_APPROVAL_TIMEOUT_HOURS
}
fn yes() -> bool {
    true
}

/// The normalized request. Field names are the user-facing contract (see README).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub db_identifier: String,
    pub target_engine_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_parameter_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_cluster_parameter_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_instance_class: Option<String>,
    #[serde(default)]
    pub action: Action,
    #[serde(default = "default_switchover_timeout")]
    pub switchover_timeout_seconds: u32,
    #[serde(default = "default_max_lag")]
    pub max_replica_lag_seconds: u32,
    #[serde(default = "default_max_slot_lag")]
    pub max_replication_slot_lag_bytes: u64,
    #[serde(default = "default_soak")]
    pub soak_hours: u32,
    #[serde(default = "yes")]
    pub final_snapshot: bool,
    #[serde(default)]
    pub delete_old_blue: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_account_id: Option<String>,
    #[serde(default)]
    pub trigger: Trigger,
    #[serde(default = "default_max_provisioning")]
    pub max_provisioning_minutes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_topic_arn: Option<String>,
    /// When the switchover may start, e.g. `Sun 03:00-05:00 UTC` (see `model::window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switchover_window: Option<String>,
    /// Pause before the switchover, once green is ready and the guardrails say go, until an
    /// operator approves (`rbg approve`, or Step Functions' SendTaskSuccess).
    #[serde(default)]
    pub require_approval: bool,
    #[serde(default = "default_approval_timeout")]
    pub approval_timeout_hours: u32,
    #[serde(default)]
    pub on_reject: OnReject,
    /// A way into the database (see `database::credentials`): a Secrets Manager secret ARN
    /// (`{"username", "password", ...}`, the RDS shape). Only the ARN is ever recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_secret_arn: Option<String>,
    /// The other way in: a database user that logs in with IAM database authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_iam_user: Option<String>,
    /// After switchover, `ALTER EXTENSION ... UPDATE` the extensions older than the new
    /// major's default (otherwise they are only reported). Needs a way in.
    #[serde(default, skip_serializing_if = "crate::model::request::is_false")]
    pub update_extensions: bool,
    /// The read-only query run against the new production before the soak (default `SELECT 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_query: Option<String>,
}

/// Request fields in contract order; also the suffixes of the `bluegreen:` tags.
pub const REQUEST_FIELDS: &[&str] = &[
    "db_identifier",
    "target_engine_version",
    "target_db_parameter_group_name",
    "target_db_cluster_parameter_group_name",
    "target_db_instance_class",
    "action",
    "switchover_timeout_seconds",
    "max_replica_lag_seconds",
    "max_replication_slot_lag_bytes",
    "soak_hours",
    "final_snapshot",
    "delete_old_blue",
    "expected_account_id",
    "trigger",
    "max_provisioning_minutes",
    "notification_topic_arn",
    "switchover_window",
    "require_approval",
    "approval_timeout_hours",
    "on_reject",
    "database_secret_arn",
    "database_iam_user",
    "update_extensions",
    "smoke_query",
];

/// `skip_serializing_if` helper: a `false` default is left out of the run document.
pub fn is_false(b: &bool) -> bool {
    !*b
}

impl Request {
    /// A request for `db_identifier` to `target_engine_version` with every other field at its
    /// default, as the contract gives it when the input leaves it out (not validated: an
    /// execution input goes through `precheck::intake::parse_request`).
    pub fn new(db_identifier: impl Into<String>, target_engine_version: impl Into<String>) -> Self {
        Self {
            db_identifier: db_identifier.into(),
            target_engine_version: target_engine_version.into(),
            target_db_parameter_group_name: None,
            target_db_cluster_parameter_group_name: None,
            target_db_instance_class: None,
            action: Action::default(),
            switchover_timeout_seconds: default_switchover_timeout(),
            max_replica_lag_seconds: default_max_lag(),
            max_replication_slot_lag_bytes: default_max_slot_lag(),
            soak_hours: default_soak(),
            final_snapshot: yes(),
            delete_old_blue: false,
            expected_account_id: None,
            trigger: Trigger::default(),
            max_provisioning_minutes: default_max_provisioning(),
            notification_topic_arn: None,
            switchover_window: None,
            require_approval: false,
            approval_timeout_hours: default_approval_timeout(),
            on_reject: OnReject::default(),
            database_secret_arn: None,
            database_iam_user: None,
            update_extensions: false,
            smoke_query: None,
        }
    }
}

/// The execution input key that marks one database of a fleet run (built by `Resolve`).
pub const FLEET_MEMBER_KEY: &str = "fleet_member";

/// One database selected by a fleet request, as the fleet's campaign starts it: the input of
/// its own execution of the per-database state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetMember {
    pub db_identifier: String,
    pub kind: DbKind,
    /// The fleet request's own fields (target, action, soak, ...): they win over the tags.
    #[serde(default)]
    pub request: Map<String, Value>,
    /// Its place in the fleet, and the fleet's execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetPosition>,
}

/// Where a database stands in its fleet (`Run::fleet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetPosition {
    pub position: u32,
    pub size: u32,
    /// The fleet execution's ARN.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub execution: String,
}

impl FleetMember {
    pub fn db(&self) -> DbRef {
        DbRef {
            name: self.db_identifier.clone(),
            kind: Some(self.kind),
            region: None,
            account_id: None,
        }
    }
}
