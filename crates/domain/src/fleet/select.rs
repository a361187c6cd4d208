//! Which databases a fleet takes: the selector's matches, never a cluster's member instances,
//! a deployment's green or an old blue (they carry their source's tags), with replicas and
//! databases without a target reported but skipped.

use crate::model::db::{validate_db_name, DbKind};
use crate::model::error::WorkerError;
use crate::model::names::tags::{OLD_BLUE_OF, TARGET_ENGINE_VERSION as TARGET_TAG};
use crate::precheck::intake::tag_fields;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::{FleetRequest, Outcome, Row};

/// A fleet execution takes at most this many databases: its state (one compact row each)
/// stays well inside Step Functions' 256 KiB whatever the rows say.
pub const MAX_FLEET_SIZE: usize = 500;

fn refuse(msg: impl Into<String>) -> WorkerError {
    WorkerError::invalid(msg)
}

/// A database the account has, as the selection sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub identifier: String,
    pub kind: DbKind,
    pub engine: String,
    pub engine_version: String,
    pub tags: BTreeMap<String, String>,
    /// Set for a read replica (of an instance or cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_of: Option<String>,
    /// Set for an instance that belongs to a cluster (the cluster is the database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// A selected database, as the fleet's state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRef {
    pub db: String,
    pub kind: DbKind,
    /// 1-based place in the selection.
    pub position: u32,
    /// The target its upgrade used (set for its cleanup after the soak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// What the selection found: the databases to run, and the ones it reports but skips.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub members: Vec<MemberRef>,
    pub skipped: Vec<Row>,
}

/// An old blue carries its source's tags (`bluegreen:managed`, the target), so a selector
/// would pick it again and "upgrade" the fallback. It is recognised by what RDS reports (the
/// deployments' members, in `not_databases`), by the tag verification puts on it, and,
/// for an old blue whose deployment record is gone and that carries no tag, by its
/// `NAME-oldN` name while `NAME` exists.
fn is_old_blue(c: &Candidate, all: &BTreeSet<&str>) -> bool {
    c.tags.contains_key(OLD_BLUE_OF)
        || crate::model::names::looks_like_old_blue(&c.identifier)
            .is_some_and(|base| all.contains(base))
}

/// Chooses the databases. `not_databases` are the identifiers every deployment reports as
/// its members other than production (greens, and old blues after a switchover): they carry
/// the source's tags too and are never selected.
pub fn select(
    request: &FleetRequest,
    candidates: &[Candidate],
    not_databases: &BTreeSet<String>,
) -> Result<Selection, WorkerError> {
    let all: BTreeSet<&str> = candidates.iter().map(|c| c.identifier.as_str()).collect();
    let target_given = request.request.contains_key("target_engine_version");
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    let mut engines = BTreeSet::new();
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    for c in sorted {
        if c.cluster.is_some()
            || not_databases.contains(&c.identifier)
            || is_old_blue(c, &all)
            || !request.selector.matches(c)
        {
            continue;
        }
        let row = |detail: String| Row {
            db_identifier: c.identifier.clone(),
            engine: Some(c.engine.clone()),
            version_before: Some(c.engine_version.clone()),
            outcome: Outcome::Skipped,
            detail: Some(crate::model::limits::clip(
                &detail,
                super::table::MAX_DETAIL_CHARS,
            )),
            ..Row::default()
        };
        if !target_given && !c.tags.contains_key(TARGET_TAG) {
            if !request.opted_in_only {
                skipped.push(row(format!(
                    "no target: give target_engine_version in the request or tag {} {TARGET_TAG}",
                    c.identifier
                )));
            }
            continue;
        }
        if let Some(source) = &c.replica_of {
            skipped.push(row(format!(
                "read replica of {source}: a blue/green deployment of {source} upgrades it; \
                 select the source"
            )));
            continue;
        }
        if validate_db_name(&c.identifier).is_err() {
            continue;
        }
        // A bad tag is reported now, so the table says which database and which tag.
        if let Err(e) = tag_fields(&c.identifier, &c.tags) {
            let mut r = row(e.to_string());
            r.outcome = Outcome::Failed;
            r.error = Some(e.name().to_string());
            skipped.push(r);
            continue;
        }
        engines.insert(c.engine.clone());
        members.push(MemberRef {
            db: c.identifier.clone(),
            kind: c.kind,
            position: 0,
            target: None,
        });
    }
    if members.len() > MAX_FLEET_SIZE {
        return Err(refuse(format!(
            "the selector matches {} databases: one fleet execution takes at most \
             {MAX_FLEET_SIZE}. Split the fleet with a bluegreen:wave tag (or narrow selector.engine) \
             and start one execution per wave",
            members.len()
        )));
    }
    for (i, m) in members.iter_mut().enumerate() {
        m.position = i as u32 + 1;
    }
    if target_given && engines.len() > 1 {
        return Err(refuse(format!(
            "target_engine_version {} applies to every selected database, but the selection \
             mixes engines ({}): add selector.engine, or leave the target to each database's \
             {TARGET_TAG} tag",
            request.request["target_engine_version"],
            engines.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(Selection { members, skipped })
}
