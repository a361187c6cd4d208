//! Cleanup after the soak, one step per invocation (the state machine loops until `done`):
//! a final snapshot of the old blue, complete before anything is deleted; the deployment
//! record (never with DeleteTarget after a switchover); then, only if asked, the old blue,
//! with deletion protection turned off on it alone. Never acts on production: the old blue
//! must still be the database found after the switchover (same resource id, old version).

pub mod abort;

use crate::model::db::DbKind;
use crate::model::deployment::DeploymentView;
use crate::model::error::WorkerError;
use crate::model::limits::MAX_SNAPSHOT_WAIT_SECONDS;
use crate::model::names::{final_snapshot_id, tags};
use crate::model::old_blue::OldBlue;
use crate::model::request::Request;
use crate::model::source::SourceDb;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the cleanup stands after each pass (`Run::cleanup`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleanupState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_status: Option<String>,
    /// When this run started the snapshot (epoch seconds): the wait for it is bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_started_at: Option<i64>,
    pub deployment_deleted: bool,
    pub old_blue_deleted: bool,
    /// True when nothing is left to do.
    pub done: bool,
    pub next_delay_seconds: u32,
    #[serde(default)]
    pub steps: Vec<String>,
}

/// Seconds between passes while a snapshot or a deletion progresses.
pub const POLL_SECONDS: u32 = 60;

pub struct CleanupFacts<'a> {
    pub request: &'a Request,
    pub deployment_name: &'a str,
    /// The version we upgraded from (what the old blue must run).
    pub version_before: &'a str,
    pub old_blue: &'a OldBlue,
    pub deployment: Option<&'a DeploymentView>,
    /// The old blue as it answers to its name now.
    pub old_blue_now: Option<&'a SourceDb>,
    /// Aurora: the old blue cluster's instances and their statuses (absent = gone).
    pub old_members: &'a [(String, Option<String>)],
    /// The old blue's read replicas (`OldBlue::replicas`) and their statuses (absent = gone).
    pub old_replicas: &'a [(String, Option<String>)],
    /// Those of the old replicas with deletion protection on (turned off before each is deleted).
    pub old_replicas_protected: &'a [String],
    /// The final snapshot's status, when it exists.
    pub snapshot_status: Option<&'a str>,
    pub state: &'a CleanupState,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanupAction {
    Snapshot {
        kind: DbKind,
        of: String,
        id: String,
        tags: BTreeMap<String, String>,
    },
    DeleteDeploymentRecord {
        id: String,
    },
    DisableDeletionProtection {
        kind: DbKind,
        of: String,
    },
    DeleteInstance {
        name: String,
    },
    DeleteOldBlue {
        kind: DbKind,
        of: String,
    },
}

/// The actions of this pass, in order, and the state after them.
pub fn next(f: CleanupFacts<'_>) -> Result<(Vec<CleanupAction>, CleanupState), WorkerError> {
    let mut state = f.state.clone();
    let mut actions = Vec::new();
    let old = f.old_blue;
    if let Some(v) = f.deployment {
        // DELETING is our own record deletion from an earlier pass.
        if !v.is_switched_over() && !v.is_deleting() {
            return Err(WorkerError::Refused(format!(
                "deployment {} is {}: cleanup runs only after a completed switchover, nothing \
                 was deleted",
                v.name, v.status
            )));
        }
    }
    if let Some(now) = f.old_blue_now {
        let same = match (&old.resource_id, &now.resource_id) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if !same || now.engine_version != f.version_before {
            return Err(WorkerError::Refused(format!(
                "{} runs {} (resource id {}), not the old blue found after the switchover \
                 ({}, resource id {}): nothing was deleted; check it by hand",
                now.identifier,
                now.engine_version,
                now.resource_id.as_deref().unwrap_or("unknown"),
                f.version_before,
                old.resource_id.as_deref().unwrap_or("unknown")
            )));
        }
    }

    // 1. The final snapshot, complete before anything is deleted.
    if f.request.final_snapshot && state.snapshot_status.as_deref() != Some("available") {
        let id = final_snapshot_id(old.kind, f.deployment_name);
        match f.snapshot_status {
            None => {
                if f.old_blue_now.is_none() {
                    return Err(WorkerError::Refused(format!(
                        "the old blue {} is gone before its final snapshot was taken: nothing \
                         else was deleted; set final_snapshot to false to clean up without it",
                        old.identifier
                    )));
                }
                let tags = BTreeMap::from([
                    (
                        tags::MANAGED_BY.to_string(),
                        tags::MANAGED_BY_VALUE.to_string(),
                    ),
                    (tags::OLD_BLUE_OF.to_string(), old.identifier.clone()),
                ]);
                actions.push(CleanupAction::Snapshot {
                    kind: old.kind,
                    of: old.identifier.clone(),
                    id: id.clone(),
                    tags,
                });
                state
                    .steps
                    .push(format!("started snapshot {id} of {}", old.identifier));
                state.snapshot_identifier = Some(id);
                state.snapshot_status = Some("creating".into());
                state.snapshot_started_at.get_or_insert(f.now);
                return Ok((actions, pending(state)));
            }
            Some("available") => {
                state.steps.push(format!("snapshot {id} available"));
                state.snapshot_identifier = Some(id);
                state.snapshot_status = Some("available".into());
            }
            Some(s) if s.eq_ignore_ascii_case("failed") || s.eq_ignore_ascii_case("error") => {
                return Err(WorkerError::Refused(format!(
                    "the final snapshot {id} of {} is `{s}`: nothing was deleted; delete the \
                     failed snapshot and run action `cleanup` again",
                    old.identifier
                )));
            }
            Some(s) => {
                let started = *state.snapshot_started_at.get_or_insert(f.now);
                if (f.now - started).max(0) as u64 > MAX_SNAPSHOT_WAIT_SECONDS {
                    return Err(WorkerError::Refused(format!(
                        "the final snapshot {id} of {} is still `{s}` after {} hours: nothing was \
                         deleted; run action `cleanup` again once it is available",
                        old.identifier,
                        MAX_SNAPSHOT_WAIT_SECONDS / 3600
                    )));
                }
                state.snapshot_identifier = Some(id);
                state.snapshot_status = Some(s.to_string());
                return Ok((actions, pending(state)));
            }
        }
    }

    // 2. The deployment record. After switchover, DeleteTarget is not allowed (and would be
    //    wrong: the target is production).
    if !state.deployment_deleted {
        if let Some(v) = f.deployment.filter(|v| !v.is_deleting()) {
            actions.push(CleanupAction::DeleteDeploymentRecord { id: v.id.clone() });
            state.steps.push(format!(
                "deleted deployment record {} (kept both databases)",
                v.name
            ));
        }
        state.deployment_deleted = true;
    }

    // 3. The old blue, only when asked: its read replicas first (deleting a primary would
    //    promote them to standalone databases), then the primary once they are gone.
    if f.request.delete_old_blue && !state.old_blue_deleted {
        let remaining: Vec<&(String, Option<String>)> =
            f.old_replicas.iter().filter(|(_, s)| s.is_some()).collect();
        if !remaining.is_empty() {
            for (replica, status) in remaining {
                if !status
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("deleting"))
                {
                    if f.old_replicas_protected.contains(replica) {
                        actions.push(CleanupAction::DisableDeletionProtection {
                            kind: DbKind::Instance,
                            of: replica.clone(),
                        });
                        state
                            .steps
                            .push(format!("turned off deletion protection on {replica}"));
                    }
                    actions.push(CleanupAction::DeleteInstance {
                        name: replica.clone(),
                    });
                    state.steps.push(format!(
                        "deleting {replica} (read replica of {})",
                        old.identifier
                    ));
                }
            }
            return Ok((actions, pending(state)));
        }
        if let Some(o) = f.old_blue_now {
            if o.deletion_protection {
                actions.push(CleanupAction::DisableDeletionProtection {
                    kind: o.kind,
                    of: o.identifier.clone(),
                });
                state.steps.push(format!(
                    "turned off deletion protection on {}",
                    o.identifier
                ));
            }
            if o.kind == DbKind::Cluster && !f.old_members.is_empty() {
                // The cluster lists its instances until they are gone: one already being
                // deleted (an earlier pass) is not deleted again, which RDS refuses.
                for (member, status) in f.old_members {
                    let deleting = status
                        .as_deref()
                        .is_none_or(|s| s.eq_ignore_ascii_case("deleting"));
                    if !deleting {
                        actions.push(CleanupAction::DeleteInstance {
                            name: member.clone(),
                        });
                        state
                            .steps
                            .push(format!("deleting {member} (instance of {})", o.identifier));
                    }
                }
                return Ok((actions, pending(state)));
            }
            if o.status.eq_ignore_ascii_case("deleting") {
                // An earlier attempt whose answer was lost did it; RDS refuses a second delete.
                state
                    .steps
                    .push(format!("{} is already being deleted", o.identifier));
            } else {
                actions.push(CleanupAction::DeleteOldBlue {
                    kind: o.kind,
                    of: o.identifier.clone(),
                });
                state.steps.push(format!("deleting {}", o.identifier));
            }
        }
        state.old_blue_deleted = true;
    }
    state.done = true;
    state.next_delay_seconds = 0;
    Ok((actions, state))
}

fn pending(mut state: CleanupState) -> CleanupState {
    state.done = false;
    state.next_delay_seconds = POLL_SECONDS;
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            delete_old_blue: true,
            final_snapshot: false,
            ..Request::new("orders", "16.4")
        }
    }

    fn old_blue() -> OldBlue {
        OldBlue {
            kind: DbKind::Instance,
            identifier: "orders-old1".into(),
            arn: "arn:aws:rds:us-east-1:123456789012:db:orders-old1".into(),
            resource_id: Some("db-BLUE".into()),
            engine_version: "13.15".into(),
            members: vec![],
            replicas: vec!["orders-r1-old1".into(), "orders-r2-old1".into()],
        }
    }

    fn now_db() -> SourceDb {
        SourceDb {
            identifier: "orders-old1".into(),
            resource_id: Some("db-BLUE".into()),
            engine_version: "13.15".into(),
            status: "available".into(),
            ..SourceDb::default()
        }
    }

    #[test]
    fn old_replicas_are_deleted_before_the_old_primary_and_only_once() {
        let (req, old, db) = (request(), old_blue(), now_db());
        let replicas = [
            ("orders-r1-old1".to_string(), Some("available".to_string())),
            ("orders-r2-old1".to_string(), Some("deleting".to_string())),
        ];
        let protected = ["orders-r1-old1".to_string()];
        let facts = |state: &CleanupState, replicas: &[(String, Option<String>)]| {
            next(CleanupFacts {
                request: &req,
                deployment_name: "rbg-orders-to-16-4",
                version_before: "13.15",
                old_blue: &old,
                deployment: None,
                old_blue_now: Some(&db),
                old_members: &[],
                old_replicas: replicas,
                old_replicas_protected: &protected,
                snapshot_status: None,
                state,
                now: 0,
            })
            .unwrap()
        };
        let (actions, state) = facts(&CleanupState::default(), &replicas);
        assert_eq!(
            actions,
            [
                CleanupAction::DisableDeletionProtection {
                    kind: DbKind::Instance,
                    of: "orders-r1-old1".into()
                },
                CleanupAction::DeleteInstance {
                    name: "orders-r1-old1".into()
                }
            ],
            "protection off first; the one already deleting is not deleted again; the primary waits"
        );
        assert!(!state.done);
        let gone = [
            ("orders-r1-old1".to_string(), None),
            ("orders-r2-old1".to_string(), None),
        ];
        let (actions, state) = facts(&state, &gone);
        assert_eq!(
            actions,
            [CleanupAction::DeleteOldBlue {
                kind: DbKind::Instance,
                of: "orders-old1".into()
            }]
        );
        assert!(state.done);
    }
}
