//! `guardrails`: right before switchover, reads what the rules need (the deployment, green's
//! members, the engine's lag signal, the switchover window, the zero-ETL integrations on blue
//! and green) and lets `guardrails::decide` say go, hold, wait or skip. See
//! `bluegreen_domain::guardrails::lag` for the per-engine signal table.

use crate::runtime::{epoch_seconds, now_epoch, Deps, Invocation};
use bluegreen_aws::ports::Stat;
use bluegreen_aws::{AwsRead, MetricsApi, RdsRead};
use bluegreen_domain::guardrails::lag::{self, LagBounds, LagReading};
use bluegreen_domain::guardrails::{decide, GuardrailFacts};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::window::{SwitchoverWindow, WindowState};
use bluegreen_domain::run::Run;
use std::time::Duration;

/// How far back a lag reading looks: RDS publishes every minute, a few minutes late at worst.
const LOOKBACK: Duration = Duration::from_secs(300);

pub async fn handle<A: AwsRead>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let source = run.source()?.clone();
    let plan = run.plan()?.clone();
    let record = run.deployment()?.clone();
    let view = deps
        .rds()
        .deployment_by_name(&record.name)
        .await?
        .ok_or_else(|| {
            WorkerError::GreenFailed(format!(
                "deployment {} no longer exists: it was deleted outside this run",
                record.name
            ))
        })?;
    let members = deps
        .rds()
        .member_statuses(&view.green_member_arns())
        .await?;
    // Not this run's switchover yet: an earlier one RDS rolled back leaves green intact.
    let phase = view.phase_to_switch(&members)?;
    let not_ready: Vec<String> = members
        .iter()
        .filter(|m| m.is_loading() || !m.status.eq_ignore_ascii_case("available"))
        .map(|m| match m.percent_progress {
            Some(p) if m.is_loading() => format!("{} {} {p}%", m.name(), m.status),
            _ => format!("{} {}", m.name(), m.status),
        })
        .collect();
    let window = window_state(&run, &inv)?;
    let (replication, signal) = lag::signal_for(&source.engine, plan.is_major_upgrade);
    let mut readings = Vec::new();
    let mut integrations = Vec::new();
    let window_open = window
        .as_ref()
        .is_none_or(|(_, w)| matches!(w, WindowState::Open { .. }));
    if phase == bluegreen_domain::model::deployment::Phase::Ready && window_open {
        // "During switchover, the blue and green environments can't have zero-ETL
        // integrations": read right before it, so that one created after the plan is caught.
        for (arn, side) in [
            (view.source_arn.as_str(), "blue"),
            (view.target_arn.as_str(), "green"),
        ] {
            if arn.is_empty() {
                continue;
            }
            let name = arn.rsplit(':').next().unwrap_or(arn).to_string();
            for i in deps.rds().integrations(arn).await? {
                integrations.push((name.clone(), side, i));
            }
        }
        // With an integration the switchover cannot go: nothing to measure.
        let queries = if integrations.is_empty() {
            signal
                .as_ref()
                .map(|s| lag::queries(s, &source, &view))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        for q in queries {
            let dims: Vec<(&str, &str)> = q
                .dimensions
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let value = deps
                .metrics()
                .rds_statistic(&q.metric, &dims, Stat::Maximum, LOOKBACK, inv.now)
                .await?;
            readings.push(LagReading {
                member: q.member,
                metric: q.metric,
                unit: q.unit,
                value,
            });
        }
    }
    let decision = decide(GuardrailFacts {
        db: &source.identifier,
        phase,
        deployment_status: &view.status,
        window: window.as_ref().map(|(t, w)| (t.as_str(), *w)),
        now: now_epoch(&inv),
        replication,
        signal,
        readings,
        bounds: LagBounds {
            seconds: request.max_replica_lag_seconds,
            bytes: request.max_replication_slot_lag_bytes,
        },
        previous: run.guardrails.as_ref(),
        not_ready,
        integrations,
    })?;
    let state = decision.state;
    tracing::info!(verdict = ?state.verdict, holds = state.holds, decided_by = ?state.decided_by, reason = %state.reason, "guardrails evaluated");
    if decision.note.is_some() {
        run.note = decision.note;
    }
    run.guardrails = Some(state);
    Ok(run)
}

/// The request's switchover window and where this moment falls in it, if it names one. The
/// occurrence that applies is fixed by the execution's start (see `switchover::window`).
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
