//! Prechecks: each rule, both ways, from one realistic set of facts (an RDS PostgreSQL 13.15
//! instance going to 16.4) that each test changes in one place.

use bluegreen_domain::model::check::{manual_checks, Check, Verdict};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::deployment::{DeploymentTask, DeploymentView, SwitchoverDetail};
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::engine::{EngineVersionInfo, UpgradeTarget};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::grants::{KeyLookup, KeyManager, StackGrants};
use bluegreen_domain::model::names::tags::MANAGED_BY as MANAGED_BY_TAG;
use bluegreen_domain::model::names::{deployment_name, is_valid_deployment_name};
use bluegreen_domain::model::report::ExistingDeployment;
use bluegreen_domain::model::report::Report;
use bluegreen_domain::model::request::{Action, Request};
use bluegreen_domain::model::source::ParameterGroupInfo;
use bluegreen_domain::model::source::{Membership, Replica, SourceDb};
use bluegreen_domain::precheck::checks::evaluate;
use bluegreen_domain::precheck::intake::parse_request;
use bluegreen_domain::precheck::PrecheckFacts;
use serde_json::json;
use std::collections::BTreeMap;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const SOURCE_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:orders-pg";
/// The AWS managed `aws/rds` key that encrypts the fixture (no grant needed).
const AWS_RDS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/0b7f5d2e-aws0managed01";

fn upgrade_request() -> Request {
    parse_request(&json!({
        "db_identifier": "orders-pg",
        "target_engine_version": "16.4",
        "target_db_parameter_group_name": "orders-pg16",
        "action": "upgrade"
    }))
    .expect("the fixture request is valid")
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn orders_pg() -> SourceDb {
    SourceDb {
        kind: DbKind::Instance,
        identifier: "orders-pg".into(),
        arn: SOURCE_ARN.into(),
        resource_id: Some("db-BLUE".into()),
        topology: Default::default(),
        engine: Engine::Postgres,
        engine_version: "13.15".into(),
        status: "available".into(),
        instance_class: Some("db.r6g.large".into()),
        multi_az: true,
        multi_az_db_cluster: false,
        endpoint: Some("orders-pg.c9akciq32.us-east-1.rds.amazonaws.com".into()),
        port: Some(5432),
        backup_retention_days: 7,
        deletion_protection: true,
        storage_encrypted: true,
        kms_key_id: Some(AWS_RDS_KEY.into()),
        monitoring_role_arn: None,
        allocated_storage_gib: Some(100),
        dedicated_log_volume: false,
        backtrack_window: None,
        parameter_groups: vec![Membership::new("orders-pg13", "in-sync")],
        cluster_parameter_group: None,
        option_groups: vec![Membership::new("default:postgres-13", "in-sync")],
        managed_master_password: false,
        read_replicas: vec![],
        replica_source: None,
        members: vec![],
        tags: params(&[("team", "payments"), ("bluegreen:managed", "true")]),
        parameters: params(&[
            ("rds.logical_replication", "1"),
            ("max_replication_slots", "20"),
            ("max_wal_senders", "20"),
            ("max_logical_replication_workers", "8"),
            ("max_worker_processes", "16"),
            ("shared_preload_libraries", "pg_stat_statements"),
        ]),
    }
}

fn target(version: &str, is_major: bool) -> UpgradeTarget {
    UpgradeTarget {
        version: version.into(),
        is_major,
    }
}

fn postgres_13_15() -> EngineVersionInfo {
    EngineVersionInfo {
        status: "available".into(),
        version: "13.15".into(),
        family: "postgres13".into(),
        valid_upgrade_targets: vec![
            target("13.16", false),
            target("14.12", true),
            target("15.7", true),
            target("16.3", true),
            target("16.4", true),
        ],
    }
}

fn postgres_16_4() -> EngineVersionInfo {
    EngineVersionInfo {
        status: "available".into(),
        version: "16.4".into(),
        family: "postgres16".into(),
        valid_upgrade_targets: vec![],
    }
}

fn group(name: &str, family: &str) -> Option<ParameterGroupInfo> {
    Some(ParameterGroupInfo {
        name: name.into(),
        family: family.into(),
    })
}

/// Everything passes: an RDS PostgreSQL 13.15 instance with a custom parameter group
/// (`rds.logical_replication = 1`), to 16.4 with a target group of family postgres16.
fn facts() -> PrecheckFacts {
    PrecheckFacts {
        target_parameters: Default::default(),
        request: upgrade_request(),
        account_id: Some("123456789012".into()),
        source: orders_pg(),
        current_version: Some(postgres_13_15()),
        target_version: Some(postgres_16_4()),
        target_parameter_group: group("orders-pg16", "postgres16"),
        target_cluster_parameter_group: None,
        deployments: vec![],
        pending_maintenance: Ok(vec![]),
        free_storage_bytes: Some(60.0 * GIB),
        deployment_name: deployment_name("orders-pg", "16.4"),
        grants: StackGrants::default(),
        key_manager: KeyLookup::Manager(KeyManager::Aws),
        from_fleet: false,
        sql_worker_deployed: false,
        execution_id: String::new(),
        lifecycle: Ok(None),
        today: "2026-01-01".into(),
        old_blue: None,
    }
}

fn deployment(name: &str, status: &str) -> DeploymentView {
    DeploymentView {
        id: format!("bgd-{}", name.len()),
        name: name.into(),
        source_arn: SOURCE_ARN.into(),
        target_arn: "arn:aws:rds:us-east-1:123456789012:db:orders-pg-green-x1y2z3".into(),
        status: status.into(),
        status_details: None,
        tasks: vec![DeploymentTask {
            name: "CREATING_READ_REPLICA_OF_SOURCE".into(),
            status: "IN_PROGRESS".into(),
        }],
        switchover_details: vec![SwitchoverDetail {
            source_member: SOURCE_ARN.into(),
            target_member: "arn:aws:rds:us-east-1:123456789012:db:orders-pg-green-x1y2z3".into(),
            status: "PROVISIONING".into(),
        }],
        tags: Default::default(),
    }
}

fn ours(status: &str) -> DeploymentView {
    deployment("rbg-orders-pg-to-16-4", status)
}

fn find(f: &PrecheckFacts, id: &str) -> Check {
    let checks = evaluate(f).checks;
    checks
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("no check `{id}` in {:?}", ids(f)))
}

fn ids(f: &PrecheckFacts) -> Vec<String> {
    evaluate(f).checks.into_iter().map(|c| c.id).collect()
}

#[track_caller]
fn assert_pass(c: &Check) {
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert!(c.fix.is_empty(), "a passing check has no fix: {c:?}");
}

#[track_caller]
fn assert_fail(c: &Check, observed: &[&str], fix: &[&str]) {
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    for p in observed {
        assert!(c.observed.contains(p), "expected `{p}` in observed: {c:?}");
    }
    for p in fix {
        assert!(c.fix.contains(p), "expected `{p}` in fix: {c:?}");
    }
}

#[track_caller]
fn assert_warn(c: &Check, observed: &[&str]) {
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert!(!c.fix.is_empty(), "a warning says what to do: {c:?}");
    for p in observed {
        assert!(c.observed.contains(p), "expected `{p}` in observed: {c:?}");
    }
}

// ---------------------------------------------------------------- the whole evaluation

#[test]
fn the_realistic_postgres_instance_passes_every_check() {
    let f = facts();
    let e = evaluate(&f);
    assert_eq!(
        e.checks.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [
            "account",
            "source-available",
            "engine-supported",
            "upgrade-target",
            "postgres-minimum-minor",
            "green-preloaded-libraries",
            "logical-replication",
            "replication-headroom",
            "green-replication-headroom",
            "dedicated-log-volume",
            "automated-backups",
            "parameter-groups-in-sync",
            "managed-master-password",
            "replicas",
            "zero-etl-integrations",
            "opt-in",
            "monitoring-role",
            "kms-key",
            "notification-topic",
            "not-multi-az-db-cluster",
            "target-parameter-group",
            "existing-deployment",
            "pending-maintenance",
            "free-storage",
        ]
    );
    for c in &e.checks {
        assert_pass(c);
    }
    assert!(e.is_major_upgrade);
    assert_eq!(e.existing, ExistingDeployment::None);
    let report = Report::new(e.checks, manual_checks(&Engine::Postgres), e.existing);
    assert_eq!(report.verdict, Verdict::Pass);
    assert!(report.failures().is_empty());
}

#[test]
fn the_plan_carries_the_exact_create_parameters() {
    let e = evaluate(&facts());
    let p = e.plan;
    assert_eq!(p.deployment_name, "rbg-orders-pg-to-16-4");
    assert_eq!(p.source_arn, SOURCE_ARN);
    assert_eq!(p.target_engine_version, "16.4");
    assert!(p.is_major_upgrade);
    assert_eq!(
        p.target_db_parameter_group_name.as_deref(),
        Some("orders-pg16")
    );
    assert_eq!(p.target_db_cluster_parameter_group_name, None);
    assert_eq!(p.target_db_instance_class, None);
    assert_eq!(
        p.tags,
        params(&[
            ("bluegreen:managed-by", "rds-bluegreen"),
            // Blue's resource id survives the switchover's renames: any later run finds the
            // old blue by it.
            ("bluegreen:source-resource-id", "db-BLUE"),
        ])
    );
    assert!(p.tags.contains_key(MANAGED_BY_TAG));
    assert_eq!(p.green_instance_class, None);
}

#[test]
fn the_plan_name_is_valid_and_the_same_for_the_same_inputs() {
    let a = evaluate(&facts());
    let b = evaluate(&facts());
    assert!(is_valid_deployment_name(&a.plan.deployment_name));
    assert_eq!(a.plan, b.plan);
    assert_eq!(a.checks, b.checks);
    assert_eq!(
        deployment_name("orders-pg", "16.4"),
        deployment_name("orders-pg", "16.4")
    );
    assert_ne!(
        deployment_name("orders-pg", "16.4"),
        deployment_name("orders-pg", "16.3")
    );
    let long = deployment_name(&format!("o{}", "r".repeat(62)), "8.0.mysql_aurora.3.05.2");
    assert!(
        long.len() <= 60 && is_valid_deployment_name(&long),
        "{long}"
    );
}

#[test]
fn the_requested_instance_class_reaches_the_plan() {
    let mut f = facts();
    f.request.target_db_instance_class = Some("db.r7g.xlarge".into());
    assert_eq!(
        evaluate(&f).plan.target_db_instance_class.as_deref(),
        Some("db.r7g.xlarge")
    );
}

#[test]
fn the_failure_error_names_every_failing_check_and_its_fix_but_no_warning() {
    let mut f = facts();
    f.source.backup_retention_days = 0;
    f.source.status = "modifying".into();
    f.source.managed_master_password = true;
    f.pending_maintenance = Ok(vec!["system-update".into()]);
    let e = evaluate(&f);
    let report = Report::new(e.checks, vec![], e.existing);
    assert_eq!(report.verdict, Verdict::Fail);
    let failed: Vec<&str> = report.failures().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        failed,
        [
            "source-available",
            "automated-backups",
            "managed-master-password"
        ]
    );
    let err = report.failure_error("orders-pg");
    assert_eq!(err.name(), "PrecheckFailed");
    let WorkerError::PrecheckFailed(msg) = err else {
        unreachable!()
    };
    assert!(
        msg.starts_with("3 precheck(s) failed for orders-pg, nothing was changed: "),
        "{msg}"
    );
    for c in report.failures() {
        let entry = format!("[{}] {}: {}", c.id, c.observed, c.fix);
        assert!(msg.contains(&entry), "missing `{entry}` in {msg}");
    }
    assert!(!msg.contains("pending-maintenance"), "{msg}");
}

#[test]
fn a_report_with_only_warnings_is_a_warning() {
    let mut f = facts();
    f.pending_maintenance = Ok(vec!["system-update".into()]);
    let e = evaluate(&f);
    let report = Report::new(e.checks, vec![], e.existing);
    assert_eq!(report.verdict, Verdict::Warn);
    assert!(report.failures().is_empty());
}

// ---------------------------------------------------------------- account

#[test]
fn account_passes_without_an_expectation_or_when_it_matches() {
    let c = find(&facts(), "account");
    assert_pass(&c);
    assert!(c.observed.contains("123456789012"), "{c:?}");

    let mut f = facts();
    f.request.expected_account_id = Some("123456789012".into());
    assert_pass(&find(&f, "account"));

    let mut f = facts();
    f.account_id = None;
    assert_pass(&find(&f, "account"));
}

#[test]
fn account_fails_when_running_in_another_account() {
    let mut f = facts();
    f.request.expected_account_id = Some("210987654321".into());
    assert_fail(
        &find(&f, "account"),
        &["123456789012", "210987654321"],
        &["expected_account_id"],
    );
}

#[test]
fn account_fails_when_expected_but_the_worker_cannot_tell_its_own() {
    let mut f = facts();
    f.request.expected_account_id = Some("123456789012".into());
    f.account_id = None;
    assert_fail(&find(&f, "account"), &["could not tell"], &["Lambda"]);
}

// ---------------------------------------------------------------- source status and engine

#[test]
fn source_must_be_available() {
    let mut f = facts();
    f.source.status = "Available".into();
    assert_pass(&find(&f, "source-available"));
    f.source.status = "modifying".into();
    assert_fail(
        &find(&f, "source-available"),
        &["orders-pg", "`modifying`"],
        &["available"],
    );
}

#[test]
fn an_engine_blue_green_does_not_support_fails() {
    let c = find(&facts(), "engine-supported");
    assert_pass(&c);
    let mut f = facts();
    f.source.engine = Engine::parse("oracle-ee");
    assert_fail(
        &find(&f, "engine-supported"),
        &["oracle-ee", "does not support"],
        &["another way"],
    );
}

// ---------------------------------------------------------------- upgrade target

#[test]
fn a_listed_major_target_passes_as_major() {
    let c = find(&facts(), "upgrade-target");
    assert_pass(&c);
    assert!(
        c.observed
            .contains("13.15 -> 16.4 is a valid major upgrade target"),
        "{c:?}"
    );
}

#[test]
fn a_listed_minor_target_passes_as_minor_and_skips_the_logical_replication_checks() {
    let mut f = facts();
    f.request.target_engine_version = "13.16".into();
    f.target_version = None;
    let c = find(&f, "upgrade-target");
    assert_pass(&c);
    assert!(c.observed.contains("valid minor upgrade target"), "{c:?}");
    let e = evaluate(&f);
    assert!(!e.is_major_upgrade);
    assert!(!e.plan.is_major_upgrade);
    let ids = ids(&f);
    for absent in [
        "postgres-minimum-minor",
        "logical-replication",
        "replication-headroom",
    ] {
        assert!(!ids.iter().any(|i| i == absent), "{absent} in {ids:?}");
    }
}

#[test]
fn the_same_version_is_nothing_to_upgrade() {
    let mut f = facts();
    f.request.target_engine_version = "13.15".into();
    assert_fail(
        &find(&f, "upgrade-target"),
        &["already runs 13.15"],
        &["higher"],
    );
}

#[test]
fn a_lower_version_is_a_downgrade_and_refused() {
    let mut f = facts();
    f.request.target_engine_version = "12.19".into();
    assert_fail(
        &find(&f, "upgrade-target"),
        &["12.19 is lower than the current 13.15", "cannot downgrade"],
        &[],
    );
}

#[test]
fn an_unlisted_target_fails_offering_the_valid_major_targets_highest_first() {
    let mut f = facts();
    f.request.target_engine_version = "17.2".into();
    f.target_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "17.2".into(),
        family: "postgres17".into(),
        valid_upgrade_targets: vec![],
    });
    assert_fail(
        &find(&f, "upgrade-target"),
        &["17.2 exists but is not a valid upgrade target of 13.15"],
        &["16.4, 16.3, 15.7, 14.12"],
    );
    // A version RDS does not know at all is said to be unknown, not "exists but".
    f.target_version = None;
    let c = find(&f, "upgrade-target");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(!c.observed.contains("exists"), "{c:?}");
}

#[test]
fn a_current_version_without_major_targets_says_to_upgrade_the_minor_first() {
    let mut f = facts();
    f.current_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "13.15".into(),
        family: "postgres13".into(),
        valid_upgrade_targets: vec![target("13.16", false)],
    });
    assert_fail(
        &find(&f, "upgrade-target"),
        &["not a valid upgrade target"],
        &["no major upgrade target", "later minor"],
    );
}

#[test]
fn a_current_version_rds_does_not_list_fails() {
    let mut f = facts();
    f.current_version = None;
    assert_fail(
        &find(&f, "upgrade-target"),
        &["DescribeDBEngineVersions does not list postgres 13.15"],
        &["cannot confirm"],
    );
    // Without the listing, the major is judged from the version numbers.
    assert!(evaluate(&f).is_major_upgrade);
}

// ---------------------------------------------------------------- PostgreSQL logical replication

#[test]
fn postgres_below_the_minimum_minor_for_a_major_upgrade_fails() {
    let c = find(&facts(), "postgres-minimum-minor");
    assert_pass(&c);
    assert!(c.observed.contains("13.12"), "{c:?}");

    let mut f = facts();
    f.source.engine_version = "13.7".into();
    assert_fail(
        &find(&f, "postgres-minimum-minor"),
        &["13.7 is below 13.12"],
        &["orders-pg to 13.12 or later"],
    );
}

#[test]
fn postgres_without_a_minimum_minor_passes() {
    let mut f = facts();
    f.source.engine_version = "17.1".into();
    f.request.target_engine_version = "18.1".into();
    f.current_version = None;
    let c = find(&f, "postgres-minimum-minor");
    assert_pass(&c);
    assert!(c.observed.contains("no minimum minor applies"), "{c:?}");
}

#[test]
fn logical_replication_off_fails_and_says_to_set_it_in_the_custom_group() {
    let c = find(&facts(), "logical-replication");
    assert_pass(&c);
    assert!(c.observed.contains("parameter group orders-pg13"), "{c:?}");

    let mut f = facts();
    f.source
        .parameters
        .insert("rds.logical_replication".into(), "0".into());
    assert_fail(
        &find(&f, "logical-replication"),
        &["rds.logical_replication = 0 in parameter group orders-pg13"],
        &["set rds.logical_replication = 1 in that group and reboot"],
    );
}

#[test]
fn logical_replication_on_a_default_group_says_to_attach_a_custom_group() {
    let mut f = facts();
    f.source.parameter_groups = vec![Membership::new("default.postgres13", "in-sync")];
    f.source.parameters.remove("rds.logical_replication");
    assert_fail(
        &find(&f, "logical-replication"),
        &["0 (default)", "default.postgres13"],
        &["attach a custom parameter group"],
    );
}

#[test]
fn replication_headroom_with_a_zero_setting_fails() {
    let mut f = facts();
    f.source
        .parameters
        .insert("max_replication_slots".into(), "0".into());
    assert_fail(
        &find(&f, "replication-headroom"),
        &["max_replication_slots = 0"],
        &["set max_replication_slots above zero"],
    );
}

#[test]
fn replication_headroom_with_low_settings_warns() {
    let mut f = facts();
    f.source
        .parameters
        .insert("max_wal_senders".into(), "5".into());
    let c = find(&f, "replication-headroom");
    assert_warn(&c, &["low: max_wal_senders = 5"]);
    assert!(c.fix.contains("delete and recreate"), "{c:?}");
}

#[test]
fn replication_headroom_warns_when_worker_processes_do_not_exceed_replication_workers() {
    let mut f = facts();
    f.source
        .parameters
        .insert("max_worker_processes".into(), "12".into());
    f.source
        .parameters
        .insert("max_logical_replication_workers".into(), "12".into());
    assert_warn(
        &find(&f, "replication-headroom"),
        &["max_worker_processes (12) must exceed max_logical_replication_workers (12)"],
    );
}

#[test]
fn replication_headroom_with_rds_formulas_passes() {
    let mut f = facts();
    f.source.parameters.insert(
        "max_worker_processes".into(),
        "GREATEST({DBInstanceClassMemory/9531392},8)".into(),
    );
    f.source.parameters.remove("max_wal_senders");
    let c = find(&f, "replication-headroom");
    assert_pass(&c);
    assert!(c.observed.contains("(formula; RDS computes it)"), "{c:?}");
    assert!(c.observed.contains("max_wal_senders = default"), "{c:?}");
}

// ---------------------------------------------------------------- common prerequisites

#[test]
fn automated_backups_off_fails() {
    assert_pass(&find(&facts(), "automated-backups"));
    let mut f = facts();
    f.source.backup_retention_days = 0;
    assert_fail(
        &find(&f, "automated-backups"),
        &["retention 0 days"],
        &["backup retention period"],
    );
}

#[test]
fn a_parameter_group_pending_reboot_fails_naming_it() {
    let mut f = facts();
    f.source.parameter_groups = vec![Membership::new("orders-pg13", "pending-reboot")];
    assert_fail(
        &find(&f, "parameter-groups-in-sync"),
        &["orders-pg13 is pending-reboot"],
        &["reboot"],
    );
}

#[test]
fn a_secrets_manager_master_password_fails() {
    assert_pass(&find(&facts(), "managed-master-password"));
    let mut f = facts();
    f.source.managed_master_password = true;
    assert_fail(
        &find(&f, "managed-master-password"),
        &["Secrets Manager"],
        &["manage-master-user-password"],
    );
}

#[test]
fn a_source_that_is_a_replica_fails_and_in_region_replicas_are_taken_along() {
    let mut f = facts();
    f.source.replica_source = Some("orders-pg-primary".into());
    assert_fail(
        &find(&f, "replicas"),
        &["orders-pg is itself a read replica of orders-pg-primary"],
        &["upgrade the primary orders-pg-primary"],
    );
    // AWS copies in-Region replicas into green and switches them over with it.
    let mut f = facts();
    f.source.read_replicas = vec!["orders-pg-ro1".into(), "orders-pg-ro2".into()];
    let c = find(&f, "replicas");
    assert_pass(&c);
    assert!(c.observed.contains("orders-pg-ro1, orders-pg-ro2"), "{c:?}");
    // A cross-Region one (listed by ARN) is refused, naming it and what to do.
    f.source.read_replicas = vec![
        "orders-pg-ro1".into(),
        "arn:aws:rds:eu-west-1:123456789012:db:orders-pg-dr".into(),
    ];
    assert_fail(
        &find(&f, "replicas"),
        &["orders-pg-dr (eu-west-1)"],
        &["recreate it from the new production"],
    );
}

#[test]
fn a_multi_az_db_cluster_fails() {
    assert_pass(&find(&facts(), "not-multi-az-db-cluster"));
    let mut f = facts();
    f.source.multi_az_db_cluster = true;
    assert_fail(
        &find(&f, "not-multi-az-db-cluster"),
        &["Multi-AZ DB cluster"],
        &["in place"],
    );
}

// ---------------------------------------------------------------- target parameter group

#[test]
fn a_target_group_of_the_wrong_family_fails() {
    let mut f = facts();
    f.target_parameter_group = group("orders-pg16", "postgres15");
    let c = find(&f, "target-parameter-group");
    assert_fail(
        &c,
        &["orders-pg16 is of family postgres15, the target needs postgres16"],
        &["family postgres16"],
    );
}

#[test]
fn a_target_group_that_does_not_exist_fails() {
    let mut f = facts();
    f.target_parameter_group = None;
    assert_fail(
        &find(&f, "target-parameter-group"),
        &["parameter group orders-pg16 does not exist"],
        &["family postgres16"],
    );
}

#[test]
fn no_target_group_for_a_source_on_a_custom_group_fails() {
    let mut f = facts();
    f.request.target_db_parameter_group_name = None;
    f.target_parameter_group = None;
    assert_fail(
        &find(&f, "target-parameter-group"),
        &["custom group orders-pg13", "default.postgres16"],
        &["target_db_parameter_group_name"],
    );
    assert_eq!(evaluate(&f).plan.target_db_parameter_group_name, None);
}

#[test]
fn no_target_group_for_a_source_on_a_default_group_uses_the_new_default() {
    let mut f = facts();
    f.request.target_db_parameter_group_name = None;
    f.target_parameter_group = None;
    f.source.parameter_groups = vec![Membership::new("default.postgres13", "in-sync")];
    let c = find(&f, "target-parameter-group");
    assert_pass(&c);
    assert_eq!(
        evaluate(&f).plan.target_db_parameter_group_name.as_deref(),
        Some("default.postgres16")
    );
}

// ---------------------------------------------------------------- existing deployments

#[test]
fn no_deployment_means_create() {
    let c = find(&facts(), "existing-deployment");
    assert_pass(&c);
    assert!(
        c.observed.contains("will create rbg-orders-pg-to-16-4"),
        "{c:?}"
    );
    assert_eq!(evaluate(&facts()).existing, ExistingDeployment::None);
}

#[test]
fn our_provisioning_deployment_is_adopted() {
    for status in [
        "PROVISIONING",
        "AVAILABLE",
        "SWITCHOVER_IN_PROGRESS",
        "SWITCHOVER_COMPLETED",
    ] {
        let mut f = facts();
        f.deployments = vec![ours(status)];
        let c = find(&f, "existing-deployment");
        assert_pass(&c);
        assert!(c.observed.contains("will continue with it"), "{c:?}");
        assert_eq!(evaluate(&f).existing, ExistingDeployment::Adopt, "{status}");
    }
}

#[test]
fn our_deployment_in_invalid_configuration_fails_with_its_details() {
    let mut f = facts();
    let mut d = ours("INVALID_CONFIGURATION");
    d.status_details =
        Some("Creation of blue/green deployment failed due to incompatible parameter(s)".into());
    f.deployments = vec![d];
    assert_fail(
        &find(&f, "existing-deployment"),
        &["INVALID_CONFIGURATION", "incompatible parameter(s)"],
        &["abort"],
    );
    assert_eq!(evaluate(&f).existing, ExistingDeployment::Conflict);
}

#[test]
fn abort_adopts_our_deployment_even_in_invalid_configuration() {
    let mut f = facts();
    f.request.action = Action::Abort;
    f.deployments = vec![ours("INVALID_CONFIGURATION")];
    assert_pass(&find(&f, "existing-deployment"));
    assert_eq!(evaluate(&f).existing, ExistingDeployment::Adopt);
}

#[test]
fn another_deployment_in_flight_is_a_conflict() {
    let mut f = facts();
    f.deployments = vec![deployment("manual-orders-upgrade", "AVAILABLE")];
    assert_fail(
        &find(&f, "existing-deployment"),
        &["manual-orders-upgrade", "AVAILABLE"],
        &["only one blue/green deployment per source"],
    );
    assert_eq!(evaluate(&f).existing, ExistingDeployment::Conflict);
}

#[test]
fn another_deployment_that_is_finished_is_no_conflict() {
    for status in ["SWITCHOVER_COMPLETED", "DELETING"] {
        let mut f = facts();
        f.deployments = vec![deployment("last-years-upgrade", status)];
        assert_pass(&find(&f, "existing-deployment"));
        assert_eq!(evaluate(&f).existing, ExistingDeployment::None, "{status}");
    }
}

#[test]
fn switchover_abort_and_cleanup_without_our_deployment_fail() {
    for action in [Action::Switchover, Action::Abort, Action::Cleanup] {
        let mut f = facts();
        f.request.action = action;
        assert_fail(
            &find(&f, "existing-deployment"),
            &["no deployment named rbg-orders-pg-to-16-4"],
            &["prepare"],
        );
        assert_eq!(evaluate(&f).existing, ExistingDeployment::None);
    }
}

// ---------------------------------------------------------------- maintenance and storage

#[test]
fn pending_maintenance_warns_listing_it() {
    assert_pass(&find(&facts(), "pending-maintenance"));
    let mut f = facts();
    f.pending_maintenance = Ok(vec![
        "system-update (Upgrade to 2.10.0), auto-applied after 2026-12-01T00:00:00Z".into(),
        "os-upgrade".into(),
    ]);
    assert_warn(
        &find(&f, "pending-maintenance"),
        &["system-update (Upgrade to 2.10.0)", "; os-upgrade"],
    );
}

#[test]
fn unreadable_pending_maintenance_warns_with_the_reason() {
    let mut f = facts();
    f.pending_maintenance = Err("rds:DescribePendingMaintenanceActions was denied".into());
    assert_warn(&find(&f, "pending-maintenance"), &["was denied"]);
}

#[test]
fn plenty_of_free_storage_passes_with_the_numbers() {
    let c = find(&facts(), "free-storage");
    assert_pass(&c);
    assert_eq!(c.observed, "60.0 GiB free of 100 GiB (60%)");
}

#[test]
fn little_free_storage_warns() {
    let mut f = facts();
    f.free_storage_bytes = Some(4.0 * GIB);
    assert_warn(&find(&f, "free-storage"), &["4.0 GiB free of 100 GiB (4%)"]);
    // Under 10% of a large volume warns even with many GiB free.
    let mut f = facts();
    f.source.allocated_storage_gib = Some(1000);
    f.free_storage_bytes = Some(50.0 * GIB);
    assert_warn(&find(&f, "free-storage"), &["(5%)"]);
}

#[test]
fn no_free_storage_datapoint_warns() {
    let mut f = facts();
    f.free_storage_bytes = None;
    assert_warn(
        &find(&f, "free-storage"),
        &["no FreeStorageSpace datapoint"],
    );
}

// ---------------------------------------------------------------- MySQL option groups

fn billing_mysql() -> PrecheckFacts {
    let mut f = facts();
    f.request = parse_request(&json!({
        "db_identifier": "billing-mysql",
        "target_engine_version": "8.0.39",
        "target_db_parameter_group_name": "billing-mysql80",
        "action": "upgrade"
    }))
    .unwrap();
    f.source.identifier = "billing-mysql".into();
    f.source.arn = "arn:aws:rds:us-east-1:123456789012:db:billing-mysql".into();
    f.source.engine = Engine::Mysql;
    f.source.engine_version = "5.7.44".into();
    f.source.parameter_groups = vec![Membership::new("billing-mysql57", "in-sync")];
    f.source.option_groups = vec![Membership::new("default:mysql-5-7", "in-sync")];
    f.source.parameters = params(&[("binlog_format", "ROW")]);
    f.current_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "5.7.44".into(),
        family: "mysql5.7".into(),
        valid_upgrade_targets: vec![target("5.7.44-rds.20240529", false), target("8.0.39", true)],
    });
    f.target_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "8.0.39".into(),
        family: "mysql8.0".into(),
        valid_upgrade_targets: vec![],
    });
    f.target_parameter_group = group("billing-mysql80", "mysql8.0");
    f.deployment_name = deployment_name("billing-mysql", "8.0.39");
    f
}

#[test]
fn mysql_on_the_default_option_group_passes_without_postgres_checks() {
    let f = billing_mysql();
    let e = evaluate(&f);
    for c in &e.checks {
        assert_pass(c);
    }
    let ids = ids(&f);
    assert!(ids.contains(&"option-group".to_string()));
    for absent in [
        "logical-replication",
        "replication-headroom",
        "binlog-format",
    ] {
        assert!(!ids.iter().any(|i| i == absent), "{absent} in {ids:?}");
    }
}

#[test]
fn mysql_custom_option_group_with_a_major_upgrade_fails() {
    let mut f = billing_mysql();
    f.source.option_groups = vec![Membership::new("billing-audit-57", "in-sync")];
    assert_fail(
        &find(&f, "option-group"),
        &["custom option group billing-audit-57 with a major upgrade"],
        &["default option group"],
    );
}

#[test]
fn mysql_custom_option_group_with_a_minor_upgrade_passes() {
    let mut f = billing_mysql();
    f.source.option_groups = vec![Membership::new("billing-audit-57", "in-sync")];
    f.request.target_engine_version = "5.7.44-rds.20240529".into();
    let c = find(&f, "option-group");
    assert_pass(&c);
    assert!(
        c.observed.contains("billing-audit-57 (no major upgrade)"),
        "{c:?}"
    );
}

// ---------------------------------------------------------------- Aurora clusters

fn aurora_postgres_cluster() -> PrecheckFacts {
    let mut f = facts();
    f.request = parse_request(&json!({
        "db_identifier": "arn:aws:rds:us-east-1:123456789012:cluster:ledger",
        "target_engine_version": "16.4",
        "target_db_cluster_parameter_group_name": "ledger-apg16",
        "action": "upgrade"
    }))
    .unwrap();
    f.source = SourceDb {
        kind: DbKind::Cluster,
        identifier: "ledger".into(),
        arn: "arn:aws:rds:us-east-1:123456789012:cluster:ledger".into(),
        engine: Engine::AuroraPostgresql,
        engine_version: "13.15".into(),
        instance_class: None,
        multi_az: true,
        endpoint: Some("ledger.cluster-c9akciq32.us-east-1.rds.amazonaws.com".into()),
        port: Some(5432),
        allocated_storage_gib: None,
        dedicated_log_volume: false,
        backtrack_window: None,
        parameter_groups: vec![Membership::new("default.aurora-postgresql13", "in-sync")],
        cluster_parameter_group: Some(Membership::new("ledger-apg13", "in-sync")),
        option_groups: vec![],
        members: vec!["ledger-1".into(), "ledger-2".into()],
        ..orders_pg()
    };
    f.current_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "13.15".into(),
        family: "aurora-postgresql13".into(),
        valid_upgrade_targets: vec![target("16.4", true)],
    });
    f.target_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "16.4".into(),
        family: "aurora-postgresql16".into(),
        valid_upgrade_targets: vec![],
    });
    f.target_parameter_group = None;
    f.target_cluster_parameter_group = group("ledger-apg16", "aurora-postgresql16");
    f.free_storage_bytes = None;
    f.deployment_name = deployment_name("ledger", "16.4");
    f
}

#[test]
fn aurora_postgres_cluster_with_a_target_cluster_group_passes() {
    let f = aurora_postgres_cluster();
    let e = evaluate(&f);
    for c in &e.checks {
        assert_pass(c);
    }
    let ids = ids(&f);
    assert!(ids.contains(&"target-cluster-parameter-group".to_string()));
    assert!(ids.contains(&"logical-replication".to_string()));
    assert!(!ids.contains(&"free-storage".to_string()), "{ids:?}");
    assert_eq!(
        e.plan.target_db_cluster_parameter_group_name.as_deref(),
        Some("ledger-apg16")
    );
    // Aurora instances keep the new family's default DB parameter group.
    assert_eq!(
        e.plan.target_db_parameter_group_name.as_deref(),
        Some("default.aurora-postgresql16")
    );
    let c = find(&f, "logical-replication");
    assert!(
        c.observed.contains("cluster parameter group ledger-apg13"),
        "{c:?}"
    );
}

#[test]
fn aurora_cluster_without_a_target_cluster_group_fails() {
    let mut f = aurora_postgres_cluster();
    f.request.target_db_cluster_parameter_group_name = None;
    f.target_cluster_parameter_group = None;
    assert_fail(
        &find(&f, "target-cluster-parameter-group"),
        &["no target_db_cluster_parameter_group_name"],
        &["family aurora-postgresql16"],
    );
}

#[test]
fn aurora_target_cluster_group_missing_or_of_the_wrong_family_fails() {
    let mut f = aurora_postgres_cluster();
    f.target_cluster_parameter_group = None;
    assert_fail(
        &find(&f, "target-cluster-parameter-group"),
        &["cluster parameter group ledger-apg16 does not exist"],
        &["rds.logical_replication = 1"],
    );
    let mut f = aurora_postgres_cluster();
    f.target_cluster_parameter_group = group("ledger-apg16", "aurora-postgresql15");
    assert_fail(
        &find(&f, "target-cluster-parameter-group"),
        &["of family aurora-postgresql15, the target needs aurora-postgresql16"],
        &[],
    );
}

#[test]
fn aurora_cluster_group_pending_reboot_fails() {
    let mut f = aurora_postgres_cluster();
    f.source.cluster_parameter_group = Some(Membership::new("ledger-apg13", "pending-reboot"));
    assert_fail(
        &find(&f, "parameter-groups-in-sync"),
        &["ledger-apg13 is pending-reboot"],
        &[],
    );
}

fn aurora_mysql_cluster() -> PrecheckFacts {
    let mut f = aurora_postgres_cluster();
    f.request = parse_request(&json!({
        "db_identifier": "billing",
        "target_engine_version": "8.0.mysql_aurora.3.05.2",
        "target_db_cluster_parameter_group_name": "billing-aurora-mysql80",
        "action": "upgrade"
    }))
    .unwrap();
    f.source.identifier = "billing".into();
    f.source.arn = "arn:aws:rds:us-east-1:123456789012:cluster:billing".into();
    f.source.engine = Engine::AuroraMysql;
    f.source.engine_version = "5.7.mysql_aurora.2.11.5".into();
    f.source.cluster_parameter_group = Some(Membership::new("billing-aurora-mysql57", "in-sync"));
    f.source.parameter_groups = vec![Membership::new("default.aurora-mysql5.7", "in-sync")];
    f.source.parameters = params(&[("binlog_format", "ROW")]);
    f.current_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "5.7.mysql_aurora.2.11.5".into(),
        family: "aurora-mysql5.7".into(),
        valid_upgrade_targets: vec![target("8.0.mysql_aurora.3.05.2", true)],
    });
    f.target_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "8.0.mysql_aurora.3.05.2".into(),
        family: "aurora-mysql8.0".into(),
        valid_upgrade_targets: vec![],
    });
    f.target_cluster_parameter_group = group("billing-aurora-mysql80", "aurora-mysql8.0");
    f.deployment_name = deployment_name("billing", "8.0.mysql_aurora.3.05.2");
    f
}

#[test]
fn aurora_mysql_with_row_binlog_passes() {
    let f = aurora_mysql_cluster();
    for c in evaluate(&f).checks {
        assert_pass(&c);
    }
    let c = find(&f, "binlog-format");
    assert!(
        c.observed
            .contains("binlog_format = ROW in cluster parameter group billing-aurora-mysql57"),
        "{c:?}"
    );
    assert!(!ids(&f).contains(&"option-group".to_string()));
}

#[test]
fn aurora_mysql_with_mixed_binlog_warns() {
    let mut f = aurora_mysql_cluster();
    f.source.parameters = params(&[("binlog_format", "mixed")]);
    assert_warn(&find(&f, "binlog-format"), &["binlog_format = MIXED"]);
}

#[test]
fn aurora_mysql_with_binary_logging_off_fails() {
    let mut f = aurora_mysql_cluster();
    f.source.parameters = params(&[("binlog_format", "OFF")]);
    assert_fail(
        &find(&f, "binlog-format"),
        &["binlog_format = OFF", "binary logging is off"],
        &["binlog_format = ROW"],
    );
    f.source.parameters.clear();
    assert_fail(&find(&f, "binlog-format"), &["OFF (default)"], &[]);
}

// ---------------------------------------------------------------- manual checks

#[test]
fn manual_checks_give_sql_for_each_engine_family() {
    let pg = manual_checks(&Engine::AuroraPostgresql);
    let ids: Vec<&str> = pg.iter().map(|m| m.id.as_str()).collect();
    assert!(ids.contains(&"tables-without-primary-key"));
    assert!(ids.contains(&"large-objects"));
    assert!(pg.iter().all(|m| !m.sql.is_empty() && !m.why.is_empty()));
    assert!(pg.iter().any(|m| m.sql.contains("pg_replication_slots")));

    let my = manual_checks(&Engine::Mysql);
    let ids: Vec<&str> = my.iter().map(|m| m.id.as_str()).collect();
    assert!(ids.contains(&"long-running-transactions"));
    assert!(!ids.contains(&"large-objects"));
}

// ---------------------------------------------------------------- issue 13: AWS as documented

#[test]
fn a_source_on_a_deprecated_minor_plans_like_any_other() {
    let mut f = facts();
    f.current_version.as_mut().unwrap().status = "deprecated".into();
    let e = evaluate(&f);
    let c = check(&e, "upgrade-target");
    assert_pass(c);
    assert!(c.observed.contains("`deprecated`"), "{}", c.observed);
}

#[test]
fn a_deprecated_target_is_refused() {
    let mut f = facts();
    f.target_version.as_mut().unwrap().status = "deprecated".into();
    let c = check(&evaluate(&f), "upgrade-target").clone();
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed.contains("16.4 is `deprecated`"),
        "{}",
        c.observed
    );
}

#[test]
fn the_event_scheduler_must_be_off_in_the_group_green_uses() {
    let mut f = aurora_mysql_cluster();
    f.target_parameters = params(&[("event_scheduler", "ON")]);
    let c = check(&evaluate(&f), "event-scheduler-off-on-green").clone();
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(c.fix.contains("event_scheduler = OFF"), "{}", c.fix);
    f.target_parameters = params(&[("event_scheduler", "OFF")]);
    assert_pass(check(&evaluate(&f), "event-scheduler-off-on-green"));
    // PostgreSQL has no event scheduler: no such check.
    assert!(evaluate(&facts())
        .checks
        .iter()
        .all(|c| c.id != "event-scheduler-off-on-green"));
}

#[test]
fn too_few_replication_workers_on_green_warn() {
    let mut f = facts();
    f.target_parameters = params(&[
        ("max_logical_replication_workers", "4"),
        ("max_worker_processes", "4"),
        ("max_replication_slots", "20"),
        ("max_wal_senders", "20"),
    ]);
    let c = check(&evaluate(&f), "green-replication-headroom").clone();
    assert_eq!(c.verdict, Verdict::Warn);
    assert!(
        c.observed.starts_with("target parameter group:"),
        "{}",
        c.observed
    );
    assert!(
        c.observed.contains("max_worker_processes (4) must exceed"),
        "{}",
        c.observed
    );
}

#[test]
fn an_aurora_instance_class_is_applied_to_green_not_sent_with_create() {
    let mut f = aurora_postgres_cluster();
    f.request.target_db_instance_class = Some("db.r6g.2xlarge".into());
    let e = evaluate(&f);
    assert_eq!(
        e.plan.target_db_instance_class, None,
        "AWS refuses it for a cluster"
    );
    assert_eq!(
        e.plan.green_instance_class.as_deref(),
        Some("db.r6g.2xlarge")
    );
    let c = check(&e, "target-instance-class");
    assert_pass(c);
    assert!(
        c.observed.contains("modified to db.r6g.2xlarge"),
        "{}",
        c.observed
    );
    // An RDS instance takes it at create.
    let mut f = facts();
    f.request.target_db_instance_class = Some("db.r6g.2xlarge".into());
    let e = evaluate(&f);
    assert_eq!(
        e.plan.target_db_instance_class.as_deref(),
        Some("db.r6g.2xlarge")
    );
    assert_eq!(e.plan.green_instance_class, None);
}

#[track_caller]
fn check<'a>(e: &'a bluegreen_domain::precheck::checks::Evaluation, id: &str) -> &'a Check {
    e.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}: {:?}", e.checks))
}

// ---------------------------------------------------------------- issue 22: documented rules

fn with_target_parameters(mut f: PrecheckFacts, pairs: &[(&str, &str)]) -> PrecheckFacts {
    f.target_parameters = params(pairs);
    f
}

#[test]
fn aurora_postgres_synchronous_commit_must_be_on_for_every_blue_green() {
    let f = aurora_postgres_cluster();
    assert_pass(&find(&f, "synchronous-commit"));
    let mut f = aurora_postgres_cluster();
    f.source
        .parameters
        .insert("synchronous_commit".into(), "off".into());
    assert_fail(
        &find(&f, "synchronous-commit"),
        &[
            "synchronous_commit = off",
            "cluster parameter group ledger-apg13",
        ],
        &["synchronous_commit = on"],
    );
    // A minor version blue/green is held to it as well (AWS: every Aurora PostgreSQL blue/green).
    f.request.target_engine_version = "13.16".into();
    f.current_version = Some(EngineVersionInfo {
        valid_upgrade_targets: vec![target("13.16", false)],
        ..f.current_version.clone().unwrap()
    });
    assert_eq!(find(&f, "synchronous-commit").verdict, Verdict::Fail);
    // ... and so is rds.logical_replication (Aurora PostgreSQL always replicates logically).
    f.source.parameters.remove("rds.logical_replication");
    assert_eq!(find(&f, "logical-replication").verdict, Verdict::Fail);
    // RDS for PostgreSQL does not know the rule.
    let mut f = facts();
    f.source
        .parameters
        .insert("synchronous_commit".into(), "off".into());
    assert!(!ids(&f).contains(&"synchronous-commit".to_string()));
}

#[test]
fn aurora_postgres_below_the_versions_minimum_fails_even_for_a_minor_blue_green() {
    let mut f = aurora_postgres_cluster();
    f.source.engine_version = "16.0".into();
    f.request.target_engine_version = "16.4".into();
    f.current_version = Some(EngineVersionInfo {
        status: "available".into(),
        version: "16.0".into(),
        family: "aurora-postgresql16".into(),
        valid_upgrade_targets: vec![target("16.4", false)],
    });
    assert_fail(
        &find(&f, "postgres-minimum-minor"),
        &["Aurora PostgreSQL 16.0 is below 16.1"],
        &["16.1 or later"],
    );
    let f = aurora_postgres_cluster(); // 13.15, above 13.12
    assert_pass(&find(&f, "postgres-minimum-minor"));
}

#[test]
fn pg_cron_preloaded_on_green_fails_and_pgaudit_must_follow_blue() {
    let f = with_target_parameters(
        facts(),
        &[("shared_preload_libraries", "pg_stat_statements,pg_cron")],
    );
    assert_fail(
        &find(&f, "green-preloaded-libraries"),
        &["preloads pg_cron"],
        &["remove pg_cron"],
    );
    let mut f = with_target_parameters(
        facts(),
        &[("shared_preload_libraries", "pg_stat_statements")],
    );
    f.source.parameters.insert(
        "shared_preload_libraries".into(),
        "pg_stat_statements,pgaudit".into(),
    );
    assert_fail(
        &find(&f, "green-preloaded-libraries"),
        &["blue preloads pgaudit"],
        &["add pgaudit"],
    );
    f.target_parameters.insert(
        "shared_preload_libraries".into(),
        "pgaudit, pg_stat_statements".into(),
    );
    assert_pass(&find(&f, "green-preloaded-libraries"));
}

#[test]
fn lower_case_table_names_must_match_blues() {
    let f = billing_mysql();
    assert_pass(&find(&f, "lower-case-table-names"));
    let f = with_target_parameters(billing_mysql(), &[("lower_case_table_names", "1")]);
    assert_fail(
        &find(&f, "lower-case-table-names"),
        &["lower_case_table_names = 0 on blue but 1"],
        &["lower_case_table_names = 0 in the target parameter group"],
    );
    let mut f = with_target_parameters(billing_mysql(), &[("lower_case_table_names", "1")]);
    f.source
        .parameters
        .insert("lower_case_table_names".into(), "1".into());
    assert_pass(&find(&f, "lower-case-table-names"));
}

#[test]
fn aurora_plan_capture_must_be_off_on_green() {
    let f = with_target_parameters(
        aurora_postgres_cluster(),
        &[("apg_plan_mgmt.capture_plan_baselines", "automatic")],
    );
    assert_fail(
        &find(&f, "plan-capture-off-on-green"),
        &["capture_plan_baselines = automatic"],
        &["= off"],
    );
    let f = with_target_parameters(
        aurora_postgres_cluster(),
        &[("apg_plan_mgmt.capture_plan_baselines", "off")],
    );
    assert_pass(&find(&f, "plan-capture-off-on-green"));
}

#[test]
fn babelfish_needs_15_7_or_16_3_on_both_ends() {
    let mut f = aurora_postgres_cluster();
    assert!(!ids(&f).contains(&"babelfish".to_string()), "off: no check");
    f.source
        .parameters
        .insert("rds.babelfish_status".into(), "on".into());
    assert_fail(&find(&f, "babelfish"), &["not on 13.15"], &["15.7 or 16.3"]);
    f.source.engine_version = "15.7".into();
    f.request.target_engine_version = "16.4".into();
    assert_pass(&find(&f, "babelfish"));
    f.request.target_engine_version = "16.2".into();
    assert_fail(&find(&f, "babelfish"), &["not on 16.2"], &[]);
}

fn replica_with_log_volume(id: &str, dedicated: bool) -> Replica {
    Replica {
        identifier: id.into(),
        status: "available".into(),
        dedicated_log_volume: dedicated,
        ..Replica::default()
    }
}

#[test]
fn a_dedicated_log_volume_must_be_on_every_instance_replicas_included() {
    let mut f = facts();
    f.source.dedicated_log_volume = true;
    f.source.read_replicas = vec!["orders-pg-ro1".into()];
    f.source.topology.replicas = vec![replica_with_log_volume("orders-pg-ro1", false)];
    assert_fail(
        &find(&f, "dedicated-log-volume"),
        &[
            "orders-pg has a dedicated log volume",
            "orders-pg-ro1 do not",
        ],
        &["--dedicated-log-volume"],
    );
    f.source.topology.replicas = vec![replica_with_log_volume("orders-pg-ro1", true)];
    assert_pass(&find(&f, "dedicated-log-volume"));
    f.source.dedicated_log_volume = false;
    assert_fail(
        &find(&f, "dedicated-log-volume"),
        &["no dedicated log volume; its read replica(s) orders-pg-ro1 do"],
        &[],
    );
}

#[test]
fn mysql_replicas_warn_about_delayed_replication_on_a_major_upgrade_only() {
    let mut f = billing_mysql();
    assert!(!ids(&f).contains(&"delayed-replication".to_string()));
    f.source.read_replicas = vec!["billing-ro1".into()];
    assert_warn(&find(&f, "delayed-replication"), &["billing-ro1"]);
    assert!(find(&f, "delayed-replication").fix.contains("SQL_Delay"));
    // PostgreSQL replicas have no delayed replication rule.
    let mut f = facts();
    f.source.read_replicas = vec!["orders-pg-ro1".into()];
    assert!(!ids(&f).contains(&"delayed-replication".to_string()));
}

#[test]
fn aurora_mysql_backtrack_warns_that_green_has_none() {
    let mut f = aurora_mysql_cluster();
    assert!(!ids(&f).contains(&"backtrack".to_string()));
    f.source.backtrack_window = Some(86_400);
    assert_warn(
        &find(&f, "backtrack"),
        &["86400 s window", "green does not carry it"],
    );
}

#[test]
fn aurora_replica_clusters_say_only_what_aws_documents() {
    let mut f = aurora_postgres_cluster();
    f.source.read_replicas = vec!["arn:aws:rds:eu-west-1:123456789012:cluster:ledger-dr".into()];
    f.source.topology.replicas = vec![Replica {
        identifier: "ledger-dr".into(),
        region: Some("eu-west-1".into()),
        ..Replica::default()
    }];
    assert_fail(
        &find(&f, "replicas"),
        &["cross-Region read replica cluster(s): ledger-dr (eu-west-1)"],
        &["delete (or promote)"],
    );
    f.source.read_replicas = vec!["ledger-reports".into()];
    f.source.topology.replicas = vec![Replica {
        identifier: "ledger-reports".into(),
        ..Replica::default()
    }];
    assert_warn(
        &find(&f, "replicas"),
        &["ledger-reports", "AWS documents nothing"],
    );
    let mut f = aurora_postgres_cluster();
    f.source.replica_source = Some("ledger-primary".into());
    assert_fail(
        &find(&f, "replicas"),
        &["read replica cluster of ledger-primary"],
        &["promote-read-replica-db-cluster"],
    );
}
