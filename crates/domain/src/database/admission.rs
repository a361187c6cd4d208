//! Whether a run goes into the database at all: the request names a way in, and this
//! deployment has the `sql` worker (a stack deployed without `DatabaseSubnetIds` and
//! `DatabaseSecurityGroupId` has none). The state machine's `XxxAccess` Choices route to the
//! worker only when the run carries `database`, which only `admit` sets.

use super::{DatabaseAccess, DatabaseState};
use crate::model::check::{id, Check};
use crate::model::request::Request;

/// What the precheck records for the database side of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    /// `Some`: the sql worker runs (the way in, by name only).
    pub database: Option<DatabaseState>,
    /// A failing check when the request names a way in that this deployment cannot use.
    pub check: Option<Check>,
}

/// `sql_worker_deployed`: the deployment says so (the precheck function's
/// `DATABASE_CHECKS=on`, set by the template when the sql function exists).
pub fn admit(request: &Request, sql_worker_deployed: bool) -> Admission {
    match DatabaseAccess::from_request(request) {
        None => Admission {
            database: None,
            check: None,
        },
        Some(access) if sql_worker_deployed => Admission {
            database: Some(DatabaseState::new(access.record())),
            check: None,
        },
        Some(access) => Admission {
            database: None,
            check: Some(Check::fail(
                id::DATABASE_ACCESS,
                format!(
                    "the request asks for in-database checks with {}, but this deployment has no sql \
                     worker (the stack was deployed without DatabaseSubnetIds and DatabaseSecurityGroupId)",
                    access.describe()
                ),
                "deploy the stack with DatabaseSubnetIds and DatabaseSecurityGroupId (subnets and a \
                 security group that reach the database), or remove database_secret_arn / \
                 database_iam_user (request field or bluegreen: tag) to upgrade without them",
            )),
        },
    }
}
