//! The request contract: one normalized request, reached three ways (a console-started
//! execution, an EventBridge Scheduler input, a CloudWatch alarm state change).

use crate::error::WorkerError;
use crate::window::SwitchoverWindow;
use aws_lambda_events::event::cloudwatch_alarms::CloudWatchAlarmData;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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
    /// When the switchover may start, e.g. `Sun 03:00-05:00 UTC` (see `window`).
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
    #[serde(
        default,
        skip_serializing_if = "crate::database::credentials::is_false"
    )]
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

const NUMERIC_FIELDS: &[&str] = &[
    "switchover_timeout_seconds",
    "max_replica_lag_seconds",
    "max_replication_slot_lag_bytes",
    "soak_hours",
    "max_provisioning_minutes",
    "approval_timeout_hours",
];
const BOOLEAN_FIELDS: &[&str] = &[
    "final_snapshot",
    "delete_old_blue",
    "require_approval",
    "update_extensions",
];

use crate::names::tags;

/// The instance or cluster a request or alarm names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbKind {
    #[default]
    Instance,
    Cluster,
}

/// An identifier as the user gave it, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbRef {
    pub name: String,
    /// Known when the user gave an ARN or the alarm named the dimension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<DbKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl DbRef {
    /// Parses an RDS DB identifier or an instance/cluster ARN.
    pub fn parse(value: &str) -> Result<Self, WorkerError> {
        if let Some(rest) = value.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(6, ':').collect();
            let malformed = || {
                WorkerError::invalid(format!(
                    "db_identifier `{value}` is not an RDS DB instance or cluster ARN: expected \
                     arn:aws:rds:REGION:ACCOUNT:db:NAME or arn:aws:rds:REGION:ACCOUNT:cluster:NAME"
                ))
            };
            if parts.len() != 6 || !parts[0].starts_with("aws") || parts[1] != "rds" {
                return Err(malformed());
            }
            let kind = match parts[4] {
                "db" => DbKind::Instance,
                "cluster" => DbKind::Cluster,
                _ => return Err(malformed()),
            };
            if parts[3].len() != 12 || !parts[3].bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            validate_db_name(parts[5])?;
            return Ok(Self {
                name: parts[5].to_string(),
                kind: Some(kind),
                region: Some(parts[2].to_string()),
                account_id: Some(parts[3].to_string()),
            });
        }
        validate_db_name(value)?;
        Ok(Self {
            name: value.to_string(),
            kind: None,
            region: None,
            account_id: None,
        })
    }
}

/// RDS identifier rules: 1–63 letters, digits or hyphens; starts with a letter; no two
/// consecutive hyphens; does not end with a hyphen.
pub fn validate_db_name(name: &str) -> Result<(), WorkerError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.contains("--")
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(WorkerError::invalid(format!(
            "db_identifier `{}` is not a valid RDS identifier: use 1-63 letters, digits or \
             hyphens, starting with a letter, without two hyphens in a row or a trailing hyphen \
             (or give the instance or cluster ARN)",
            printable(name)
        )))
    }
}

/// Shows user input in a message without letting control characters through.
fn printable(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    let mut out = cut.escape_debug().to_string();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

fn validate_parameter_group_name(field: &str, name: &str) -> Result<(), WorkerError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.contains("--")
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(WorkerError::invalid(format!(
            "{field} `{}` is not a valid parameter group name: use 1-255 letters, digits, \
             hyphens or dots, starting with a letter",
            printable(name)
        )))
    }
}

impl Request {
    /// Checks ranges and formats that serde's types alone do not.
    pub fn validate(&self) -> Result<(), WorkerError> {
        DbRef::parse(&self.db_identifier)?;
        let v = &self.target_engine_version;
        if v.is_empty()
            || v.len() > 64
            || !v.starts_with(|c: char| c.is_ascii_digit())
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
        {
            return Err(WorkerError::invalid(format!(
                "target_engine_version `{}` is not an engine version: give one such as 16.4, \
                 8.0.39 or 8.0.mysql_aurora.3.05.2 (see `aws rds describe-db-engine-versions`)",
                printable(v)
            )));
        }
        if let Some(name) = &self.target_db_parameter_group_name {
            validate_parameter_group_name("target_db_parameter_group_name", name)?;
        }
        if let Some(name) = &self.target_db_cluster_parameter_group_name {
            validate_parameter_group_name("target_db_cluster_parameter_group_name", name)?;
        }
        if let Some(class) = &self.target_db_instance_class {
            let ok = class.starts_with("db.")
                && class.len() <= 64
                && class
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !ok {
                return Err(WorkerError::invalid(format!(
                    "target_db_instance_class `{}` is not a DB instance class: give one such as \
                     db.r6g.large",
                    printable(class)
                )));
            }
        }
        range(
            "switchover_timeout_seconds",
            self.switchover_timeout_seconds,
            30,
            3600,
        )?;
        range(
            "max_replica_lag_seconds",
            self.max_replica_lag_seconds,
            0,
            3600,
        )?;
        if self.max_replication_slot_lag_bytes > MAX_REPLICATION_SLOT_LAG_BYTES {
            return Err(WorkerError::invalid(format!(
                "max_replication_slot_lag_bytes is {}: accepted values are 0 to \
                 {MAX_REPLICATION_SLOT_LAG_BYTES} (100 GiB)",
                self.max_replication_slot_lag_bytes
            )));
        }
        range("soak_hours", self.soak_hours, 0, MAX_SOAK_HOURS)?;
        range(
            "approval_timeout_hours",
            self.approval_timeout_hours,
            1,
            MAX_APPROVAL_TIMEOUT_HOURS,
        )?;
        range(
            "max_provisioning_minutes",
            self.max_provisioning_minutes,
            10,
            1440,
        )?;
        if let Some(account) = &self.expected_account_id {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(WorkerError::invalid(format!(
                    "expected_account_id `{}` is not an AWS account id: give the 12 digits",
                    printable(account)
                )));
            }
        }
        if let Some(window) = &self.switchover_window {
            SwitchoverWindow::parse(window)?;
        }
        crate::database::credentials::validate_request(self)?;
        if let Some(topic) = &self.notification_topic_arn {
            let parts: Vec<&str> = topic.split(':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" {
                return Err(WorkerError::invalid(format!(
                    "notification_topic_arn `{}` is not an SNS topic ARN: expected \
                     arn:aws:sns:REGION:ACCOUNT:TOPIC",
                    printable(topic)
                )));
            }
        }
        Ok(())
    }

    /// Parses and validates a request from JSON, naming the offending field on error.
    pub fn from_json(value: &Value) -> Result<Self, WorkerError> {
        let request: Request = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if path == "." || path.is_empty() {
                WorkerError::invalid(format!(
                    "the request is not valid: {inner}. Accepted fields: {}",
                    REQUEST_FIELDS.join(", ")
                ))
            } else {
                WorkerError::invalid(format!(
                    "field `{path}` is not valid: {inner}{}",
                    field_hint(&path)
                ))
            }
        })?;
        request.validate()?;
        Ok(request)
    }
}

fn field_hint(field: &str) -> String {
    match field {
        "action" => format!(". Accepted: {}", Action::ALL),
        "trigger" => ". Accepted: console, schedule, alarm".into(),
        "switchover_timeout_seconds" => ". Accepted: an integer from 30 to 3600".into(),
        "soak_hours" => format!(". Accepted: an integer from 0 to {MAX_SOAK_HOURS}"),
        "max_replica_lag_seconds" => ". Accepted: an integer from 0 to 3600".into(),
        "max_provisioning_minutes" => ". Accepted: an integer from 10 to 1440".into(),
        "max_replication_slot_lag_bytes" => {
            format!(". Accepted: an integer from 0 to {MAX_REPLICATION_SLOT_LAG_BYTES}")
        }
        "final_snapshot" | "delete_old_blue" | "require_approval" | "update_extensions" => {
            ". Accepted: true or false".into()
        }
        "on_reject" => ". Accepted: keep, abort".into(),
        "approval_timeout_hours" => {
            format!(". Accepted: an integer from 1 to {MAX_APPROVAL_TIMEOUT_HOURS}")
        }
        _ => String::new(),
    }
}

fn range(field: &str, value: u32, min: u32, max: u32) -> Result<(), WorkerError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(WorkerError::invalid(format!(
            "{field} is {value}: accepted values are {min} to {max}"
        )))
    }
}

/// An alarm transition to ALARM: the database it names; the rest comes from the DB's tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmTarget {
    pub alarm_name: String,
    pub db: DbRef,
    /// Where the event says the alarm is (its `account` and `region`): an event bus can
    /// forward events across accounts and Regions, see `check_event_origin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// What an execution input turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request (console or schedule input), already validated.
    Request(Request),
    /// An alarm in ALARM: the request is built from the database's tags.
    Alarm(AlarmTarget),
    /// One database of a fleet request: its tags and the fleet's fields make the request.
    FleetMember(FleetMember),
    /// Nothing to do (an alarm back to OK or INSUFFICIENT_DATA); the reason says why.
    Ignored(String),
}

/// Tells the three ways in apart and normalizes each.
pub fn classify(input: &Value) -> Result<Incoming, WorkerError> {
    let Some(object) = input.as_object() else {
        return Err(WorkerError::invalid(format!(
            "the execution input must be a JSON object with at least db_identifier and \
             target_engine_version, got {}",
            json_kind(input)
        )));
    };
    if let Some(member) = object.get(FLEET_MEMBER_KEY) {
        return FleetMember::from_json(member).map(Incoming::FleetMember);
    }
    match object.get("detail-type").and_then(Value::as_str) {
        None => Request::from_json(input).map(Incoming::Request),
        Some(crate::names::events::ALARM_STATE_CHANGE) => classify_alarm(object),
        // The state machine's `Resolve` step turns a Scheduled Event into a fleet run of the
        // databases that opted in; a worker invoked with one directly names no database.
        Some(crate::names::events::SCHEDULED_EVENT) => Err(WorkerError::invalid(
            "an EventBridge \"Scheduled Event\" names no database: start the state machine with it \
             (it upgrades the databases tagged bluegreen:managed=true with a \
             bluegreen:target-engine-version tag), or give a request such as {\"db_identifier\": \
             \"orders-pg\", \"target_engine_version\": \"16.4\", \"action\": \"upgrade\"}",
        )),
        Some(other) => Err(WorkerError::invalid(format!(
            "EventBridge events of type `{}` are not accepted: start the state machine with a \
             request, a Scheduler input, or a \"CloudWatch Alarm State Change\" event",
            printable(other)
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn classify_alarm(event: &Map<String, Value>) -> Result<Incoming, WorkerError> {
    let detail = event.get("detail").cloned().unwrap_or(Value::Null);
    let alarm: CloudWatchAlarmData<Value, Value> = serde_json::from_value(detail).map_err(|e| {
        WorkerError::invalid(format!(
            "the CloudWatch alarm event's detail is not an alarm state change ({e}): deliver \
                 the EventBridge event unchanged (no input transformer)"
        ))
    })?;
    let name = alarm.alarm_name.clone();
    let state = alarm
        .state
        .as_ref()
        // The state as AWS spells it (`INSUFFICIENT_DATA`), not the Rust variant name.
        .and_then(|s| serde_json::to_value(&s.value).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if state != "ALARM" {
        return Ok(Incoming::Ignored(format!(
            "alarm `{name}` moved to {state}: only a transition to ALARM starts a remediation"
        )));
    }
    if alarm.configuration.get("alarmRule").is_some() {
        return Err(WorkerError::invalid(format!(
            "alarm `{name}` is a composite alarm, which names no database: point the \
             EventBridge rule at a metric alarm on an AWS/RDS metric with a DBInstanceIdentifier \
             or DBClusterIdentifier dimension"
        )));
    }
    let mut found: Vec<(DbKind, String)> = Vec::new();
    for metric in alarm
        .configuration
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let dims = metric.pointer("/metricStat/metric/dimensions");
        for (key, kind) in [
            ("DBInstanceIdentifier", DbKind::Instance),
            ("DBClusterIdentifier", DbKind::Cluster),
        ] {
            if let Some(id) = dims.and_then(|d| d.get(key)).and_then(Value::as_str) {
                if !found.iter().any(|(k, n)| *k == kind && n == id) {
                    found.push((kind, id.to_string()));
                }
            }
        }
    }
    match found.as_slice() {
        [] => Err(WorkerError::invalid(format!(
            "alarm `{name}` has no DBInstanceIdentifier or DBClusterIdentifier dimension, so it \
             names no database: alarm on an AWS/RDS metric of one instance or cluster"
        ))),
        [(kind, id)] => {
            validate_db_name(id)?;
            let origin = |key: &str| {
                event
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            };
            Ok(Incoming::Alarm(AlarmTarget {
                alarm_name: name,
                db: DbRef {
                    name: id.clone(),
                    kind: Some(*kind),
                    region: None,
                    account_id: None,
                },
                account_id: origin("account"),
                region: origin("region"),
            }))
        }
        many => Err(WorkerError::invalid(format!(
            "alarm `{name}` names {} databases ({}): an alarm that starts an upgrade must name \
             exactly one",
            many.len(),
            many.iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
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
    pub fn from_json(value: &Value) -> Result<Self, WorkerError> {
        let member: Self = serde_json::from_value(value.clone()).map_err(|e| {
            WorkerError::invalid(format!(
                "`{FLEET_MEMBER_KEY}` is not a fleet member ({e}): it is built by the state \
                 machine's Resolve step; start an execution with a `selector` instead"
            ))
        })?;
        validate_db_name(&member.db_identifier)?;
        Ok(member)
    }

    pub fn db(&self) -> DbRef {
        DbRef {
            name: self.db_identifier.clone(),
            kind: Some(self.kind),
            region: None,
            account_id: None,
        }
    }
}

/// Builds the request for an alarm from the database's `bluegreen:` tags
/// (`bluegreen:target-engine-version`, `bluegreen:action`, ...). Without a
/// `bluegreen:action` tag an alarm only plans.
pub fn request_from_tags(
    target: &AlarmTarget,
    tags: &BTreeMap<String, String>,
) -> Result<Request, WorkerError> {
    let mut base = Map::new();
    base.insert("trigger".into(), Value::String("alarm".into()));
    request_from(&target.db.name, tags, base, || {
        format!(
            "alarm `{}` names {}, which has no `bluegreen:target-engine-version` tag: tag the \
             database with the version to upgrade to (and bluegreen:target-db-parameter-group-name, \
             bluegreen:action) to let an alarm remediate it",
            target.alarm_name, target.db.name
        )
    })
}

/// The request for one database of a fleet: its `bluegreen:` tags, overridden by the fields
/// the fleet request gives (the operator's input of the day wins over standing tags).
pub fn request_for_member(
    member: &FleetMember,
    tags: &BTreeMap<String, String>,
) -> Result<Request, WorkerError> {
    request_from(&member.db_identifier, tags, member.request.clone(), || {
        format!(
            "{} has no target: give target_engine_version in the fleet request or tag the \
             database bluegreen:target-engine-version",
            member.db_identifier
        )
    })
}

/// Request fields from `bluegreen:` tags, then `base` on top, for database `db`.
fn request_from(
    db: &str,
    tags: &BTreeMap<String, String>,
    base: Map<String, Value>,
    missing_target: impl FnOnce() -> String,
) -> Result<Request, WorkerError> {
    let mut fields = tag_fields(db, tags)?;
    fields.extend(base);
    fields.insert("db_identifier".into(), Value::String(db.to_string()));
    if !fields.contains_key("target_engine_version") {
        return Err(WorkerError::invalid(missing_target()));
    }
    Request::from_json(&Value::Object(fields)).map_err(|e| match e {
        WorkerError::InvalidRequest(msg) => WorkerError::invalid(format!(
            "the bluegreen: tags on {db} do not make a valid request: {msg}"
        )),
        other => other,
    })
}

/// The request fields a database's `bluegreen:` tags set, typed.
pub fn tag_fields(
    db: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, WorkerError> {
    let mut fields = Map::new();
    for (key, value) in tags {
        let Some(suffix) = key.strip_prefix(tags::PREFIX) else {
            continue;
        };
        if tags::NON_REQUEST.contains(&key.as_str()) {
            continue;
        }
        let field = suffix.replace('-', "_");
        if !REQUEST_FIELDS.contains(&field.as_str())
            || field == "db_identifier"
            || field == "trigger"
        {
            return Err(WorkerError::invalid(format!(
                "tag `{key}` on {db} is not a request field: remove it or use one of {}",
                REQUEST_FIELDS
                    .iter()
                    .filter(|f| !matches!(**f, "db_identifier" | "trigger"))
                    .map(|f| format!("bluegreen:{}", f.replace('_', "-")))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let typed = if NUMERIC_FIELDS.contains(&field.as_str()) {
            value.trim().parse::<u64>().map(Value::from).map_err(|_| {
                WorkerError::invalid(format!(
                    "tag `{key}` on {db} is `{}`: it must be a whole number{}",
                    printable(value),
                    field_hint(&field)
                ))
            })?
        } else if BOOLEAN_FIELDS.contains(&field.as_str()) {
            match value.trim().to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(WorkerError::invalid(format!(
                        "tag `{key}` on {db} is `{}`: it must be true or false",
                        printable(value)
                    )))
                }
            }
        } else {
            Value::String(value.trim().to_string())
        };
        fields.insert(field, typed);
    }
    Ok(fields)
}

/// An EventBridge event (an alarm, a Scheduled Event) must come from the account and Region
/// the function runs in: an event bus can forward events across accounts, and a database of
/// the same name here is not the one that alarmed. Refused before anything changes.
pub fn check_event_origin(
    what: &str,
    event_account: Option<&str>,
    event_region: Option<&str>,
    here_account: Option<&str>,
    here_region: Option<&str>,
) -> Result<(), WorkerError> {
    if let (Some(theirs), Some(ours)) = (event_account, here_account) {
        if theirs != ours {
            return Err(WorkerError::invalid(format!(
                "{what} comes from account {theirs}, but this state machine runs in account \
                 {ours}: nothing was changed. Deploy rds-bluegreen in account {theirs} (or stop \
                 forwarding these events here)"
            )));
        }
    }
    if let (Some(theirs), Some(ours)) = (event_region, here_region) {
        if theirs != ours {
            return Err(WorkerError::invalid(format!(
                "{what} comes from Region {theirs}, but this state machine runs in {ours}: \
                 nothing was changed. Deploy rds-bluegreen in {theirs} (blue/green works within \
                 one Region)"
            )));
        }
    }
    Ok(())
}
