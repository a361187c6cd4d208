//! `abort`: deletes an unswitched deployment with its green (DeleteTarget), turning off
//! deletion protection on green alone; refused after switchover. The failure path calls the
//! same step to roll back, except when green is healthy, switched, or not ours.

mod common;

use bluegreen_domain::cleanup::abort::AbortState;
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::run::Run;
use bluegreen_domain::switchover::SwitchoverRecord;
use bluegreen_workers::abort;
use common::*;
use serde_json::json;

const NOW: u64 = 3000;

fn abort_run() -> Run {
    run_with_deployment(
        Route::Abort,
        request_with(json!({"action": "abort"})),
        "AVAILABLE",
    )
}

/// An upgrade the state machine caught failing with `error`.
fn failed_upgrade(error: &str) -> Run {
    let mut run = run_with_deployment(Route::Upgrade, request_with(json!({})), "PROVISIONING");
    run.error = Some(json!({"Error": error, "Cause": "{\"errorMessage\": \"...\"}"}));
    run
}

/// Green built and protected from deletion, as the source was.
fn green_built() -> World {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world.put_instance(green_instance("available"));
    world
}

fn mutations(world: &World) -> Vec<String> {
    world.mutations()
}

#[tokio::test]
async fn abort_before_switchover_unprotects_green_only_and_deletes_it_with_the_deployment() {
    let world = green_built();
    let run = abort::handle(world.deps(), abort_run(), inv_at(NOW))
        .await
        .unwrap();

    assert_eq!(
        world.with(|s| s.modified.clone()),
        [Modification::DeletionProtectionOff {
            kind: DbKind::Instance,
            id: GREEN.into()
        }]
    );
    assert_eq!(
        world.with(|s| s.deleted_deployments.clone()),
        [(DEPLOYMENT_ID.to_string(), true)]
    );
    assert_eq!(
        mutations(&world),
        [
            format!("disable_deletion_protection instance {GREEN}"),
            format!("delete_deployment {DEPLOYMENT_ID} delete-target"),
        ]
    );
    // Green goes with the deployment; the source is never touched.
    assert_eq!(world.instance(GREEN).status, "deleting");
    assert!(
        world.log().iter().all(|l| !l.ends_with(&format!(" {DB}"))),
        "{:?}",
        world.log()
    );
    assert_eq!(world.instance(DB), source_instance());

    assert_eq!(
        run.abort,
        Some(AbortState {
            deleted_target: true,
            done: false,
            next_delay_seconds: 30,
            steps: vec![
                format!("turned off deletion protection on green {GREEN}"),
                format!("deleting deployment {DEPLOYMENT_NAME} with its green (DeleteTarget)"),
            ],
        })
    );
    assert!(run.rollback.is_none());
}

#[tokio::test]
async fn a_green_without_deletion_protection_is_not_modified() {
    let world = green_built();
    let mut green = green_instance("available");
    green.deletion_protection = false;
    world.put_instance(green);
    abort::handle(world.deps(), abort_run(), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        mutations(&world),
        [format!("delete_deployment {DEPLOYMENT_ID} delete-target")]
    );
}

#[tokio::test]
async fn a_source_listed_as_a_target_member_is_never_touched() {
    let world = green_built();
    let mut d = deployment("AVAILABLE");
    d.switchover_details = vec![
        detail(SOURCE_ARN, GREEN_ARN, "AVAILABLE"),
        detail(SOURCE_ARN, SOURCE_ARN, "AVAILABLE"),
    ];
    world.set_deployment(d);
    abort::handle(world.deps(), abort_run(), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        world.with(|s| s.modified.clone()),
        [Modification::DeletionProtectionOff {
            kind: DbKind::Instance,
            id: GREEN.into()
        }]
    );
    assert_eq!(world.instance(DB), source_instance());
}

#[tokio::test]
async fn a_deployment_being_deleted_is_polled_without_another_delete() {
    let world = green_built();
    world.set_deployment(deployment("DELETING"));
    let run = abort::handle(world.deps(), abort_run(), inv_at(NOW))
        .await
        .unwrap();
    assert!(mutations(&world).is_empty());
    let a = run.abort.unwrap();
    assert!(!a.done);
    assert_eq!(a.next_delay_seconds, 30);
}

#[tokio::test]
async fn once_the_deployment_is_gone_abort_is_done() {
    let world = World::orders_pg();
    let run = abort::handle(world.deps(), abort_run(), inv_at(NOW))
        .await
        .unwrap();
    let a = run.abort.unwrap();
    assert!(a.done);
    assert_eq!(a.next_delay_seconds, 0);
    assert_eq!(
        a.steps,
        [format!(
            "deployment {DEPLOYMENT_NAME} and its green are gone"
        )]
    );
    assert_eq!(run.timeline.get("aborted"), Some(&rfc(NOW)));
    assert!(mutations(&world).is_empty());
}

#[tokio::test]
async fn abort_after_switchover_is_refused_naming_the_old_blue() {
    let world = World::switched_over();
    let (name, msg) = err_of(abort::handle(world.deps(), abort_run(), inv_at(NOW)).await);
    assert_eq!(name, "Refused");
    assert_mentions(
        &msg,
        &[
            "SWITCHOVER_COMPLETED",
            "abort cannot undo a switchover",
            "the old blue orders-pg-old1",
            "snapshot",
        ],
    );
    assert!(mutations(&world).is_empty());
}

#[tokio::test]
async fn abort_during_a_switchover_is_refused() {
    let world = green_built();
    world.set_deployment(deployment("SWITCHOVER_IN_PROGRESS"));
    let (name, _) = err_of(abort::handle(world.deps(), abort_run(), inv_at(NOW)).await);
    assert_eq!(name, "Refused");
    assert!(mutations(&world).is_empty());
}

#[tokio::test]
async fn a_guardrail_violation_keeps_the_healthy_green_without_any_aws_call() {
    let run = abort::handle(no_aws(), failed_upgrade("GuardrailViolated"), inv_at(NOW))
        .await
        .unwrap();
    let r = run.rollback.unwrap();
    assert!(r.done);
    assert!(!r.deleted_target);
    assert_mentions(
        &r.steps[0],
        &[&format!("kept deployment {DEPLOYMENT_NAME} and its green")],
    );
    assert!(run.abort.is_none());
}

#[tokio::test]
async fn a_failure_after_the_switchover_was_requested_is_never_rolled_back() {
    let mut run = failed_upgrade("Lambda.Unknown");
    run.switchover = Some(SwitchoverRecord {
        requested_at: rfc(NOW - 60),
        timeout_seconds: 300,
        already_started: false,
    });
    let run = abort::handle(no_aws(), run, inv_at(NOW)).await.unwrap();
    assert!(run.rollback.unwrap().done);
}

#[tokio::test]
async fn a_failure_before_any_deployment_has_nothing_to_roll_back() {
    let mut run = failed_upgrade("PrecheckFailed");
    run.deployment = None;
    let run = abort::handle(no_aws(), run, inv_at(NOW)).await.unwrap();
    assert_eq!(
        run.rollback.unwrap().steps,
        ["no deployment was created: nothing to roll back"]
    );
}

#[tokio::test]
async fn a_green_that_failed_to_build_is_rolled_back_with_delete_target() {
    let world = green_built();
    world.set_deployment(deployment("INVALID_CONFIGURATION"));
    let run = abort::handle(world.deps(), failed_upgrade("GreenFailed"), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        world.with(|s| s.deleted_deployments.clone()),
        [(DEPLOYMENT_ID.to_string(), true)]
    );
    let r = run.rollback.unwrap();
    assert!(r.deleted_target);
    assert!(run.abort.is_none());
}

#[tokio::test]
async fn a_rolled_back_green_marks_the_timeline_when_gone() {
    let world = World::orders_pg();
    let run = abort::handle(
        world.deps(),
        failed_upgrade("ProvisioningTimedOut"),
        inv_at(NOW),
    )
    .await
    .unwrap();
    assert!(run.rollback.unwrap().done);
    assert_eq!(run.timeline.get("rolled_back"), Some(&rfc(NOW)));
    assert!(!run.timeline.contains_key("aborted"));
}

#[tokio::test]
async fn a_refused_switchover_call_or_an_aws_outage_keeps_green_for_a_later_switchover() {
    // RDS answered InvalidBlueGreenDeploymentStateFault past every retry, or AWS was
    // unavailable: the build did not fail, so green stays (the README's promise).
    for error in [
        "DeploymentStateTransient",
        "AwsUnavailable",
        "Throttled",
        "Lambda.Unknown",
        "States.Timeout",
    ] {
        let run = abort::handle(no_aws(), failed_upgrade(error), inv_at(NOW))
            .await
            .unwrap();
        let r = run.rollback.unwrap();
        assert!(r.done && !r.deleted_target, "{error}");
    }
}
