//! The old blue after a switchover: the fallback every later step acts on (verify, soak,
//! final snapshot, cleanup, `delete_old_blue`, restarts). How it is found: `verify::old_blue`.

use crate::model::db::DbKind;
use crate::model::names::parse_rds_arn;
use crate::model::source::SourceDb;
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
