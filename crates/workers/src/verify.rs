//! `verify`: after switchover, reads production, the deployment and the old blue
//! (`crate::old_blue::gather`); `old_blue::locate` and `verify::verify` decide. The old blue
//! is then tagged `bluegreen:old-blue-of` (a fleet never takes it for a database of its own).

use crate::runtime::{Deps, Invocation};
use bluegreen_aws::{Aws, RdsRead, RdsWrite};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::names::tags;
use bluegreen_domain::run::Run;
use bluegreen_domain::verify::old_blue::{locate, OldBlueLookup};
use bluegreen_domain::verify::topology::{proxies_after, verified_replicas, TopologyAfter};
use bluegreen_domain::verify::{verify, VerifyFacts};
use std::collections::BTreeMap;

pub async fn handle<A: Aws>(
    deps: Deps<A>,
    mut run: Run,
    inv: Invocation,
) -> Result<Run, WorkerError> {
    let request = run.request()?.clone();
    let source = run.source()?.clone();
    let record = run.deployment()?.clone();
    let rds = deps.rds();
    let view = rds.deployment_by_name(&record.name).await?;
    let production = rds.describe(source.kind, &source.identifier).await?;
    let found = crate::old_blue::gather(
        rds,
        &OldBlueLookup {
            kind: source.kind,
            production: source.identifier.clone(),
            resource_id: source.resource_id.clone(),
            reported_source_arn: view.as_ref().map(|v| v.source_arn.clone()),
        },
    )
    .await?;
    let old_blue = locate(&found);
    // What surrounds production now: each production replica by its name, each of blue's
    // replicas by its resource id (renamed -oldN), the proxies' targets, custom endpoints.
    let before = &source.topology;
    let mut replicas_now = Vec::new();
    let mut old_replicas_now = Vec::new();
    let replicas = verified_replicas(&source);
    for r in replicas {
        replicas_now.push(rds.describe(DbKind::Instance, &r.identifier).await?);
        old_replicas_now.push(match &r.resource_id {
            Some(id) => rds.describe_by_resource_id(DbKind::Instance, id).await?,
            None => None,
        });
    }
    let proxies_now = if before.proxies.is_empty() {
        Vec::new()
    } else {
        proxies_after(
            &before.proxies,
            &rds.proxy_targets().await?,
            &source.identifier,
        )
    };
    let endpoints_now = if before.custom_endpoints.is_empty() {
        Vec::new()
    } else {
        rds.custom_endpoints(&source.identifier).await?
    };
    let topology = TopologyAfter {
        production: &source.identifier,
        replicas: replicas
            .iter()
            .zip(replicas_now.iter().map(Option::as_ref))
            .collect(),
        target_version: &request.target_engine_version,
        instance_class: request.target_db_instance_class.as_deref(),
        proxies: &proxies_now,
        production_resource_id: production.as_ref().and_then(|p| p.resource_id.as_deref()),
        production_endpoint: production.as_ref().and_then(|p| p.endpoint.as_deref()),
        custom_endpoints: &endpoints_now,
    };
    let old_replicas = replicas
        .iter()
        .zip(old_replicas_now.iter().map(Option::as_ref))
        .collect();
    let (verification, old) = verify(VerifyFacts {
        source: &source,
        target_version: &request.target_engine_version,
        deployment_name: &record.name,
        deployment: view.as_ref(),
        production: production.as_ref(),
        old_blue,
        topology: Some(topology),
        old_replicas,
    })?;
    let marker = BTreeMap::from([(tags::OLD_BLUE_OF.to_string(), source.identifier.clone())]);
    let already_marked = [found.by_resource_id.as_ref(), found.reported.as_ref()]
        .into_iter()
        .flatten()
        .any(|d| {
            d.identifier == old.identifier
                && d.tags.get(tags::OLD_BLUE_OF) == Some(&source.identifier)
        });
    let tagged = if already_marked {
        Ok(())
    } else {
        rds.add_tags(&old.arn, &marker).await
    };
    match tagged {
        Ok(()) => {}
        Err(e) if e.is_transient() => return Err(e),
        // Only a marker for fleet selections: production is verified either way.
        Err(e) => {
            tracing::warn!(error = %e, old_blue = %old.identifier, "could not tag the old blue")
        }
    }
    tracing::info!(old_blue = %old.identifier, "production verified");
    run.verify = Some(verification);
    run.old_blue = Some(old);
    run.soak_seconds = Some(u64::from(request.soak_hours) * 3600);
    run.mark("verified", &inv.now_rfc3339());
    Ok(run)
}
