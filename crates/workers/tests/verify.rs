//! `verify`: after switchover production must be what the plan promised (same name and
//! endpoint, the target version, available) and the old blue kept as `NAME-old1`.

mod common;

use bluegreen_domain::run::{Route, Run, SwitchoverRecord, Verification};
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

fn assert_nothing_changed(world: &World) {
    let mutations: Vec<String> = world.log().into_iter().filter(|l| is_mutation(l)).collect();
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
        run.verification,
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
    assert_nothing_changed(&world);
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
        &["the old blue orders-pg-old1 is missing: the fallback is gone"],
    );
}

#[tokio::test]
async fn an_old_blue_on_another_version_fails_verification() {
    let world = World::switched_over();
    world.put_instance(instance(OLD_BLUE, "16.4"));
    let (name, msg) =
        err_of(verify::handle(world.deps(), switched_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &["orders-pg-old1 runs 16.4, expected the old version 13.15"],
    );
}

#[tokio::test]
async fn every_problem_is_listed_at_once() {
    let world = World::switched_over();
    world.set_deployment(deployment("SWITCHOVER_IN_PROGRESS"));
    let mut prod = instance(DB, "13.15");
    prod.db_instance_status = Some("modifying".into());
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
            "the old blue orders-pg-old1 is missing",
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
