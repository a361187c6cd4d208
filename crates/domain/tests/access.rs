//! What the stack's roles would be denied, each check both ways: the opt-in tag on every
//! resource acted on (the source, Aurora members, read replicas, custom endpoints), the
//! Enhanced Monitoring roles and the KMS key the stack was given, and the request's topic.

use bluegreen_domain::model::check::{Check, Verdict};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::grants::{notification_topic, KeyLookup, KeyManager, StackGrants};
use bluegreen_domain::model::report::ExistingDeployment;
use bluegreen_domain::model::report::Report;
use bluegreen_domain::model::request::Request;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::source::SourceDb;
use bluegreen_domain::model::source::{CustomEndpoint, Member, Replica};
use bluegreen_domain::precheck::checks::access::{
    check_kms_key, check_monitoring_roles, check_notification_topic, check_opt_in, checks,
    key_to_look_up,
};
use bluegreen_domain::precheck::intake::parse_request;
use bluegreen_domain::precheck::route::route_for;
use serde_json::json;
use std::collections::BTreeMap;

const ACCOUNT_ARN: &str = "arn:aws:rds:us-east-1:123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/rds-monitoring-role";
const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/legacy-monitoring";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/5e9c1f7a-2b4d-4c6e-8f0a-customer0001";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rds-bluegreen";
const DBA_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:payments-dba";

fn opted_in() -> BTreeMap<String, String> {
    BTreeMap::from([("bluegreen:managed".to_string(), "true".to_string())])
}

fn untagged() -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_string(), "payments".to_string())])
}

fn instance(id: &str) -> SourceDb {
    SourceDb {
        kind: DbKind::Instance,
        identifier: id.into(),
        arn: format!("{ACCOUNT_ARN}:db:{id}"),
        engine: Engine::Postgres,
        engine_version: "13.15".into(),
        status: "available".into(),
        storage_encrypted: true,
        kms_key_id: Some(KEY.into()),
        tags: opted_in(),
        ..SourceDb::default()
    }
}

fn replica(id: &str, tags: BTreeMap<String, String>) -> Replica {
    Replica {
        identifier: id.into(),
        arn: format!("{ACCOUNT_ARN}:db:{id}"),
        tags,
        status: "available".into(),
        replicates_from: Some("orders-pg".into()),
        ..Replica::default()
    }
}

fn member(id: &str, tags: BTreeMap<String, String>) -> Member {
    Member {
        identifier: id.into(),
        arn: format!("{ACCOUNT_ARN}:db:{id}"),
        tags,
        monitoring_role_arn: None,
    }
}

fn endpoint(id: &str, tags: BTreeMap<String, String>) -> CustomEndpoint {
    CustomEndpoint {
        identifier: id.into(),
        endpoint_type: "READER".into(),
        arn: format!("{ACCOUNT_ARN}:cluster-endpoint:{id}"),
        tags,
        ..CustomEndpoint::default()
    }
}

/// `ledger`: an Aurora cluster of two members with the custom endpoint `reporting`, all
/// opted in.
fn ledger() -> SourceDb {
    let mut c = instance("ledger");
    c.kind = DbKind::Cluster;
    c.arn = format!("{ACCOUNT_ARN}:cluster:ledger");
    c.engine = Engine::AuroraPostgresql;
    c.members = vec!["ledger-1".into(), "ledger-2".into()];
    c.topology.members = vec![
        member("ledger-1", opted_in()),
        member("ledger-2", opted_in()),
    ];
    c.topology.custom_endpoints = vec![endpoint("reporting", opted_in())];
    c
}

/// `orders-pg` with two in-Region read replicas, all opted in.
fn orders_pg_with_replicas() -> SourceDb {
    let mut s = instance("orders-pg");
    s.read_replicas = vec!["orders-pg-r1".into(), "orders-pg-r2".into()];
    s.topology.replicas = vec![
        replica("orders-pg-r1", opted_in()),
        replica("orders-pg-r2", opted_in()),
    ];
    s
}

fn grants(roles: &[&str], keys: &[&str], topics: &[&str]) -> StackGrants {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    StackGrants {
        monitoring_roles: v(roles),
        kms_keys: v(keys),
        topics: v(topics),
    }
}

fn request(extra: serde_json::Value) -> Request {
    let mut v = json!({"db_identifier": "orders-pg", "target_engine_version": "16.4",
                       "action": "upgrade"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    parse_request(&v).unwrap()
}

#[track_caller]
fn assert_pass(c: &Check, observed: &str) {
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert!(c.fix.is_empty(), "{c:?}");
    assert!(c.observed.contains(observed), "`{observed}` in {c:?}");
}

#[track_caller]
fn assert_fail(c: &Check, observed: &[&str], fix: &[&str]) {
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    for p in observed {
        assert!(c.observed.contains(p), "`{p}` in observed: {c:?}");
    }
    for p in fix {
        assert!(c.fix.contains(p), "`{p}` in fix: {c:?}");
    }
}

fn tag_command(arn: &str) -> String {
    format!(
        "`aws rds add-tags-to-resource --resource-name {arn} --tags Key=bluegreen:managed,Value=true`"
    )
}

// ---------------------------------------------------------------- opt-in

#[test]
fn a_source_with_everything_around_it_opted_in_passes_counting_them() {
    let c = check_opt_in(&instance("orders-pg"));
    assert_eq!(c.id, "opt-in");
    assert_pass(&c, "orders-pg carries bluegreen:managed=true");
    assert_pass(
        &check_opt_in(&orders_pg_with_replicas()),
        "orders-pg and its 2 read replicas carry bluegreen:managed=true",
    );
    assert_pass(
        &check_opt_in(&ledger()),
        "ledger and its 2 member instances, 1 custom endpoint carry bluegreen:managed=true",
    );
}

#[test]
fn an_untagged_source_fails_with_the_command_that_tags_it() {
    let mut s = instance("orders-pg");
    s.tags = untagged();
    let c = check_opt_in(&s);
    assert_fail(
        &c,
        &["not tagged bluegreen:managed=true: orders-pg (the DB instance)"],
        &[
            "IAM evaluates the tag on each resource acted on",
            "RDS copies each resource's tags to its green",
            &tag_command(&s.arn),
        ],
    );
    // The value must be exactly `true`, as IAM compares it.
    s.tags = BTreeMap::from([("bluegreen:managed".to_string(), "True".to_string())]);
    assert_fail(
        &check_opt_in(&s),
        &["orders-pg (the DB instance, bluegreen:managed=True)"],
        &[],
    );
}

#[test]
fn a_tagged_aurora_cluster_with_an_untagged_member_fails_naming_the_member() {
    let mut s = ledger();
    s.topology.members[1].tags = untagged();
    let c = check_opt_in(&s);
    assert_fail(
        &c,
        &["ledger-2 (Aurora member instance)"],
        &[&tag_command(&format!("{ACCOUNT_ARN}:db:ledger-2"))],
    );
    assert!(!c.observed.contains("ledger-1"), "{c:?}");
    assert!(
        !c.fix.contains("cluster:ledger"),
        "the cluster is tagged: {c:?}"
    );
}

#[test]
fn an_untagged_read_replica_fails_naming_it_and_one_command_per_resource() {
    let mut s = orders_pg_with_replicas();
    s.tags = untagged();
    s.topology.replicas[0].tags = untagged();
    let c = check_opt_in(&s);
    assert_fail(
        &c,
        &["orders-pg (the DB instance), orders-pg-r1 (read replica)"],
        &[
            &tag_command(&s.arn),
            &tag_command(&format!("{ACCOUNT_ARN}:db:orders-pg-r1")),
        ],
    );
    assert!(!c.observed.contains("orders-pg-r2"), "{c:?}");
    assert_eq!(c.fix.matches("add-tags-to-resource").count(), 2, "{c:?}");
}

#[test]
fn an_untagged_custom_endpoint_fails_and_one_whose_tags_are_unread_is_left_to_the_warning() {
    let mut s = ledger();
    s.topology.custom_endpoints[0].tags = BTreeMap::new();
    assert_fail(
        &check_opt_in(&s),
        &["reporting (custom endpoint)"],
        &[&tag_command(&format!(
            "{ACCOUNT_ARN}:cluster-endpoint:reporting"
        ))],
    );
    s.topology.custom_endpoints[0].tags_unread = true;
    assert_pass(
        &check_opt_in(&s),
        "ledger and its 2 member instances carry bluegreen:managed=true (not checked: the tags \
         of custom endpoint reporting, unread: see topology-read)",
    );
}

#[test]
fn a_cross_region_replica_is_not_the_stacks_to_change() {
    let mut s = orders_pg_with_replicas();
    s.topology.replicas[1].region = Some("eu-west-1".into());
    s.topology.replicas[1].tags = untagged();
    assert_pass(&check_opt_in(&s), "orders-pg and its 1 read replica carry");
}

// ---------------------------------------------------------------- monitoring-role

#[test]
fn no_enhanced_monitoring_passes() {
    let c = check_monitoring_roles(&ledger(), &StackGrants::default());
    assert_eq!(c.id, "monitoring-role");
    assert_pass(&c, "no Enhanced Monitoring role in use");
}

#[test]
fn an_unlisted_monitoring_role_fails_naming_it_and_who_uses_it() {
    let mut s = orders_pg_with_replicas();
    s.monitoring_role_arn = Some(ROLE.into());
    s.topology.replicas[0].monitoring_role_arn = Some(ROLE.into());
    let c = check_monitoring_roles(&s, &StackGrants::default());
    assert_fail(
        &c,
        &[&format!("{ROLE} (used by orders-pg, orders-pg-r1)")],
        &[
            &format!("EnhancedMonitoringRoleArns including {ROLE}"),
            "iam:PassRole",
            "CreateBlueGreenDeployment",
        ],
    );
    assert_pass(
        &check_monitoring_roles(&s, &grants(&[ROLE], &[], &[])),
        &format!("{ROLE} listed in EnhancedMonitoringRoleArns"),
    );
}

#[test]
fn each_members_and_replicas_role_counts_and_only_the_unlisted_ones_are_named() {
    let mut s = ledger();
    s.topology.members[0].monitoring_role_arn = Some(ROLE.into());
    s.topology.members[1].monitoring_role_arn = Some(OTHER_ROLE.into());
    let c = check_monitoring_roles(&s, &grants(&[ROLE], &[], &[]));
    assert_fail(
        &c,
        &[&format!("{OTHER_ROLE} (used by ledger-2)")],
        &[&format!("including {OTHER_ROLE}")],
    );
    assert!(!c.observed.contains(ROLE), "{c:?}");
    assert_pass(
        &check_monitoring_roles(&s, &grants(&[OTHER_ROLE, ROLE], &[], &[])),
        "listed in EnhancedMonitoringRoleArns",
    );
}

// ---------------------------------------------------------------- kms-key

#[test]
fn an_unencrypted_source_needs_no_key_and_no_lookup() {
    let mut s = instance("orders-pg");
    s.storage_encrypted = false;
    assert_eq!(key_to_look_up(&s, &StackGrants::default()), None);
    let c = check_kms_key(&s, &StackGrants::default(), &KeyLookup::NotAsked);
    assert_eq!(c.id, "kms-key");
    assert_pass(&c, "not encrypted");
}

#[test]
fn a_listed_key_passes_without_asking_kms() {
    let s = instance("orders-pg");
    let g = grants(&[], &[KEY], &[]);
    assert_eq!(
        key_to_look_up(&s, &g),
        None,
        "a listed key needs no DescribeKey"
    );
    assert_pass(
        &check_kms_key(&s, &g, &KeyLookup::NotAsked),
        "listed in DatabaseKmsKeyArns",
    );
    // Compared exactly: another key, or the key id alone, is not the source's ARN.
    let other = grants(&[], &["5e9c1f7a-2b4d-4c6e-8f0a-customer0001"], &[]);
    assert_eq!(key_to_look_up(&s, &other), Some(KEY));
}

#[test]
fn an_aws_managed_key_passes_and_a_customer_key_unlisted_fails() {
    let s = instance("orders-pg");
    let none = StackGrants::default();
    assert_eq!(key_to_look_up(&s, &none), Some(KEY));
    assert_pass(
        &check_kms_key(&s, &none, &KeyLookup::Manager(KeyManager::Aws)),
        "the AWS managed key",
    );
    assert_fail(
        &check_kms_key(&s, &none, &KeyLookup::Manager(KeyManager::Customer)),
        &[&format!("customer managed KMS key {KEY}")],
        &[
            &format!("DatabaseKmsKeyArns including {KEY}"),
            "kms:CreateGrant and kms:DescribeKey",
            "AWS KMS key management",
        ],
    );
}

#[test]
fn a_key_kms_does_not_describe_fails_saying_what_could_not_be_told() {
    let s = instance("orders-pg");
    let none = StackGrants::default();
    let denied = KeyLookup::Unreadable("kms:DescribeKey was denied (not authorized)".into());
    assert_fail(
        &check_kms_key(&s, &none, &denied),
        &[
            "could not tell whether it is AWS managed",
            "kms:DescribeKey was denied",
        ],
        &[
            &format!("DatabaseKmsKeyArns including {KEY}"),
            "if it is customer managed",
        ],
    );
    assert_fail(
        &check_kms_key(&s, &none, &KeyLookup::NotFound),
        &["no such key is visible"],
        &["DatabaseKmsKeyArns"],
    );
}

#[test]
fn an_encrypted_source_without_a_reported_key_warns() {
    let mut s = ledger();
    s.kms_key_id = None;
    let c = check_kms_key(&s, &StackGrants::default(), &KeyLookup::NotAsked);
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert!(c.fix.contains("describe-db-clusters"), "{c:?}");
}

// ---------------------------------------------------------------- notification-topic

#[test]
fn a_requests_topic_must_be_one_the_stack_may_publish_to_when_it_lists_them() {
    let stack = grants(&[], &[], &[TOPIC, DBA_TOPIC]);
    let c = check_notification_topic(&request(json!({})), &stack);
    assert_eq!(c.id, "notification-topic");
    assert_pass(&c, "the stack's topic");
    assert_pass(
        &check_notification_topic(
            &request(json!({"notification_topic_arn": DBA_TOPIC})),
            &stack,
        ),
        "a topic of the stack",
    );
    let elsewhere = "arn:aws:sns:us-east-1:123456789012:elsewhere";
    assert_fail(
        &check_notification_topic(
            &request(json!({"notification_topic_arn": elsewhere})),
            &grants(&[], &[], &[TOPIC]),
        ),
        &[&format!(
            "notification_topic_arn {elsewhere} is not one this stack may publish to"
        )],
        &[
            &format!("NotificationTopicArns including {elsewhere}"),
            "drop notification_topic_arn",
        ],
    );
    // The environment does not list the topics: not checked.
    assert_pass(
        &check_notification_topic(
            &request(json!({"notification_topic_arn": elsewhere})),
            &StackGrants::default(),
        ),
        "does not list its topics",
    );
}

#[test]
fn a_notification_goes_to_the_requests_topic_only_when_the_stack_may_publish_there() {
    let stack = grants(&[], &[], &[TOPIC, DBA_TOPIC]);
    assert_eq!(
        notification_topic(Some(DBA_TOPIC), &stack, Some(TOPIC)),
        (Some(DBA_TOPIC.to_string()), None)
    );
    let elsewhere = "arn:aws:sns:us-east-1:123456789012:elsewhere";
    let (topic, why) = notification_topic(Some(elsewhere), &stack, Some(TOPIC));
    assert_eq!(topic.as_deref(), Some(TOPIC));
    assert_eq!(
        why.as_deref(),
        Some(
            "notification_topic_arn arn:aws:sns:us-east-1:123456789012:elsewhere is not one this \
             stack may publish to (template parameter NotificationTopicArns): published to the \
             stack's topic"
        )
    );
    assert_eq!(
        notification_topic(None, &stack, Some(TOPIC)),
        (Some(TOPIC.to_string()), None)
    );
    // No list: any topic, as before.
    assert_eq!(
        notification_topic(Some(elsewhere), &StackGrants::default(), Some(TOPIC)),
        (Some(elsewhere.to_string()), None)
    );
}

// ---------------------------------------------------------------- in the route

#[test]
fn every_access_check_runs_and_a_failure_stops_prepare_and_upgrade_but_not_a_plan() {
    let mut s = ledger();
    s.topology.members[1].tags = untagged();
    let all = checks(
        &s,
        &request(json!({})),
        &StackGrants::default(),
        &KeyLookup::Manager(KeyManager::Aws),
    );
    assert_eq!(
        all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["opt-in", "monitoring-role", "kms-key", "notification-topic"]
    );
    let report = Report::new(all, vec![], ExistingDeployment::None);
    for action in ["prepare", "upgrade", "switchover"] {
        let e = route_for(
            &request(json!({ "action": action })),
            &report,
            None,
            false,
            false,
            "ledger",
        )
        .unwrap_err();
        assert_eq!(e.name(), "PrecheckFailed", "{action}");
        assert!(e.to_string().contains("[opt-in]"), "{action}: {e}");
    }
    assert_eq!(
        route_for(
            &request(json!({"action": "plan"})),
            &report,
            None,
            false,
            false,
            "ledger"
        ),
        Ok(Route::Plan)
    );
}
