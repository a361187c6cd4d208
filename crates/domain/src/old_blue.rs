//! The old blue after a switchover: the fallback every later step acts on (verify, soak,
//! final snapshot, cleanup, `delete_old_blue`, restarts). RDS renames blue "by appending
//! `-oldn` to the current name, where n is a number": a database upgraded before still has
//! `NAME-old1`, so the next old blue is another `-oldN`. Its name is never built from a
//! format string: it is the database that carries blue's resource id (which no rename
//! changes), cross-checked with what the deployment reports as its source.

use crate::names::parse_rds_arn;
use crate::request::DbKind;
use crate::source::SourceDb;
use serde::{Deserialize, Serialize};

/// The old blue as found after the switchover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldBlue {
    pub kind: DbKind,
    pub identifier: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    pub engine_version: String,
    /// Aurora: the old blue cluster's instances (writer first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Blue's read replicas after the switchover (renamed `-oldN`, still replicating from the
    /// old blue): part of the fallback, deleted with it only when `delete_old_blue` asks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<String>,
}

impl OldBlue {
    pub fn from_db(db: &SourceDb) -> Self {
        Self {
            kind: db.kind,
            identifier: db.identifier.clone(),
            arn: db.arn.clone(),
            resource_id: db.resource_id.clone(),
            engine_version: db.engine_version.clone(),
            members: db.members.clone(),
            // After the switchover the old replicas (`-oldN`) replicate from the old blue.
            replicas: db
                .read_replicas
                .iter()
                .map(|r| parse_rds_arn(r).map_or_else(|| r.clone(), |(_, n)| n.to_string()))
                .collect(),
        }
    }
}

/// Blue's replicas after the switchover, each found by its resource id: their names now
/// (`-oldN`), and what is wrong.
pub fn locate_replicas(
    found: &[(&crate::topology::Replica, Option<&SourceDb>)],
) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for (replica, now) in found {
        match now {
            Some(db) if db.identifier.eq_ignore_ascii_case(&replica.identifier) => {
                problems.push(format!(
                    "blue's replica {} was not renamed by the switchover",
                    replica.identifier
                ))
            }
            Some(db) => names.push(db.identifier.clone()),
            None if replica.resource_id.is_some() => problems.push(format!(
                "blue's replica {} (resource id {}) is missing after the switchover",
                replica.identifier,
                replica.resource_id.as_deref().unwrap_or_default()
            )),
            None => {}
        }
    }
    (names, problems)
}

/// What the step knows when it looks for the old blue.
pub struct OldBlueFacts<'a> {
    /// The production name: blue's name before, green's now.
    pub production: &'a str,
    /// Blue's resource id, recorded before the switchover (precheck, or the deployment's
    /// `bluegreen:source-resource-id` tag for a run started after it).
    pub resource_id: Option<&'a str>,
    /// The database that carries that resource id now, if any.
    pub by_resource_id: Option<&'a SourceDb>,
    /// The deployment's `Source` after the switchover (AWS does not document whether it then
    /// names the renamed old blue or keeps blue's original ARN: both are handled).
    pub reported_source_arn: Option<&'a str>,
    /// The database the reported source names, when that is not production.
    pub reported: Option<&'a SourceDb>,
}

impl OldBlueFacts<'_> {
    /// The name the deployment reports as the old blue, when it is not production's name.
    pub fn reported_name(&self) -> Option<&str> {
        self.reported_source_arn
            .and_then(parse_rds_arn)
            .map(|(_, name)| name)
            .filter(|name| !name.eq_ignore_ascii_case(self.production))
    }
}

/// The old blue, or what is wrong (for a `VerificationFailed` / `Refused` message).
pub fn locate(f: &OldBlueFacts<'_>) -> Result<OldBlue, String> {
    let reported = f.reported_name();
    match (f.resource_id, f.by_resource_id) {
        (Some(_), Some(db)) if db.identifier.eq_ignore_ascii_case(f.production) => Err(format!(
            "the database with blue's resource id is still named {}: the switchover did not \
             rename it",
            db.identifier
        )),
        (Some(_), Some(db)) => match reported {
            Some(name) if !name.eq_ignore_ascii_case(&db.identifier) => Err(format!(
                "the deployment reports {name} as the old blue, but blue's resource id is on {}",
                db.identifier
            )),
            _ => Ok(OldBlue::from_db(db)),
        },
        (Some(id), None) => Err(format!(
            "the old blue (resource id {id}{}) is missing: the fallback is gone",
            reported
                .map(|n| format!(", reported as {n}"))
                .unwrap_or_default()
        )),
        (None, _) => match (reported, f.reported) {
            (Some(_), Some(db)) => Ok(OldBlue::from_db(db)),
            (Some(name), None) => Err(format!(
                "the deployment reports {name} as the old blue, but no such database answers: \
                 the fallback is gone"
            )),
            (None, _) => Err(format!(
                "the deployment does not say which database is the old blue of {} and carries no \
                 {} tag (it was not created by this version of rds-bluegreen): find the old blue \
                 (NAME-oldN with the previous engine version) in the RDS console",
                f.production,
                crate::names::tags::SOURCE_RESOURCE_ID
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    fn db(name: &str, resource_id: &str, version: &str) -> SourceDb {
        SourceDb {
            kind: DbKind::Instance,
            identifier: name.into(),
            arn: format!("arn:aws:rds:us-east-1:123456789012:db:{name}"),
            resource_id: Some(resource_id.into()),
            engine: Engine::Postgres,
            engine_version: version.into(),
            status: "available".into(),
            ..SourceDb::default()
        }
    }

    const OLD2: &str = "arn:aws:rds:us-east-1:123456789012:db:orders-old2";
    const PROD: &str = "arn:aws:rds:us-east-1:123456789012:db:orders";

    #[test]
    fn the_old_blue_is_whatever_carries_blues_resource_id() {
        let old2 = db("orders-old2", "db-BLUE", "14.12");
        for reported in [Some(OLD2), Some(PROD), None] {
            let found = locate(&OldBlueFacts {
                production: "orders",
                resource_id: Some("db-BLUE"),
                by_resource_id: Some(&old2),
                reported_source_arn: reported,
                reported: None,
            })
            .unwrap();
            assert_eq!(found.identifier, "orders-old2", "reported {reported:?}");
        }
    }

    #[test]
    fn a_disagreement_or_a_missing_fallback_is_a_problem() {
        let old1 = db("orders-old1", "db-BLUE", "13.15");
        let err = locate(&OldBlueFacts {
            production: "orders",
            resource_id: Some("db-BLUE"),
            by_resource_id: Some(&old1),
            reported_source_arn: Some(OLD2),
            reported: None,
        })
        .unwrap_err();
        assert!(
            err.contains("orders-old2") && err.contains("orders-old1"),
            "{err}"
        );
        let err = locate(&OldBlueFacts {
            production: "orders",
            resource_id: Some("db-BLUE"),
            by_resource_id: None,
            reported_source_arn: Some(OLD2),
            reported: None,
        })
        .unwrap_err();
        assert!(err.contains("fallback is gone"), "{err}");
        let unrenamed = db("orders", "db-BLUE", "13.15");
        assert!(locate(&OldBlueFacts {
            production: "orders",
            resource_id: Some("db-BLUE"),
            by_resource_id: Some(&unrenamed),
            reported_source_arn: None,
            reported: None,
        })
        .unwrap_err()
        .contains("did not rename"));
    }

    #[test]
    fn without_a_resource_id_the_deployments_report_decides() {
        let old2 = db("orders-old2", "db-X", "14.12");
        let found = locate(&OldBlueFacts {
            production: "orders",
            resource_id: None,
            by_resource_id: None,
            reported_source_arn: Some(OLD2),
            reported: Some(&old2),
        })
        .unwrap();
        assert_eq!(found.identifier, "orders-old2");
        let err = locate(&OldBlueFacts {
            production: "orders",
            resource_id: None,
            by_resource_id: None,
            reported_source_arn: Some(PROD),
            reported: None,
        })
        .unwrap_err();
        assert!(err.contains("does not say"), "{err}");
    }
}
