//! The ways in, as typed facts: a console or Scheduler request (JSON, parsed and validated
//! here), one database of a fleet (built by `Resolve`), an alarm's state change and a
//! Scheduled Event (both read from their EventBridge events at the edge, the workers'
//! `intake`, and handed over as `AlarmStateChange` and an origin). The rules about each live
//! here: which dimension names the database, a composite alarm is refused, OK is a no-op, two
//! databases are refused, an event must come from this account and Region; and how a
//! database's `bluegreen:` tags make its request.

use crate::model::db::{validate_db_name, DbKind, DbRef};
use crate::model::error::{printable, WorkerError};
use crate::model::names::tags;
use crate::model::request::{
    Action, FleetMember, Request, FLEET_MEMBER_KEY, MAX_APPROVAL_TIMEOUT_HOURS,
    MAX_REPLICATION_SLOT_LAG_BYTES, MAX_SOAK_HOURS, REQUEST_FIELDS,
};
use crate::model::window::SwitchoverWindow;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The request fields a `bluegreen:` tag gives as a whole number, and as true or false
/// (`tag_fields` types them; every other tag value is a string).
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

/// Checks ranges and formats that serde's types alone do not.
pub fn validate(request: &Request) -> Result<(), WorkerError> {
    DbRef::parse(&request.db_identifier)?;
    let v = &request.target_engine_version;
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
    if let Some(name) = &request.target_db_parameter_group_name {
        validate_parameter_group_name("target_db_parameter_group_name", name)?;
    }
    if let Some(name) = &request.target_db_cluster_parameter_group_name {
        validate_parameter_group_name("target_db_cluster_parameter_group_name", name)?;
    }
    if let Some(class) = &request.target_db_instance_class {
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
        request.switchover_timeout_seconds,
        30,
        3600,
    )?;
    range(
        "max_replica_lag_seconds",
        request.max_replica_lag_seconds,
        0,
        3600,
    )?;
    if request.max_replication_slot_lag_bytes > MAX_REPLICATION_SLOT_LAG_BYTES {
        return Err(WorkerError::invalid(format!(
            "max_replication_slot_lag_bytes is {}: accepted values are 0 to \
             {MAX_REPLICATION_SLOT_LAG_BYTES} (100 GiB)",
            request.max_replication_slot_lag_bytes
        )));
    }
    range("soak_hours", request.soak_hours, 0, MAX_SOAK_HOURS)?;
    range(
        "approval_timeout_hours",
        request.approval_timeout_hours,
        1,
        MAX_APPROVAL_TIMEOUT_HOURS,
    )?;
    range(
        "max_provisioning_minutes",
        request.max_provisioning_minutes,
        10,
        1440,
    )?;
    if let Some(account) = &request.expected_account_id {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WorkerError::invalid(format!(
                "expected_account_id `{}` is not an AWS account id: give the 12 digits",
                printable(account)
            )));
        }
    }
    if let Some(window) = &request.switchover_window {
        SwitchoverWindow::parse(window)?;
    }
    crate::database::credentials::validate_request(request)?;
    if let Some(topic) = &request.notification_topic_arn {
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
pub fn parse_request(value: &Value) -> Result<Request, WorkerError> {
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
    validate(&request)?;
    Ok(request)
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

/// Tells a console or Scheduler request from a fleet member and normalizes each: the JSON
/// the precheck receives when it is not an EventBridge event (the edge tells those apart and
/// hands an alarm over as `AlarmStateChange`).
pub fn classify(input: &Value) -> Result<Incoming, WorkerError> {
    let Some(object) = input.as_object() else {
        return Err(WorkerError::invalid(format!(
            "the execution input must be a JSON object with at least db_identifier and \
             target_engine_version, got {}",
            json_kind(input)
        )));
    };
    if let Some(member) = object.get(FLEET_MEMBER_KEY) {
        return parse_fleet_member(member).map(Incoming::FleetMember);
    }
    parse_request(input).map(Incoming::Request)
}

/// An EventBridge event the precheck does not start from, by its `detail-type` (an alarm's
/// state change is read by `alarm`): the refusal, saying how the tool is started.
pub fn event_not_accepted(detail_type: &str) -> WorkerError {
    if detail_type == crate::model::names::events::SCHEDULED_EVENT {
        // The state machine's `Resolve` step turns a Scheduled Event into a fleet run of the
        // databases that opted in; a worker invoked with one directly names no database.
        return WorkerError::invalid(
            "an EventBridge \"Scheduled Event\" names no database: start the state machine with it \
             (it upgrades the databases tagged bluegreen:managed=true with a \
             bluegreen:target-engine-version tag), or give a request such as {\"db_identifier\": \
             \"orders-pg\", \"target_engine_version\": \"16.4\", \"action\": \"upgrade\"}",
        );
    }
    WorkerError::invalid(format!(
        "EventBridge events of type `{}` are not accepted: start the state machine with a \
         request, a Scheduler input, or a \"CloudWatch Alarm State Change\" event",
        printable(detail_type)
    ))
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

/// A CloudWatch alarm's state change, as the edge read it from the EventBridge event
/// ("CloudWatch Alarm State Change").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmStateChange {
    pub alarm_name: String,
    /// The new state as AWS spells it: `ALARM`, `OK`, `INSUFFICIENT_DATA`.
    pub state: String,
    /// A composite alarm (its configuration has an `alarmRule`): it names no database.
    pub composite: bool,
    /// The dimensions of each metric the alarm watches (string values), in order.
    pub metric_dimensions: Vec<BTreeMap<String, String>>,
    /// Where the event says the alarm is (its `account` and `region`, when not empty).
    pub account_id: Option<String>,
    pub region: Option<String>,
}

/// What an alarm's state change asks for: nothing unless it moved to ALARM; the one database
/// its metrics name by `DBInstanceIdentifier` or `DBClusterIdentifier`.
pub fn alarm(change: AlarmStateChange) -> Result<Incoming, WorkerError> {
    let name = change.alarm_name;
    let state = change.state;
    if state != "ALARM" {
        return Ok(Incoming::Ignored(format!(
            "alarm `{name}` moved to {state}: only a transition to ALARM starts a remediation"
        )));
    }
    if change.composite {
        return Err(WorkerError::invalid(format!(
            "alarm `{name}` is a composite alarm, which names no database: point the \
             EventBridge rule at a metric alarm on an AWS/RDS metric with a DBInstanceIdentifier \
             or DBClusterIdentifier dimension"
        )));
    }
    let mut found: Vec<(DbKind, String)> = Vec::new();
    for dims in &change.metric_dimensions {
        for (key, kind) in [
            ("DBInstanceIdentifier", DbKind::Instance),
            ("DBClusterIdentifier", DbKind::Cluster),
        ] {
            if let Some(id) = dims.get(key) {
                if !found.iter().any(|(k, n)| *k == kind && n == id) {
                    found.push((kind, id.clone()));
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
            Ok(Incoming::Alarm(AlarmTarget {
                alarm_name: name,
                db: DbRef {
                    name: id.clone(),
                    kind: Some(*kind),
                    region: None,
                    account_id: None,
                },
                account_id: change.account_id,
                region: change.region,
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

/// One database of a fleet run, as `Resolve` built it (the `fleet_member` key's value).
pub fn parse_fleet_member(value: &Value) -> Result<FleetMember, WorkerError> {
    let member: FleetMember = serde_json::from_value(value.clone()).map_err(|e| {
        WorkerError::invalid(format!(
            "`{FLEET_MEMBER_KEY}` is not a fleet member ({e}): it is built by the state \
             machine's Resolve step; start an execution with a `selector` instead"
        ))
    })?;
    validate_db_name(&member.db_identifier)?;
    Ok(member)
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
    parse_request(&Value::Object(fields)).map_err(|e| match e {
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

/// An ARN must name this function's own account and Region: a cross-account or
/// cross-Region blue/green deployment is not possible.
pub fn check_arn_is_local(
    db: &DbRef,
    here_account: Option<&str>,
    here_region: Option<&str>,
) -> Result<(), WorkerError> {
    if let (Some(theirs), Some(ours)) = (&db.account_id, here_account) {
        if theirs != ours {
            return Err(WorkerError::invalid(format!(
                "db_identifier names account {theirs}, but this state machine runs in account {ours}: \
                 start the execution in the account that owns the database"
            )));
        }
    }
    if let (Some(theirs), Some(ours)) = (&db.region, here_region) {
        if theirs != ours {
            return Err(WorkerError::invalid(format!(
                "db_identifier names Region {theirs}, but this state machine runs in {ours}: \
                 blue/green works within one Region; use the deployment in {theirs}"
            )));
        }
    }
    Ok(())
}

/// What the precheck does with what came in.
#[derive(Debug, Clone, PartialEq)]
pub enum Intake {
    /// Nothing (an alarm back to OK or INSUFFICIENT_DATA): why, for the run's note.
    Nothing(String),
    /// Read the database named; its tags then make the request (`Wanted::request`).
    Read(Box<Wanted>),
}

/// The database an incoming request names, and how its request is made once it is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub db: DbRef,
    from: Origin,
}

/// Where a wanted database's request comes from.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    Request(Request),
    Alarm(AlarmTarget),
    FleetMember(FleetMember),
}

impl Wanted {
    /// The request came as one database of a fleet.
    pub fn from_fleet(&self) -> bool {
        matches!(self.from, Origin::FleetMember(_))
    }

    /// The request: as given (console, Scheduler), or made from the database's `bluegreen:`
    /// tags (an alarm; a fleet member, under the fleet's own fields).
    pub fn request(self, tags: &BTreeMap<String, String>) -> Result<Request, WorkerError> {
        match self.from {
            Origin::Request(request) => Ok(request),
            Origin::Alarm(target) => request_from_tags(&target, tags),
            Origin::FleetMember(member) => request_for_member(&member, tags),
        }
    }
}

/// What to do with an incoming request, once the rules on where it comes from pass: an
/// alarm's event must come from this account and Region (`check_event_origin`), a request's
/// ARN must name them (`check_arn_is_local`). `here_*`: where the function runs, when known.
pub fn start(
    incoming: Incoming,
    here_account: Option<&str>,
    here_region: Option<&str>,
) -> Result<Intake, WorkerError> {
    let (db, from) = match incoming {
        Incoming::Ignored(reason) => return Ok(Intake::Nothing(reason)),
        Incoming::Alarm(target) => {
            check_event_origin(
                &format!("alarm `{}`", target.alarm_name),
                target.account_id.as_deref(),
                target.region.as_deref(),
                here_account,
                here_region,
            )?;
            (target.db.clone(), Origin::Alarm(target))
        }
        Incoming::FleetMember(member) => (member.db(), Origin::FleetMember(member)),
        Incoming::Request(request) => {
            let db = DbRef::parse(&request.db_identifier)?;
            check_arn_is_local(&db, here_account, here_region)?;
            (db, Origin::Request(request))
        }
    };
    Ok(Intake::Read(Box::new(Wanted { db, from })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(state: &str, dims: &[&[(&str, &str)]]) -> AlarmStateChange {
        AlarmStateChange {
            alarm_name: "orders-pg-needs-upgrade".into(),
            state: state.into(),
            composite: false,
            metric_dimensions: dims
                .iter()
                .map(|d| {
                    d.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                })
                .collect(),
            account_id: Some("123456789012".into()),
            region: Some("us-east-1".into()),
        }
    }

    fn refused(c: AlarmStateChange) -> String {
        match alarm(c) {
            Err(WorkerError::InvalidRequest(msg)) => msg,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_alarm_in_alarm_names_the_one_database_of_its_dimension() {
        let c = change("ALARM", &[&[("DBClusterIdentifier", "ledger")]]);
        let Ok(Incoming::Alarm(t)) = alarm(c) else {
            panic!("expected an alarm");
        };
        assert_eq!(
            (t.db.name.as_str(), t.db.kind),
            ("ledger", Some(DbKind::Cluster))
        );
        assert_eq!(t.account_id.as_deref(), Some("123456789012"));
        let same_twice = change(
            "ALARM",
            &[
                &[("DBInstanceIdentifier", "orders-pg")],
                &[("DBInstanceIdentifier", "orders-pg"), ("Role", "WRITER")],
            ],
        );
        assert!(matches!(alarm(same_twice), Ok(Incoming::Alarm(t)) if t.db.name == "orders-pg"));
    }

    #[test]
    fn ok_is_nothing_to_do_composite_none_and_two_databases_are_refused() {
        let ok = change("OK", &[&[("DBInstanceIdentifier", "orders-pg")]]);
        assert!(matches!(alarm(ok), Ok(Incoming::Ignored(r)) if r.contains("moved to OK")));
        let mut composite = change("ALARM", &[]);
        composite.composite = true;
        assert!(refused(composite).contains("composite alarm"));
        assert!(refused(change("ALARM", &[&[("QueueName", "q")]]))
            .contains("no DBInstanceIdentifier or DBClusterIdentifier dimension"));
        let two = change(
            "ALARM",
            &[
                &[("DBInstanceIdentifier", "orders-pg")],
                &[("DBInstanceIdentifier", "billing-mysql")],
            ],
        );
        assert!(refused(two).contains("names 2 databases (orders-pg, billing-mysql)"));
        assert!(
            refused(change("ALARM", &[&[("DBInstanceIdentifier", "orders_pg")]]))
                .contains("not a valid RDS identifier")
        );
    }

    #[test]
    fn only_json_requests_are_parsed_here_events_are_told_apart_at_the_edge() {
        assert!(event_not_accepted("Scheduled Event")
            .to_string()
            .contains("names no database"));
        assert!(event_not_accepted("EC2 Instance State-change Notification")
            .to_string()
            .contains("are not accepted"));
    }

    #[test]
    fn an_arn_of_another_account_or_region_is_refused_before_anything_is_read() {
        let db = DbRef::parse("arn:aws:rds:eu-west-1:210987654321:db:orders-pg").unwrap();
        assert!(check_arn_is_local(&db, Some("123456789012"), None)
            .unwrap_err()
            .to_string()
            .contains("names account 210987654321"));
        assert!(check_arn_is_local(&db, None, Some("us-east-1"))
            .unwrap_err()
            .to_string()
            .contains("names Region eu-west-1"));
        assert!(check_arn_is_local(&db, Some("210987654321"), Some("eu-west-1")).is_ok());
    }
}
