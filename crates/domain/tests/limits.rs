//! Step Functions' own limits against the longest request the contract accepts.

use bluegreen_domain::model::limits::{longest_run_seconds, UPGRADE_MACHINE_TIMEOUT_SECONDS};
use bluegreen_domain::model::request::{MAX_APPROVAL_TIMEOUT_HOURS, MAX_SOAK_HOURS};
use bluegreen_domain::precheck::intake::parse_request;
use serde_json::json;

#[test]
fn the_machine_timeout_outlasts_the_longest_request_accepted() {
    let longest = parse_request(&json!({
        "db_identifier": "orders",
        "target_engine_version": "16.4",
        "max_provisioning_minutes": 1440,
        "switchover_timeout_seconds": 3600,
        "soak_hours": MAX_SOAK_HOURS,
        "switchover_window": "Sun 00:00-23:59 UTC",
        "require_approval": true,
        "approval_timeout_hours": MAX_APPROVAL_TIMEOUT_HOURS,
    }))
    .unwrap();
    let need = longest_run_seconds(&longest);
    assert!(
        need < UPGRADE_MACHINE_TIMEOUT_SECONDS,
        "{need} >= {UPGRADE_MACHINE_TIMEOUT_SECONDS}"
    );
}
