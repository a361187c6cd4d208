//! `guardrails`: right before switchover, green must still be ready and its replica lag
//! within `max_replica_lag_seconds`. Otherwise hold (the state machine waits and asks
//! again), and after a bound fail with `GuardrailViolated`: never switch over blind.

use crate::runtime::{Deps, Invocation};
use aws_sdk_cloudwatch::types::Statistic;
use bluegreen_aws::rds::parse_member_arn;
use bluegreen_domain::deployment::Phase;
use bluegreen_domain::engine::Engine;
use bluegreen_domain::guardrail::{
    evaluate_lag, GuardrailVerdict, LagReading, HOLD_DELAY_SECONDS, MAX_HOLDS,
};
use bluegreen_domain::request::DbKind;
use bluegreen_domain::run::{GuardrailState, Run};
use bluegreen_domain::WorkerError;
use std::time::Duration;

pub async fn handle(deps: Deps, mut run: Run, inv: Invocation) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let source = run.source()?.clone();
    let record = run.deployment()?.clone();
    let view = deps
        .rds
        .deployment_by_name(&record.name)
        .await?
        .ok_or_else(|| {
            WorkerError::GreenFailed(format!(
                "deployment {} no longer exists: it was deleted outside this run",
                record.name
            ))
        })?;
    let members = deps.rds.member_statuses(&view.green_member_arns()).await?;
    let phase = view.phase(&members)?;
    let holds_so_far = run.guardrail.as_ref().map_or(0, |g| g.holds);

    let (verdict, reason, readings) = if matches!(phase, Phase::Switching | Phase::Switched) {
        (
            GuardrailVerdict::Go,
            format!("switchover already {}", view.status),
            Vec::new(),
        )
    } else if phase != Phase::Ready {
        (
            GuardrailVerdict::Hold,
            format!("green is no longer ready ({})", view.status),
            Vec::new(),
        )
    } else {
        let readings = lag_readings(&deps, &source.engine, &view.green_member_arns(), &inv).await?;
        let (v, why) = evaluate_lag(&readings, request.max_replica_lag_seconds);
        (v, why, readings)
    };
    let holds = if verdict == GuardrailVerdict::Hold {
        holds_so_far + 1
    } else {
        holds_so_far
    };
    if verdict == GuardrailVerdict::Hold && holds > MAX_HOLDS {
        return Err(WorkerError::GuardrailViolated(format!(
            "not switching over {}: {reason}, still after {} checks over {} minutes. Green is kept \
             ready and blue is untouched: find the cause (write load, long transactions), then run \
             action `switchover`, or `abort` to delete green",
            source.identifier,
            holds,
            holds * HOLD_DELAY_SECONDS / 60
        )));
    }
    tracing::info!(?verdict, holds, %reason, "guardrails evaluated");
    run.guardrail = Some(GuardrailState {
        verdict,
        holds,
        reason,
        next_delay_seconds: HOLD_DELAY_SECONDS,
        readings,
    });
    Ok(run)
}

/// The lag metric for each green member: `ReplicaLag` (seconds) of each green instance;
/// Aurora MySQL replicates by binlog, so its green cluster's `AuroraBinlogReplicaLag`.
async fn lag_readings(
    deps: &Deps,
    engine: &Engine,
    green: &[String],
    inv: &Invocation,
) -> Result<Vec<LagReading>, WorkerError> {
    let mut readings = Vec::new();
    for arn in green {
        let Some((kind, name)) = parse_member_arn(arn) else {
            continue;
        };
        let (metric, dimension) = match (kind, engine) {
            (DbKind::Cluster, Engine::AuroraMysql) => {
                ("AuroraBinlogReplicaLag", "DBClusterIdentifier")
            }
            (DbKind::Cluster, _) => continue,
            (DbKind::Instance, _) => ("ReplicaLag", "DBInstanceIdentifier"),
        };
        let max_seconds = deps
            .metrics
            .rds_statistic(
                metric,
                dimension,
                &name,
                Statistic::Maximum,
                Duration::from_secs(300),
                inv.now,
            )
            .await?;
        readings.push(LagReading {
            member: name,
            metric: metric.to_string(),
            max_seconds,
        });
    }
    Ok(readings)
}
