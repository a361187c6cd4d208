//! Verification after the switchover: production must be what the plan promised (the same
//! name and endpoint, the target version, `available`), its topology what it was
//! (`topology`), and the old blue (found by `old_blue::locate`, whatever `-oldN` RDS gave it)
//! must still run the version we upgraded from: it is the fallback.

pub mod old_blue;
pub mod topology;

use crate::model::deployment::DeploymentView;
use crate::model::error::WorkerError;
use crate::model::old_blue::OldBlue;
use crate::model::source::{Replica, SourceDb};
use old_blue::locate_replicas;
use serde::{Deserialize, Serialize};
use topology::TopologyAfter;

/// What verify found (`Run::verification`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub production_identifier: String,
    pub engine_version: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub endpoint_kept: bool,
    /// What RDS named the old blue (`NAME-oldN`): see `old_blue`.
    pub old_blue_identifier: String,
    pub old_blue_arn: String,
    pub deployment_status: String,
}

pub struct VerifyFacts<'a> {
    /// Blue as exported before the switchover.
    pub source: &'a SourceDb,
    pub target_version: &'a str,
    pub deployment_name: &'a str,
    pub deployment: Option<&'a DeploymentView>,
    /// The database that answers to production's name now.
    pub production: Option<&'a SourceDb>,
    pub old_blue: Result<OldBlue, String>,
    /// Replicas, proxies and custom endpoints as they are now (`topology::verify`).
    pub topology: Option<TopologyAfter<'a>>,
    /// Each of blue's replicas and the database that carries its resource id now.
    pub old_replicas: Vec<(&'a Replica, Option<&'a SourceDb>)>,
}

pub fn verify(f: VerifyFacts<'_>) -> Result<(Verification, OldBlue), WorkerError> {
    let name = &f.source.identifier;
    let mut problems = Vec::new();
    let deployment_status = f
        .deployment
        .map_or_else(|| "missing".to_string(), |v| v.status.clone());
    if !f.deployment.is_some_and(DeploymentView::is_switched_over) {
        problems.push(format!(
            "deployment {} is {deployment_status}, not SWITCHOVER_COMPLETED",
            f.deployment_name
        ));
    }
    let (version, status, endpoint) = match f.production {
        Some(p) => (
            p.engine_version.clone(),
            p.status.clone(),
            p.endpoint.clone(),
        ),
        None => {
            problems.push(format!("no database named {name} answers after switchover"));
            (String::new(), "missing".to_string(), None)
        }
    };
    let endpoint_kept = endpoint.is_some() && endpoint == f.source.endpoint;
    if f.production.is_some() {
        if version != f.target_version {
            problems.push(format!(
                "{name} runs {version}, not the target {}",
                f.target_version
            ));
        }
        if !status.eq_ignore_ascii_case("available") {
            problems.push(format!("{name} is `{status}`, not available"));
        }
        if !endpoint_kept {
            problems.push(format!(
                "the endpoint changed from {} to {}: applications must be pointed at the new one",
                f.source.endpoint.as_deref().unwrap_or("none"),
                endpoint.as_deref().unwrap_or("none")
            ));
        }
        if f.production
            .is_some_and(|p| p.multi_az != f.source.multi_az)
        {
            problems.push(format!(
                "{name} is {}Multi-AZ now, blue was {}",
                if f.source.multi_az { "not " } else { "" },
                if f.source.multi_az {
                    "Multi-AZ"
                } else {
                    "Single-AZ"
                }
            ));
        }
    }
    if let Some(after) = &f.topology {
        problems.extend(topology::verify(&f.source.topology, after));
    }
    let (old_replicas, replica_problems) = locate_replicas(&f.old_replicas);
    problems.extend(replica_problems);
    let old_label = match &f.old_blue {
        Ok(old) => {
            if old.engine_version != f.source.engine_version {
                problems.push(format!(
                    "the old blue {} runs {}, expected the old version {}",
                    old.identifier, old.engine_version, f.source.engine_version
                ));
            }
            old.identifier.clone()
        }
        Err(problem) => {
            problems.push(problem.clone());
            "the old blue".to_string()
        }
    };
    let old = match f.old_blue {
        Ok(mut old) if problems.is_empty() => {
            // Found by resource id; else what the old blue lists as its replicas.
            if !old_replicas.is_empty() {
                old.replicas = old_replicas;
            }
            old
        }
        _ => {
            return Err(WorkerError::VerificationFailed(format!(
                "after switchover of {name}: {}. Production may need attention now; {old_label} \
                 (if present) holds the data as of the switchover",
                problems.join("; ")
            )))
        }
    };
    Ok((
        Verification {
            production_identifier: name.clone(),
            engine_version: version,
            status,
            endpoint,
            endpoint_kept,
            old_blue_identifier: old.identifier.clone(),
            old_blue_arn: old.arn.clone(),
            deployment_status,
        },
        old,
    ))
}
