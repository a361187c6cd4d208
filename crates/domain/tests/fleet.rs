//! Fleet requests: parsing, selection, batches, the failure threshold, soak and cleanup.

use bluegreen_domain::fleet::{
    fleet_request, select, Candidate, FleetPhase, FleetRequest, FleetRun, Mode, Next, Outcome,
    FLEET_INCOMPLETE,
};
use bluegreen_domain::request::{classify, request_for_member, DbKind, Incoming, Trigger};
use bluegreen_domain::run::{ExecutionInfo, PublishRecord, Route, Run};
use bluegreen_domain::WorkerError;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

fn refused(input: Value) -> String {
    match fleet_request(&input) {
        Err(WorkerError::InvalidRequest(msg)) => msg,
        other => panic!("expected InvalidRequest for {input}, got {other:?}"),
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

const WAVE1: (&str, &str) = ("bluegreen:wave", "1");

fn execution() -> ExecutionInfo {
    ExecutionInfo {
        id: "arn:aws:states:us-east-1:123456789012:execution:upgrade:fleet-1".into(),
        started_at: Some("2026-11-28T20:00:00Z".into()),
    }
}

#[test]
fn a_single_database_request_or_an_alarm_is_not_a_fleet() {
    assert_eq!(
        fleet_request(&json!({"db_identifier": "orders-pg", "target_engine_version": "16.4"}))
            .unwrap(),
        None
    );
    assert_eq!(fleet_request(&json!("garbage")).unwrap(), None);
    assert_eq!(
        fleet_request(&json!({"detail-type": "CloudWatch Alarm State Change"})).unwrap(),
        None
    );
}

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
    let ids: Vec<&str> = s.members.iter().map(|m| m.db_identifier.as_str()).collect();
    assert_eq!(ids, ["a-pg"]);
    assert!(s.skipped.is_empty(), "{:?}", s.skipped);
}

#[test]
fn fleet_request_fields_are_checked_like_a_single_request() {
    let r = fleet(json!({
        "selector": {"tags": {"bluegreen:wave": "1"}, "engine": ["postgres", "aurora-postgresql"]},
        "target_engine_version": "16.4", "action": "upgrade", "soak_hours": 2,
        "max_concurrency": 3, "tolerated_failures": 1,
        "switchover_window": "Sun 03:00-05:00 UTC"
    }));
    assert_eq!(r.selector.engine, ["postgres", "aurora-postgresql"]);
    assert_eq!((r.max_concurrency, r.tolerated_failures), (3, 1));
    assert_eq!(r.request.get("soak_hours"), Some(&json!(2)));
    assert!(!r.request.contains_key("selector"));

    for (input, expect) in [
        (json!({"selector": {"tags": {}}}), "at least one tag"),
        (json!({"selector": {}}), "at least one tag"),
        (
            json!({"selector": {"tags": {"a": "b"}}, "db_identifier": "x"}),
            "give one of them",
        ),
        (
            json!({"selector": {"tags": {"a": "b"}, "engine": "oracle-ee"}}),
            "selector.engine `oracle-ee`",
        ),
        (
            json!({"selector": {"tags": {"a": "b"}, "region": "x"}}),
            "selector.region",
        ),
        (json!({"selector": {"tags": {"a": 1}}}), "selector.tags.a"),
        (
            json!({"selector": {"tags": {"a": "b"}}, "max_concurrency": 0}),
            "max_concurrency",
        ),
        (
            json!({"selector": {"tags": {"a": "b"}}, "max_concurrency": 11}),
            "1 to 10",
        ),
        (
            json!({"selector": {"tags": {"a": "b"}}, "tolerated_failures": -1}),
            "tolerated_failures",
        ),
        (
            json!({"selector": {"tags": {"a": "b"}}, "soak_hours": 999}),
            "soak_hours",
        ),
        (
            json!({"selector": {"tags": {"a": "b"}}, "action": "destroy"}),
            "plan, prepare, upgrade",
        ),
        (
            json!({"selector": {"tags": {"a": "b"}}, "colour": "blue"}),
            "field `colour` is not accepted",
        ),
        (
            json!({"selector": {"tags": {"a": "b"}}, "switchover_window": "Sunday night"}),
            "switchover_window",
        ),
    ] {
        let msg = refused(input.clone());
        assert!(
            msg.contains(expect),
            "{input}: expected `{expect}` in: {msg}"
        );
    }
}

#[test]
fn selection_takes_matching_databases_and_reports_what_it_passes_over() {
    let r = fleet(json!({"selector": {"tags": {"bluegreen:wave": "1"}}}));
    let mut replica = db(
        "orders-replica",
        "postgres",
        "13.15",
        &[WAVE1, ("bluegreen:target-engine-version", "16.4")],
    );
    replica.replica_of = Some("orders-pg".into());
    let mut member = db("ledger-instance-1", "aurora-postgresql", "13.12", &[WAVE1]);
    member.kind = DbKind::Instance;
    member.cluster = Some("ledger".into());
    let candidates = [
        db(
            "orders-pg",
            "postgres",
            "13.15",
            &[WAVE1, ("bluegreen:target-engine-version", "16.4")],
        ),
        db(
            "billing",
            "mysql",
            "5.7.44",
            &[WAVE1, ("bluegreen:target-engine-version", "8.0.39")],
        ),
        db(
            "ledger",
            "aurora-postgresql",
            "13.12",
            &[WAVE1, ("bluegreen:target-engine-version", "16.4")],
        ),
        db(
            "other-wave",
            "postgres",
            "13.15",
            &[
                ("bluegreen:wave", "2"),
                ("bluegreen:target-engine-version", "16.4"),
            ],
        ),
        db("no-target", "postgres", "13.15", &[WAVE1]),
        db(
            "bad-tag",
            "postgres",
            "13.15",
            &[
                WAVE1,
                ("bluegreen:target-engine-version", "16.4"),
                ("bluegreen:soak-hours", "lots"),
            ],
        ),
        // Artifacts of deployments carry the source's tags: never selected.
        db(
            "orders-pg-old1",
            "postgres",
            "13.15",
            &[WAVE1, ("bluegreen:target-engine-version", "16.4")],
        ),
        db(
            "billing-green-abc123",
            "mysql",
            "8.0.39",
            &[WAVE1, ("bluegreen:target-engine-version", "8.0.39")],
        ),
        replica,
        member,
    ];
    let greens = BTreeSet::from(["billing-green-abc123".to_string()]);
    let s = select(&r, &candidates, &greens).unwrap();
    let ids: Vec<&str> = s.members.iter().map(|m| m.db_identifier.as_str()).collect();
    assert_eq!(
        ids,
        ["billing", "ledger", "orders-pg"],
        "sorted, artifacts and other waves left out"
    );
    assert_eq!(s.members[1].kind, DbKind::Cluster);
    let skipped: BTreeMap<&str, (Outcome, &str)> = s
        .skipped
        .iter()
        .map(|r| {
            (
                r.db_identifier.as_str(),
                (r.outcome, r.detail.as_deref().unwrap_or("")),
            )
        })
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert_eq!(skipped["no-target"].0, Outcome::Skipped);
    assert!(skipped["no-target"]
        .1
        .contains("bluegreen:target-engine-version"));
    assert_eq!(skipped["orders-replica"].0, Outcome::Skipped);
    assert!(skipped["orders-replica"]
        .1
        .contains("read replica of orders-pg"));
    assert_eq!(skipped["bad-tag"].0, Outcome::Failed);
    assert!(skipped["bad-tag"].1.contains("bluegreen:soak-hours"));
}

#[test]
fn one_target_for_a_mixed_fleet_is_refused_before_anything_runs() {
    let r = fleet(
        json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "target_engine_version": "16.4"}),
    );
    let candidates = [
        db("orders-pg", "postgres", "13.15", &[WAVE1]),
        db("billing", "mysql", "5.7.44", &[WAVE1]),
    ];
    let err = select(&r, &candidates, &BTreeSet::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mixes engines (mysql, postgres)") && err.contains("selector.engine"),
        "{err}"
    );
    let narrowed = fleet(
        json!({"selector": {"tags": {"bluegreen:wave": "1"}, "engine": "postgres"}, "target_engine_version": "16.4"}),
    );
    assert_eq!(
        select(&narrowed, &candidates, &BTreeSet::new())
            .unwrap()
            .members
            .len(),
        1
    );
}

#[test]
fn a_member_request_is_its_tags_overridden_by_the_fleet_fields() {
    let r = fleet(
        json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "upgrade", "soak_hours": 1}),
    );
    let tags: BTreeMap<String, String> = [
        ("bluegreen:wave", "1"),
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:action", "prepare"),
        ("bluegreen:soak-hours", "48"),
        ("bluegreen:max-replica-lag-seconds", "9"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let candidates = [Candidate {
        tags: tags.clone(),
        ..db("orders-pg", "postgres", "13.15", &[])
    }];
    let s = select(&r, &candidates, &BTreeSet::new()).unwrap();
    let member = &s.members[0];
    // The precheck sees the member through the same classify as any input.
    let input = json!({"fleet_member": member});
    let Incoming::FleetMember(parsed) = classify(&input).unwrap() else {
        panic!("not a fleet member")
    };
    let request = request_for_member(&parsed, &tags).unwrap();
    assert_eq!(request.db_identifier, "orders-pg");
    assert_eq!(request.target_engine_version, "16.4");
    assert_eq!(
        request.action.as_str(),
        "upgrade",
        "the request wins over the tag"
    );
    assert_eq!(request.soak_hours, 1);
    assert_eq!(
        request.max_replica_lag_seconds, 9,
        "the tag fills what the request leaves out"
    );
    assert_eq!(request.trigger, Trigger::Console);
}

// ---------------------------------------------------------------- batches and the threshold

fn members(n: usize, tolerated: u32, concurrency: u32) -> FleetRun {
    let r = fleet(json!({
        "selector": {"tags": {"bluegreen:wave": "1"}}, "target_engine_version": "16.4",
        "action": "upgrade", "tolerated_failures": tolerated, "max_concurrency": concurrency,
        "soak_hours": 2
    }));
    let candidates: Vec<Candidate> = (0..n)
        .map(|i| db(&format!("db-{i:02}"), "postgres", "13.15", &[WAVE1]))
        .collect();
    FleetRun::fleet(
        r.clone(),
        select(&r, &candidates, &BTreeSet::new()).unwrap(),
        execution(),
    )
}

/// What the Map state returns for an item: the run document its flow ended with.
fn finished(item: &Value, milestone: Option<&str>, error: Option<&str>) -> Run {
    let id = item["input"]["fleet_member"]["db_identifier"]
        .as_str()
        .unwrap();
    let mut run: Run = serde_json::from_value(json!({
        "execution": item["execution"], "fleet": item["fleet"], "route": "upgrade",
        "request": {"db_identifier": id, "target_engine_version": "16.4", "action": "upgrade", "soak_hours": 2},
    }))
    .unwrap();
    if let Some(m) = milestone {
        run.published.push(PublishRecord {
            milestone: m.into(),
            ..PublishRecord::default()
        });
    }
    if let Some(e) = error {
        run.error = Some(
            json!({"Error": e, "Cause": json!({"errorType": e, "errorMessage": "green failed to build"}).to_string()}),
        );
    }
    run
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            i["input"]["fleet_member"]["db_identifier"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn databases_run_in_batches_of_max_concurrency_then_soak_once_then_clean_up() {
    let mut f = members(7, 0, 3);
    assert_eq!((f.mode, f.next), (Mode::Fleet, Next::Batch));
    assert_eq!(ids(&f.batch), ["db-00", "db-01", "db-02"]);
    assert_eq!(f.batch[0]["fleet"], json!({"position": 1, "size": 7}));
    assert_eq!(f.batch[0]["execution"]["id"], json!(execution().id));
    for expected in [vec!["db-03", "db-04", "db-05"], vec!["db-06"]] {
        let done: Vec<Run> = f
            .batch
            .iter()
            .map(|i| finished(i, Some("switched_over"), None))
            .collect();
        f.tally(&done);
        assert_eq!(f.next, Next::Batch);
        assert_eq!(ids(&f.batch), expected);
    }
    let done: Vec<Run> = f
        .batch
        .iter()
        .map(|i| finished(i, Some("switched_over"), None))
        .collect();
    f.tally(&done);
    // All seven switched over: one soak (the longest soak_hours), then cleanups in batches.
    assert_eq!(
        (f.next, f.phase, f.soak_seconds),
        (Next::Soak, FleetPhase::Cleanup, 7200)
    );
    assert_eq!(ids(&f.batch), ["db-00", "db-01", "db-02"]);
    assert_eq!(
        f.batch[0]["input"]["fleet_member"]["request"]["action"],
        json!("cleanup")
    );
    assert_eq!(
        f.batch[0]["input"]["fleet_member"]["request"]["target_engine_version"],
        json!("16.4")
    );
    while f.next != Next::Done {
        assert_ne!(f.next, Next::Incomplete);
        let done: Vec<Run> = f
            .batch
            .iter()
            .map(|i| finished(i, Some("cleaned_up"), None))
            .collect();
        f.tally(&done);
    }
    assert_eq!(
        f.results.len(),
        7,
        "one row per database, updated by its cleanup"
    );
    assert!(
        f.results.iter().all(|r| r.outcome == Outcome::Succeeded),
        "{:?}",
        f.results
    );
    assert_eq!(f.error, None);
    assert_eq!(f.headline(), "7 databases: 7 succeeded");
}

#[test]
fn a_failure_beyond_the_threshold_stops_new_starts_and_the_run_is_incomplete() {
    let mut f = members(6, 0, 2);
    let done = vec![
        finished(&f.batch[0], Some("failed"), Some("GreenFailed")),
        finished(&f.batch[1], Some("prepared"), None),
    ];
    f.tally(&done);
    assert_eq!(
        f.next,
        Next::Incomplete,
        "1 failure > 0 tolerated: nothing else starts"
    );
    assert!(f.batch.is_empty() && f.pending.is_empty());
    let outcomes: Vec<Outcome> = f.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Failed,
            Outcome::Prepared,
            Outcome::NotStarted,
            Outcome::NotStarted,
            Outcome::NotStarted,
            Outcome::NotStarted
        ]
    );
    assert_eq!(f.results[0].error.as_deref(), Some("GreenFailed"));
    assert!(f.results[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("green failed to build"));
    assert!(f.results[2]
        .detail
        .as_deref()
        .unwrap()
        .contains("tolerated_failures (0)"));
    let summary = f.summary.as_ref().unwrap();
    assert!(summary.stopped_early);
    let error = f.error.as_ref().unwrap();
    assert_eq!(error["Error"], json!(FLEET_INCOMPLETE));
    let cause: Value = serde_json::from_str(error["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["results"].as_array().unwrap().len(), 6);
    assert_eq!(
        cause["message"],
        json!("6 databases: 1 failed, 4 not_started, 1 prepared")
    );
}

#[test]
fn failures_within_the_threshold_let_the_others_go_on() {
    let mut f = members(4, 1, 2);
    let done = vec![
        finished(&f.batch[0], Some("failed"), Some("PrecheckFailed")),
        finished(&f.batch[1], Some("switched_over"), None),
    ];
    f.tally(&done);
    assert_eq!(
        (f.next, ids(&f.batch)),
        (Next::Batch, vec!["db-02".to_string(), "db-03".to_string()])
    );
    let done: Vec<Run> = f
        .batch
        .iter()
        .map(|i| finished(i, Some("switched_over"), None))
        .collect();
    f.tally(&done);
    assert_eq!(f.next, Next::Soak);
    assert_eq!(ids(&f.batch).len(), 2, "three cleanups, two at a time");
    let done: Vec<Run> = f
        .batch
        .iter()
        .map(|i| finished(i, Some("cleaned_up"), None))
        .collect();
    f.tally(&done);
    let done: Vec<Run> = f
        .batch
        .iter()
        .map(|i| finished(i, None, Some("AwsRequestFailed")))
        .collect();
    f.tally(&done);
    assert_eq!(f.next, Next::Incomplete);
    let by: BTreeMap<String, u32> = f.summary.unwrap().by_outcome;
    assert_eq!(
        by,
        BTreeMap::from([("failed".into(), 2), ("succeeded".into(), 2)])
    );
    let cleanup_failed = f
        .results
        .iter()
        .find(|r| r.db_identifier == "db-03")
        .unwrap();
    assert!(cleanup_failed
        .detail
        .as_deref()
        .unwrap()
        .starts_with("cleanup: AwsRequestFailed"));
}

#[test]
fn a_run_that_only_plans_is_done_with_one_row_each() {
    let r = fleet(
        json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "target_engine_version": "16.4"}),
    );
    let s = select(
        &r,
        &[db("orders-pg", "postgres", "13.15", &[WAVE1])],
        &BTreeSet::new(),
    )
    .unwrap();
    let mut f = FleetRun::fleet(r, s, execution());
    let mut run = finished(&f.batch[0], None, None);
    run.route = Some(Route::Plan);
    f.tally(&[run]);
    assert_eq!(f.next, Next::Done);
    assert_eq!(f.results[0].outcome, Outcome::Planned);
}

#[test]
fn an_empty_selection_is_done_at_once() {
    let r = fleet(json!({"detail-type": "Scheduled Event"}));
    let f = FleetRun::fleet(
        r.clone(),
        select(&r, &[], &BTreeSet::new()).unwrap(),
        execution(),
    );
    assert_eq!(f.next, Next::Done);
    assert_eq!(f.headline(), "0 databases: none selected");
    assert_eq!(f.trigger(), Trigger::Schedule);
}

#[test]
fn a_single_request_is_one_item_with_the_input_unchanged() {
    let input = json!({"db_identifier": "orders-pg", "target_engine_version": "16.4"});
    let f = FleetRun::single(input.clone(), execution());
    assert_eq!(f.mode, Mode::Single);
    assert_eq!(
        f.batch,
        vec![json!({"input": input, "execution": execution()})]
    );
}

/// Runs the upgrade phase to its end, every database prepared after `polls` polls; returns
/// how many databases were started.
fn prepare_all(f: &mut FleetRun, polls: u32) -> usize {
    let mut started = 0;
    while f.next == Next::Batch && f.phase == FleetPhase::Upgrade {
        started += f.batch.len();
        let done: Vec<Run> = f
            .batch
            .iter()
            .map(|i| {
                let mut run = finished(i, Some("prepared"), None);
                run.wait = Some(
                    serde_json::from_value(json!({"phase": "ready", "polls": polls,
                    "consecutive_ready": 2, "next_delay_seconds": 15, "status": "AVAILABLE"}))
                    .unwrap(),
                );
                run
            })
            .collect();
        f.tally(&done);
    }
    started
}

#[test]
fn new_batches_stop_before_the_execution_history_would_overflow() {
    // 200 databases whose green takes ~4 hours to build: ~120 polls each (~1,300 events).
    let mut f = members(200, 1000, 5);
    let started = prepare_all(&mut f, 120);
    assert!(
        f.history_events <= bluegreen_domain::fleet::HISTORY_EVENT_BUDGET,
        "{}",
        f.history_events
    );
    assert!((10..=20).contains(&started), "{started} databases started");
    let not_started: Vec<_> = f
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::NotStarted)
        .collect();
    assert_eq!(not_started.len(), 200 - started);
    assert!(not_started[0].detail.as_deref().unwrap().contains("25,000"));
    assert_eq!(f.next, Next::Incomplete);
}

#[test]
fn forty_typical_upgrades_fit_one_execution() {
    // ~20 polls each: a 45-minute build on the poll schedule (bench/results.md), ~430 events.
    let mut f = members(40, 0, 5);
    assert_eq!(prepare_all(&mut f, 20), 40);
    assert_eq!(f.next, Next::Done, "{}", f.headline());
    assert_eq!(f.results.len(), 40);
}
