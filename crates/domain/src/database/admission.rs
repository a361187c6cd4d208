//! Whether a run goes into the database at all: the request names a way in, and this
//! deployment has the `sql` worker (a stack deployed without `DatabaseSubnetIds` and
//! `DatabaseSecurityGroupId` has none). The state machine's `XxxAccess` Choices route to the
//! worker only when the run carries `database`, which only `admit` sets.

use super::access::ACCESS_CHECK_ID;
use super::{DatabaseAccess, DatabaseState};
use crate::checks::Check;
use crate::request::Request;

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
                ACCESS_CHECK_ID,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;
    use serde_json::json;

    fn request(extra: serde_json::Value) -> Request {
        let mut v = json!({"db_identifier": "orders-pg", "target_engine_version": "16.4", "action": "upgrade"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Request::from_json(&v).unwrap()
    }

    #[test]
    fn no_way_in_means_no_database_step_and_no_check() {
        let a = admit(&request(json!({})), true);
        assert_eq!(
            a,
            Admission {
                database: None,
                check: None
            }
        );
        assert_eq!(admit(&request(json!({})), false).check, None);
    }

    #[test]
    fn a_way_in_with_the_worker_deployed_is_recorded_by_name_only() {
        let a = admit(
            &request(json!({"database_iam_user": "bluegreen_check"})),
            true,
        );
        let db = a.database.unwrap();
        assert_eq!(db.access.iam_user.as_deref(), Some("bluegreen_check"));
        assert!(db.precheck.is_none() && a.check.is_none());
    }

    #[test]
    fn a_way_in_without_the_worker_is_one_failing_check_naming_both_fixes() {
        let a = admit(
            &request(json!({"database_iam_user": "bluegreen_check"})),
            false,
        );
        assert!(a.database.is_none());
        let c = a.check.unwrap();
        assert_eq!((c.id.as_str(), c.verdict), (ACCESS_CHECK_ID, Verdict::Fail));
        assert!(c.observed.contains("bluegreen_check"), "{}", c.observed);
        let fix = c.fix;
        assert!(fix.contains("DatabaseSubnetIds") && fix.contains("remove database_secret_arn"));
    }
}
