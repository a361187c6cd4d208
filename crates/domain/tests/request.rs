//! The request contract: every shape an execution input can take (console, EventBridge
//! Scheduler, CloudWatch alarm, database tags) normalizes to one validated `Request`, and
//! every refusal names the field and what is accepted.

use bluegreen_domain::model::db::{DbKind, DbRef};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::request::{Action, Request, Trigger};
use bluegreen_domain::precheck::intake::{classify, request_from_tags, AlarmTarget, Incoming};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn fixture(name: &str) -> Value {
    let text = match name {
        "console-plan.json" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/events/console-plan.json"
        )),
        "console-upgrade.json" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/events/console-upgrade.json"
        )),
        "scheduler-input.json" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/events/scheduler-input.json"
        )),
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

/// The smallest valid console request, with `extra` fields merged in.
fn minimal(extra: Value) -> Value {
    let mut v = json!({"db_identifier": "orders-pg", "target_engine_version": "16.4"});
    for (k, x) in extra.as_object().expect("extra is an object") {
        v[k] = x.clone();
    }
    v
}

fn request(input: Value) -> Request {
    match classify(&input) {
        Ok(Incoming::Request(r)) => r,
        other => panic!("expected a request from {input}, got {other:?}"),
    }
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

// ---------------------------------------------------------------- console and schedule

#[test]
fn console_plan_sample_gets_every_default() {
    let r = request(fixture("console-plan.json"));
    assert_eq!(
        r.db_identifier,
        "arn:aws:rds:us-east-1:123456789012:db:orders-pg"
    );
    assert_eq!(r.target_engine_version, "16.4");
    assert_eq!(
        r.target_db_parameter_group_name.as_deref(),
        Some("orders-pg16")
    );
    assert_eq!(r.target_db_cluster_parameter_group_name, None);
    assert_eq!(r.target_db_instance_class, None);
    assert_eq!(r.action, Action::Plan);
    assert!(!r.action.is_mutating());
    assert_eq!(r.switchover_timeout_seconds, 300);
    assert_eq!(r.max_replica_lag_seconds, 5);
    assert_eq!(r.soak_hours, 24);
    assert!(r.final_snapshot);
    assert!(!r.delete_old_blue);
    assert_eq!(r.trigger, Trigger::Console);
    assert_eq!(r.max_provisioning_minutes, 240);
    assert_eq!(r.expected_account_id, None);
    assert_eq!(r.notification_topic_arn, None);
}

#[test]
fn a_request_built_in_code_gets_the_defaults_the_contract_gives() {
    assert_eq!(
        Request::new("orders-pg", "16.4"),
        request(minimal(json!({}))),
        "Request::new and the JSON contract agree on every default"
    );
}

#[test]
fn console_plan_sample_arn_names_an_instance_in_its_account_and_region() {
    let r = request(fixture("console-plan.json"));
    let db = DbRef::parse(&r.db_identifier).unwrap();
    assert_eq!(
        db,
        DbRef {
            name: "orders-pg".into(),
            kind: Some(DbKind::Instance),
            region: Some("us-east-1".into()),
            account_id: Some("123456789012".into()),
        }
    );
}

#[test]
fn console_upgrade_sample_is_a_mutating_upgrade_from_the_console() {
    let r = request(fixture("console-upgrade.json"));
    assert_eq!(r.db_identifier, "orders-pg");
    assert_eq!(r.action, Action::Upgrade);
    assert!(r.action.is_mutating());
    assert!(r.action.needs_passing_prechecks());
    assert_eq!(r.trigger, Trigger::Console);
    assert_eq!(r.switchover_timeout_seconds, 300);
    assert_eq!(r.soak_hours, 24);
}

#[test]
fn scheduler_input_sample_is_an_upgrade_triggered_by_schedule() {
    let r = request(fixture("scheduler-input.json"));
    assert_eq!(r.db_identifier, "billing-mysql");
    assert_eq!(r.target_engine_version, "8.0.39");
    assert_eq!(
        r.target_db_parameter_group_name.as_deref(),
        Some("billing-mysql80")
    );
    assert_eq!(r.action, Action::Upgrade);
    assert_eq!(r.trigger, Trigger::Schedule);
    assert_eq!(r.trigger.as_str(), "schedule");
}

#[test]
fn every_field_given_explicitly_is_kept() {
    let r = request(json!({
        "db_identifier": "arn:aws:rds:eu-west-1:210987654321:cluster:billing",
        "target_engine_version": "8.0.mysql_aurora.3.05.2",
        "target_db_parameter_group_name": "billing-aurora-mysql80",
        "target_db_cluster_parameter_group_name": "billing-cluster.80",
        "target_db_instance_class": "db.r6g.large",
        "action": "switchover",
        "switchover_timeout_seconds": 600,
        "max_replica_lag_seconds": 0,
        "soak_hours": 0,
        "final_snapshot": false,
        "delete_old_blue": true,
        "expected_account_id": "210987654321",
        "trigger": "alarm",
        "max_provisioning_minutes": 1440,
        "notification_topic_arn": "arn:aws:sns:eu-west-1:210987654321:dba"
    }));
    assert_eq!(r.action, Action::Switchover);
    assert_eq!(r.switchover_timeout_seconds, 600);
    assert_eq!(r.max_replica_lag_seconds, 0);
    assert_eq!(r.soak_hours, 0);
    assert!(!r.final_snapshot);
    assert!(r.delete_old_blue);
    assert_eq!(r.expected_account_id.as_deref(), Some("210987654321"));
    assert_eq!(r.trigger, Trigger::Alarm);
    assert_eq!(r.max_provisioning_minutes, 1440);
    assert_eq!(
        r.target_db_cluster_parameter_group_name.as_deref(),
        Some("billing-cluster.80")
    );
    assert_eq!(r.target_db_instance_class.as_deref(), Some("db.r6g.large"));
}

#[test]
fn every_action_name_parses_and_only_plan_changes_nothing() {
    for (name, action) in [
        ("plan", Action::Plan),
        ("prepare", Action::Prepare),
        ("upgrade", Action::Upgrade),
        ("switchover", Action::Switchover),
        ("abort", Action::Abort),
        ("cleanup", Action::Cleanup),
    ] {
        let r = request(minimal(json!({ "action": name })));
        assert_eq!(r.action, action);
        assert_eq!(r.action.as_str(), name);
        assert_eq!(r.action.is_mutating(), name != "plan", "{name}");
        assert_eq!(
            r.action.needs_passing_prechecks(),
            matches!(name, "prepare" | "upgrade" | "switchover"),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------- field and type refusals

#[test]
fn a_misspelt_field_is_refused_naming_it_and_listing_the_accepted_fields() {
    let msg = refusal(minimal(json!({"soak_hour": 48})));
    assert_mentions(
        &msg,
        &["soak_hour", "soak_hours", "switchover_timeout_seconds"],
    );
    let msg = refusal(minimal(json!({"dry_run": true})));
    assert_mentions(&msg, &["dry_run"]);
}

#[test]
fn a_missing_required_field_is_refused_naming_it() {
    let msg = refusal(json!({"db_identifier": "orders-pg"}));
    assert_mentions(&msg, &["target_engine_version"]);
    let msg = refusal(json!({"target_engine_version": "16.4"}));
    assert_mentions(&msg, &["db_identifier"]);
}

#[test]
fn a_number_given_as_a_string_names_the_field_and_the_accepted_range() {
    let msg = refusal(minimal(json!({"switchover_timeout_seconds": "300"})));
    assert_mentions(
        &msg,
        &[
            "switchover_timeout_seconds",
            "invalid type",
            "Accepted: an integer from 30 to 3600",
        ],
    );
    let msg = refusal(minimal(json!({"soak_hours": 1.5})));
    assert_mentions(&msg, &["soak_hours", "Accepted: an integer from 0 to 168"]);
    let msg = refusal(minimal(json!({"max_replica_lag_seconds": -1})));
    assert_mentions(
        &msg,
        &[
            "max_replica_lag_seconds",
            "Accepted: an integer from 0 to 3600",
        ],
    );
    let msg = refusal(minimal(json!({"max_provisioning_minutes": null})));
    assert_mentions(
        &msg,
        &[
            "max_provisioning_minutes",
            "Accepted: an integer from 10 to 1440",
        ],
    );
}

#[test]
fn a_boolean_given_as_a_string_names_the_field_and_true_or_false() {
    let msg = refusal(minimal(json!({"final_snapshot": "yes"})));
    assert_mentions(&msg, &["final_snapshot", "Accepted: true or false"]);
    let msg = refusal(minimal(json!({"delete_old_blue": 1})));
    assert_mentions(&msg, &["delete_old_blue", "Accepted: true or false"]);
}

#[test]
fn an_unknown_action_or_trigger_lists_the_accepted_values() {
    let msg = refusal(minimal(json!({"action": "upgarde"})));
    assert_mentions(
        &msg,
        &[
            "action",
            "upgarde",
            "Accepted: plan, prepare, upgrade, switchover, abort, cleanup",
        ],
    );
    let msg = refusal(minimal(json!({"action": "Upgrade"})));
    assert_mentions(&msg, &["action", "Accepted: plan"]);
    let msg = refusal(minimal(json!({"trigger": "cron"})));
    assert_mentions(&msg, &["trigger", "Accepted: console, schedule, alarm"]);
}

#[test]
fn a_string_field_given_a_number_names_the_field() {
    let msg = refusal(minimal(json!({"target_engine_version": 16})));
    assert_mentions(&msg, &["target_engine_version", "invalid type"]);
}

// ---------------------------------------------------------------- ranges

#[test]
fn switchover_timeout_outside_30_to_3600_is_refused() {
    for bad in [0, 29, 3601] {
        let msg = refusal(minimal(json!({ "switchover_timeout_seconds": bad })));
        assert_eq!(
            msg,
            format!("switchover_timeout_seconds is {bad}: accepted values are 30 to 3600")
        );
    }
    for ok in [30, 3600] {
        assert_eq!(
            request(minimal(json!({ "switchover_timeout_seconds": ok })))
                .switchover_timeout_seconds,
            ok
        );
    }
}

#[test]
fn soak_hours_above_a_week_is_refused() {
    let msg = refusal(minimal(json!({"soak_hours": 169})));
    assert_eq!(msg, "soak_hours is 169: accepted values are 0 to 168");
    assert_eq!(request(minimal(json!({"soak_hours": 168}))).soak_hours, 168);
    assert_eq!(request(minimal(json!({"soak_hours": 0}))).soak_hours, 0);
}

#[test]
fn replica_lag_above_an_hour_is_refused() {
    let msg = refusal(minimal(json!({"max_replica_lag_seconds": 3601})));
    assert_eq!(
        msg,
        "max_replica_lag_seconds is 3601: accepted values are 0 to 3600"
    );
    assert_eq!(
        request(minimal(json!({"max_replica_lag_seconds": 3600}))).max_replica_lag_seconds,
        3600
    );
}

#[test]
fn max_provisioning_minutes_outside_10_to_1440_is_refused() {
    for bad in [9, 1441] {
        let msg = refusal(minimal(json!({ "max_provisioning_minutes": bad })));
        assert_eq!(
            msg,
            format!("max_provisioning_minutes is {bad}: accepted values are 10 to 1440")
        );
    }
    assert_eq!(
        request(minimal(json!({"max_provisioning_minutes": 10}))).max_provisioning_minutes,
        10
    );
}

#[test]
fn a_number_too_large_for_the_field_is_refused_not_wrapped() {
    let msg = refusal(minimal(
        json!({"switchover_timeout_seconds": 4_294_967_296u64 + 300}),
    ));
    assert_mentions(&msg, &["switchover_timeout_seconds"]);
}

// ---------------------------------------------------------------- formats

#[test]
fn an_engine_version_that_is_not_one_is_refused_with_examples() {
    for bad in ["", "latest", "v16", "16.4; drop", &"1".repeat(65)] {
        let msg = refusal(minimal(json!({ "target_engine_version": bad })));
        assert_mentions(&msg, &["target_engine_version", "16.4", "8.0.39"]);
    }
    for ok in ["16.4", "8.0.39", "8.0.mysql_aurora.3.05.2", "10.11.9", "15"] {
        assert_eq!(
            request(minimal(json!({ "target_engine_version": ok }))).target_engine_version,
            ok
        );
    }
}

#[test]
fn bad_parameter_group_names_are_refused_naming_the_field() {
    for bad in ["1orders", "orders--pg16", "orders-pg16-", "orders_pg16", ""] {
        let msg = refusal(minimal(json!({ "target_db_parameter_group_name": bad })));
        assert_mentions(
            &msg,
            &[
                "target_db_parameter_group_name",
                "not a valid parameter group name",
            ],
        );
        let msg = refusal(minimal(
            json!({ "target_db_cluster_parameter_group_name": bad }),
        ));
        assert_mentions(
            &msg,
            &[
                "target_db_cluster_parameter_group_name",
                "not a valid parameter group name",
            ],
        );
    }
    let r = request(minimal(
        json!({"target_db_parameter_group_name": "default.postgres16"}),
    ));
    assert_eq!(
        r.target_db_parameter_group_name.as_deref(),
        Some("default.postgres16")
    );
}

#[test]
fn an_instance_class_without_the_db_prefix_is_refused() {
    for bad in ["r6g.large", "db.r6g large", "db.r6g_large"] {
        let msg = refusal(minimal(json!({ "target_db_instance_class": bad })));
        assert_mentions(&msg, &["target_db_instance_class", "db.r6g.large"]);
    }
}

#[test]
fn expected_account_id_must_be_twelve_digits() {
    for bad in ["12345678901", "1234567890123", "12345678901a"] {
        let msg = refusal(minimal(json!({ "expected_account_id": bad })));
        assert_mentions(&msg, &["expected_account_id", "12 digits"]);
    }
}

#[test]
fn notification_topic_must_be_an_sns_arn() {
    for bad in [
        "dba-alerts",
        "arn:aws:sqs:us-east-1:123456789012:dba",
        "arn:aws:sns:us-east-1:dba",
    ] {
        let msg = refusal(minimal(json!({ "notification_topic_arn": bad })));
        assert_mentions(
            &msg,
            &["notification_topic_arn", "arn:aws:sns:REGION:ACCOUNT:TOPIC"],
        );
    }
}

// ---------------------------------------------------------------- identifiers

#[test]
fn identifier_of_63_characters_is_accepted_and_64_refused() {
    let ok = format!("a{}", "b".repeat(62));
    assert_eq!(
        request(minimal(json!({ "db_identifier": ok }))).db_identifier,
        ok
    );
    let long = format!("a{}", "b".repeat(63));
    let msg = refusal(minimal(json!({ "db_identifier": long })));
    assert_mentions(&msg, &["db_identifier", "1-63 letters"]);
}

#[test]
fn identifiers_breaking_the_rds_naming_rules_are_refused() {
    for bad in [
        "",
        "orders_pg",
        "orders.pg",
        "orders pg",
        "orders--pg",
        "orders-pg-",
        "1orders",
        "-orders",
        "ördërs",
    ] {
        let msg = refusal(minimal(json!({ "db_identifier": bad })));
        assert_mentions(
            &msg,
            &[
                "is not a valid RDS identifier",
                "starting with a letter",
                "two hyphens in a row",
                "trailing hyphen",
            ],
        );
    }
}

#[test]
fn control_characters_in_an_identifier_are_escaped_in_the_message() {
    let msg = refusal(minimal(
        json!({ "db_identifier": "orders\npg\u{1b}[31m\t" }),
    ));
    assert!(
        !msg.chars().any(|c| c.is_control()),
        "raw control character in: {msg:?}"
    );
    assert_mentions(&msg, &["orders\\npg\\u{1b}[31m\\t"]);
}

#[test]
fn a_very_long_bad_identifier_is_cut_in_the_message() {
    let long = format!("bad_{}", "x".repeat(500));
    let msg = refusal(minimal(json!({ "db_identifier": long })));
    assert!(msg.contains('…'), "{msg}");
    assert!(!msg.contains(&"x".repeat(100)), "{msg}");
}

// ---------------------------------------------------------------- ARNs

#[test]
fn instance_and_cluster_arns_parse_into_their_parts() {
    let db = DbRef::parse("arn:aws:rds:us-east-1:123456789012:db:orders-pg").unwrap();
    assert_eq!(db.kind, Some(DbKind::Instance));
    assert_eq!(db.name, "orders-pg");
    assert_eq!(db.region.as_deref(), Some("us-east-1"));
    assert_eq!(db.account_id.as_deref(), Some("123456789012"));

    let db = DbRef::parse("arn:aws:rds:eu-central-1:210987654321:cluster:billing").unwrap();
    assert_eq!(db.kind, Some(DbKind::Cluster));
    assert_eq!(db.name, "billing");
    assert_eq!(db.region.as_deref(), Some("eu-central-1"));
    assert_eq!(db.account_id.as_deref(), Some("210987654321"));

    let db = DbRef::parse("arn:aws-us-gov:rds:us-gov-west-1:123456789012:db:orders-pg").unwrap();
    assert_eq!(db.region.as_deref(), Some("us-gov-west-1"));
}

#[test]
fn a_plain_name_has_no_kind_region_or_account() {
    assert_eq!(
        DbRef::parse("orders-pg").unwrap(),
        DbRef {
            name: "orders-pg".into(),
            kind: None,
            region: None,
            account_id: None,
        }
    );
}

#[test]
fn malformed_arns_are_refused_with_the_expected_shapes() {
    for bad in [
        "arn:aws:rds:us-east-1:123456789012:snapshot:orders-pg",
        "arn:aws:ec2:us-east-1:123456789012:db:orders-pg",
        "arn:aws:rds:us-east-1:12345:db:orders-pg",
        "arn:aws:rds:us-east-1:12345678901x:db:orders-pg",
        "arn:aws:rds:us-east-1:db:orders-pg",
        "arn:gcp:rds:us-east-1:123456789012:db:orders-pg",
    ] {
        let err = DbRef::parse(bad).unwrap_err();
        assert_eq!(err.name(), "InvalidRequest");
        assert_mentions(
            &err.to_string(),
            &[
                bad,
                "arn:aws:rds:REGION:ACCOUNT:db:NAME",
                "arn:aws:rds:REGION:ACCOUNT:cluster:NAME",
            ],
        );
        // The same refusal reaches the caller through the request.
        let msg = refusal(minimal(json!({ "db_identifier": bad })));
        assert_mentions(&msg, &["arn:aws:rds:REGION:ACCOUNT:db:NAME"]);
    }
}

#[test]
fn an_arn_with_a_bad_name_is_refused_for_the_name() {
    let err = DbRef::parse("arn:aws:rds:us-east-1:123456789012:db:orders_pg").unwrap_err();
    assert_mentions(
        &err.to_string(),
        &["orders_pg", "not a valid RDS identifier"],
    );
}

// ---------------------------------------------------------------- non-objects

#[test]
fn input_that_is_not_an_object_is_refused_saying_what_it_was() {
    for (input, kind) in [
        (json!(null), "null"),
        (json!(true), "a boolean"),
        (json!(42), "a number"),
        (json!("orders-pg"), "a string"),
        (json!(["orders-pg", "16.4"]), "an array"),
    ] {
        let msg = refusal(input);
        assert_mentions(
            &msg,
            &[
                "must be a JSON object",
                "db_identifier",
                "target_engine_version",
                kind,
            ],
        );
    }
}

// ---------------------------------------------------------------- tags (alarm runs)

fn orders_alarm() -> AlarmTarget {
    AlarmTarget {
        alarm_name: "orders-pg-needs-upgrade".into(),
        db: DbRef {
            name: "orders-pg".into(),
            kind: Some(DbKind::Instance),
            region: None,
            account_id: None,
        },
        account_id: None,
        region: None,
    }
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn tag_refusal(pairs: &[(&str, &str)]) -> String {
    match request_from_tags(&orders_alarm(), &tags(pairs)) {
        Err(WorkerError::InvalidRequest(msg)) => msg,
        other => panic!("expected InvalidRequest for {pairs:?}, got {other:?}"),
    }
}

#[test]
fn tags_build_a_full_request_with_numbers_and_booleans_parsed() {
    let r = request_from_tags(
        &orders_alarm(),
        &tags(&[
            ("bluegreen:target-engine-version", "16.4"),
            ("bluegreen:target-db-parameter-group-name", " orders-pg16 "),
            ("bluegreen:action", "upgrade"),
            ("bluegreen:switchover-timeout-seconds", " 120 "),
            ("bluegreen:max-replica-lag-seconds", "2"),
            ("bluegreen:soak-hours", "48"),
            ("bluegreen:final-snapshot", "False"),
            ("bluegreen:delete-old-blue", " TRUE "),
            ("bluegreen:max-provisioning-minutes", "360"),
            ("Name", "orders"),
            ("team", "payments"),
        ]),
    )
    .unwrap();
    assert_eq!(r.db_identifier, "orders-pg");
    assert_eq!(r.trigger, Trigger::Alarm);
    assert_eq!(r.target_engine_version, "16.4");
    assert_eq!(
        r.target_db_parameter_group_name.as_deref(),
        Some("orders-pg16")
    );
    assert_eq!(r.action, Action::Upgrade);
    assert_eq!(r.switchover_timeout_seconds, 120);
    assert_eq!(r.max_replica_lag_seconds, 2);
    assert_eq!(r.soak_hours, 48);
    assert!(!r.final_snapshot);
    assert!(r.delete_old_blue);
    assert_eq!(r.max_provisioning_minutes, 360);
}

#[test]
fn without_an_action_tag_an_alarm_only_plans() {
    let r = request_from_tags(
        &orders_alarm(),
        &tags(&[("bluegreen:target-engine-version", "16.4")]),
    )
    .unwrap();
    assert_eq!(r.action, Action::Plan);
    assert_eq!(r.trigger, Trigger::Alarm);
    assert_eq!(r.switchover_timeout_seconds, 300);
    assert!(r.final_snapshot);
}

#[test]
fn managed_and_wave_tags_are_ours_but_not_request_fields() {
    let r = request_from_tags(
        &orders_alarm(),
        &tags(&[
            ("bluegreen:target-engine-version", "16.4"),
            ("bluegreen:managed", "true"),
            ("bluegreen:wave", "2"),
        ]),
    )
    .unwrap();
    assert_eq!(r.target_engine_version, "16.4");
    assert_eq!(r.action, Action::Plan);
}

#[test]
fn a_tag_that_is_not_a_number_names_the_tag_and_the_range() {
    let msg = tag_refusal(&[
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:soak-hours", "2d"),
    ]);
    assert_mentions(
        &msg,
        &[
            "bluegreen:soak-hours",
            "orders-pg",
            "`2d`",
            "whole number",
            "Accepted: an integer from 0 to 168",
        ],
    );
    let msg = tag_refusal(&[
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:switchover-timeout-seconds", "-5"),
    ]);
    assert_mentions(
        &msg,
        &["bluegreen:switchover-timeout-seconds", "whole number"],
    );
}

#[test]
fn a_tag_that_is_not_a_boolean_names_the_tag() {
    let msg = tag_refusal(&[
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:final-snapshot", "yes"),
    ]);
    assert_mentions(
        &msg,
        &["bluegreen:final-snapshot", "`yes`", "true or false"],
    );
}

#[test]
fn an_out_of_range_tag_value_is_refused_as_a_bad_request_from_tags() {
    let msg = tag_refusal(&[
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:soak-hours", "200"),
    ]);
    assert_mentions(
        &msg,
        &[
            "the bluegreen: tags on orders-pg do not make a valid request",
            "soak_hours is 200",
        ],
    );
}

#[test]
fn an_unknown_action_tag_value_lists_the_accepted_actions() {
    let msg = tag_refusal(&[
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:action", "go"),
    ]);
    assert_mentions(&msg, &["action", "Accepted: plan, prepare, upgrade"]);
}

#[test]
fn an_unknown_bluegreen_tag_is_refused_listing_the_accepted_tags() {
    let msg = tag_refusal(&[
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:soak", "24"),
    ]);
    assert_mentions(
        &msg,
        &[
            "tag `bluegreen:soak`",
            "not a request field",
            "bluegreen:soak-hours",
            "bluegreen:target-engine-version",
        ],
    );
    // The listing offers no tag that would itself be refused.
    assert!(!msg.contains("bluegreen:db-identifier"), "{msg}");
    assert!(!msg.contains("bluegreen:trigger"), "{msg}");
}

#[test]
fn tags_may_not_set_the_database_or_the_trigger() {
    for key in ["bluegreen:db-identifier", "bluegreen:trigger"] {
        let msg = tag_refusal(&[
            ("bluegreen:target-engine-version", "16.4"),
            (key, "console"),
        ]);
        assert_mentions(&msg, &[key, "not a request field"]);
    }
}

#[test]
fn a_database_without_a_target_version_tag_is_refused() {
    let msg = tag_refusal(&[
        ("bluegreen:action", "upgrade"),
        ("bluegreen:managed", "true"),
    ]);
    assert_mentions(
        &msg,
        &[
            "orders-pg-needs-upgrade",
            "orders-pg",
            "bluegreen:target-engine-version",
        ],
    );
}

#[test]
fn an_event_from_another_account_or_region_is_refused_naming_both() {
    use bluegreen_domain::precheck::intake::check_event_origin;
    let err = check_event_origin(
        "alarm `a`",
        Some("210987654321"),
        Some("us-east-1"),
        Some("123456789012"),
        Some("us-east-1"),
    )
    .unwrap_err();
    assert_eq!(err.name(), "InvalidRequest");
    let msg = err.to_string();
    assert!(
        msg.contains("210987654321") && msg.contains("123456789012"),
        "{msg}"
    );
    assert!(msg.contains("nothing was changed"), "{msg}");
    let err = check_event_origin(
        "alarm `a`",
        Some("123456789012"),
        Some("eu-west-1"),
        Some("123456789012"),
        Some("us-east-1"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("eu-west-1") && err.to_string().contains("us-east-1"));
    assert!(check_event_origin(
        "alarm `a`",
        Some("123456789012"),
        Some("us-east-1"),
        Some("123456789012"),
        Some("us-east-1")
    )
    .is_ok());
    // Unknown on either side (a local run, an event without the fields): nothing to compare.
    assert!(check_event_origin("alarm `a`", None, None, Some("1"), Some("r")).is_ok());
}
