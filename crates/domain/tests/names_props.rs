//! Every identifier and subject the product builds is valid for every input the request
//! accepts: deployment names (1–60, the API pattern), final snapshot identifiers (a cluster
//! snapshot at most 63 characters, an instance snapshot 255; no `--`, no trailing hyphen) and
//! SNS subjects (fewer than 100 characters, no control characters), over the longest
//! database names and Aurora version strings the request takes.

use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::names::{
    deployment_name, final_snapshot_id, is_valid_deployment_name, is_valid_snapshot_id, sns_subject,
};
use bluegreen_domain::precheck::intake::parse_request;
use proptest::prelude::*;
use serde_json::json;

/// RDS identifiers the request accepts: 1–63, first a letter, no `--`, no trailing hyphen;
/// mostly long ones.
fn db_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z][a-z0-9]{0,20}(-[a-z0-9]{1,20}){0,3}",
        1 => "[a-zA-Z]([a-zA-Z0-9]|-[a-zA-Z0-9]){30,31}",
    ]
    .prop_filter("a valid RDS identifier", |n| {
        n.len() <= 63 && !n.contains("--") && !n.ends_with('-')
    })
}

/// Target versions the request accepts: up to 64 characters of digits, letters, `.`, `_`,
/// `-`, starting with a digit; Aurora's long ones among them.
fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("8.0.mysql_aurora.3.05.2".to_string()),
        Just("16.4".to_string()),
        "[0-9]{1,2}\\.[0-9]{1,2}\\.mysql_aurora\\.[0-9]\\.[0-9]{2}\\.[0-9]{1,3}",
        "[0-9][0-9a-z._-]{0,63}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_name_built_is_valid(name in db_name(), version in version()) {
        // Only inputs the request itself accepts.
        let accepted = parse_request(&json!({
            "db_identifier": name,
            "target_engine_version": version,
        }));
        prop_assume!(accepted.is_ok());
        let deployment = deployment_name(&name, &version);
        prop_assert!(is_valid_deployment_name(&deployment), "{deployment}");
        for kind in [DbKind::Instance, DbKind::Cluster] {
            let snapshot = final_snapshot_id(kind, &deployment);
            prop_assert!(is_valid_snapshot_id(kind, &snapshot), "{kind:?} {snapshot}");
        }
        // The subject the notifications build, at its longest.
        let subject = sns_subject(&format!(
            "[rds-bluegreen] {name} {version} -> {version}: switchover window closed, green left prepared"
        ));
        prop_assert!(subject.chars().count() < 100);
        prop_assert!(!subject.chars().any(char::is_control));
    }

    #[test]
    fn any_subject_text_becomes_a_valid_subject(text in ".{0,400}") {
        let subject = sns_subject(&text);
        prop_assert!(subject.chars().count() < 100);
        prop_assert!(!subject.chars().any(char::is_control));
    }
}
