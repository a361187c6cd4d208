//! What surrounds the source, gathered by `precheck` for the domain's topology checks (read
//! replicas, RDS Proxy targets, Aurora custom endpoints and global database, zero-ETL
//! integrations), the cost of waiting (DescribeDBMajorEngineVersions), and `verify` after
//! the switchover on the same facts (bluegreen-facts.md: in-Region replicas are copied into
//! green and switched over with it; a proxy follows the switchover).

mod common;

use bluegreen_domain::model::check::Verdict;
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::lifecycle::MajorLifecycle;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::source::{
    CustomEndpoint, DmsEndpoint, DmsTaskListing, GlobalMembership, Integration, Proxy,
};
use bluegreen_domain::run::Run;
use bluegreen_domain::switchover::SwitchoverRecord;
use bluegreen_workers::{precheck, verify};
use common::*;
use serde_json::json;

fn plan_run() -> Run {
    started_run(event("console-plan.json"))
}

fn upgrade_run() -> Run {
    started_run(event("console-upgrade.json"))
}

fn replica(id: &str, of: &str) -> bluegreen_domain::model::source::SourceDb {
    let mut r = instance(id, "13.15");
    r.replica_source = Some(of.into());
    r.multi_az = false;
    r
}

fn check<'a>(run: &'a Run, id: &str) -> &'a bluegreen_domain::model::check::Check {
    let report = run.report.as_ref().unwrap();
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}: {:#?}", report.checks))
}

/// `orders-pg` with two in-Region replicas.
fn with_two_replicas() -> World {
    let world = World::orders_pg();
    world.with(|a| {
        let src = a.db_mut(DbKind::Instance, DB).unwrap();
        src.read_replicas = vec!["orders-pg-r1".into(), "orders-pg-r2".into()];
    });
    world.put_db(replica("orders-pg-r1", DB));
    world.put_db(replica("orders-pg-r2", DB));
    world
}

fn pg13_lifecycle() -> MajorLifecycle {
    MajorLifecycle {
        engine: "postgres".into(),
        major: "13".into(),
        standard_support_ends: Some("2026-02-28".into()),
        extended_support_starts: Some("2026-03-01".into()),
        extended_support_ends: Some("2029-02-28".into()),
    }
}

#[tokio::test]
async fn each_in_region_replica_is_described_and_accepted() {
    let world = with_two_replicas();
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let source = run.source.as_ref().unwrap();
    let names: Vec<&str> = source
        .topology
        .replicas
        .iter()
        .map(|r| r.identifier.as_str())
        .collect();
    assert_eq!(names, ["orders-pg-r1", "orders-pg-r2"]);
    let r1 = &source.topology.replicas[0];
    assert_eq!(r1.status, "available");
    assert_eq!(r1.engine_version, "13.15");
    assert_eq!(r1.replicates_from.as_deref(), Some(DB));
    assert_eq!(r1.region, None, "in the source's Region");
    assert_eq!(r1.resource_id.as_deref(), Some("db-ORDERSPGR1"));
    let c = check(&run, "replicas");
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert!(c.observed.contains("orders-pg-r1, orders-pg-r2"), "{c:?}");
    assert_eq!(
        world.calls("describe"),
        [
            "describe instance orders-pg-r1",
            "describe instance orders-pg-r2"
        ]
    );
    assert!(world.mutations().is_empty());
}

#[tokio::test]
async fn a_cross_region_replica_is_refused_before_anything_changes() {
    let world = World::orders_pg();
    world.with(|a| {
        a.db_mut(DbKind::Instance, DB).unwrap().read_replicas =
            vec!["arn:aws:rds:eu-west-1:123456789012:db:orders-pg-dr".into()];
    });
    let err = precheck::handle(world.deps(), upgrade_run(), inv())
        .await
        .unwrap_err();
    let (name, msg) = err_of::<()>(Err(err));
    assert_eq!(name, "PrecheckFailed");
    assert_mentions(
        &msg,
        &["[replicas]", "orders-pg-dr (eu-west-1)", "recreate it"],
    );
    assert!(
        world.calls("describe").is_empty(),
        "a replica in another Region is not described here"
    );
    assert!(world.mutations().is_empty());
}

#[tokio::test]
async fn a_cascading_replica_and_a_source_that_is_a_replica_are_refused() {
    let world = with_two_replicas();
    world.with(|a| {
        a.db_mut(DbKind::Instance, "orders-pg-r2")
            .unwrap()
            .read_replicas = vec!["orders-pg-r2-r".into()];
    });
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let c = check(&run, "replicas");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed
            .contains("orders-pg-r2 (replicated by orders-pg-r2-r)"),
        "{c:?}"
    );

    let world = World::orders_pg();
    world.with(|a| {
        a.db_mut(DbKind::Instance, DB).unwrap().replica_source = Some("orders-primary".into());
    });
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let c = check(&run, "replicas");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.fix.contains("upgrade the primary orders-primary"),
        "{c:?}"
    );
}

fn proxy(name: &str, target: &str, state: &str) -> Proxy {
    Proxy {
        name: name.into(),
        engine_family: "POSTGRESQL".into(),
        target: target.into(),
        target_endpoint: Some(endpoint_of(target)),
        state: state.into(),
        reason: None,
    }
}

#[tokio::test]
async fn the_proxies_whose_targets_include_the_source_are_found_and_judged() {
    let world = World::orders_pg();
    world.with(|a| {
        a.proxies = vec![
            proxy("orders-proxy", DB, "AVAILABLE"),
            proxy("other-proxy", "billing", "AVAILABLE"),
        ]
    });
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let proxies = &run.source.as_ref().unwrap().topology.proxies;
    assert_eq!(proxies.len(), 1, "{proxies:?}");
    assert_eq!(proxies[0].name, "orders-proxy");
    let c = check(&run, "rds-proxy");
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");

    let world = World::orders_pg();
    world.with(|a| {
        let mut p = proxy("orders-proxy", DB, "UNAVAILABLE");
        p.reason = Some("AUTH_FAILURE".into());
        a.proxies = vec![p];
    });
    let err = precheck::handle(world.deps(), upgrade_run(), inv())
        .await
        .unwrap_err();
    assert_mentions(
        &err.to_string(),
        &["[rds-proxy]", "UNAVAILABLE (AUTH_FAILURE)"],
    );
    assert!(world.mutations().is_empty());
}

#[tokio::test]
async fn a_denied_optional_read_is_a_warning_naming_the_permission() {
    let world = World::orders_pg();
    world.refuse(
        "proxy_targets",
        "rds:DescribeDBProxies",
        "AccessDenied",
        "User is not authorized to perform rds:DescribeDBProxies",
    );
    world.refuse(
        "integrations",
        "rds:DescribeIntegrations",
        "AccessDenied",
        "User is not authorized to perform rds:DescribeIntegrations",
    );
    let run = precheck::handle(world.deps(), upgrade_run(), inv())
        .await
        .expect("a denied optional read does not fail the precheck");
    assert_eq!(run.route, Some(Route::Upgrade));
    let c = check(&run, "topology-read");
    assert_eq!(c.verdict, Verdict::Warn);
    assert_mentions(
        &c.observed,
        &[
            "rds:DescribeDBProxies",
            "rds:DescribeIntegrations",
            "denied",
        ],
    );
    assert_eq!(run.report.as_ref().unwrap().verdict, Verdict::Warn);
}

#[tokio::test]
async fn a_zero_etl_integration_warns_at_plan_and_does_not_refuse_the_create() {
    // AWS blocks the switchover while an integration exists, not the create: the guardrails
    // step refuses it right before `Switchover` (crates/workers/tests/guardrails.rs).
    let world = World::orders_pg();
    world.with(|a| {
        a.integrations = vec![(
            SOURCE_ARN.into(),
            Integration {
                name: "orders-to-redshift".into(),
                target: "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/x".into(),
                status: "active".into(),
            },
        )]
    });
    let run = precheck::handle(world.deps(), upgrade_run(), inv())
        .await
        .expect("an integration does not refuse the create");
    let report = run.report.as_ref().unwrap();
    let c = report
        .checks
        .iter()
        .find(|c| c.id == "zero-etl-integrations")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert_mentions(&c.observed, &["orders-to-redshift", "guardrails step"]);
    assert_mentions(&c.fix, &["delete-integration"]);
}

const REPORTING_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster-endpoint:reporting";

/// `ledger` on Aurora PostgreSQL 13.12, two members, the custom endpoint `reporting`; all
/// opted in.
fn ledger_world() -> World {
    let world = World::empty();
    world.put_db(aurora_cluster(CLUSTER, "13.12", &["ledger-1", "ledger-2"]));
    world.put_db(aurora_instance("ledger-1", "13.12"));
    world.put_db(aurora_instance("ledger-2", "13.12"));
    world.with(|a| {
        a.custom_endpoints.insert(
            CLUSTER.into(),
            vec![CustomEndpoint {
                identifier: "reporting".into(),
                endpoint_type: "READER".into(),
                static_members: vec!["ledger-2".into()],
                excluded_members: vec![],
                arn: REPORTING_ARN.into(),
                tags: tags(&[("bluegreen:managed", "true")]),
                tags_unread: false,
            }],
        );
    });
    world
}

fn ledger_plan() -> Run {
    started_run(
        json!({"db_identifier": CLUSTER, "target_engine_version": "16.4",
        "target_db_cluster_parameter_group_name": "ledger-apg16"}),
    )
}

#[tokio::test]
async fn an_aurora_clusters_custom_endpoints_and_global_database_are_read() {
    let world = ledger_world();
    let run = precheck::handle(world.deps(), ledger_plan(), inv())
        .await
        .unwrap();
    let t = &run.source.as_ref().unwrap().topology;
    assert_eq!(t.custom_endpoints.len(), 1);
    assert_eq!(t.custom_endpoints[0].static_members, ["ledger-2"]);
    assert_eq!(t.global, None);
    assert_eq!(world.calls("custom_endpoints"), ["custom_endpoints ledger"]);
    assert_eq!(
        world.calls("global_membership"),
        [format!("global_membership {CLUSTER_ARN}")]
    );

    world.with(|a| {
        a.global_clusters.insert(
            "ledger-global".into(),
            vec![
                (CLUSTER_ARN.into(), true),
                (
                    "arn:aws:rds:eu-west-1:123456789012:cluster:ledger-eu".into(),
                    false,
                ),
            ],
        );
    });
    let run = precheck::handle(world.deps(), ledger_plan(), inv())
        .await
        .unwrap();
    assert_eq!(
        run.source.as_ref().unwrap().topology.global,
        Some(GlobalMembership {
            global_cluster: "ledger-global".into(),
            is_primary: true,
            members: vec![
                CLUSTER_ARN.into(),
                "arn:aws:rds:eu-west-1:123456789012:cluster:ledger-eu".into()
            ],
        })
    );
    let c = check(&run, "global-database");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(c
        .observed
        .contains("primary cluster of Aurora Global Database ledger-global"));
}

#[tokio::test]
async fn the_plan_reports_the_cost_of_waiting_with_replicas_and_standby_counted() {
    let world = with_two_replicas();
    world.with(|a| a.lifecycles = vec![pg13_lifecycle()]);
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let cost = run
        .report
        .as_ref()
        .unwrap()
        .cost_of_waiting
        .clone()
        .unwrap();
    assert_eq!(
        world.calls("major_lifecycle"),
        ["major_lifecycle postgres 13"]
    );
    assert_eq!(cost.major, "13");
    assert_eq!(cost.standard_support_ends.as_deref(), Some("2026-02-28"));
    assert!(cost.in_extended_support, "{cost:?}");
    // db.r6g.large = 2 vCPUs, times primary + Multi-AZ standby + 2 replicas.
    assert_eq!(cost.vcpus_billed, Some(8));
    assert_eq!(cost.rate_per_vcpu_hour, 0.1);
    assert_eq!(cost.monthly_usd, Some(584.4));
}

#[tokio::test]
async fn an_unreadable_lifecycle_leaves_the_cost_unknown_never_fails_the_plan() {
    let world = World::orders_pg();
    world.refuse(
        "major_lifecycle",
        "rds:DescribeDBMajorEngineVersions",
        "AccessDenied",
        "not authorized",
    );
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let cost = run
        .report
        .as_ref()
        .unwrap()
        .cost_of_waiting
        .clone()
        .unwrap();
    assert_eq!(cost.standard_support_ends, None);
    assert!(!cost.in_extended_support);
    assert_mentions(
        &cost.note,
        &["unknown", "rds:DescribeDBMajorEngineVersions"],
    );

    let world = World::orders_pg();
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let cost = run
        .report
        .as_ref()
        .unwrap()
        .cost_of_waiting
        .clone()
        .unwrap();
    assert!(cost.note.contains("no lifecycle"), "{cost:?}");
}

// ---------------------------------------------------------------- after the switchover

const NOW: u64 = 4200;

/// The account after a switchover of `orders-pg` with two replicas: production's replicas
/// (green's, renamed) on 16.4 replicating from production, the old ones `-old1` on 13.15
/// replicating from the old blue; `orders-proxy` on production.
fn switched_with_replicas() -> World {
    let world = World::switched_over();
    for n in ["orders-pg-r1", "orders-pg-r2"] {
        let mut old = replica(&format!("{n}-old1"), OLD_BLUE);
        old.resource_id = Some(format!("db-{}", n.to_ascii_uppercase().replace('-', "")));
        world.put_db(old);
        let mut new = replica(n, DB);
        new.engine_version = "16.4".into();
        new.resource_id = Some(format!(
            "db-GREEN{}",
            n.to_ascii_uppercase().replace('-', "")
        ));
        world.put_db(new);
    }
    world.with(|a| {
        a.db_mut(DbKind::Instance, OLD_BLUE).unwrap().read_replicas =
            vec!["orders-pg-r1-old1".into(), "orders-pg-r2-old1".into()];
        let mut p = proxy("orders-proxy", DB, "AVAILABLE");
        p.target_endpoint = Some(ENDPOINT.into());
        a.proxies = vec![p];
    });
    world
}

/// What the precheck exported before the switchover: two replicas and a proxy.
fn switched_run() -> Run {
    let mut run = run_with_deployment(
        Route::Upgrade,
        request_with(json!({})),
        "SWITCHOVER_IN_PROGRESS",
    );
    run.switchover = Some(SwitchoverRecord {
        requested_at: rfc(4100),
        timeout_seconds: 300,
        already_started: false,
    });
    let source = run.source.as_mut().unwrap();
    source.read_replicas = vec!["orders-pg-r1".into(), "orders-pg-r2".into()];
    for n in ["orders-pg-r1", "orders-pg-r2"] {
        let db = replica(n, DB);
        source
            .topology
            .replicas
            .push(bluegreen_domain::model::source::Replica::from_db(
                &db,
                Some("us-east-1"),
            ));
    }
    source.topology.proxies = vec![proxy("orders-proxy", DB, "AVAILABLE")];
    run
}

#[tokio::test]
async fn every_production_replica_and_proxy_is_verified_and_the_old_replicas_are_found() {
    let world = switched_with_replicas();
    let run = verify::handle(world.deps(), switched_run(), inv_at(NOW))
        .await
        .unwrap();
    let old = run.old_blue.as_ref().unwrap();
    assert_eq!(old.identifier, OLD_BLUE);
    assert_eq!(old.replicas, ["orders-pg-r1-old1", "orders-pg-r2-old1"]);
    assert_eq!(
        world.calls("describe_by_resource_id"),
        [
            format!("describe_by_resource_id instance {BLUE_RID}"),
            "describe_by_resource_id instance db-ORDERSPGR1".to_string(),
            "describe_by_resource_id instance db-ORDERSPGR2".to_string(),
        ]
    );
    assert_eq!(world.calls("proxy_targets"), ["proxy_targets"]);
}

#[tokio::test]
async fn a_replica_left_on_the_old_primary_or_a_proxy_left_on_blue_fails_verification() {
    let world = switched_with_replicas();
    world.with(|a| {
        let r2 = a.db_mut(DbKind::Instance, "orders-pg-r2").unwrap();
        r2.replica_source = Some(OLD_BLUE.into());
        r2.engine_version = "13.15".into();
        let mut p = proxy("orders-proxy", OLD_BLUE, "UNAVAILABLE");
        p.reason = Some("CONNECTION_FAILED".into());
        a.proxies = vec![p];
    });
    let (name, msg) = err_of(verify::handle(world.deps(), switched_run(), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &[
            "replica orders-pg-r2 runs 13.15, not 16.4",
            "replicates from orders-pg-old1, not the new production orders-pg",
            "RDS Proxy orders-proxy targets orders-pg-old1",
            "CONNECTION_FAILED",
        ],
    );

    let world = switched_with_replicas();
    world.remove_instance("orders-pg-r1");
    let (_, msg) = err_of(verify::handle(world.deps(), switched_run(), inv_at(NOW)).await);
    assert_mentions(&msg, &["the production replica orders-pg-r1 is missing"]);
}

#[tokio::test]
async fn an_old_replica_that_is_gone_fails_verification() {
    let world = switched_with_replicas();
    world.remove_instance("orders-pg-r2-old1");
    let (_, msg) = err_of(verify::handle(world.deps(), switched_run(), inv_at(NOW)).await);
    assert_mentions(
        &msg,
        &["blue's replica orders-pg-r2 (resource id db-ORDERSPGR2) is missing"],
    );
}

// ---------------------------------------------------------------- cleanup

const SOAKED: u64 = 4200 + 24 * 3600;

fn soaked_with_replicas(extra: serde_json::Value) -> Run {
    let mut run = run_with_deployment(Route::Upgrade, request_with(extra), "SWITCHOVER_COMPLETED");
    run.mark("verified", &rfc(4200));
    let mut old = old_blue_record();
    old.replicas = vec!["orders-pg-r1-old1".into(), "orders-pg-r2-old1".into()];
    run.old_blue = Some(old);
    run
}

#[tokio::test]
async fn the_old_replicas_are_deleted_before_the_old_primary_only_when_asked() {
    let world = switched_with_replicas();
    let run = soaked_with_replicas(json!({"final_snapshot": false, "delete_old_blue": true}));
    let run = bluegreen_workers::cleanup::handle(world.deps(), run, inv_at(SOAKED))
        .await
        .unwrap();
    assert_eq!(
        world.calls("delete_db"),
        [
            "delete_db instance orders-pg-r1-old1",
            "delete_db instance orders-pg-r2-old1"
        ],
        "the replicas first: deleting a primary would promote them"
    );
    assert_eq!(
        world.calls("disable_deletion_protection"),
        [
            "disable_deletion_protection instance orders-pg-r1-old1",
            "disable_deletion_protection instance orders-pg-r2-old1"
        ],
        "a protected old replica has its protection turned off first"
    );
    assert!(!run.cleanup.as_ref().unwrap().done);
    world.finish_deletions();
    let run = bluegreen_workers::cleanup::handle(world.deps(), run, inv_at(SOAKED + 60))
        .await
        .unwrap();
    assert_eq!(
        world.calls("delete_db").last().map(String::as_str),
        Some(format!("delete_db instance {OLD_BLUE}").as_str())
    );
    let _ = run;

    // Without delete_old_blue the old replicas stay with the old primary (the fallback).
    let world = switched_with_replicas();
    let run = soaked_with_replicas(json!({"final_snapshot": false}));
    let run = bluegreen_workers::cleanup::handle(world.deps(), run, inv_at(SOAKED))
        .await
        .unwrap();
    assert!(run.cleanup.unwrap().done);
    assert!(world.calls("delete_db").is_empty());
}

#[tokio::test]
async fn a_run_started_after_the_switchover_takes_the_old_replicas_from_the_old_blue() {
    let world = switched_with_replicas();
    world.with(|a| {
        a.db_mut(DbKind::Instance, DB).unwrap().read_replicas =
            vec!["orders-pg-r1".into(), "orders-pg-r2".into()];
    });
    let run = precheck::handle(world.deps(), upgrade_run(), inv())
        .await
        .unwrap();
    let old = run.old_blue.as_ref().unwrap();
    assert_eq!(old.identifier, OLD_BLUE);
    assert_eq!(old.replicas, ["orders-pg-r1-old1", "orders-pg-r2-old1"]);
    let replicas = &run.source.as_ref().unwrap().topology.replicas;
    assert_eq!(replicas.len(), 2);
    assert!(
        replicas.iter().all(|r| r.resource_id.is_none()),
        "production's replicas now carry green's resource ids, not blue's replicas': {replicas:?}"
    );
    // Verify then checks production's replicas by name and keeps the old blue's list.
    let mut run = run;
    run.switchover = Some(SwitchoverRecord {
        requested_at: rfc(4100),
        timeout_seconds: 300,
        already_started: true,
    });
    let run = verify::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        run.old_blue.unwrap().replicas,
        ["orders-pg-r1-old1", "orders-pg-r2-old1"]
    );
}

fn dms_endpoint(id: &str, host: &str) -> DmsEndpoint {
    DmsEndpoint {
        arn: format!(
            "arn:aws:dms:us-east-1:{ACCOUNT}:endpoint:{}",
            id.to_uppercase()
        ),
        identifier: id.into(),
        server_name: Some(host.into()),
        port: Some(5432),
    }
}

fn dms_task(id: &str, source: &DmsEndpoint, target: &str) -> DmsTaskListing {
    DmsTaskListing {
        identifier: id.into(),
        status: "running".into(),
        source_endpoint_arn: source.arn.clone(),
        target_endpoint_arn: target.into(),
    }
}

#[tokio::test]
async fn dms_tasks_on_the_sources_endpoint_are_named_in_the_plan() {
    let world = World::orders_pg();
    let ours = dms_endpoint("orders-src", &endpoint_of(DB));
    let theirs = dms_endpoint("billing-src", &endpoint_of("billing-pg"));
    world.with(|a| {
        a.dms_tasks = vec![
            dms_task(
                "orders-cdc",
                &ours,
                "arn:aws:dms:us-east-1:123456789012:endpoint:KINESIS",
            ),
            dms_task(
                "billing-cdc",
                &theirs,
                "arn:aws:dms:us-east-1:123456789012:endpoint:S3",
            ),
        ];
        a.dms_endpoints = vec![ours.clone(), theirs.clone()];
    });
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let c = check(&run, "dms-tasks");
    assert_eq!(c.verdict, Verdict::Warn);
    assert_mentions(&c.observed, &["orders-cdc (running, endpoint orders-src)"]);
    assert!(!c.observed.contains("billing"), "{}", c.observed);
    assert_mentions(&c.fix, &["recreate"]);
    let source = run.source.as_ref().unwrap();
    assert_eq!(
        source.topology.dms_tasks.len(),
        1,
        "exported with the topology"
    );
    // Tasks are asked for by the matching endpoint only.
    assert!(
        world.log().iter().any(|l| l.contains("dms_tasks_using")
            && l.contains(&ours.arn)
            && !l.contains(&theirs.arn)),
        "{:?}",
        world.log()
    );
    assert!(world.mutations().is_empty());
}

#[tokio::test]
async fn without_a_dms_endpoint_on_the_source_no_task_is_read_and_nothing_is_said() {
    let world = World::orders_pg();
    world.with(|a| a.dms_endpoints = vec![dms_endpoint("billing-src", &endpoint_of("billing-pg"))]);
    let run = precheck::handle(world.deps(), plan_run(), inv())
        .await
        .unwrap();
    let ids: Vec<&str> = run
        .report
        .as_ref()
        .unwrap()
        .checks
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert!(
        !ids.contains(&"dms-tasks") && !ids.contains(&"topology-read"),
        "{ids:?}"
    );
    assert!(
        world.log().iter().all(|l| !l.contains("dms_tasks_using")),
        "{:?}",
        world.log()
    );
}

#[tokio::test]
async fn a_denied_dms_read_is_a_warning_naming_both_permissions() {
    let world = World::orders_pg();
    world.refuse(
        "dms_endpoints",
        "dms:DescribeEndpoints",
        "AccessDeniedException",
        "User is not authorized to perform: dms:DescribeEndpoints",
    );
    let run = precheck::handle(world.deps(), upgrade_run(), inv())
        .await
        .expect("a denied DMS read does not fail the precheck");
    assert_eq!(run.route, Some(Route::Upgrade));
    let c = check(&run, "topology-read");
    assert_eq!(c.verdict, Verdict::Warn);
    assert_mentions(
        &c.observed,
        &["dms:DescribeEndpoints", "dms:DescribeReplicationTasks"],
    );
}
