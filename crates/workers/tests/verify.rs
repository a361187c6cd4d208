//! `verify`: after switchover production must be what the plan promised (same name and
//! endpoint, the target version, available) and the old blue, whatever `-oldN` RDS named it,
//! kept on the old version. It is found by blue's resource id, never by a built name.

mod common;

use bluegreen_domain::model::route::Route;
use bluegreen_domain::run::Run;
use bluegreen_domain::switchover::SwitchoverRecord;
use bluegreen_domain::verify::Verification;
use bluegreen_workers::verify;
use common::*;
use serde_json::json;

const NOW: u64 = 4200;

fn switched_run(extra: serde_json::Value) -> Run {
    let mut run = run_with_deployment(
        Route::Upgrade,
        request_with(extra),
        "SWITCHOVER_IN_PROGRESS",
    );
    run.switchover = Some(SwitchoverRecord {
        requested_at: rfc(4100),
        timeout_seconds: 300,
        already_started: false,
    });
    run
}

/// Verify changes nothing but the marker on the old blue (`bluegreen:old-blue-of`).
fn assert_nothing_changed(world: &World) {
    let mutations: Vec<String> = world
        .mutations()
        .into_iter()
        .filter(|l| !l.starts_with("add_tags"))
        .collect();
    assert!(
        mutations.is_empty(),
        "verify changed something: {mutations:?}"
    );
}

#[tokio::test]
async fn a_switched_production_on_the_target_with_its_endpoint_and_old_blue_is_verified() {
    let world = World::switched_over();
    let run = verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        run.verify,
        Some(Verification {
            production_identifier: DB.into(),
            engine_version: "16.4".into(),
            status: "available".into(),
            endpoint: Some(ENDPOINT.into()),
            endpoint_kept: true,
            old_blue_identifier: OLD_BLUE.into(),
            old_blue_arn: OLD_BLUE_ARN.into(),
            deployment_status: "SWITCHOVER_COMPLETED".into(),
        })
    );
    assert_eq!(run.soak_seconds, Some(24 * 3600));
    assert_eq!(run.timeline.get("verified"), Some(&rfc(NOW)));
    assert_eq!(run.old_blue, Some(old_blue_record()));
    assert_nothing_changed(&world);
    assert_eq!(
        world.with(|s| s.tags_added.clone()),
        [(
            OLD_BLUE_ARN.to_string(),
            [("bluegreen:old-blue-of".to_string(), DB.to_string())].into()
        )],
        "the old blue, and only it, is marked as the fallback"
    );
}

#[tokio::test]
async fn the_soak_is_the_requests_soak_hours() {
    let world = World::switched_over();
    let run = verify::handle(
        world.deps(),
        switched_run(json!({"soak_hours": 0})),
        inv_at(NOW),
    )
    .await
    .unwrap();
    assert_eq!(run.soak_seconds, Some(0));
}

#[tokio::test]
async fn production_on_the_wrong_version_fails_verification() {
    let world = World::switched_over();
    world.put_instance(instance(DB, "16.3"));
    let (name, msg) =
        err_of(verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(&msg, &["orders-pg runs 16.3, not the target 16.4"]);
    assert_nothing_changed(&world);
}

#[tokio::test]
async fn a_changed_endpoint_fails_verification() {
    let world = World::switched_over();
    let mut prod = switched_production();
    prod.endpoint = Some(endpoint_of(GREEN));
    world.put_instance(prod);
    let (name, msg) =
        err_of(verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &[
            &format!("the endpoint changed from {ENDPOINT} to {GREEN}.c9akciq32"),
            "applications must be pointed at the new one",
        ],
    );
}

#[tokio::test]
async fn a_missing_old_blue_fails_verification() {
    let world = World::switched_over();
    world.remove_instance(OLD_BLUE);
    let (name, msg) =
        err_of(verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &[
            &format!(
                "the old blue (resource id {BLUE_RID}, reported as orders-pg-old1) is missing"
            ),
            "the fallback is gone",
        ],
    );
}

#[tokio::test]
async fn an_old_blue_on_another_version_fails_verification() {
    let world = World::switched_over();
    world.put_instance(instance_with_rid(OLD_BLUE, "16.4", BLUE_RID));
    let (name, msg) =
        err_of(verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &["the old blue orders-pg-old1 runs 16.4, expected the old version 13.15"],
    );
}

#[tokio::test]
async fn every_problem_is_listed_at_once() {
    let world = World::switched_over();
    world.set_deployment(deployment("SWITCHOVER_IN_PROGRESS"));
    let mut prod = instance(DB, "13.15");
    prod.status = "modifying".into();
    world.put_instance(prod);
    world.remove_instance(OLD_BLUE);
    let (name, msg) =
        err_of(verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &[
            "deployment rbg-orders-pg-to-16-4 is SWITCHOVER_IN_PROGRESS, not SWITCHOVER_COMPLETED",
            "orders-pg runs 13.15, not the target 16.4",
            "orders-pg is `modifying`, not available",
            "is missing: the fallback is gone",
        ],
    );
}

#[tokio::test]
async fn no_production_database_after_switchover_fails_verification() {
    let world = World::switched_over();
    world.remove_instance(DB);
    let (name, msg) =
        err_of(verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &["no database named orders-pg answers after switchover"],
    );
}

/// orders-pg was upgraded once before (its first old blue, `orders-pg-old1` on 12.19, kept
/// as advised): this switchover's old blue is `orders-pg-old2`.
fn upgraded_twice(reported_source: &str) -> World {
    let world = World::switched_over();
    let mut first = instance("orders-pg-old1", "12.19");
    first.resource_id = Some("db-FIRSTUPGRADE".into());
    world.put_instance(first);
    world.put_instance(instance_with_rid("orders-pg-old2", "13.15", BLUE_RID));
    world.with(|s| {
        s.deployments[0].source_arn = reported_source.to_string();
        s.deployments[0].switchover_details =
            vec![detail(reported_source, SOURCE_ARN, "SWITCHOVER_COMPLETED")];
    });
    world
}

#[tokio::test]
async fn a_second_upgrade_verifies_the_old2_and_leaves_the_first_fallback_alone() {
    let world = upgraded_twice(&arn_of("orders-pg-old2"));
    let run = verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let v = run.verify.unwrap();
    assert_eq!(v.old_blue_identifier, "orders-pg-old2");
    assert_eq!(v.old_blue_arn, arn_of("orders-pg-old2"));
    assert_eq!(run.old_blue.unwrap().engine_version, "13.15");
    let tagged: Vec<String> = world.with(|s| s.tags_added.iter().map(|(a, _)| a.clone()).collect());
    assert_eq!(tagged, [arn_of("orders-pg-old2")]);
}

#[tokio::test]
async fn if_rds_keeps_blues_original_arn_the_old_blue_is_still_found_by_its_resource_id() {
    // AWS does not document which ARN the deployment reports after the switchover: the old
    // name (now production's) must not mislead verification.
    let world = upgraded_twice(SOURCE_ARN);
    let run = verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(run.verify.unwrap().old_blue_identifier, "orders-pg-old2");
}

#[tokio::test]
async fn a_deployment_reporting_another_old_blue_than_the_resource_id_fails() {
    let world = upgraded_twice(&arn_of("orders-pg-old1"));
    let (name, msg) =
        err_of(verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &["reports orders-pg-old1 as the old blue, but blue's resource id is on orders-pg-old2"],
    );
}
