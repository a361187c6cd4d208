//! Finding the old blue after a switchover, the one place that does it (verify, and the
//! precheck of a run started after the switchover). RDS renames blue "by appending `-oldn` to
//! the current name, where n is a number": a database upgraded before still has `NAME-old1`,
//! so the next old blue is another `-oldN`. Its name is never built from a format string: it
//! is the database that carries blue's resource id (which no rename changes), cross-checked
//! with what the deployment reports as its source.

use crate::model::db::DbKind;
use crate::model::names::parse_rds_arn;
use crate::model::old_blue::OldBlue;
use crate::model::source::{Replica, SourceDb};

/// Blue's replicas after the switchover, each found by its resource id: their names now
/// (`-oldN`), and what is wrong.
pub fn locate_replicas(found: &[(&Replica, Option<&SourceDb>)]) -> (Vec<String>, Vec<String>) {
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

/// Where to look for the old blue, before anything is read: the precheck of a run started
/// after the switchover builds it from the deployment (`precheck::old_blue_lookup`), verify
/// from the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldBlueLookup {
    pub kind: DbKind,
    /// The production name: blue's name before, green's now.
    pub production: String,
    /// Blue's resource id, recorded before the switchover (precheck, or the deployment's
    /// `bluegreen:source-resource-id` tag for a run started after it).
    pub resource_id: Option<String>,
    /// The deployment's `Source` after the switchover.
    pub reported_source_arn: Option<String>,
}

impl OldBlueLookup {
    /// The database to describe by name when blue's resource id is not known or finds
    /// nothing: the one the deployment reports as its source, when it is not production.
    pub fn reported_name(&self) -> Option<&str> {
        reported_name(self.reported_source_arn.as_deref(), &self.production)
    }
}

/// What the step read when it looked for the old blue (gathered once, by the workers'
/// `old_blue::gather`, for verify and for the precheck).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OldBlueFacts {
    /// The production name: blue's name before, green's now.
    pub production: String,
    /// Blue's resource id, recorded before the switchover (precheck, or the deployment's
    /// `bluegreen:source-resource-id` tag for a run started after it).
    pub resource_id: Option<String>,
    /// The database that carries that resource id now, if any.
    pub by_resource_id: Option<SourceDb>,
    /// The deployment's `Source` after the switchover (AWS does not document whether it then
    /// names the renamed old blue or keeps blue's original ARN: both are handled).
    pub reported_source_arn: Option<String>,
    /// The database the reported source names, when that is not production.
    pub reported: Option<SourceDb>,
}

impl OldBlueFacts {
    /// The name the deployment reports as the old blue, when it is not production's name.
    pub fn reported_name(&self) -> Option<&str> {
        reported_name(self.reported_source_arn.as_deref(), &self.production)
    }
}

fn reported_name<'a>(arn: Option<&'a str>, production: &str) -> Option<&'a str> {
    arn.and_then(parse_rds_arn)
        .map(|(_, name)| name)
        .filter(|name| !name.eq_ignore_ascii_case(production))
}

/// The old blue, or what is wrong (for a `VerificationFailed` / `Refused` message).
pub fn locate(f: &OldBlueFacts) -> Result<OldBlue, String> {
    let reported = f.reported_name();
    match (f.resource_id.as_deref(), f.by_resource_id.as_ref()) {
        (Some(_), Some(db)) if db.identifier.eq_ignore_ascii_case(&f.production) => Err(format!(
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
        (None, _) => match (reported, f.reported.as_ref()) {
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
                crate::model::names::tags::SOURCE_RESOURCE_ID
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::engine::Engine;

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
                production: "orders".into(),
                resource_id: Some("db-BLUE".into()),
                by_resource_id: Some(old2.clone()),
                reported_source_arn: reported.map(str::to_string),
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
            production: "orders".into(),
            resource_id: Some("db-BLUE".into()),
            by_resource_id: Some(old1.clone()),
            reported_source_arn: Some(OLD2.into()),
            reported: None,
        })
        .unwrap_err();
        assert!(
            err.contains("orders-old2") && err.contains("orders-old1"),
            "{err}"
        );
        let err = locate(&OldBlueFacts {
            production: "orders".into(),
            resource_id: Some("db-BLUE".into()),
            by_resource_id: None,
            reported_source_arn: Some(OLD2.into()),
            reported: None,
        })
        .unwrap_err();
        assert!(err.contains("fallback is gone"), "{err}");
        let unrenamed = db("orders", "db-BLUE", "13.15");
        assert!(locate(&OldBlueFacts {
            production: "orders".into(),
            resource_id: Some("db-BLUE".into()),
            by_resource_id: Some(unrenamed.clone()),
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
            production: "orders".into(),
            resource_id: None,
            by_resource_id: None,
            reported_source_arn: Some(OLD2.into()),
            reported: Some(old2.clone()),
        })
        .unwrap();
        assert_eq!(found.identifier, "orders-old2");
        let err = locate(&OldBlueFacts {
            production: "orders".into(),
            resource_id: None,
            by_resource_id: None,
            reported_source_arn: Some(PROD.into()),
            reported: None,
        })
        .unwrap_err();
        assert!(err.contains("does not say"), "{err}");
    }
}
