//! `guardrails`: right before switchover, green must still be ready and its replica lag
//! within `max_replica_lag_seconds`. Otherwise hold (the state machine waits and asks
//! again), and after a bound fail with `GuardrailViolated`: never switch over blind.

use crate::runtime::{epoch_seconds, now_epoch, rfc3339, Deps, Invocation};
use aws_sdk_cloudwatch::types::Statistic;
use bluegreen_aws::rds::parse_member_arn;
use bluegreen_domain::deployment::Phase;
use bluegreen_domain::engine::Engine;
use bluegreen_domain::guardrail::{
    evaluate_lag, GuardrailVerdict, LagReading, HOLD_DELAY_SECONDS, MAX_HOLDS,
};
use bluegreen_domain::request::DbKind;
use bluegreen_domain::run::{GuardrailState, Run};
use bluegreen_domain::window::{SwitchoverWindow, WindowState};
use bluegreen_domain::WorkerError;
use std::time::{Duration, UNIX_EPOCH};

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

    let window = window_state(&run, &inv)?;
    let mut next_delay_seconds = HOLD_DELAY_SECONDS;
    let (verdict, reason, readings) = if matches!(phase, Phase::Switching | Phase::Switched) {
        (
            GuardrailVerdict::Go,
            format!("switchover already {}", view.status),
            Vec::new(),
        )
    } else if let Some((text, WindowState::Before { opens_at })) = &window {
        next_delay_seconds = (opens_at - now_epoch(&inv)).clamp(1, i64::from(u32::MAX)) as u32;
        (
            GuardrailVerdict::Wait,
            format!(
                "green is prepared; the switchover window `{text}` opens at {}",
                at(*opens_at)
            ),
            Vec::new(),
        )
    } else if let Some((text, WindowState::Closed { closed_at })) = &window {
        let reason = format!(
            "the switchover window `{text}` closed at {} before the switchover could start: \
             green is left prepared and blue is untouched. Run action `switchover` in a later \
             window, or `abort` to delete green",
            at(*closed_at)
        );
        run.note = Some(reason.clone());
        (GuardrailVerdict::Skip, reason, Vec::new())
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
        next_delay_seconds,
        readings,
    });
    Ok(run)
}

/// The request's switchover window and where this moment falls in it, if it names one. The
/// occurrence that applies is fixed by the execution's start (see `window`).
fn window_state(run: &Run, inv: &Invocation) -> Result<Option<(String, WindowState)>, WorkerError> {
    let Some(text) = run.request()?.switchover_window.clone() else {
        return Ok(None);
    };
    let window = SwitchoverWindow::parse(&text)?;
    let started = run
        .execution
        .started_at
        .as_deref()
        .or(run.timeline.get("started").map(String::as_str))
        .and_then(epoch_seconds)
        .unwrap_or_else(|| now_epoch(inv));
    Ok(Some((text, window.state(started, now_epoch(inv)))))
}

fn at(epoch: i64) -> String {
    rfc3339(UNIX_EPOCH + Duration::from_secs(epoch.max(0) as u64))
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
