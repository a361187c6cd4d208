//! `switchover`: asks RDS once, with the request's timeout; a switchover already running or
//! done is recorded, never requested again.

mod common;

use bluegreen_domain::model::deployment::Phase;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::schedule::SWITCHOVER_DELAY;
use bluegreen_domain::run::Run;
use bluegreen_domain::switchover::SwitchoverRecord;
use bluegreen_workers::switchover;
use common::*;
use serde_json::json;

const NOW: u64 = 4100;

fn run_for(extra: serde_json::Value) -> Run {
    run_with_deployment(Route::Upgrade, request_with(extra), "AVAILABLE")
}

fn ready() -> World {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world
}

#[tokio::test]
async fn switchover_is_requested_once_with_the_requests_timeout() {
    let world = ready();
    let run = switchover::handle(
        world.deps(),
        run_for(json!({"switchover_timeout_seconds": 600})),
        inv_at(NOW),
    )
    .await
    .unwrap();

    assert_eq!(
        world.with(|s| s.switchovers.clone()),
        [(DEPLOYMENT_ID.to_string(), 600)]
    );
    assert_eq!(
        world.with(|s| s.deployments[0].status.clone()),
        "SWITCHOVER_IN_PROGRESS"
    );
    assert_eq!(
        run.switchover,
        Some(SwitchoverRecord {
            requested_at: rfc(NOW),
            timeout_seconds: 600,
            already_started: false,
        })
    );
    let w = run.wait.unwrap();
    assert_eq!(w.phase, Phase::Switching);
    assert_eq!(w.next_delay_seconds, SWITCHOVER_DELAY);
    assert_eq!(w.polls, 0);
    assert_eq!(run.timeline.get("switchover_requested"), Some(&rfc(NOW)));
}

#[tokio::test]
async fn the_default_timeout_is_300_seconds() {
    let world = ready();
    switchover::handle(world.deps(), run_for(json!({})), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        world.with(|s| s.switchovers.clone()),
        [(DEPLOYMENT_ID.to_string(), 300)]
    );
}

#[tokio::test]
async fn a_switchover_in_progress_is_recorded_without_another_request() {
    let world = World::orders_pg();
    world.set_deployment(deployment("SWITCHOVER_IN_PROGRESS"));
    let run = switchover::handle(world.deps(), run_for(json!({})), inv_at(NOW))
        .await
        .unwrap();
    assert!(world.with(|s| s.switchovers.is_empty()));
    assert!(run.switchover.unwrap().already_started);
    assert_eq!(run.wait.unwrap().phase, Phase::Switching);
}

#[tokio::test]
async fn a_completed_switchover_is_recorded_as_switched_without_another_request() {
    let world = World::switched_over();
    let run = switchover::handle(world.deps(), run_for(json!({})), inv_at(NOW))
        .await
        .unwrap();
    assert!(world.with(|s| s.switchovers.is_empty()));
    assert!(run.switchover.unwrap().already_started);
    assert_eq!(run.wait.unwrap().phase, Phase::Switched);
}

#[tokio::test]
async fn a_retried_step_keeps_the_first_request_time() {
    let world = World::orders_pg();
    world.set_deployment(deployment("SWITCHOVER_IN_PROGRESS"));
    let mut run = run_for(json!({}));
    run.switchover = Some(SwitchoverRecord {
        requested_at: rfc(NOW - 20),
        timeout_seconds: 300,
        already_started: false,
    });
    run.mark("switchover_requested", &rfc(NOW - 20));
    let run = switchover::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    let s = run.switchover.unwrap();
    assert_eq!(s.requested_at, rfc(NOW - 20));
    assert!(!s.already_started);
    assert_eq!(
        run.timeline.get("switchover_requested"),
        Some(&rfc(NOW - 20))
    );
}

#[tokio::test]
async fn an_invalid_state_fault_is_transient_for_the_state_machine_to_retry() {
    let world = ready();
    world.refuse(
        "switchover",
        "rds:SwitchoverBlueGreenDeployment",
        "InvalidBlueGreenDeploymentStateFault",
        "The blue/green deployment can't be switched over.",
    );
    let r = switchover::handle(world.deps(), run_for(json!({})), inv_at(NOW)).await;
    let e = r.as_ref().unwrap_err().clone();
    assert!(e.is_transient());
    let (name, msg) = err_of(r);
    assert_eq!(name, "DeploymentStateTransient");
    assert_mentions(
        &msg,
        &[
            "rds:SwitchoverBlueGreenDeployment",
            "can't be switched over",
        ],
    );
}

#[tokio::test]
async fn throttling_is_throttled() {
    let world = ready();
    world.refuse(
        "switchover",
        "rds:SwitchoverBlueGreenDeployment",
        "Throttling",
        "Rate exceeded",
    );
    let (name, msg) =
        err_of(switchover::handle(world.deps(), run_for(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "Throttled");
    assert_mentions(&msg, &["Rate exceeded", "backoff"]);
}

#[tokio::test]
async fn a_failed_deployment_is_never_switched_over() {
    let world = World::orders_pg();
    let mut d = deployment("INVALID_CONFIGURATION");
    d.status_details = Some("incompatible parameter(s): max_wal_senders".into());
    world.set_deployment(d);
    let (name, msg) =
        err_of(switchover::handle(world.deps(), run_for(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "GreenFailed");
    assert_mentions(&msg, &["max_wal_senders"]);
    assert!(world.with(|s| s.switchovers.is_empty()));
}

#[tokio::test]
async fn a_deployment_deleted_outside_the_run_is_never_switched_over() {
    let world = World::orders_pg();
    let (name, msg) =
        err_of(switchover::handle(world.deps(), run_for(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "GreenFailed");
    assert_mentions(&msg, &["no longer exists"]);
    assert!(world.with(|s| s.switchovers.is_empty()));
}
