//! `precheck`: normalizes the input, exports the source, runs every check read-only and
//! picks the route. It never changes anything in AWS.

mod common;

use bluegreen_aws::ports::Stat;
use bluegreen_domain::model::check::Verdict;
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::report::ExistingDeployment;
use bluegreen_domain::model::request::{Action, Trigger};
use bluegreen_domain::model::route::Route;
use bluegreen_workers::precheck;
use common::*;
use serde_json::json;

fn assert_read_only(world: &World) {
    let mutations = world.mutations();
    assert!(
        mutations.is_empty(),
        "precheck changed something: {mutations:?}"
    );
}

#[tokio::test]
async fn plan_route_exports_the_source_and_reports_every_check() {
    let world = World::orders_pg();
    let run = precheck::handle(world.deps(), started_run(event("console-plan.json")), inv())
        .await
        .unwrap();

    assert_eq!(run.route, Some(Route::Plan));
    let request = run.request.as_ref().unwrap();
    assert_eq!(request.action, Action::Plan);
    assert_eq!(request.trigger, Trigger::Console);

    let report = run.report.as_ref().unwrap();
    assert_eq!(report.verdict, Verdict::Pass, "{:#?}", report.checks);
    assert_eq!(report.existing_deployment, ExistingDeployment::None);
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
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
    let account = &report.checks[0];
    assert!(account.observed.contains(ACCOUNT), "{account:?}");
    let storage = report
        .checks
        .iter()
        .find(|c| c.id == "free-storage")
        .unwrap();
    assert_eq!(storage.observed, "60.1 GiB free of 100 GiB (60%)");
    assert!(!report.manual_checks.is_empty());

    // The exported source, parameters read across every page and filtered to those that matter.
    assert_eq!(run.source.as_ref().unwrap(), &source_db());

    let plan = run.plan.as_ref().unwrap();
    assert_eq!(plan, &create_plan());
    assert!(run.deployment.is_none());
    assert_eq!(run.timeline.get("started"), Some(&rfc(0)));
    assert_read_only(&world);
    // The ARN named an instance: looked up as one; the free-storage minimum over the last hour.
    assert_eq!(world.calls("find_source"), [format!("find_source {DB}")]);
    let q = world.with(|s| s.metric_queries.clone());
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].metric, "FreeStorageSpace");
    assert_eq!(
        q[0].dimensions,
        [("DBInstanceIdentifier".to_string(), DB.to_string())]
    );
    assert_eq!(q[0].stat, Stat::Minimum);
    assert_eq!(q[0].lookback, std::time::Duration::from_secs(3600));
    assert_eq!(q[0].now, at(0));
}

#[tokio::test]
async fn a_plan_with_failing_checks_still_reports_instead_of_failing() {
    let world = World::orders_pg();
    let mut db = source_instance();
    db.backup_retention_days = 0;
    world.put_instance(db);
    let run = precheck::handle(world.deps(), started_run(event("console-plan.json")), inv())
        .await
        .unwrap();
    assert_eq!(run.route, Some(Route::Plan));
    let report = run.report.unwrap();
    assert_eq!(report.verdict, Verdict::Fail);
    assert_eq!(report.failures()[0].id, "automated-backups");
}

#[tokio::test]
async fn a_mutating_action_with_failed_checks_is_refused_naming_every_one() {
    let world = World::orders_pg();
    let mut db = source_instance();
    db.backup_retention_days = 0;
    db.status = "modifying".into();
    world.put_instance(db);
    world.with(|s| {
        let params = s.parameters.get_mut("orders-pg13").unwrap();
        params.insert("rds.logical_replication".into(), "0".into());
    });

    let (name, msg) = err_of(
        precheck::handle(
            world.deps(),
            started_run(event("console-upgrade.json")),
            inv(),
        )
        .await,
    );
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(
        &msg,
        &[
            "3 precheck(s) failed for orders-pg, nothing was changed",
            "[source-available] orders-pg is `modifying`",
            "[logical-replication] rds.logical_replication = 0 in parameter group orders-pg13",
            "[automated-backups] automated backups are off",
        ],
    );
    assert_read_only(&world);
}

#[tokio::test]
async fn an_arn_of_another_account_is_refused_before_any_aws_call() {
    let input = json!({
        "db_identifier": "arn:aws:rds:us-east-1:210987654321:db:orders-pg",
        "target_engine_version": "16.4",
        "action": "upgrade"
    });
    let (name, msg) = err_of(precheck::handle(no_aws(), started_run(input), inv()).await);
    assert_eq!(name, "InvalidRequest");
    assert_mentions(
        &msg,
        &["account 210987654321", "runs in account 123456789012"],
    );
}

#[tokio::test]
async fn an_arn_of_another_region_is_refused_before_any_aws_call() {
    let input = json!({
        "db_identifier": "arn:aws:rds:eu-west-1:123456789012:db:orders-pg",
        "target_engine_version": "16.4"
    });
    let (name, msg) = err_of(precheck::handle(no_aws(), started_run(input), inv()).await);
    assert_eq!(name, "InvalidRequest");
    assert_mentions(&msg, &["Region eu-west-1", "us-east-1"]);
}

#[tokio::test]
async fn an_invalid_request_is_refused_before_any_aws_call() {
    let input =
        json!({"db_identifier": "orders-pg", "target_engine_version": "16.4", "soak_hour": 2});
    let (name, msg) = err_of(precheck::handle(no_aws(), started_run(input), inv()).await);
    assert_eq!(name, "InvalidRequest");
    assert_mentions(&msg, &["soak_hour"]);
}

#[tokio::test]
async fn a_run_without_input_is_a_malformed_run() {
    let mut run = started_run(json!({}));
    run.input = None;
    let (name, _) = err_of(precheck::handle(no_aws(), run, inv()).await);
    assert_eq!(name, "MalformedRun");
}

#[tokio::test]
async fn a_database_that_does_not_exist_is_source_not_found() {
    let world = World::empty();
    let input = json!({"db_identifier": "orders-pg", "target_engine_version": "16.4"});
    let (name, msg) = err_of(precheck::handle(world.deps(), started_run(input), inv()).await);
    assert_eq!(name, "SourceNotFound");
    assert_mentions(&msg, &["`orders-pg`"]);
    // One lookup (a bare name may be an instance or a cluster: the adapter looks for both,
    // see crates/aws), and nothing else.
    assert_eq!(world.log(), ["find_source orders-pg"]);
}

#[tokio::test]
async fn an_alarm_builds_the_request_from_the_database_tags() {
    let world = World::orders_pg();
    let mut db = source_instance();
    db.tags = tags(&[
        ("team", "payments"),
        ("bluegreen:managed", "true"),
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:target-db-parameter-group-name", "orders-pg16"),
        ("bluegreen:action", "prepare"),
        ("bluegreen:soak-hours", "48"),
    ]);
    world.put_instance(db);

    let run = precheck::handle(
        world.deps(),
        started_run(event("alarm-state-change.json")),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(run.route, Some(Route::Prepare));
    let r = run.request.as_ref().unwrap();
    assert_eq!(r.db_identifier, DB);
    assert_eq!(r.trigger, Trigger::Alarm);
    assert_eq!(r.action, Action::Prepare);
    assert_eq!(r.target_engine_version, "16.4");
    assert_eq!(
        r.target_db_parameter_group_name.as_deref(),
        Some("orders-pg16")
    );
    assert_eq!(r.soak_hours, 48);
    assert_eq!(run.report.unwrap().verdict, Verdict::Pass);
    assert_read_only(&world);
}

#[tokio::test]
async fn an_alarm_on_a_database_without_tags_is_refused_naming_the_tag() {
    let world = World::orders_pg();
    let (name, msg) = err_of(
        precheck::handle(
            world.deps(),
            started_run(event("alarm-state-change.json")),
            inv(),
        )
        .await,
    );
    assert_eq!(name, "InvalidRequest");
    assert_mentions(
        &msg,
        &["orders-pg-needs-upgrade", "bluegreen:target-engine-version"],
    );
}

#[tokio::test]
async fn an_alarm_back_to_ok_is_a_noop_without_any_aws_call() {
    let mut input = event("alarm-state-change.json");
    input["detail"]["state"]["value"] = json!("OK");
    let run = precheck::handle(no_aws(), started_run(input), inv())
        .await
        .unwrap();
    assert_eq!(run.route, Some(Route::Noop));
    assert_mentions(run.note.as_deref().unwrap(), &["moved to OK"]);
    assert!(run.request.is_none() && run.report.is_none());
}

fn tagged_for_alarm_upgrade() -> World {
    let world = World::orders_pg();
    let mut db = source_instance();
    db.tags = tags(&[
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:target-db-parameter-group-name", "orders-pg16"),
        ("bluegreen:action", "upgrade"),
    ]);
    world.put_instance(db);
    world
}

#[tokio::test]
async fn an_alarm_while_our_deployment_is_in_flight_is_already_in_progress() {
    let world = tagged_for_alarm_upgrade();
    world.set_deployment(deployment("PROVISIONING"));
    let run = precheck::handle(
        world.deps(),
        started_run(event("alarm-state-change.json")),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(run.route, Some(Route::AlreadyInProgress));
    assert_read_only(&world);
}

#[tokio::test]
async fn an_alarm_while_another_deployment_is_in_flight_is_already_in_progress() {
    let world = tagged_for_alarm_upgrade();
    let mut other = deployment("AVAILABLE");
    other.name = "manual-orders-pg-upgrade".into();
    other.id = "bgd-manual000000001".into();
    world.set_deployment(other);
    let run = precheck::handle(
        world.deps(),
        started_run(event("alarm-state-change.json")),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(run.route, Some(Route::AlreadyInProgress));
    assert!(
        run.deployment.is_none(),
        "another deployment is not ours to record"
    );
}

#[tokio::test]
async fn a_console_upgrade_with_another_deployment_in_flight_fails_the_precheck() {
    let world = World::orders_pg();
    let mut other = deployment("AVAILABLE");
    other.name = "manual-orders-pg-upgrade".into();
    world.set_deployment(other);
    let (name, msg) = err_of(
        precheck::handle(
            world.deps(),
            started_run(event("console-upgrade.json")),
            inv(),
        )
        .await,
    );
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(&msg, &["[existing-deployment]", "manual-orders-pg-upgrade"]);
}

#[tokio::test]
async fn our_available_deployment_is_recorded_for_a_switchover() {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    let mut input = event("console-upgrade.json");
    input["action"] = json!("switchover");
    let run = precheck::handle(world.deps(), started_run(input), inv())
        .await
        .unwrap();
    assert_eq!(run.route, Some(Route::Switchover));
    let d = run.deployment.unwrap();
    assert_eq!(d.id, DEPLOYMENT_ID);
    assert_eq!(d.name, DEPLOYMENT_NAME);
    assert!(!d.created_by_this_run);
    assert_eq!(d.target_arn.as_deref(), Some(GREEN_ARN));
    assert_eq!(
        run.report.unwrap().existing_deployment,
        ExistingDeployment::Adopt
    );
}

#[tokio::test]
async fn a_switchover_without_our_deployment_is_refused() {
    let world = World::orders_pg();
    let mut input = event("console-upgrade.json");
    input["action"] = json!("switchover");
    let (name, msg) = err_of(precheck::handle(world.deps(), started_run(input), inv()).await);
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(
        &msg,
        &["[existing-deployment] no deployment named rbg-orders-pg-to-16-4"],
    );
}

#[tokio::test]
async fn a_restarted_upgrade_after_switchover_finds_our_deployment_by_name_and_continues() {
    // After switchover RDS lists the old blue as the deployment's source, and orders-pg
    // already runs 16.4: the run must continue to verification, not fail "already runs".
    let world = World::switched_over();
    let run = precheck::handle(
        world.deps(),
        started_run(event("console-upgrade.json")),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(run.route, Some(Route::Upgrade));
    assert_eq!(
        run.deployment.as_ref().unwrap().status,
        "SWITCHOVER_COMPLETED"
    );
    // Verify and cleanup compare the old blue with the version we upgraded from, not with
    // what the name answers now (the upgraded green). The old blue is the database that
    // carries blue's resource id, from the deployment's tag: never a name built by format.
    let source = run.source.as_ref().unwrap();
    assert_eq!(source.engine_version, "13.15");
    assert_eq!(source.resource_id.as_deref(), Some(BLUE_RID));
    assert_eq!(
        world.calls("describe_by_resource_id"),
        [format!("describe_by_resource_id instance {BLUE_RID}")]
    );
    assert_eq!(run.old_blue, Some(old_blue_record()));
    assert_eq!(
        world.calls("deployments_for_source"),
        [format!("deployments_for_source {SOURCE_ARN}")]
    );
    assert_eq!(
        world.calls("deployment_by_name"),
        [format!("deployment_by_name {DEPLOYMENT_NAME}")]
    );
}

#[tokio::test]
async fn cleanup_before_the_switchover_is_refused() {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    let mut input = event("console-upgrade.json");
    input["action"] = json!("cleanup");
    let (name, msg) = err_of(precheck::handle(world.deps(), started_run(input), inv()).await);
    assert_eq!(name, "Refused");
    assert_mentions(&msg, &["AVAILABLE", "abort"]);
}

#[tokio::test]
async fn pending_maintenance_that_cannot_be_read_is_a_warning_not_a_failure() {
    let world = World::orders_pg();
    world.refuse(
        "pending_maintenance",
        "rds:DescribePendingMaintenanceActions",
        "AccessDenied",
        "not authorized to perform rds:DescribePendingMaintenanceActions",
    );
    let run = precheck::handle(
        world.deps(),
        started_run(event("console-upgrade.json")),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(run.route, Some(Route::Upgrade));
    let report = run.report.unwrap();
    assert_eq!(report.verdict, Verdict::Warn);
    let c = report
        .checks
        .iter()
        .find(|c| c.id == "pending-maintenance")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Warn);
    assert_mentions(&c.observed, &["was denied"]);
}

#[tokio::test]
async fn pending_maintenance_is_listed_in_the_warning() {
    let world = World::orders_pg();
    world.with(|s| {
        s.pending_maintenance.insert(
            SOURCE_ARN.into(),
            vec!["system-update (New Operating System update is available)".into()],
        )
    });
    let run = precheck::handle(world.deps(), started_run(event("console-plan.json")), inv())
        .await
        .unwrap();
    let report = run.report.unwrap();
    let c = report
        .checks
        .iter()
        .find(|c| c.id == "pending-maintenance")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Warn);
    assert_eq!(
        c.observed,
        "pending maintenance: system-update (New Operating System update is available)"
    );
}

#[tokio::test]
async fn throttling_while_reading_is_throttled_for_the_state_machine_to_retry() {
    let world = World::orders_pg();
    world.refuse(
        "engine_version",
        "rds:DescribeDBEngineVersions",
        "Throttling",
        "Rate exceeded",
    );
    let (name, msg) = err_of(
        precheck::handle(world.deps(), started_run(event("console-plan.json")), inv()).await,
    );
    assert_eq!(name, "Throttled");
    assert_mentions(&msg, &["rds:DescribeDBEngineVersions", "Rate exceeded"]);
}

// ---------------------------------------------------------------- Aurora

/// `ledger`: an Aurora PostgreSQL 13.15 cluster of two instances, its custom cluster group
/// with logical replication on, and a target cluster group of family aurora-postgresql16.
fn ledger() -> World {
    let world = World::empty();
    world.put_db(aurora_cluster(
        CLUSTER,
        "13.15",
        &["ledger-instance-1", "ledger-instance-2"],
    ));
    for m in ["ledger-instance-1", "ledger-instance-2"] {
        world.put_instance(aurora_instance(m, "13.15"));
    }
    world.with(|s| {
        s.parameters.insert(
            "ledger-apg13".into(),
            tags(&[
                ("rds.logical_replication", "1"),
                ("max_replication_slots", "20"),
                ("max_wal_senders", "20"),
            ]),
        );
        s.parameters.insert(
            "default.aurora-postgresql13".into(),
            tags(&[
                ("max_logical_replication_workers", "8"),
                ("max_worker_processes", "16"),
                // The cluster group wins over the instance group for the same parameter.
                ("rds.logical_replication", "0"),
            ]),
        );
        s.engine_versions = vec![
            engine_version(
                Engine::AuroraPostgresql,
                "13.15",
                "aurora-postgresql13",
                vec![upgrade_target("16.4", true)],
            ),
            engine_version(
                Engine::AuroraPostgresql,
                "16.4",
                "aurora-postgresql16",
                vec![],
            ),
        ];
        s.cluster_parameter_groups
            .insert("ledger-apg16".into(), "aurora-postgresql16".into());
    });
    world
}

fn ledger_upgrade(db_identifier: &str) -> serde_json::Value {
    json!({
        "db_identifier": db_identifier,
        "target_engine_version": "16.4",
        "target_db_cluster_parameter_group_name": "ledger-apg16",
        "action": "upgrade"
    })
}

#[tokio::test]
async fn an_aurora_cluster_named_by_its_name_is_checked_as_a_cluster() {
    let world = ledger();
    let run = precheck::handle(world.deps(), started_run(ledger_upgrade(CLUSTER)), inv())
        .await
        .unwrap();
    assert_eq!(run.route, Some(Route::Upgrade));
    let report = run.report.unwrap();
    assert_eq!(report.verdict, Verdict::Pass, "{:#?}", report.checks);
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert!(ids.contains(&"target-cluster-parameter-group"), "{ids:?}");
    assert!(!ids.contains(&"free-storage"), "{ids:?}");

    let source = run.source.unwrap();
    assert_eq!(source.kind, bluegreen_domain::model::db::DbKind::Cluster);
    assert_eq!(source.arn, CLUSTER_ARN);
    assert_eq!(source.members, ["ledger-instance-1", "ledger-instance-2"]);
    assert_eq!(source.parameters["rds.logical_replication"], "1");
    assert_eq!(source.parameters["max_worker_processes"], "16");

    let plan = run.plan.unwrap();
    assert_eq!(plan.source_arn, CLUSTER_ARN);
    assert_eq!(plan.deployment_name, "rbg-ledger-to-16-4");
    assert_eq!(
        plan.target_db_cluster_parameter_group_name.as_deref(),
        Some("ledger-apg16")
    );
    assert_eq!(
        plan.target_db_parameter_group_name.as_deref(),
        Some("default.aurora-postgresql16")
    );
    // No free-storage metric for a cluster; nothing changed.
    assert!(world.with(|s| s.metric_queries.is_empty()));
    assert_read_only(&world);
}

#[tokio::test]
async fn naming_an_instance_of_a_cluster_upgrades_its_cluster() {
    let world = ledger();
    let run = precheck::handle(
        world.deps(),
        started_run(ledger_upgrade("ledger-instance-2")),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(run.source.unwrap().identifier, CLUSTER);
    assert_eq!(run.plan.unwrap().deployment_name, "rbg-ledger-to-16-4");
}

#[tokio::test]
async fn an_aurora_cluster_without_a_target_cluster_group_fails_the_precheck() {
    let world = ledger();
    let mut input = ledger_upgrade(CLUSTER);
    input
        .as_object_mut()
        .unwrap()
        .remove("target_db_cluster_parameter_group_name");
    let (name, msg) = err_of(precheck::handle(world.deps(), started_run(input), inv()).await);
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(
        &msg,
        &["[target-cluster-parameter-group] no target_db_cluster_parameter_group_name"],
    );
}

#[tokio::test]
async fn a_database_upgraded_before_finds_its_new_old_blue_whatever_its_number() {
    // orders-pg was upgraded once (orders-pg-old1, kept as advised, on 12.19) and now again:
    // RDS named this switchover's old blue orders-pg-old2.
    let world = World::switched_over();
    let mut old1 = instance("orders-pg-old1", "12.19");
    old1.resource_id = Some("db-FIRSTUPGRADE".into());
    world.put_instance(old1);
    world.put_instance(instance_with_rid("orders-pg-old2", "13.15", BLUE_RID));
    world.with(|s| s.deployments[0].source_arn = arn_of("orders-pg-old2"));
    let run = precheck::handle(
        world.deps(),
        started_run(event("console-upgrade.json")),
        inv(),
    )
    .await
    .unwrap();
    let old = run.old_blue.unwrap();
    assert_eq!(old.identifier, "orders-pg-old2");
    assert_eq!(run.source.unwrap().engine_version, "13.15");
}

#[tokio::test]
async fn a_source_on_a_deprecated_minor_is_checked_against_its_upgrade_targets() {
    // RDS lists a deprecated minor only with IncludeAll, which the adapter always sends
    // (crates/aws); the account serves every version it holds.
    let world = World::orders_pg();
    world.with(|s| {
        for (_, v) in &mut s.engine_versions {
            if v.version == "13.15" {
                v.status = "deprecated".into();
            }
        }
    });
    let run = precheck::handle(world.deps(), started_run(event("console-plan.json")), inv())
        .await
        .unwrap();
    assert_eq!(run.route, Some(Route::Plan));
    let report = run.report.unwrap();
    let target = report
        .checks
        .iter()
        .find(|c| c.id == "upgrade-target")
        .unwrap();
    assert_eq!(target.verdict, Verdict::Pass, "{target:?}");
    assert_eq!(
        world.calls("engine_version"),
        [
            "engine_version postgres 13.15",
            "engine_version postgres 16.4"
        ]
    );
}

#[tokio::test]
async fn an_alarm_from_another_account_is_refused_naming_both_with_nothing_read() {
    let world = World::orders_pg();
    let mut event = event("alarm-state-change.json");
    event["account"] = json!("210987654321");
    let (name, msg) = err_of(precheck::handle(world.deps(), started_run(event), inv()).await);
    assert_eq!(name, "InvalidRequest");
    assert_mentions(&msg, &["210987654321", ACCOUNT, "nothing was changed"]);
    assert!(world.log().is_empty(), "{:?}", world.log());
}

/// These tests run without `DATABASE_CHECKS=on`, as a stack deployed without the sql worker.
#[tokio::test]
async fn a_way_into_the_database_without_the_sql_worker_fails_the_precheck_saying_how_to_deploy_it()
{
    let world = World::orders_pg();
    let mut input = event("console-upgrade.json");
    input["database_iam_user"] = json!("bluegreen_check");
    let (name, msg) =
        err_of(precheck::handle(world.deps(), started_run(input.clone()), inv()).await);
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(
        &msg,
        &["[database-access]", "no sql worker", "DatabaseSubnetIds"],
    );
    assert_read_only(&world);
    // A plan reports it, and records no way in: the state machine skips the sql worker.
    input["action"] = json!("plan");
    let run = precheck::handle(world.deps(), started_run(input), inv())
        .await
        .unwrap();
    assert!(run.database.is_none());
    let report = run.report.unwrap();
    assert_eq!(report.failures()[0].id, "database-access");
}

// ---------------------------------------------------------------- what the stack's roles would be denied

use bluegreen_domain::model::check::Check;
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::run::Run;

const MONITORING_ROLE: &str = "arn:aws:iam::123456789012:role/rds-monitoring-role";
const REPORTING_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster-endpoint:reporting";

fn check<'a>(run: &'a Run, id: &str) -> &'a Check {
    let report = run.report.as_ref().unwrap();
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}: {:#?}", report.checks))
}

fn tag_command(arn: &str) -> String {
    format!(
        "`aws rds add-tags-to-resource --resource-name {arn} --tags Key=bluegreen:managed,Value=true`"
    )
}

fn ledger_plan() -> serde_json::Value {
    let mut input = ledger_upgrade(CLUSTER);
    input["action"] = json!("plan");
    input
}

fn plan_with(extra: serde_json::Value) -> Run {
    let mut input = event("console-plan.json");
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    started_run(input)
}

#[tokio::test]
async fn an_aurora_member_without_the_opt_in_tag_is_named_and_refused_before_anything_changes() {
    let world = ledger();
    world.with(|a| {
        a.db_mut(DbKind::Instance, "ledger-instance-2")
            .unwrap()
            .tags = tags(&[("team", "ledger")])
    });
    let run = precheck::handle(world.deps(), started_run(ledger_plan()), inv())
        .await
        .unwrap();
    assert_eq!(
        run.route,
        Some(Route::Plan),
        "a plan reports what a run would hit"
    );
    let c = check(&run, "opt-in");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_mentions(
        &c.observed,
        &["not tagged bluegreen:managed=true: ledger-instance-2 (Aurora member instance)"],
    );
    assert!(!c.observed.contains("ledger-instance-1"), "{c:?}");
    assert_mentions(&c.fix, &[&tag_command(&arn_of("ledger-instance-2"))]);
    // Each member is described for its own tags, and exported with them.
    assert_eq!(
        world.calls("describe"),
        [
            "describe instance ledger-instance-1",
            "describe instance ledger-instance-2"
        ]
    );
    let members = &run.source.as_ref().unwrap().topology.members;
    assert_eq!(members.len(), 2);
    assert_eq!(members[1].arn, arn_of("ledger-instance-2"));
    assert_eq!(members[1].tags, tags(&[("team", "ledger")]));

    let (name, msg) =
        err_of(precheck::handle(world.deps(), started_run(ledger_upgrade(CLUSTER)), inv()).await);
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(&msg, &["[opt-in]", "ledger-instance-2"]);
    assert_read_only(&world);
}

#[tokio::test]
async fn a_read_replica_without_the_opt_in_tag_is_named() {
    let world = World::orders_pg();
    world.with(|a| {
        a.db_mut(DbKind::Instance, DB).unwrap().read_replicas =
            vec!["orders-pg-r1".into(), "orders-pg-r2".into()]
    });
    for (id, tagged) in [("orders-pg-r1", false), ("orders-pg-r2", true)] {
        let mut r = instance(id, "13.15");
        r.replica_source = Some(DB.into());
        if !tagged {
            r.tags = tags(&[("team", "payments")]);
        }
        world.put_db(r);
    }
    let run = precheck::handle(world.deps(), plan_with(json!({})), inv())
        .await
        .unwrap();
    let c = check(&run, "opt-in");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_mentions(&c.observed, &["orders-pg-r1 (read replica)"]);
    assert!(!c.observed.contains("orders-pg-r2"), "{c:?}");
    assert_mentions(&c.fix, &[&tag_command(&arn_of("orders-pg-r1"))]);
    let replica = &run.source.as_ref().unwrap().topology.replicas[0];
    assert_eq!(replica.arn, arn_of("orders-pg-r1"));
    assert_read_only(&world);
}

fn ledger_with_reporting(endpoint_tags: &[(&str, &str)]) -> World {
    let world = ledger();
    world.with(|a| {
        a.custom_endpoints.insert(
            CLUSTER.into(),
            vec![bluegreen_domain::model::source::CustomEndpoint {
                identifier: "reporting".into(),
                endpoint_type: "READER".into(),
                static_members: vec!["ledger-instance-2".into()],
                arn: REPORTING_ARN.into(),
                tags: tags(endpoint_tags),
                ..Default::default()
            }],
        )
    });
    world
}

#[tokio::test]
async fn a_custom_endpoint_without_the_opt_in_tag_is_named_from_its_listed_tags() {
    let world = ledger_with_reporting(&[("team", "ledger")]);
    let run = precheck::handle(world.deps(), started_run(ledger_plan()), inv())
        .await
        .unwrap();
    // DescribeDBClusterEndpoints answers without tags: they are listed by the endpoint's ARN.
    assert_eq!(world.calls("tags_of"), [format!("tags_of {REPORTING_ARN}")]);
    let endpoint = &run.source.as_ref().unwrap().topology.custom_endpoints[0];
    assert_eq!(endpoint.tags, tags(&[("team", "ledger")]));
    let c = check(&run, "opt-in");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_mentions(&c.observed, &["reporting (custom endpoint)"]);
    assert_mentions(&c.fix, &[&tag_command(REPORTING_ARN)]);

    let world = ledger_with_reporting(&[("bluegreen:managed", "true")]);
    let run = precheck::handle(world.deps(), started_run(ledger_plan()), inv())
        .await
        .unwrap();
    let c = check(&run, "opt-in");
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert_mentions(
        &c.observed,
        &["ledger and its 2 member instances, 1 custom endpoint carry bluegreen:managed=true"],
    );
}

#[tokio::test]
async fn a_custom_endpoints_tags_that_cannot_be_read_are_a_warning_naming_the_permission() {
    let world = ledger_with_reporting(&[("bluegreen:managed", "true")]);
    world.refuse(
        "tags_of",
        "rds:ListTagsForResource",
        "AccessDenied",
        "User is not authorized to perform rds:ListTagsForResource",
    );
    let run = precheck::handle(world.deps(), started_run(ledger_upgrade(CLUSTER)), inv())
        .await
        .expect("an unreadable endpoint's tags do not fail the precheck");
    assert_eq!(run.route, Some(Route::Upgrade));
    let c = check(&run, "topology-read");
    assert_eq!(c.verdict, Verdict::Warn);
    assert_mentions(
        &c.observed,
        &[
            "the tags of custom endpoint reporting: rds:ListTagsForResource",
            "denied",
        ],
    );
    assert_eq!(check(&run, "opt-in").verdict, Verdict::Pass);
}

#[tokio::test]
async fn an_enhanced_monitoring_role_the_stack_was_not_given_fails_and_a_listed_one_passes() {
    let world = ledger();
    world.with(|a| {
        a.db_mut(DbKind::Instance, "ledger-instance-1")
            .unwrap()
            .monitoring_role_arn = Some(MONITORING_ROLE.into())
    });
    let run = precheck::handle(world.deps(), started_run(ledger_plan()), inv())
        .await
        .unwrap();
    let c = check(&run, "monitoring-role");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_mentions(
        &c.observed,
        &[&format!("{MONITORING_ROLE} (used by ledger-instance-1)")],
    );
    assert_mentions(
        &c.fix,
        &[
            &format!("EnhancedMonitoringRoleArns including {MONITORING_ROLE}"),
            "iam:PassRole",
        ],
    );
    let (name, msg) =
        err_of(precheck::handle(world.deps(), started_run(ledger_upgrade(CLUSTER)), inv()).await);
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(&msg, &["[monitoring-role]"]);

    let listed = StackGrants {
        monitoring_roles: vec![MONITORING_ROLE.into()],
        ..StackGrants::default()
    };
    let run = precheck::handle(
        world.deps_with(listed),
        started_run(ledger_upgrade(CLUSTER)),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(run.route, Some(Route::Upgrade));
    assert_eq!(check(&run, "monitoring-role").verdict, Verdict::Pass);
    assert_read_only(&world);
}

/// `orders-pg` encrypted with the customer managed key `CUSTOMER_KEY_ARN`.
fn orders_pg_with_customer_key() -> World {
    let world = World::orders_pg();
    world.put_key(CUSTOMER_KEY_ARN, KeyManager::Customer);
    world.with(|a| {
        a.db_mut(DbKind::Instance, DB).unwrap().kms_key_id = Some(CUSTOMER_KEY_ARN.into())
    });
    world
}

#[tokio::test]
async fn a_customer_managed_key_the_stack_was_not_given_fails() {
    let world = orders_pg_with_customer_key();
    let run = precheck::handle(world.deps(), plan_with(json!({})), inv())
        .await
        .unwrap();
    assert_eq!(
        world.calls("key_manager"),
        [format!("key_manager {CUSTOMER_KEY_ARN}")]
    );
    let c = check(&run, "kms-key");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_mentions(
        &c.observed,
        &[&format!("customer managed KMS key {CUSTOMER_KEY_ARN}")],
    );
    assert_mentions(
        &c.fix,
        &[
            &format!("DatabaseKmsKeyArns including {CUSTOMER_KEY_ARN}"),
            "kms:CreateGrant",
        ],
    );
    let (name, msg) = err_of(
        precheck::handle(
            world.deps(),
            started_run(event("console-upgrade.json")),
            inv(),
        )
        .await,
    );
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(&msg, &["[kms-key]"]);
    assert_read_only(&world);
}

#[tokio::test]
async fn a_listed_key_passes_without_any_kms_call() {
    let world = orders_pg_with_customer_key();
    let listed = StackGrants {
        kms_keys: vec![CUSTOMER_KEY_ARN.into()],
        ..StackGrants::default()
    };
    let run = precheck::handle(
        world.deps_with(listed),
        started_run(event("console-upgrade.json")),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(run.route, Some(Route::Upgrade));
    let c = check(&run, "kms-key");
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert_mentions(&c.observed, &["listed in DatabaseKmsKeyArns"]);
    assert!(world.calls("key_manager").is_empty(), "{:?}", world.log());
}

#[tokio::test]
async fn an_aws_managed_key_passes_once_kms_says_so() {
    let world = World::orders_pg();
    let run = precheck::handle(world.deps(), plan_with(json!({})), inv())
        .await
        .unwrap();
    assert_eq!(
        world.calls("key_manager"),
        [format!("key_manager {AWS_RDS_KEY_ARN}")]
    );
    let c = check(&run, "kms-key");
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert_mentions(&c.observed, &["the AWS managed key"]);
}

#[tokio::test]
async fn a_key_kms_will_not_describe_fails_saying_the_stack_could_not_tell() {
    let world = orders_pg_with_customer_key();
    world.refuse(
        "key_manager",
        "kms:DescribeKey",
        "AccessDeniedException",
        "User is not authorized to perform: kms:DescribeKey",
    );
    let run = precheck::handle(world.deps(), plan_with(json!({})), inv())
        .await
        .expect("a refused DescribeKey is a finding, not an error");
    let c = check(&run, "kms-key");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_mentions(
        &c.observed,
        &[
            "could not tell whether it is AWS managed",
            "kms:DescribeKey was denied",
        ],
    );
    assert_mentions(&c.fix, &["if it is customer managed", "DatabaseKmsKeyArns"]);
}

#[tokio::test]
async fn a_notification_topic_the_stack_may_not_publish_to_fails() {
    let world = World::orders_pg();
    let stack = StackGrants {
        topics: vec![TOPIC_ARN.into()],
        ..StackGrants::default()
    };
    let elsewhere = "arn:aws:sns:us-east-1:123456789012:payments-dba";
    let run = precheck::handle(
        world.deps_with(stack.clone()),
        plan_with(json!({ "notification_topic_arn": elsewhere })),
        inv(),
    )
    .await
    .unwrap();
    let c = check(&run, "notification-topic");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_mentions(
        &c.observed,
        &[&format!(
            "notification_topic_arn {elsewhere} is not one this stack may publish to"
        )],
    );
    assert_mentions(
        &c.fix,
        &[&format!("NotificationTopicArns including {elsewhere}")],
    );
    let mut input = event("console-upgrade.json");
    input["notification_topic_arn"] = json!(elsewhere);
    let (name, msg) =
        err_of(precheck::handle(world.deps_with(stack.clone()), started_run(input), inv()).await);
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(&msg, &["[notification-topic]"]);

    let mut listed = stack;
    listed.topics.push(elsewhere.into());
    let run = precheck::handle(
        world.deps_with(listed),
        plan_with(json!({ "notification_topic_arn": elsewhere })),
        inv(),
    )
    .await
    .unwrap();
    assert_eq!(check(&run, "notification-topic").verdict, Verdict::Pass);
    assert_read_only(&world);
}
