//! `guardrails`: right before switchover, green must still be ready and its replica lag
//! within bound; otherwise hold, and after too many holds fail. Never switch over blind.

mod common;

use aws_sdk_cloudwatch::types::Statistic;
use bluegreen_domain::deployment::Phase;
use bluegreen_domain::guardrail::{GuardrailVerdict, LagReading};
use bluegreen_domain::run::{GuardrailState, Route, Run, WaitState};
use bluegreen_workers::guardrails;
use common::*;
use serde_json::json;

const NOW: u64 = 4000;

fn ready_run(extra: serde_json::Value) -> Run {
    let mut run = run_with_deployment(Route::Upgrade, request_with(extra), "AVAILABLE");
    run.wait = Some(WaitState {
        phase: Phase::Ready,
        polls: 30,
        consecutive_ready: 2,
        next_delay_seconds: 15,
        status: "AVAILABLE".into(),
        pending_tasks: vec![],
    });
    run
}

/// Green ready: deployment AVAILABLE, every task done, the green instance available.
fn green_ready() -> World {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world.put_instance(green_instance("available"));
    world
}

#[tokio::test]
async fn lag_within_bound_is_go_and_reads_the_worst_datapoint_of_green() {
    let world = green_ready();
    world.set_metric("ReplicaLag", GREEN, &[0.4, 1.2, 0.8]);
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        run.guardrail,
        Some(GuardrailState {
            verdict: GuardrailVerdict::Go,
            holds: 0,
            reason: format!("replica lag within 5s: {GREEN} ReplicaLag 1.2s"),
            next_delay_seconds: 30,
            readings: vec![LagReading {
                member: GREEN.into(),
                metric: "ReplicaLag".into(),
                max_seconds: Some(1.2),
            }],
        })
    );
    let q = world.with(|s| s.metric_queries.clone());
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].namespace(), Some("AWS/RDS"));
    assert_eq!(q[0].metric_name(), Some("ReplicaLag"));
    assert_eq!(q[0].dimensions()[0].name(), Some("DBInstanceIdentifier"));
    assert_eq!(q[0].dimensions()[0].value(), Some(GREEN));
    assert_eq!(q[0].statistics(), [Statistic::Maximum]);
    assert_eq!(q[0].period(), Some(60));
    assert_eq!(q[0].end_time().unwrap().secs() as u64, T0 + NOW);
    assert_eq!(q[0].start_time().unwrap().secs() as u64, T0 + NOW - 300);
}

#[tokio::test]
async fn lag_over_the_bound_holds() {
    let world = green_ready();
    world.set_metric("ReplicaLag", GREEN, &[3.0, 12.0]);
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrail.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Hold);
    assert_eq!(g.holds, 1);
    assert_eq!(g.reason, format!("{GREEN} ReplicaLag is 12.0s (max 5s)"));
    assert_eq!(g.next_delay_seconds, 30);
}

#[tokio::test]
async fn no_lag_datapoints_holds() {
    let world = green_ready();
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrail.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Hold);
    assert_mentions(&g.reason, &["has no ReplicaLag datapoints yet"]);
}

#[tokio::test]
async fn the_bound_is_the_requests_max_replica_lag_seconds() {
    let world = green_ready();
    world.set_metric("ReplicaLag", GREEN, &[0.0]);
    let run = guardrails::handle(
        world.deps(),
        ready_run(json!({"max_replica_lag_seconds": 0})),
        inv_at(NOW),
    )
    .await
    .unwrap();
    assert_eq!(run.guardrail.unwrap().verdict, GuardrailVerdict::Go);

    world.set_metric("ReplicaLag", GREEN, &[0.5]);
    let run = guardrails::handle(
        world.deps(),
        ready_run(json!({"max_replica_lag_seconds": 0})),
        inv_at(NOW),
    )
    .await
    .unwrap();
    assert_eq!(run.guardrail.unwrap().verdict, GuardrailVerdict::Hold);
}

#[tokio::test]
async fn holding_past_the_bound_is_a_guardrail_violation() {
    let world = green_ready();
    world.set_metric("ReplicaLag", GREEN, &[40.0]);
    let mut run = ready_run(json!({}));
    run.guardrail = Some(GuardrailState {
        verdict: GuardrailVerdict::Hold,
        holds: 20,
        reason: "lag".into(),
        next_delay_seconds: 30,
        readings: vec![],
    });
    let (name, msg) = err_of(guardrails::handle(world.deps(), run, inv_at(NOW)).await);
    assert_eq!(name, "GuardrailViolated");
    assert_mentions(
        &msg,
        &[
            "not switching over orders-pg",
            "40.0s",
            "after 21 checks over 10 minutes",
            "blue is untouched",
            "`switchover`",
            "`abort`",
        ],
    );
    assert!(world.with(|s| s.switchovers.is_empty()));
}

#[tokio::test]
async fn the_twentieth_hold_still_holds() {
    let world = green_ready();
    world.set_metric("ReplicaLag", GREEN, &[40.0]);
    let mut run = ready_run(json!({}));
    run.guardrail = Some(GuardrailState {
        verdict: GuardrailVerdict::Hold,
        holds: 19,
        reason: "lag".into(),
        next_delay_seconds: 30,
        readings: vec![],
    });
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(run.guardrail.unwrap().holds, 20);
}

#[tokio::test]
async fn green_no_longer_ready_holds_without_reading_lag() {
    let world = green_ready();
    world.put_instance(green_instance("storage-optimization"));
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrail.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Hold);
    assert_eq!(g.reason, "green is no longer ready (AVAILABLE)");
    assert!(g.readings.is_empty());
    assert!(world.with(|s| s.metric_queries.is_empty()));
}

#[tokio::test]
async fn a_switchover_already_started_is_go_without_reading_lag() {
    let world = green_ready();
    world.set_deployment(deployment("SWITCHOVER_IN_PROGRESS"));
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrail.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Go);
    assert_eq!(g.reason, "switchover already SWITCHOVER_IN_PROGRESS");
    assert!(world.with(|s| s.metric_queries.is_empty()));
}

#[tokio::test]
async fn a_failed_deployment_fails_the_guardrail_step() {
    let world = green_ready();
    let mut d = deployment("AVAILABLE");
    d.switchover_details = Some(vec![detail(SOURCE_ARN, GREEN_ARN, "MISSING_TARGET")]);
    world.set_deployment(d);
    let (name, msg) =
        err_of(guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "GreenFailed");
    assert_mentions(&msg, &["MISSING_TARGET"]);
}

// ---------------------------------------------------------------- switchover window
// The run started at T0 = Tuesday 17:05 UTC; NOW is 18:11:40.

#[tokio::test]
async fn before_the_window_opens_the_switchover_waits_exactly_until_it_does() {
    let world = green_ready();
    world.set_metric("ReplicaLag", GREEN, &[0.5]);
    let run = ready_run(json!({"switchover_window": "Tue 19:00-21:00 UTC"}));
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrail.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Wait);
    assert_eq!(g.next_delay_seconds, 2900, "18:11:40 -> 19:00:00");
    assert_eq!(g.holds, 0, "waiting for the window is not a guardrail hold");
    assert!(
        g.reason.contains("opens at 2026-11-24T19:00:00Z"),
        "{}",
        g.reason
    );
    assert!(
        world.calls("GetMetricStatistics").is_empty(),
        "lag is read when the window is open"
    );
}

#[tokio::test]
async fn inside_the_window_the_lag_guardrail_decides() {
    let world = green_ready();
    world.set_metric("ReplicaLag", GREEN, &[0.5]);
    let run = ready_run(json!({"switchover_window": "Tue 18:00-19:00 UTC"}));
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(run.guardrail.unwrap().verdict, GuardrailVerdict::Go);
}

#[tokio::test]
async fn once_the_window_has_closed_the_switchover_is_skipped_and_green_kept() {
    let world = green_ready();
    world.set_metric("ReplicaLag", GREEN, &[0.5]);
    // Started at 17:05 inside the 17:00-18:00 window; green was ready only at 18:11.
    let run = ready_run(json!({"switchover_window": "Tue 17:00-18:00 UTC"}));
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrail.as_ref().unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Skip);
    assert_mentions(
        &g.reason,
        &[
            "closed at 2026-11-24T18:00:00Z",
            "left prepared",
            "`switchover`",
            "`abort`",
        ],
    );
    assert_eq!(
        run.note.as_deref(),
        Some(g.reason.as_str()),
        "the notification and the fleet row say why"
    );
    assert!(world.with(|s| s.switchovers.is_empty() && s.deleted_deployments.is_empty()));
}

#[tokio::test]
async fn a_switchover_already_running_is_followed_whatever_the_window() {
    let world = green_ready();
    world.set_deployment(deployment("SWITCHOVER_IN_PROGRESS"));
    let run = ready_run(json!({"switchover_window": "Tue 17:00-18:00 UTC"}));
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(run.guardrail.unwrap().verdict, GuardrailVerdict::Go);
}
