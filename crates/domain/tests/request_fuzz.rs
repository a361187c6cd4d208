//! The request parser takes any JSON an operator or a schedule can send (EventBridge events:
//! the workers' `tests/intake_fuzz.rs`): it must answer every one with a request, a no-op or
//! a named refusal, and never panic.

use bluegreen_domain::model::db::DbRef;
use bluegreen_domain::precheck::intake::{classify, request_from_tags, AlarmTarget, Incoming};
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

fn refusal_is_named(
    result: &Result<Incoming, bluegreen_domain::model::error::WorkerError>,
) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => e.name() == "InvalidRequest" && !e.to_string().is_empty(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

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
