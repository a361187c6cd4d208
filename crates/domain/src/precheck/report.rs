//! The precheck's report: the checks found, the manual checks left to the operator (those an
//! in-database precheck covers leave later: `database::prechecks::merge_into_report`), and
//! the deployment found; its verdict follows from the checks.

use crate::model::check::{manual_checks, Check};
use crate::model::engine::Engine;
use crate::model::report::{ExistingDeployment, Report};

/// The report of the checks found on a source of `engine`.
pub fn report(checks: Vec<Check>, engine: &Engine, existing: ExistingDeployment) -> Report {
    Report::new(checks, manual_checks(engine), existing)
}
