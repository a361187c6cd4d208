//! Fleet requests: parsing, selection, and the campaign (a sliding window of child
//! executions, the failure threshold, one soak, the cleanups, the table).

use bluegreen_domain::fleet::{
    fleet_request, select, Campaign, Candidate, ChildRun, ChildStatus, FleetRequest, Next, Outcome,
    Phase, FLEET_INCOMPLETE, MAX_FLEET_SIZE,
};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::execution::ExecutionInfo;
use bluegreen_domain::model::milestone::PublishRecord;
use bluegreen_domain::model::request::Trigger;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::precheck::intake::{classify, request_for_member, Incoming};
use bluegreen_domain::run::Run;
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
            json!({"selector": {"tags": {"a": "b"}}, "max_concurrency": 26}),
            "1 to 25",
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
    let ids: Vec<&str> = s.members.iter().map(|m| m.db.as_str()).collect();
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
    let campaign = Campaign::begin(r, s, execution(), UPGRADE_MACHINE.into());
    let (_, starts) = campaign.step(&[], 0);
    // The precheck sees the member through the same classify as any input.
    let input = starts[0].input.clone();
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

// ---------------------------------------------------------------- the campaign

const UPGRADE_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:upgrade";

fn campaign(n: usize, tolerated: u32, concurrency: u32) -> Campaign {
    let r = fleet(json!({
        "selector": {"tags": {"bluegreen:wave": "1"}}, "target_engine_version": "16.4",
        "action": "upgrade", "tolerated_failures": tolerated, "max_concurrency": concurrency,
        "soak_hours": 2
    }));
    let candidates: Vec<Candidate> = (0..n)
        .map(|i| db(&format!("db-{i:02}"), "postgres", "13.15", &[WAVE1]))
        .collect();
    Campaign::begin(
        r.clone(),
        select(&r, &candidates, &BTreeSet::new()).unwrap(),
        execution(),
        UPGRADE_MACHINE.into(),
    )
}

/// The run document a database's execution ended with.
fn ended(db: &str, milestone: &str, soak_hours: u32) -> ChildStatus {
    let mut run: Run = serde_json::from_value(json!({
        "route": "upgrade",
        "request": {"db_identifier": db, "target_engine_version": "16.4", "action": "upgrade",
                    "soak_hours": soak_hours},
    }))
    .unwrap();
    run.published.push(PublishRecord {
        milestone: milestone.into(),
        ..PublishRecord::default()
    });
    ChildStatus::Succeeded(Box::new(ChildRun::from(&run)))
}

fn failed(why: &str) -> ChildStatus {
    ChildStatus::Failed {
        error: "GreenFailed".into(),
        cause: json!({"errorType": "GreenFailed", "errorMessage": why}).to_string(),
    }
}

fn running(c: &Campaign) -> Vec<String> {
    c.running.iter().map(|r| r.member.db.clone()).collect()
}

fn name_of(c: &Campaign, db: &str) -> String {
    c.running
        .iter()
        .find(|r| r.member.db == db)
        .unwrap_or_else(|| panic!("{db} is not running"))
        .name
        .clone()
}

#[test]
fn a_sliding_window_starts_the_next_database_as_soon_as_one_ends() {
    let (c, starts) = campaign(7, 0, 3).step(&[], 0);
    assert_eq!(running(&c), ["db-00", "db-01", "db-02"]);
    assert_eq!(
        starts.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["fleet-1-u0001", "fleet-1-u0002", "fleet-1-u0003"]
    );
    let member = &starts[0].input["fleet_member"];
    assert_eq!(member["db_identifier"], "db-00");
    assert_eq!(member["kind"], "instance");
    assert_eq!(
        member["fleet"],
        json!({"position": 1, "size": 7, "execution": execution().id})
    );
    assert_eq!(member["request"]["action"], "upgrade");
    assert_eq!((c.next, c.delay_seconds), (Next::Wait, 60));

    // db-01 ends while db-00 and db-02 still build: db-03 starts now, not after a batch.
    let done = name_of(&c, "db-01");
    let (c, starts) = c.step(&[(done, ended("db-01", "switched_over", 2))], 120);
    assert_eq!(running(&c), ["db-00", "db-02", "db-03"]);
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].name, "fleet-1-u0004");
    assert_eq!(c.rows.len(), 1);
    assert_eq!(c.rows[0].outcome, Outcome::SwitchedOver);
    assert_eq!(c.rows[0].execution.as_deref(), Some("fleet-1-u0002"));

    // Long builds: polled every five minutes.
    let (c, starts) = c.step(&[], 3_600);
    assert!(starts.is_empty());
    assert_eq!((c.next, c.delay_seconds), (Next::Wait, 300));
}

#[test]
fn the_same_step_twice_starts_the_same_executions() {
    // A retried step (a lost answer) asks for the same names and inputs: StartExecution is
    // idempotent for those.
    let (a, sa) = campaign(4, 0, 2).step(&[], 0);
    let (b, sb) = campaign(4, 0, 2).step(&[], 0);
    assert_eq!(sa, sb);
    assert_eq!(a, b);
}

#[test]
fn beyond_the_threshold_nothing_new_starts_and_the_running_ones_finish() {
    let (c, _) = campaign(5, 0, 2).step(&[], 0);
    let a = name_of(&c, "db-00");
    let (c, starts) = c.step(&[(a, failed("green failed to build"))], 60);
    assert!(
        starts.is_empty(),
        "one failure is more than tolerated_failures 0"
    );
    assert_eq!(running(&c), ["db-01"], "the running one goes on");
    let not_started: Vec<&str> = c
        .rows
        .iter()
        .filter(|r| r.outcome == Outcome::NotStarted)
        .map(|r| r.db_identifier.as_str())
        .collect();
    assert_eq!(not_started, ["db-02", "db-03", "db-04"]);
    let b = name_of(&c, "db-01");
    let (c, _) = c.step(&[(b, ended("db-01", "prepared", 0))], 120);
    assert_eq!(c.next, Next::Report);
    let summary = c.summary.as_ref().unwrap();
    assert!(summary.stopped_early);
    assert_eq!(summary.by_outcome["failed"], 1);
    assert_eq!(summary.by_outcome["not_started"], 3);
    let error = c.error.as_ref().unwrap();
    assert_eq!(error["Error"], FLEET_INCOMPLETE);
    let cause: Value = serde_json::from_str(error["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["failed"].as_array().unwrap().len(), 4);
    assert!(cause["failed"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("green failed to build"));
}

#[test]
fn failures_within_the_threshold_let_the_others_go_on() {
    let (mut c, _) = campaign(3, 1, 1).step(&[], 0);
    let mut t = 0;
    for (db, status) in [
        ("db-00", failed("x")),
        ("db-01", ended("db-01", "prepared", 0)),
        ("db-02", ended("db-02", "prepared", 0)),
    ] {
        t += 60;
        let name = name_of(&c, db);
        c = c.step(&[(name, status)], t).0;
    }
    assert_eq!(c.next, Next::Report);
    assert_eq!(
        c.rows.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        [Outcome::Failed, Outcome::Prepared, Outcome::Prepared]
    );
    assert!(
        c.error.is_some(),
        "a failed database makes the fleet incomplete"
    );
}

#[test]
fn the_fleet_soaks_once_for_the_longest_soak_then_cleans_up_in_the_window() {
    let (c, _) = campaign(3, 0, 3).step(&[], 0);
    let statuses: Vec<(String, ChildStatus)> = [("db-00", 2), ("db-01", 7), ("db-02", 1)]
        .iter()
        .map(|(db, soak)| (name_of(&c, db), ended(db, "switched_over", *soak)))
        .collect();
    let (c, starts) = c.step(&statuses, 600);
    assert!(starts.is_empty());
    assert_eq!((c.phase, c.next), (Phase::Soak, Next::Soak));
    assert_eq!(c.delay_seconds, 7 * 3600, "the longest soak_hours, once");
    let (c, starts) = c.step(&[], 600 + 7 * 3600);
    assert_eq!(c.phase, Phase::Cleanup);
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[0].name, "fleet-1-c0001");
    let request = &starts[0].input["fleet_member"]["request"];
    assert_eq!(request["action"], "cleanup");
    assert_eq!(request["target_engine_version"], "16.4");
    let statuses: Vec<(String, ChildStatus)> = ["db-00", "db-01", "db-02"]
        .iter()
        .map(|db| (name_of(&c, db), ended(db, "cleaned_up", 0)))
        .collect();
    let (c, _) = c.step(&statuses, 30_000);
    assert_eq!(c.next, Next::Report);
    assert!(c.error.is_none());
    assert_eq!(
        c.rows.len(),
        3,
        "one row per database, its cleanup its final outcome"
    );
    assert!(c.rows.iter().all(|r| r.outcome == Outcome::Succeeded));
    assert!(c
        .rows
        .iter()
        .all(|r| r.execution.as_deref().unwrap().contains("-c000")));
}

#[test]
fn a_plan_only_fleet_and_an_empty_selection_are_reported() {
    let (c, _) = campaign(2, 0, 5).step(&[], 0);
    let statuses: Vec<(String, ChildStatus)> = ["db-00", "db-01"]
        .iter()
        .map(|db| {
            let mut run: Run = serde_json::from_value(json!({"route": "plan"})).unwrap();
            run.route = Some(Route::Plan);
            (
                name_of(&c, db),
                ChildStatus::Succeeded(Box::new(ChildRun::from(&run))),
            )
        })
        .collect();
    let (c, _) = c.step(&statuses, 60);
    assert_eq!(c.next, Next::Report);
    assert!(c.rows.iter().all(|r| r.outcome == Outcome::Planned));
    let (empty, starts) = campaign(0, 0, 5).step(&[], 0);
    assert!(starts.is_empty());
    assert_eq!(empty.next, Next::Report);
    assert_eq!(empty.summary.unwrap().databases, 0);
}

#[test]
fn an_execution_that_timed_out_or_was_stopped_is_a_failed_row() {
    let (c, _) = campaign(1, 5, 1).step(&[], 0);
    let n = name_of(&c, "db-00");
    let (c, _) = c.step(&[(n, ChildStatus::Ended("ABORTED".into()))], 60);
    assert_eq!(c.rows[0].outcome, Outcome::Failed);
    assert_eq!(c.rows[0].error.as_deref(), Some("States.ABORTED"));
}

#[test]
fn the_campaign_continues_in_a_new_execution_before_its_history_fills() {
    let (mut c, _) = campaign(1, 0, 1).step(&[], 0);
    c.polls = bluegreen_domain::fleet::campaign::MAX_POLLS_PER_EXECUTION - 1;
    let (c, _) = c.step(&[], 99_000);
    assert_eq!(c.next, Next::Continue);
    let next = ExecutionInfo {
        id: "arn:aws:states:us-east-1:123456789012:execution:fleet:fleet-2".into(),
        started_at: None,
    };
    let c = c.continued(next.clone());
    assert_eq!((c.polls, c.continued, c.next), (0, 1, Next::Wait));
    assert_eq!(c.execution, next);
    assert_eq!(running(&c), ["db-00"], "running children keep their names");
}

#[test]
fn the_fleets_state_stays_under_256_kib_and_its_cause_under_32768_for_any_fleet() {
    // The largest fleet accepted, every database with 40 tags, every row as long as a row
    // gets, every one failed: the state and the failure's cause stay within Step Functions.
    let tags: Vec<(String, String)> = (0..40)
        .map(|i| (format!("team:{i:02}:{}", "k".repeat(100)), "v".repeat(250)))
        .collect();
    let mut all: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.push(WAVE1);
    all.push(("bluegreen:target-engine-version", "8.0.mysql_aurora.3.05.2"));
    let r = fleet(
        json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "upgrade",
                         "max_concurrency": 25, "tolerated_failures": 1000}),
    );
    let candidates: Vec<Candidate> = (0..MAX_FLEET_SIZE)
        .map(|i| {
            db(
                &format!("{}-{i:03}", "d".repeat(58)),
                "aurora-mysql",
                "5.7.mysql_aurora.2.11.2",
                &all,
            )
        })
        .collect();
    let mut c = Campaign::begin(
        r.clone(),
        select(&r, &candidates, &BTreeSet::new()).unwrap(),
        execution(),
        UPGRADE_MACHINE.into(),
    );
    let mut t = 0;
    let mut largest = 0;
    loop {
        let statuses: Vec<(String, ChildStatus)> = c
            .running
            .iter()
            .map(|ch| (ch.name.clone(), failed(&"x".repeat(20_000))))
            .collect();
        t += 60;
        c = c.step(&statuses, t).0;
        largest = largest.max(serde_json::to_string(&c).unwrap().len());
        if c.next == Next::Report {
            break;
        }
    }
    assert_eq!(c.rows.len(), MAX_FLEET_SIZE);
    assert!(largest < 256 * 1024, "largest state {largest} bytes");
    let cause = c.error.unwrap()["Cause"].as_str().unwrap().chars().count();
    assert!(cause <= 32_768, "cause {cause} characters");
    // One more database than that is refused before anything starts.
    let mut more = candidates.clone();
    more.push(db(
        "one-too-many",
        "aurora-mysql",
        "5.7.mysql_aurora.2.11.2",
        &all,
    ));
    let err = select(&r, &more, &BTreeSet::new()).unwrap_err().to_string();
    assert!(
        err.contains("at most 500") && err.contains("bluegreen:wave"),
        "{err}"
    );
}
