//! Fleet waves: one execution takes many databases across a major version. A fleet request
//! selects databases by tags (and optionally engine); each selected database runs the same
//! per-database flow as a single request, `max_concurrency` at a time, in batches. After
//! each batch the failures are counted: beyond `tolerated_failures` no new database starts
//! (the ones running finish). The run ends with one row per database.

use crate::error::WorkerError;
use crate::request::{
    tag_fields, validate_db_name, DbKind, FleetMember, Request, Trigger, FLEET_MEMBER_KEY,
    REQUEST_FIELDS,
};
use crate::run::{ExecutionInfo, Route, Run};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const DEFAULT_MAX_CONCURRENCY: u32 = 5;
/// A batch's run documents come back together through the Map state: ten keep them well
/// inside Step Functions' 256 KB payload limit.
pub const MAX_CONCURRENCY_LIMIT: u32 = 10;
use crate::names::tags::{MANAGED as OPT_IN_TAG, OLD_BLUE_OF, TARGET_ENGINE_VERSION as TARGET_TAG};
/// Engines a selector may name.
pub const SELECTABLE_ENGINES: &[&str] = &[
    "postgres",
    "mysql",
    "mariadb",
    "aurora-postgresql",
    "aurora-mysql",
];
const FLEET_FIELDS: &[&str] = &["selector", "max_concurrency", "tolerated_failures"];
/// The `Error` a fleet run ends with when a database failed or was not started.
pub const FLEET_INCOMPLETE: &str = "FleetIncomplete";

/// A Standard execution's history holds at most 25,000 events, and every database of a fleet
/// runs inside one execution: new batches start only while the estimate stays under this.
pub const HISTORY_EVENT_BUDGET: u64 = 22_000;
/// Events of one database's flow besides its polls (measured on the simulated upgrade: 432
/// events with ~20 polls), and of one poll or hold (Task 5, Choice 2, Wait 2).
const EVENTS_PER_DATABASE: u64 = 250;
const EVENTS_PER_POLL: u64 = 9;
/// A cleanup after the fleet's soak: precheck, the cleanup loop, the notification.
const EVENTS_PER_CLEANUP: u64 = 80;
/// The Map, Tally and Choice of one batch, and each item's iteration events.
const EVENTS_PER_BATCH: u64 = 15;
const EVENTS_PER_ITEM: u64 = 2;

/// The history events one database's flow took, from what its run document recorded.
pub fn history_events(run: &Run) -> u64 {
    let polls = run.wait.as_ref().map_or(0, |w| w.polls);
    let holds = run.guardrail.as_ref().map_or(0, |g| g.holds);
    let cleanup_loops = run.cleanup.as_ref().map_or(0, |c| c.steps.len());
    EVENTS_PER_DATABASE
        + EVENTS_PER_POLL * (u64::from(polls) + u64::from(holds) + cleanup_loops as u64)
}

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
    /// A Scheduled Event's `account` and `region` (see `request::check_event_origin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_region: Option<String>,
}

fn refuse(msg: impl Into<String>) -> WorkerError {
    WorkerError::invalid(msg)
}

/// A fleet request when the input is one (it has `selector`, or is an EventBridge Scheduled
/// Event); `None` when it names one database (or is an alarm), which the precheck parses.
pub fn fleet_request(input: &Value) -> Result<Option<FleetRequest>, WorkerError> {
    let Some(object) = input.as_object() else {
        return Ok(None);
    };
    if object.get("detail-type").and_then(Value::as_str)
        == Some(crate::names::events::SCHEDULED_EVENT)
    {
        let origin = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mut request = Map::new();
        request.insert("trigger".into(), json!("schedule"));
        return Ok(Some(FleetRequest {
            selector: Selector {
                tags: BTreeMap::from([(OPT_IN_TAG.to_string(), "true".to_string())]),
                engine: Vec::new(),
            },
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            tolerated_failures: 0,
            request,
            opted_in_only: true,
            event_account: origin("account"),
            event_region: origin("region"),
        }));
    }
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
    Request::from_json(&Value::Object(probe))?;
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

/// A database the account has, as the selection sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub identifier: String,
    pub kind: DbKind,
    pub engine: String,
    pub engine_version: String,
    pub tags: BTreeMap<String, String>,
    /// Set for a read replica (of an instance or cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_of: Option<String>,
    /// Set for an instance that belongs to a cluster (the cluster is the database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// What the selection found: the databases to run, and the ones it reports but skips.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub members: Vec<FleetMember>,
    pub skipped: Vec<Row>,
}

/// An old blue carries its source's tags (`bluegreen:managed`, the target), so a selector
/// would pick it again and "upgrade" the fallback. It is recognised by what RDS reports (the
/// deployments' members, in `not_databases`), by the tag verification puts on it, and,
/// for an old blue whose deployment record is gone and that carries no tag, by its
/// `NAME-oldN` name while `NAME` exists.
fn is_old_blue(c: &Candidate, all: &BTreeSet<&str>) -> bool {
    c.tags.contains_key(OLD_BLUE_OF)
        || crate::names::looks_like_old_blue(&c.identifier).is_some_and(|base| all.contains(base))
}

/// Chooses the databases. `not_databases` are the identifiers every deployment reports as
/// its members other than production (greens, and old blues after a switchover): they carry
/// the source's tags too and are never selected.
pub fn select(
    request: &FleetRequest,
    candidates: &[Candidate],
    not_databases: &BTreeSet<String>,
) -> Result<Selection, WorkerError> {
    let all: BTreeSet<&str> = candidates.iter().map(|c| c.identifier.as_str()).collect();
    let target_given = request.request.contains_key("target_engine_version");
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    let mut engines = BTreeSet::new();
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    for c in sorted {
        if c.cluster.is_some()
            || not_databases.contains(&c.identifier)
            || is_old_blue(c, &all)
            || !request.selector.matches(c)
        {
            continue;
        }
        let row = |detail: String| Row {
            db_identifier: c.identifier.clone(),
            engine: Some(c.engine.clone()),
            version_before: Some(c.engine_version.clone()),
            outcome: Outcome::Skipped,
            detail: Some(detail),
            ..Row::default()
        };
        if !target_given && !c.tags.contains_key(TARGET_TAG) {
            if !request.opted_in_only {
                skipped.push(row(format!(
                    "no target: give target_engine_version in the request or tag {} {TARGET_TAG}",
                    c.identifier
                )));
            }
            continue;
        }
        if let Some(source) = &c.replica_of {
            skipped.push(row(format!(
                "read replica of {source}: a blue/green deployment of {source} upgrades it; \
                 select the source"
            )));
            continue;
        }
        if validate_db_name(&c.identifier).is_err() {
            continue;
        }
        // A bad tag is reported now, so the table says which database and which tag.
        if let Err(e) = tag_fields(&c.identifier, &c.tags) {
            let mut r = row(e.to_string());
            r.outcome = Outcome::Failed;
            r.error = Some(e.name().to_string());
            skipped.push(r);
            continue;
        }
        engines.insert(c.engine.clone());
        members.push(FleetMember {
            db_identifier: c.identifier.clone(),
            kind: c.kind,
            request: request.request.clone(),
        });
    }
    if target_given && engines.len() > 1 {
        return Err(refuse(format!(
            "target_engine_version {} applies to every selected database, but the selection \
             mixes engines ({}): add selector.engine, or leave the target to each database's \
             {TARGET_TAG} tag",
            request.request["target_engine_version"],
            engines.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(Selection { members, skipped })
}

/// The item that cleans up a database after the fleet's soak: the same member, with the
/// request its run resolved (tags and all) and action `cleanup`.
fn cleanup_item(item: &Value, request: &Request) -> Value {
    let mut item = item.clone();
    let mut fields = match serde_json::to_value(request) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    fields.remove("db_identifier");
    fields.insert("action".into(), json!("cleanup"));
    if let Some(member) = item.pointer_mut(&format!("/input/{FLEET_MEMBER_KEY}")) {
        member["request"] = Value::Object(fields);
    }
    item
}

/// Where a database stands at the end of a fleet run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// Switched over and verified; the fleet soaks, then cleans up.
    SwitchedOver,
    Prepared,
    /// Green ready, but the switchover window closed first: left prepared.
    SwitchoverSkipped,
    Planned,
    NothingToDo,
    AlreadyInProgress,
    Aborted,
    #[default]
    Failed,
    /// Selected but not run (a replica, no target): nothing changed.
    Skipped,
    /// Not started because too many databases had failed.
    NotStarted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::SwitchedOver => "switched_over",
            Self::Prepared => "prepared",
            Self::SwitchoverSkipped => "switchover_skipped",
            Self::Planned => "planned",
            Self::NothingToDo => "nothing_to_do",
            Self::AlreadyInProgress => "already_in_progress",
            Self::Aborted => "aborted",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::NotStarted => "not_started",
        }
    }
}

/// One line of the fleet's result table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub db_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_engine_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub outcome: Outcome,
    /// The error name, for a failed database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why: the error message, the skip reason or the note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

impl Row {
    /// The row for a database whose per-database flow has ended.
    pub fn from_run(run: &Run) -> Self {
        use crate::milestone::Milestone as M;
        let milestone = run
            .published
            .last()
            .and_then(|p| M::from_name(&p.milestone));
        let (outcome, detail) = if let Some((name, message)) = run.error_summary() {
            (Outcome::Failed, Some(format!("{name}: {message}")))
        } else {
            let outcome = match (milestone, run.route) {
                (Some(M::Succeeded | M::CleanedUp), _) => Outcome::Succeeded,
                (Some(M::SwitchedOver), _) => Outcome::SwitchedOver,
                (Some(M::Prepared), _) => Outcome::Prepared,
                (Some(M::SwitchoverSkipped), _) => Outcome::SwitchoverSkipped,
                (Some(M::Aborted), _) => Outcome::Aborted,
                (Some(M::AlreadyInProgress), _) | (_, Some(Route::AlreadyInProgress)) => {
                    Outcome::AlreadyInProgress
                }
                (_, Some(Route::Plan)) => Outcome::Planned,
                (_, Some(Route::Noop)) => Outcome::NothingToDo,
                _ => Outcome::Failed,
            };
            let detail = match outcome {
                Outcome::Planned => run.report.as_ref().map(|r| {
                    let failed: Vec<&str> = r.failures().iter().map(|c| c.id.as_str()).collect();
                    if failed.is_empty() {
                        format!("prechecks {:?}", r.verdict).to_lowercase()
                    } else {
                        format!("failed prechecks: {}", failed.join(", "))
                    }
                }),
                Outcome::Failed => {
                    Some("the flow ended without a result: see the execution's history".into())
                }
                _ => run.note.clone(),
            };
            (outcome, detail)
        };
        Self {
            db_identifier: run
                .source
                .as_ref()
                .map(|s| s.identifier.clone())
                .unwrap_or_else(|| run.db_label()),
            engine: run.source.as_ref().map(|s| s.engine.as_str().to_string()),
            version_before: run.source.as_ref().map(|s| s.engine_version.clone()),
            target_engine_version: run
                .request
                .as_ref()
                .map(|r| r.target_engine_version.clone()),
            action: run.request.as_ref().map(|r| r.action.as_str().to_string()),
            outcome,
            error: run.error_name().map(str::to_string),
            detail: detail.map(|d| clip(&d, 400)),
            deployment: run.deployment.as_ref().map(|d| d.name.clone()),
        }
    }

    fn not_started(item: &Value, why: &str) -> Self {
        Self {
            db_identifier: item
                .pointer(&format!("/input/{FLEET_MEMBER_KEY}/db_identifier"))
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
            outcome: Outcome::NotStarted,
            detail: Some(why.to_string()),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One database (console, Scheduler, alarm): the Map runs it alone and the execution ends
    /// exactly as that database's run does.
    #[default]
    Single,
    Fleet,
}

/// What the state machine does after `Tally`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    /// Run `batch` through the Map state.
    #[default]
    Batch,
    /// Wait `soak_seconds`, then run `batch` (the cleanups).
    Soak,
    /// Every database ended well (or only planned): succeed with the table.
    Done,
    /// A database failed or was not started: fail with `FleetIncomplete` and the table.
    Incomplete,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub databases: u32,
    pub by_outcome: BTreeMap<String, u32>,
    pub batches: u32,
    /// True when new databases stopped starting because of failures.
    pub stopped_early: bool,
}

/// A fleet upgrades in batches, then soaks once for all, then cleans up in batches: a soak
/// per batch would make a 50-database fleet take weeks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetPhase {
    #[default]
    Upgrade,
    Cleanup,
}

/// The top-level document of an execution: `Resolve` makes it, the Map state runs `batch`,
/// `Tally` folds the results in and picks the next batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetRun {
    pub mode: Mode,
    #[serde(default)]
    pub execution: ExecutionInfo,
    pub max_concurrency: u32,
    #[serde(default)]
    pub tolerated_failures: u32,
    /// The fleet request as resolved (selector and shared fields), for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<FleetRequest>,
    /// The Map state's items now: `{input, execution, fleet}` each.
    #[serde(default)]
    pub batch: Vec<Value>,
    /// Items not started yet.
    #[serde(default)]
    pub pending: Vec<Value>,
    /// The Map state's output (one run document per item), consumed by `Tally`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batch_results: Vec<Value>,
    #[serde(default)]
    pub results: Vec<Row>,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub batches_run: u32,
    /// The execution's history events so far, as estimated from the run documents.
    #[serde(default)]
    pub history_events: u64,
    #[serde(default)]
    pub next: Next,
    #[serde(default)]
    pub phase: FleetPhase,
    /// Cleanup items of the databases switched over, run after the soak.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanups: Vec<Value>,
    /// The longest `soak_hours` among them, in seconds (the `FleetSoak` wait).
    #[serde(default)]
    pub soak_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// For the closing `Fail` state: `{"Error": "FleetIncomplete", "Cause": "<JSON table>"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<crate::run::PublishRecord>,
}

/// The fleet position a member's run document carries (`Run::fleet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetPosition {
    pub position: u32,
    pub size: u32,
}

impl FleetRun {
    /// One database: the execution input goes to the precheck unchanged.
    pub fn single(input: Value, execution: ExecutionInfo) -> Self {
        Self {
            mode: Mode::Single,
            batch: vec![json!({"input": input, "execution": execution})],
            execution,
            max_concurrency: 1,
            ..Self::default()
        }
    }

    /// A fleet: the selection's members become Map items, run `max_concurrency` at a time.
    pub fn fleet(request: FleetRequest, selection: Selection, execution: ExecutionInfo) -> Self {
        let size = selection.members.len() as u32;
        let items: Vec<Value> = selection
            .members
            .into_iter()
            .enumerate()
            .map(|(i, member)| {
                json!({
                    "input": { FLEET_MEMBER_KEY: member },
                    "execution": execution,
                    "fleet": FleetPosition { position: i as u32 + 1, size },
                })
            })
            .collect();
        // Databases refused at selection (a bad tag) are reported and make the run incomplete,
        // but do not count against `tolerated_failures`: nothing was attempted on them, and one
        // team's mistyped tag must not stop everyone else's maintenance.
        let mut run = Self {
            mode: Mode::Fleet,
            execution,
            max_concurrency: request.max_concurrency,
            tolerated_failures: request.tolerated_failures,
            request: Some(request),
            pending: items,
            results: selection.skipped,
            ..Self::default()
        };
        run.advance();
        run
    }

    /// Folds a finished batch in (the Map's results, in the order of `batch`), then picks the
    /// next batch, the soak, or finishes.
    pub fn tally(&mut self, finished: &[Run]) {
        let items = std::mem::take(&mut self.batch);
        self.batch_results.clear();
        self.batches_run += 1;
        self.history_events += EVENTS_PER_BATCH
            + finished
                .iter()
                .map(|r| EVENTS_PER_ITEM + history_events(r))
                .sum::<u64>();
        for (i, run) in finished.iter().enumerate() {
            let row = Row::from_run(run);
            if self.phase == FleetPhase::Cleanup {
                self.record_cleanup(row);
                continue;
            }
            if row.outcome == Outcome::Failed {
                self.failures += 1;
            }
            if row.outcome == Outcome::SwitchedOver {
                if let (Some(item), Some(request)) = (items.get(i), &run.request) {
                    self.cleanups.push(cleanup_item(item, request));
                    self.soak_seconds = self.soak_seconds.max(u64::from(request.soak_hours) * 3600);
                }
            }
            self.results.push(row);
        }
        self.advance();
    }

    /// A cleanup's result replaces the outcome of its database's row, keeping what the
    /// upgrade recorded (the version before, the target).
    fn record_cleanup(&mut self, cleanup: Row) {
        match self
            .results
            .iter_mut()
            .find(|r| r.db_identifier == cleanup.db_identifier)
        {
            Some(row) => {
                row.outcome = cleanup.outcome;
                row.error = cleanup.error;
                if row.outcome == Outcome::Failed {
                    row.detail = cleanup.detail.map(|d| format!("cleanup: {d}"));
                }
            }
            None => self.results.push(cleanup),
        }
    }

    /// Whether the next batch's databases, at twice the average so far, and every cleanup to
    /// come still fit the history budget.
    fn next_batch_fits(&self) -> bool {
        let done = self
            .results
            .iter()
            .filter(|r| !matches!(r.outcome, Outcome::Skipped | Outcome::NotStarted))
            .count() as u64;
        if done == 0 {
            return true;
        }
        let batch = u64::from(self.max_concurrency.max(1)).min(self.pending.len() as u64);
        let average = self.history_events / done;
        let cleanups = (self.cleanups.len() as u64 + batch) * EVENTS_PER_CLEANUP;
        self.history_events
            + batch * (2 * average.max(EVENTS_PER_DATABASE) + EVENTS_PER_ITEM)
            + EVENTS_PER_BATCH
            + cleanups
            <= HISTORY_EVENT_BUDGET
    }

    fn advance(&mut self) {
        let mut stopped_early = false;
        if self.phase == FleetPhase::Upgrade && !self.pending.is_empty() && !self.next_batch_fits()
        {
            let why = format!(
                "not started: this execution's history (about {} of Step Functions' 25,000 \
                 events) has no room for another batch; nothing was changed on this database. \
                 Start another execution for the rest (the finished ones are left as they are), \
                 or split the fleet with bluegreen:wave tags",
                self.history_events
            );
            for item in self.pending.drain(..) {
                self.results.push(Row::not_started(&item, &why));
            }
            stopped_early = true;
        }
        if self.phase == FleetPhase::Upgrade
            && !self.pending.is_empty()
            && self.failures > self.tolerated_failures
        {
            let why = format!(
                "not started: {} database(s) failed, more than tolerated_failures ({}); nothing \
                 was changed on this one",
                self.failures, self.tolerated_failures
            );
            for item in self.pending.drain(..) {
                self.results.push(Row::not_started(&item, &why));
            }
            stopped_early = true;
        }
        let mut next = Next::Batch;
        if self.pending.is_empty() && !self.cleanups.is_empty() {
            // Every upgrade has ended: soak once, then clean up what was switched over.
            self.phase = FleetPhase::Cleanup;
            self.pending = std::mem::take(&mut self.cleanups);
            next = Next::Soak;
        }
        if !self.pending.is_empty() {
            let take = (self.max_concurrency.max(1) as usize).min(self.pending.len());
            self.batch = self.pending.drain(..take).collect();
            self.next = next;
            return;
        }
        let mut by_outcome = BTreeMap::new();
        for row in &self.results {
            *by_outcome
                .entry(row.outcome.as_str().to_string())
                .or_insert(0) += 1;
        }
        let summary = Summary {
            databases: self.results.len() as u32,
            by_outcome,
            batches: self.batches_run,
            stopped_early,
        };
        let incomplete = self
            .results
            .iter()
            .any(|r| matches!(r.outcome, Outcome::Failed | Outcome::NotStarted));
        self.next = if incomplete {
            Next::Incomplete
        } else {
            Next::Done
        };
        self.error = incomplete.then(|| {
            json!({
                "Error": FLEET_INCOMPLETE,
                "Cause": json!({
                    "message": self.headline_with(&summary),
                    "summary": summary,
                    "results": self.results,
                }).to_string(),
            })
        });
        self.summary = Some(summary);
    }

    /// e.g. `20 databases: 18 succeeded, 1 failed, 1 not_started`
    pub fn headline(&self) -> String {
        match &self.summary {
            Some(s) => self.headline_with(s),
            None => format!(
                "{} databases pending",
                self.pending.len() + self.batch.len()
            ),
        }
    }

    fn headline_with(&self, s: &Summary) -> String {
        let parts: Vec<String> = s
            .by_outcome
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        format!(
            "{} database{}: {}",
            s.databases,
            if s.databases == 1 { "" } else { "s" },
            if parts.is_empty() {
                "none selected".to_string()
            } else {
                parts.join(", ")
            }
        )
    }

    /// The trigger of the fleet's runs, for the closing notification.
    pub fn trigger(&self) -> Trigger {
        self.request
            .as_ref()
            .and_then(|r| r.request.get("trigger"))
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default()
    }
}
