//! The request parser takes any JSON an operator, a schedule or EventBridge can send: it must
//! answer every one with a request, a no-op or a named refusal, and never panic.

use bluegreen_domain::request::{classify, request_from_tags, AlarmTarget, DbRef, Incoming};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Real field names most of the time, so the fuzzer reaches the validation behind serde.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "db_identifier", "target_engine_version", "target_db_parameter_group_name",
            "action", "switchover_timeout_seconds", "soak_hours", "final_snapshot",
            "expected_account_id", "trigger", "detail-type", "detail",
        ]).prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

fn refusal_is_named(result: &Result<Incoming, bluegreen_domain::WorkerError>) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => e.name() == "InvalidRequest" && !e.to_string().is_empty(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_json_gets_an_answer_never_a_panic(input in any_json()) {
        prop_assert!(refusal_is_named(&classify(&input)));
    }

    #[test]
    fn near_valid_requests_get_an_answer(
        db in ".{0,70}",
        version in ".{0,20}",
        timeout in any::<i64>(),
        soak in any::<i64>(),
        action in ".{0,10}",
    ) {
        let input = json!({"db_identifier": db, "target_engine_version": version,
                           "switchover_timeout_seconds": timeout, "soak_hours": soak, "action": action});
        let result = classify(&input);
        prop_assert!(refusal_is_named(&result));
        if let Ok(Incoming::Request(r)) = result {
            prop_assert!(DbRef::parse(&r.db_identifier).is_ok());
            prop_assert!((30..=3600).contains(&r.switchover_timeout_seconds));
        }
    }

    #[test]
    fn any_tags_give_a_request_or_a_named_refusal(tags in prop::collection::btree_map("bluegreen:.{0,30}|.{0,10}", ".{0,20}", 0..10)) {
        let target = AlarmTarget { alarm_name: "a".into(), db: DbRef::parse("orders-pg").unwrap(), account_id: None, region: None };
        let tags: BTreeMap<String, String> = tags;
        if let Err(e) = request_from_tags(&target, &tags) {
            prop_assert_eq!(e.name(), "InvalidRequest");
        }
    }
}
