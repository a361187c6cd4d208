//! The edge of the state machine's input (`intake`): EventBridge events read into the
//! domain's typed facts, with every rule the domain keeps about them (an alarm's dimension,
//! composite alarms, OK, two databases; a Scheduled Event's fleet), from the real event shapes.

use bluegreen_domain::fleet::{select, Candidate, FleetRequest};
use bluegreen_domain::model::db::{DbKind, DbRef};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::precheck::intake::{AlarmTarget, Incoming};
use bluegreen_domain::run::Run;
use bluegreen_workers::intake::{classify, db_label, fleet_request};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn fixture(name: &str) -> Value {
    let text = match name {
        "eventbridge-scheduled-event.json" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/events/eventbridge-scheduled-event.json"
        )),
        "alarm-state-change.json" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/events/alarm-state-change.json"
        )),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// The message of an `InvalidRequest`; any other outcome fails the test.
fn refusal(input: Value) -> String {
    match classify(&input) {
        Err(WorkerError::InvalidRequest(msg)) => msg,
        other => panic!("expected InvalidRequest for {input}, got {other:?}"),
    }
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "expected `{p}` in: {msg}");
    }
}

fn fleet(input: Value) -> FleetRequest {
    fleet_request(&input).unwrap().expect("a fleet request")
}

fn db(id: &str, engine: &str, version: &str, tags: &[(&str, &str)]) -> Candidate {
    Candidate {
        identifier: id.into(),
        kind: if engine.starts_with("aurora") {
            DbKind::Cluster
        } else {
            DbKind::Instance
        },
        engine: engine.into(),
        engine_version: version.into(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        replica_of: None,
        cluster: None,
    }
}

// ---------------------------------------------------------------- EventBridge events

#[test]
fn a_scheduled_event_reaching_the_precheck_directly_says_how_it_is_used() {
    // In the state machine, Resolve turns it into a fleet run (see tests/fleet.rs).
    let msg = refusal(fixture("eventbridge-scheduled-event.json"));
    assert_mentions(
        &msg,
        &[
            "Scheduled Event",
            "names no database",
            "bluegreen:managed=true",
            "bluegreen:target-engine-version",
            "\"db_identifier\"",
        ],
    );
}

#[test]
fn other_eventbridge_event_types_are_refused_by_name() {
    let msg = refusal(json!({
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "detail": {}
    }));
    assert_mentions(
        &msg,
        &["EC2 Instance State-change Notification", "not accepted"],
    );
}

fn alarm_event() -> Value {
    fixture("alarm-state-change.json")
}

#[test]
fn alarm_sample_names_the_orders_pg_instance() {
    match classify(&alarm_event()).unwrap() {
        Incoming::Alarm(AlarmTarget {
            alarm_name,
            db,
            account_id,
            region,
        }) => {
            assert_eq!(alarm_name, "orders-pg-needs-upgrade");
            assert_eq!(account_id.as_deref(), Some("123456789012"));
            assert_eq!(region.as_deref(), Some("us-east-1"));
            assert_eq!(
                db,
                DbRef {
                    name: "orders-pg".into(),
                    kind: Some(DbKind::Instance),
                    region: None,
                    account_id: None,
                }
            );
        }
        other => panic!("expected an alarm, got {other:?}"),
    }
}

#[test]
fn alarm_back_to_ok_is_ignored_with_the_reason() {
    let mut e = alarm_event();
    e["detail"]["state"]["value"] = json!("OK");
    match classify(&e).unwrap() {
        Incoming::Ignored(reason) => assert_mentions(
            &reason,
            &[
                "orders-pg-needs-upgrade",
                "OK",
                "only a transition to ALARM",
            ],
        ),
        other => panic!("expected Ignored, got {other:?}"),
    }
}

#[test]
fn alarm_in_insufficient_data_is_ignored_naming_the_state_as_aws_spells_it() {
    let mut e = alarm_event();
    e["detail"]["state"]["value"] = json!("INSUFFICIENT_DATA");
    match classify(&e).unwrap() {
        Incoming::Ignored(reason) => assert_mentions(&reason, &["INSUFFICIENT_DATA"]),
        other => panic!("expected Ignored, got {other:?}"),
    }
}

#[test]
fn composite_alarm_is_refused_because_it_names_no_database() {
    let mut e = alarm_event();
    e["detail"]["alarmName"] = json!("orders-composite");
    e["detail"]["configuration"] = json!({
        "alarmRule": "ALARM(orders-pg-needs-upgrade) AND ALARM(orders-pg-cpu)",
        "actionsSuppressor": "",
        "description": "composite"
    });
    let msg = refusal(e);
    assert_mentions(
        &msg,
        &[
            "orders-composite",
            "composite alarm",
            "DBInstanceIdentifier",
        ],
    );
}

#[test]
fn alarm_without_an_rds_dimension_is_refused() {
    let mut e = alarm_event();
    e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"] = json!({
        "dimensions": {"QueueName": "orders"},
        "name": "ApproximateNumberOfMessagesVisible",
        "namespace": "AWS/SQS"
    });
    let msg = refusal(e);
    assert_mentions(
        &msg,
        &[
            "orders-pg-needs-upgrade",
            "no DBInstanceIdentifier or DBClusterIdentifier dimension",
        ],
    );
}

#[test]
fn alarm_on_a_cluster_dimension_names_the_cluster() {
    let mut e = alarm_event();
    e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] =
        json!({"DBClusterIdentifier": "billing"});
    match classify(&e).unwrap() {
        Incoming::Alarm(t) => {
            assert_eq!(t.db.name, "billing");
            assert_eq!(t.db.kind, Some(DbKind::Cluster));
        }
        other => panic!("expected an alarm, got {other:?}"),
    }
}

#[test]
fn alarm_naming_two_databases_is_refused_naming_both() {
    let mut e = alarm_event();
    let second = json!({
        "id": "m2",
        "metricStat": {
            "metric": {
                "dimensions": {"DBInstanceIdentifier": "billing-mysql"},
                "name": "CPUUtilization",
                "namespace": "AWS/RDS"
            },
            "period": 300,
            "stat": "Average"
        },
        "returnData": false
    });
    e["detail"]["configuration"]["metrics"]
        .as_array_mut()
        .unwrap()
        .push(second);
    let msg = refusal(e);
    assert_mentions(
        &msg,
        &["2 databases", "orders-pg", "billing-mysql", "exactly one"],
    );
}

#[test]
fn alarm_repeating_the_same_database_in_two_metrics_still_names_one() {
    let mut e = alarm_event();
    let first = e["detail"]["configuration"]["metrics"][0].clone();
    e["detail"]["configuration"]["metrics"]
        .as_array_mut()
        .unwrap()
        .push(first);
    assert!(matches!(classify(&e).unwrap(), Incoming::Alarm(t) if t.db.name == "orders-pg"));
}

#[test]
fn alarm_dimension_with_an_invalid_identifier_is_refused() {
    let mut e = alarm_event();
    e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] =
        json!({"DBInstanceIdentifier": "orders_pg"});
    let msg = refusal(e);
    assert_mentions(&msg, &["orders_pg", "not a valid RDS identifier"]);
}

#[test]
fn alarm_event_with_a_transformed_detail_is_refused() {
    let mut e = alarm_event();
    e["detail"] = json!({"db": "orders-pg"});
    let msg = refusal(e);
    assert_mentions(&msg, &["not an alarm state change", "input transformer"]);
}

// ---------------------------------------------------------------- Scheduled Events (fleets)

#[test]
fn a_scheduled_event_selects_the_databases_that_opted_in() {
    let r = fleet(json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}));
    assert!(r.opted_in_only);
    assert_eq!(r.selector.tags.get("bluegreen:managed").unwrap(), "true");
    assert_eq!(r.request.get("trigger"), Some(&json!("schedule")));
    assert_eq!((r.max_concurrency, r.tolerated_failures), (5, 0));
    let candidates = [
        db(
            "a-pg",
            "postgres",
            "13.15",
            &[
                ("bluegreen:managed", "true"),
                ("bluegreen:target-engine-version", "16.4"),
            ],
        ),
        // Opted in to the tool but names no target: not part of a scheduled run, not an error.
        db(
            "b-pg",
            "postgres",
            "13.15",
            &[("bluegreen:managed", "true")],
        ),
        db(
            "c-pg",
            "postgres",
            "13.15",
            &[("bluegreen:target-engine-version", "16.4")],
        ),
    ];
    let s = select(&r, &candidates, &BTreeSet::new()).unwrap();
    let ids: Vec<&str> = s.members.iter().map(|m| m.db.as_str()).collect();
    assert_eq!(ids, ["a-pg"]);
    assert!(s.skipped.is_empty(), "{:?}", s.skipped);
}

// ---------------------------------------------------------------- labels

#[test]
fn a_run_that_failed_on_an_alarm_before_its_request_is_labelled_with_the_alarms_database() {
    let run = Run {
        input: Some(fixture("alarm-state-change.json")),
        ..Run::default()
    };
    assert_eq!(db_label(&run), "orders-pg");
    assert_eq!(
        run.db_label(),
        "unknown",
        "the run document alone cannot say"
    );
    let mut ok = fixture("alarm-state-change.json");
    ok["detail"]["state"]["value"] = json!("OK");
    let run = Run {
        input: Some(ok),
        ..Run::default()
    };
    assert_eq!(db_label(&run), "unknown");
    let run = Run {
        input: Some(json!({"db_identifier": "orders_pg"})),
        ..Run::default()
    };
    assert_eq!(db_label(&run), "invalid");
}
