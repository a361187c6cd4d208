//! A fleet request: databases selected by tags (and optionally engine), with the request
//! fields that apply to each of them, how many run at once and how many may fail.

use crate::model::error::WorkerError;
use crate::model::names::tags::{MANAGED as OPT_IN_TAG, MANAGED_VALUE as OPT_IN_VALUE};
use crate::model::request::REQUEST_FIELDS;
use crate::precheck::intake::parse_request;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::Candidate;

pub const DEFAULT_MAX_CONCURRENCY: u32 = 5;
/// At most this many databases upgrade at once: each is its own child execution, so the
/// fleet's state stays small whatever the window; the bound is RDS's, not Step Functions'.
pub const MAX_CONCURRENCY_LIMIT: u32 = 25;
/// Engines a selector may name.
pub const SELECTABLE_ENGINES: &[&str] = &[
    "postgres",
    "mysql",
    "mariadb",
    "aurora-postgresql",
    "aurora-mysql",
];
const FLEET_FIELDS: &[&str] = &["selector", "max_concurrency", "tolerated_failures"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Which databases a fleet request takes: every tag must match exactly; `engine` (one name
/// or a list) narrows further.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "engines")]
    pub engine: Vec<String>,
}

mod engines {
    use super::OneOrMany;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(e) => vec![e],
            OneOrMany::Many(v) => v,
        })
    }
}

impl Selector {
    pub fn matches(&self, candidate: &Candidate) -> bool {
        self.tags
            .iter()
            .all(|(k, v)| candidate.tags.get(k) == Some(v))
            && (self.engine.is_empty() || self.engine.iter().any(|e| e == &candidate.engine))
    }
}

/// A fleet request, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetRequest {
    pub selector: Selector,
    pub max_concurrency: u32,
    pub tolerated_failures: u32,
    /// Request fields for every selected database; they win over its `bluegreen:` tags.
    pub request: Map<String, Value>,
    /// A Scheduled Event: databases without a target tag did not opt in and are passed over
    /// silently (an explicit selector reports them as skipped).
    pub opted_in_only: bool,
    /// A Scheduled Event's `account` and `region` (see `precheck::intake::check_event_origin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_region: Option<String>,
}

fn refuse(msg: impl Into<String>) -> WorkerError {
    WorkerError::invalid(msg)
}

/// The fleet an EventBridge Scheduled Event starts (read at the edge, the workers' `intake`,
/// with its `account` and `region`): every database that opted in with a target tag.
pub fn scheduled(event_account: Option<String>, event_region: Option<String>) -> FleetRequest {
    let mut request = Map::new();
    request.insert("trigger".into(), json!("schedule"));
    FleetRequest {
        selector: Selector {
            tags: BTreeMap::from([(OPT_IN_TAG.to_string(), OPT_IN_VALUE.to_string())]),
            engine: Vec::new(),
        },
        max_concurrency: DEFAULT_MAX_CONCURRENCY,
        tolerated_failures: 0,
        request,
        opted_in_only: true,
        event_account,
        event_region,
    }
}

/// A fleet request when the input is one (it has `selector`); `None` when it names one
/// database, which the precheck parses. A Scheduled Event is told apart at the edge and made
/// a fleet by `scheduled`.
pub fn fleet_request(input: &Value) -> Result<Option<FleetRequest>, WorkerError> {
    let Some(object) = input.as_object() else {
        return Ok(None);
    };
    let Some(selector) = object.get("selector") else {
        return Ok(None);
    };
    if object.contains_key("db_identifier") {
        return Err(refuse(
            "the request has both db_identifier (one database) and selector (a fleet): give one \
             of them",
        ));
    }
    let selector: Selector = serde_path_to_error::deserialize(selector.clone()).map_err(|e| {
        refuse(format!(
            "field `selector.{}` is not valid: {}. Accepted: {{\"tags\": {{\"bluegreen:wave\": \
             \"1\"}}, \"engine\": \"postgres\"}}",
            e.path(),
            e.inner()
        ))
    })?;
    if selector.tags.is_empty() {
        return Err(refuse(
            "selector.tags is empty: a fleet request selects databases by at least one tag \
             (e.g. {\"bluegreen:wave\": \"1\"}); it never takes every database of the account",
        ));
    }
    for (k, v) in &selector.tags {
        if k.is_empty() || k.len() > 128 || v.len() > 256 || k.chars().any(char::is_control) {
            return Err(refuse(format!(
                "selector.tags has a key or value AWS would not accept as a tag ({} chars / {} \
                 chars): keys are 1-128 characters, values up to 256",
                k.len(),
                v.len()
            )));
        }
    }
    for e in &selector.engine {
        if !SELECTABLE_ENGINES.contains(&e.as_str()) {
            return Err(refuse(format!(
                "selector.engine `{}` is not an engine blue/green supports: use one or a list of {}",
                e.chars().take(40).collect::<String>().escape_debug(),
                SELECTABLE_ENGINES.join(", ")
            )));
        }
    }
    let max_concurrency = bounded(
        object,
        "max_concurrency",
        DEFAULT_MAX_CONCURRENCY,
        1,
        MAX_CONCURRENCY_LIMIT,
    )?;
    let tolerated_failures = bounded(object, "tolerated_failures", 0, 0, 1000)?;
    let mut request = Map::new();
    for (key, value) in object {
        if FLEET_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if !REQUEST_FIELDS.contains(&key.as_str()) {
            return Err(refuse(format!(
                "field `{}` is not accepted in a fleet request. Accepted: {}, and every request \
                 field but db_identifier ({})",
                key.chars().take(60).collect::<String>().escape_debug(),
                FLEET_FIELDS.join(", "),
                REQUEST_FIELDS[1..].join(", ")
            )));
        }
        request.insert(key.clone(), value.clone());
    }
    // The same field rules as a single request: check them once, here, with a stand-in database.
    let mut probe = request.clone();
    probe.insert("db_identifier".into(), json!("fleet"));
    probe
        .entry("target_engine_version")
        .or_insert_with(|| json!("1.0"));
    parse_request(&Value::Object(probe))?;
    Ok(Some(FleetRequest {
        selector,
        max_concurrency,
        tolerated_failures,
        request,
        opted_in_only: false,
        event_account: None,
        event_region: None,
    }))
}

fn bounded(
    object: &Map<String, Value>,
    field: &str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, WorkerError> {
    match object.get(field) {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| (min as u64..=max as u64).contains(n))
            .map(|n| n as u32)
            .ok_or_else(|| {
                refuse(format!(
                    "field `{field}` is {v}: accepted values are whole numbers from {min} to {max}"
                ))
            }),
    }
}
