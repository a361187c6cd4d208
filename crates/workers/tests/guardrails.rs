//! `guardrails`: right before switchover, green must still be ready and replication lag within
//! bound by the engine's own signal (`bluegreen_domain::guardrails::lag`); otherwise hold, and after too
//! many holds fail. A signal the engine never publishes is never waited for.

mod common;

use bluegreen_aws::ports::Stat;
use bluegreen_domain::guardrails::lag::{LagReading, LagUnit, MAX_ABSENT_CHECKS, RDS_GUARDRAILS};
use bluegreen_domain::guardrails::GuardrailState;
use bluegreen_domain::guardrails::GuardrailVerdict;
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::deployment::Phase;
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::run::Run;
use bluegreen_domain::wait::WaitState;
use bluegreen_memory::MetricQuery;
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
        ..WaitState::default()
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

const MIB: f64 = 1024.0 * 1024.0;

fn dims(q: &MetricQuery) -> Vec<(String, String)> {
    q.dimensions.clone()
}

fn held(holds: u32) -> GuardrailState {
    GuardrailState {
        verdict: GuardrailVerdict::Hold,
        holds,
        reason: "lag".into(),
        next_delay_seconds: 30,
        readings: vec![],
        signal: None,
        decided_by: None,
        absent_checks: 0,
    }
}

/// `orders-pg` as RDS MySQL 8.0 -> 8.4 (binlog replication): the same fake, another engine.
fn mysql_run() -> Run {
    let mut run = ready_run(json!({}));
    run.source.as_mut().unwrap().engine = Engine::Mysql;
    run
}

// ---------------------------------------------------------------- RDS PostgreSQL, major

/// Without `OldestLogicalReplicationSlotLag` (not published), `OldestReplicationSlotLag`
/// decides, as before.
#[tokio::test]
async fn a_postgres_major_upgrade_reads_blues_slot_lag_in_bytes_never_replica_lag() {
    let world = green_ready();
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[1024.0, 4096.0, 2048.0]);
    world.set_instance_metric("ReplicaLag", GREEN, &[99.0]);
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Go);
    assert_eq!(g.decided_by.as_deref(), Some("OldestReplicationSlotLag"));
    assert_eq!(
        g.readings,
        vec![
            LagReading {
                member: DB.into(),
                metric: "OldestLogicalReplicationSlotLag".into(),
                unit: LagUnit::Bytes,
                value: None,
            },
            LagReading {
                member: DB.into(),
                metric: "OldestReplicationSlotLag".into(),
                unit: LagUnit::Bytes,
                value: Some(4096.0),
            }
        ]
    );
    let signal = g.signal.unwrap();
    assert_eq!(
        signal.bound,
        Some(64.0 * MIB),
        "the request's default byte bound"
    );
    let q = world.with(|s| s.metric_queries.clone());
    assert_eq!(q.len(), 2, "two queries, on blue");
    assert_eq!(
        [q[0].metric.as_str(), q[1].metric.as_str()],
        [
            "OldestLogicalReplicationSlotLag",
            "OldestReplicationSlotLag"
        ]
    );
    for q in &q {
        assert_eq!(dims(q), vec![("DBInstanceIdentifier".into(), DB.into())]);
    }
    assert_eq!(q[0].stat, Stat::Maximum);
    assert_eq!(q[0].now, at(NOW));
    assert_eq!(q[0].lookback, std::time::Duration::from_secs(300));
}

/// `OldestReplicationSlotLag` counts every slot on blue, a read replica's physical slot too;
/// `OldestLogicalReplicationSlotLag` the logical ones only (RDS metrics page): a lagging read
/// replica of blue is no reason to hold the switchover when the deployment's slot is caught up.
#[tokio::test]
async fn the_logical_slot_metric_decides_when_it_has_datapoints() {
    let world = green_ready();
    world.set_instance_metric("OldestLogicalReplicationSlotLag", DB, &[0.0, 512.0]);
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[900.0 * MIB]);
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Go, "{}", g.reason);
    assert_eq!(
        g.decided_by.as_deref(),
        Some("OldestLogicalReplicationSlotLag")
    );
    assert!(g.reason.contains("orders-pg 512 bytes"), "{}", g.reason);
    assert_eq!(g.holds, 0);
}

#[tokio::test]
async fn the_logical_slot_lagging_holds_whatever_the_every_slot_metric_says() {
    let world = green_ready();
    world.set_instance_metric("OldestLogicalReplicationSlotLag", DB, &[200.0 * MIB]);
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[0.0]);
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Hold);
    assert!(
        g.reason
            .contains("OldestLogicalReplicationSlotLag is 200.0 MiB"),
        "{}",
        g.reason
    );
}

#[tokio::test]
async fn without_the_logical_metric_a_lagging_replica_slot_still_holds() {
    let world = green_ready();
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[900.0 * MIB]);
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Hold);
    assert!(
        g.reason.contains("OldestReplicationSlotLag is 900.0 MiB"),
        "{}",
        g.reason
    );
}

// ---------------------------------------------------------------- zero-ETL

#[tokio::test]
async fn a_zero_etl_integration_on_blue_or_green_fails_before_any_switchover_keeping_green() {
    use bluegreen_domain::model::source::Integration;
    for (source, side, name) in [(SOURCE_ARN, "blue", DB), (GREEN_ARN, "green", GREEN)] {
        let world = green_ready();
        world.set_instance_metric("OldestLogicalReplicationSlotLag", DB, &[0.0]);
        world.with(|a| {
            a.integrations.push((
                source.to_string(),
                Integration {
                    name: "orders-to-redshift".into(),
                    target: "arn:aws:redshift:us-east-1:123456789012:namespace:abc".into(),
                    status: "active".into(),
                },
            ))
        });
        let (name_, msg) =
            err_of(guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW)).await);
        assert_eq!(name_, "GuardrailViolated");
        assert_mentions(
            &msg,
            &[
                &format!("zero-ETL integration `orders-to-redshift` on {side} {name}"),
                "delete it",
                "run action `switchover`",
                "recreate it",
                "Green is kept",
            ],
        );
        assert!(world.mutations().is_empty());
        assert!(
            world.with(|s| s.metric_queries.is_empty()),
            "nothing to measure"
        );
    }
    // One on another database is none of the switchover's business.
    let world = green_ready();
    world.set_instance_metric("OldestLogicalReplicationSlotLag", DB, &[0.0]);
    world.with(|a| {
        a.integrations
            .push((arn_of("billing"), Integration::default()))
    });
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(run.guardrails.unwrap().verdict, GuardrailVerdict::Go);
}

// ---------------------------------------------------------------- a failed switchover, again

#[tokio::test]
async fn a_deployment_an_earlier_switchover_left_switchover_failed_is_judged_ready() {
    let world = green_ready();
    world.set_deployment(deployment("SWITCHOVER_FAILED"));
    world.set_instance_metric("OldestLogicalReplicationSlotLag", DB, &[0.0]);
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(run.guardrails.unwrap().verdict, GuardrailVerdict::Go);
}

#[tokio::test]
async fn slot_lag_over_the_byte_bound_holds() {
    let world = green_ready();
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[200.0 * MIB]);
    let run = guardrails::handle(
        world.deps(),
        ready_run(json!({"max_replication_slot_lag_bytes": 1_048_576})),
        inv_at(NOW),
    )
    .await
    .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!((g.verdict, g.holds), (GuardrailVerdict::Hold, 1));
    assert_eq!(
        g.reason,
        format!("{DB} OldestReplicationSlotLag is 200.0 MiB (max 1.0 MiB)")
    );
    assert_eq!(g.next_delay_seconds, 30);
}

#[tokio::test]
async fn a_postgres_minor_upgrade_replicates_physically_and_reads_greens_replica_lag() {
    let world = green_ready();
    world.set_instance_metric("ReplicaLag", GREEN, &[0.4, 1.2, 0.8]);
    let mut run = ready_run(json!({}));
    run.plan.as_mut().unwrap().is_major_upgrade = false;
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Go);
    assert_eq!(
        g.reason,
        format!("ReplicaLag within bound (max 5s): {GREEN} 1.2s")
    );
    let q = world.with(|s| s.metric_queries.clone());
    assert_eq!(
        dims(&q[0]),
        vec![("DBInstanceIdentifier".into(), GREEN.into())]
    );
}

// ---------------------------------------------------------------- RDS MySQL / MariaDB

#[tokio::test]
async fn mysql_reads_greens_replica_lag_and_minus_one_holds_as_not_replicating() {
    let world = green_ready();
    world.set_instance_metric("ReplicaLag", GREEN, &[-1.0]);
    let run = guardrails::handle(world.deps(), mysql_run(), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!((g.verdict, g.holds), (GuardrailVerdict::Hold, 1));
    assert_eq!(
        g.reason,
        format!("{GREEN} ReplicaLag is -1: replication to green is not active")
    );
    world.set_instance_metric("ReplicaLag", GREEN, &[0.0, 2.0]);
    let run = guardrails::handle(world.deps(), mysql_run(), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        run.guardrails.unwrap().decided_by.as_deref(),
        Some("ReplicaLag")
    );
}

#[tokio::test]
async fn the_bound_is_the_requests_max_replica_lag_seconds() {
    let world = green_ready();
    world.set_instance_metric("ReplicaLag", GREEN, &[0.0]);
    let mut run = mysql_run();
    run.request = Some(request_with(json!({"max_replica_lag_seconds": 0})));
    let out = guardrails::handle(world.deps(), run.clone(), inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(out.guardrails.unwrap().verdict, GuardrailVerdict::Go);
    world.set_instance_metric("ReplicaLag", GREEN, &[0.5]);
    let out = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(out.guardrails.unwrap().verdict, GuardrailVerdict::Hold);
}

// ---------------------------------------------------------------- a signal that does not come

#[tokio::test]
async fn a_missing_datapoint_is_waited_for_a_bounded_number_of_checks_then_rds_decides() {
    let world = green_ready();
    let mut run = mysql_run();
    for check in 1..=MAX_ABSENT_CHECKS {
        run = guardrails::handle(world.deps(), run, inv_at(NOW))
            .await
            .unwrap();
        let g = run.guardrails.as_ref().unwrap();
        assert_eq!(g.holds, 0, "absence is not a hold (check {check})");
        assert_eq!(g.absent_checks, check.min(MAX_ABSENT_CHECKS - 1));
        if check < MAX_ABSENT_CHECKS {
            assert_eq!(g.verdict, GuardrailVerdict::Hold);
            assert_mentions(&g.reason, &["no ReplicaLag datapoint yet"]);
        } else {
            assert_eq!(g.verdict, GuardrailVerdict::Go);
            assert_eq!(g.decided_by.as_deref(), Some(RDS_GUARDRAILS));
            assert_mentions(&g.reason, &["relying on RDS's own switchover guardrails"]);
        }
    }
}

// ---------------------------------------------------------------- Aurora

/// An Aurora deployment: green cluster `ledger-green-abc` with writer and reader instances.
fn aurora_world(engine: &str) -> (World, Run) {
    let world = World::orders_pg();
    let (blue, green) = ("ledger", "ledger-green-abc");
    let mut d = deployment("AVAILABLE");
    d.source_arn = cluster_arn_of(blue);
    d.target_arn = cluster_arn_of(green);
    d.switchover_details = vec![
        detail(&cluster_arn_of(blue), &cluster_arn_of(green), "AVAILABLE"),
        detail(
            &arn_of("ledger-1"),
            &arn_of("ledger-1-green-abc"),
            "AVAILABLE",
        ),
        detail(
            &arn_of("ledger-2"),
            &arn_of("ledger-2-green-abc"),
            "AVAILABLE",
        ),
    ];
    world.set_deployment(d);
    let mut c = aurora_cluster(green, "16.4", &["ledger-1-green-abc", "ledger-2-green-abc"]);
    c.engine = Engine::parse(engine);
    world.put_db(c);
    for i in ["ledger-1-green-abc", "ledger-2-green-abc"] {
        world.put_instance(aurora_instance(i, "16.4"));
    }
    let mut run = ready_run(json!({}));
    let src = run.source.as_mut().unwrap();
    src.kind = DbKind::Cluster;
    src.identifier = blue.into();
    src.engine = Engine::parse(engine);
    src.members = vec!["ledger-1".into(), "ledger-2".into()];
    (world, run)
}

#[tokio::test]
async fn aurora_mysql_reads_the_green_writers_binlog_lag_with_role_writer() {
    let (world, run) = aurora_world("aurora-mysql");
    world.set_metric(
        "AuroraBinlogReplicaLag",
        &[
            ("DBClusterIdentifier", "ledger-green-abc"),
            ("Role", "WRITER"),
        ],
        &[0.0],
    );
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Go);
    assert_eq!(g.decided_by.as_deref(), Some("AuroraBinlogReplicaLag"));
    let q = world.with(|s| s.metric_queries.clone());
    assert_eq!(q.len(), 1, "the cluster's writer, not each instance");
    assert_eq!(q[0].metric, "AuroraBinlogReplicaLag");
    assert_eq!(
        dims(&q[0]),
        vec![
            ("DBClusterIdentifier".into(), "ledger-green-abc".into()),
            ("Role".into(), "WRITER".into())
        ]
    );
}

#[tokio::test]
async fn aurora_postgres_never_waits_for_replica_lag_it_reads_blues_writer_slot_lag() {
    let (world, run) = aurora_world("aurora-postgresql");
    world.set_instance_metric("OldestReplicationSlotLag", "ledger-1", &[10.0]);
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Go);
    let q = world.with(|s| s.metric_queries.clone());
    assert!(q.iter().all(|q| q.metric != "ReplicaLag"));
    assert_eq!(
        dims(&q[0]),
        vec![("DBInstanceIdentifier".into(), "ledger-1".into())]
    );
}

// ---------------------------------------------------------------- bounds

#[tokio::test]
async fn holding_past_the_bound_is_a_guardrail_violation() {
    let world = green_ready();
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[900.0 * MIB]);
    let mut run = ready_run(json!({}));
    run.guardrails = Some(held(20));
    let (name, msg) = err_of(guardrails::handle(world.deps(), run, inv_at(NOW)).await);
    assert_eq!(name, "GuardrailViolated");
    assert_mentions(
        &msg,
        &[
            "not switching over orders-pg",
            "900.0 MiB",
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
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[900.0 * MIB]);
    let mut run = ready_run(json!({}));
    run.guardrails = Some(held(19));
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(run.guardrails.unwrap().holds, 20);
}

#[tokio::test]
async fn green_no_longer_ready_holds_without_reading_lag() {
    let world = green_ready();
    world.put_instance(green_instance("storage-optimization"));
    let run = guardrails::handle(world.deps(), ready_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Hold);
    assert_eq!(
        g.reason,
        format!("green is no longer ready (AVAILABLE; {GREEN} storage-optimization)")
    );
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
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Go);
    assert_eq!(g.reason, "switchover already SWITCHOVER_IN_PROGRESS");
    assert!(world.with(|s| s.metric_queries.is_empty()));
}

#[tokio::test]
async fn a_failed_deployment_fails_the_guardrail_step() {
    let world = green_ready();
    let mut d = deployment("AVAILABLE");
    d.switchover_details = vec![detail(SOURCE_ARN, GREEN_ARN, "MISSING_TARGET")];
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
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[0.0]);
    let run = ready_run(json!({"switchover_window": "Tue 19:00-21:00 UTC"}));
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.unwrap();
    assert_eq!(g.verdict, GuardrailVerdict::Wait);
    assert_eq!(g.next_delay_seconds, 2900, "18:11:40 -> 19:00:00");
    assert_eq!(g.holds, 0, "waiting for the window is not a guardrail hold");
    assert!(
        g.reason.contains("opens at 2026-11-24T19:00:00Z"),
        "{}",
        g.reason
    );
    assert!(
        world.calls("rds_statistic").is_empty(),
        "lag is read when the window is open"
    );
}

#[tokio::test]
async fn inside_the_window_the_lag_guardrail_decides() {
    let world = green_ready();
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[0.0]);
    let run = ready_run(json!({"switchover_window": "Tue 18:00-19:00 UTC"}));
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(run.guardrails.unwrap().verdict, GuardrailVerdict::Go);
}

#[tokio::test]
async fn once_the_window_has_closed_the_switchover_is_skipped_and_green_kept() {
    let world = green_ready();
    world.set_instance_metric("OldestReplicationSlotLag", DB, &[0.0]);
    // Started at 17:05 inside the 17:00-18:00 window; green was ready only at 18:11.
    let run = ready_run(json!({"switchover_window": "Tue 17:00-18:00 UTC"}));
    let run = guardrails::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    let g = run.guardrails.as_ref().unwrap();
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
    assert_eq!(run.guardrails.unwrap().verdict, GuardrailVerdict::Go);
}
