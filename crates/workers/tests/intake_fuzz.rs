//! The intake takes any JSON an operator, a schedule or EventBridge can send: it must answer
//! every one with a request, a no-op or a named refusal, and never panic.

use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::precheck::intake::Incoming;
use bluegreen_workers::intake::classify;
use proptest::prelude::*;
use serde_json::{json, Value};

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

fn refusal_is_named(result: &Result<Incoming, WorkerError>) -> bool {
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
}
