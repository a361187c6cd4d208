//! `verify`: after switchover, production must be what the plan promised: the same name and
//! endpoint, the target version, `available`; the old blue kept as `NAME-old1`.

use crate::runtime::{Deps, Invocation};
use bluegreen_domain::run::{Run, Verification};
use bluegreen_domain::WorkerError;

/// RDS renames the old blue to `NAME-old1` at switchover.
pub fn old_blue_name(identifier: &str) -> String {
    format!("{identifier}-old1")
}

pub async fn handle(deps: Deps, mut run: Run, inv: Invocation) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let source = run.source()?.clone();
    let record = run.deployment()?.clone();
    let mut problems = Vec::new();

    let view = deps.rds.deployment_by_name(&record.name).await?;
    let deployment_status = view
        .as_ref()
        .map_or_else(|| "missing".to_string(), |v| v.status.clone());
    if !view.as_ref().is_some_and(|v| v.is_switched_over()) {
        problems.push(format!(
            "deployment {} is {deployment_status}, not SWITCHOVER_COMPLETED",
            record.name
        ));
    }
    let production = deps.rds.describe(source.kind, &source.identifier).await?;
    let old_name = old_blue_name(&source.identifier);
    let old_blue = deps.rds.describe(source.kind, &old_name).await?;

    let (version, status, endpoint) = match &production {
        Some(p) => (
            p.engine_version.clone(),
            p.status.clone(),
            p.endpoint.clone(),
        ),
        None => {
            problems.push(format!(
                "no database named {} answers after switchover",
                source.identifier
            ));
            (String::new(), "missing".into(), None)
        }
    };
    if production.is_some() && version != request.target_engine_version {
        problems.push(format!(
            "{} runs {version}, not the target {}",
            source.identifier, request.target_engine_version
        ));
    }
    if production.is_some() && !status.eq_ignore_ascii_case("available") {
        problems.push(format!(
            "{} is `{status}`, not available",
            source.identifier
        ));
    }
    let endpoint_kept = endpoint.is_some() && endpoint == source.endpoint;
    if production.is_some() && !endpoint_kept {
        problems.push(format!(
            "the endpoint changed from {} to {}: applications must be pointed at the new one",
            source.endpoint.as_deref().unwrap_or("none"),
            endpoint.as_deref().unwrap_or("none")
        ));
    }
    match &old_blue {
        Some(old) if old.engine_version == source.engine_version => {}
        Some(old) => problems.push(format!(
            "{old_name} runs {}, expected the old version {}",
            old.engine_version, source.engine_version
        )),
        None => problems.push(format!(
            "the old blue {old_name} is missing: the fallback is gone"
        )),
    }
    if !problems.is_empty() {
        return Err(WorkerError::VerificationFailed(format!(
            "after switchover of {}: {}. Production may need attention now; the old blue {old_name} \
             (if present) holds the data as of the switchover",
            source.identifier,
            problems.join("; ")
        )));
    }
    run.verification = Some(Verification {
        production_identifier: source.identifier.clone(),
        engine_version: version,
        status,
        endpoint,
        endpoint_kept,
        old_blue_identifier: old_name,
        old_blue_arn: old_blue.map(|o| o.arn).unwrap_or_default(),
        deployment_status,
    });
    run.soak_seconds = Some(request.soak_hours as u64 * 3600);
    run.mark("verified", &inv.now_rfc3339());
    tracing::info!("production verified");
    Ok(run)
}
