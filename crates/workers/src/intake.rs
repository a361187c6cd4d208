//! The edge of the state machine's input: the one place inbound EventBridge events are read.
//! An alarm's state change ("CloudWatch Alarm State Change", read with `aws_lambda_events`)
//! and a Scheduled Event become typed facts; the domain keeps the rules about them
//! (`bluegreen_domain::precheck::intake`: which dimension, composite refused, OK is a no-op,
//! two databases refused, the origin checks; `fleet::scheduled`). A console or Scheduler
//! request and a fleet member are JSON requests, parsed by the domain itself.

use aws_lambda_events::event::cloudwatch_alarms::CloudWatchAlarmData;
use bluegreen_domain::fleet::{self, FleetRequest};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::names::events::{ALARM_STATE_CHANGE, SCHEDULED_EVENT};
use bluegreen_domain::model::request::FLEET_MEMBER_KEY;
use bluegreen_domain::precheck::intake::{self, AlarmStateChange, Incoming};
use bluegreen_domain::run::Run;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What an execution input of the upgrade state machine is: a fleet (handed over to the fleet
/// state machine, once its request is valid) or one database.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    Fleet(FleetRequest),
    One(Incoming),
}

pub fn arrival(input: &Value) -> Result<Arrival, WorkerError> {
    match fleet_request(input)? {
        Some(fleet) => Ok(Arrival::Fleet(fleet)),
        None => classify(input).map(Arrival::One),
    }
}

/// A fleet request when the input is one (an EventBridge Scheduled Event, or a request with
/// a `selector`); `None` when it names one database (or is an alarm).
pub fn fleet_request(input: &Value) -> Result<Option<FleetRequest>, WorkerError> {
    if let Some(object) = input.as_object() {
        if detail_type(object) == Some(SCHEDULED_EVENT) {
            return Ok(Some(fleet::scheduled(
                origin(object, "account"),
                origin(object, "region"),
            )));
        }
    }
    fleet::fleet_request(input)
}

/// Tells the ways in apart and normalizes each: a fleet member or a request (JSON, parsed by
/// the domain), an alarm's state change (read here), another EventBridge event (refused).
pub fn classify(input: &Value) -> Result<Incoming, WorkerError> {
    let Some(object) = input.as_object() else {
        return intake::classify(input);
    };
    if object.contains_key(FLEET_MEMBER_KEY) {
        return intake::classify(input);
    }
    match detail_type(object) {
        None => intake::classify(input),
        Some(ALARM_STATE_CHANGE) => intake::alarm(alarm_state_change(object)?),
        Some(other) => Err(intake::event_not_accepted(other)),
    }
}

/// The database a run is about, for logs and metrics, even on early failures: what the run
/// document says (`Run::known_db_label`), else the database an alarm event names.
pub fn db_label(run: &Run) -> String {
    if let Some(label) = run.known_db_label() {
        return label;
    }
    match run.input.as_ref().map(classify) {
        Some(Ok(Incoming::Alarm(target))) => target.db.name,
        _ => "unknown".into(),
    }
}

fn detail_type(event: &Map<String, Value>) -> Option<&str> {
    event.get("detail-type").and_then(Value::as_str)
}

/// An event's `account` or `region`, when not empty.
fn origin(event: &Map<String, Value>, key: &str) -> Option<String> {
    event
        .get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The alarm's state change as the domain reads it, from the EventBridge event's `detail`.
fn alarm_state_change(event: &Map<String, Value>) -> Result<AlarmStateChange, WorkerError> {
    let detail = event.get("detail").cloned().unwrap_or(Value::Null);
    let alarm: CloudWatchAlarmData<Value, Value> = serde_json::from_value(detail).map_err(|e| {
        WorkerError::invalid(format!(
            "the CloudWatch alarm event's detail is not an alarm state change ({e}): deliver \
                 the EventBridge event unchanged (no input transformer)"
        ))
    })?;
    let state = alarm
        .state
        .as_ref()
        // The state as AWS spells it (`INSUFFICIENT_DATA`), not the Rust variant name.
        .and_then(|s| serde_json::to_value(&s.value).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let metric_dimensions = alarm
        .configuration
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|metric| {
            metric
                .pointer("/metricStat/metric/dimensions")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect::<BTreeMap<String, String>>()
        })
        .collect();
    Ok(AlarmStateChange {
        composite: alarm.configuration.get("alarmRule").is_some(),
        alarm_name: alarm.alarm_name,
        state,
        metric_dimensions,
        account_id: origin(event, "account"),
        region: origin(event, "region"),
    })
}
