//! The precheck's report: every check, the manual checks, the deployment found, the cost of
//! waiting, and the verdict they add up to.

use crate::model::check::{Check, ManualCheck, Verdict};
use crate::model::error::WorkerError;
use crate::model::lifecycle::CostOfWaiting;
use serde::{Deserialize, Serialize};

/// Why the deployment found for this source matters to the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExistingDeployment {
    /// None: create one.
    None,
    /// Ours (same name), resumable: adopt it.
    Adopt,
    /// Another deployment is in flight for this source.
    Conflict,
}

/// The checks' findings, as the run records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub verdict: Verdict,
    pub checks: Vec<Check>,
    pub manual_checks: Vec<ManualCheck>,
    pub existing_deployment: ExistingDeployment,
    /// What not upgrading costs: the end of standard support and the Extended Support estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_of_waiting: Option<CostOfWaiting>,
}

impl Report {
    pub fn new(
        checks: Vec<Check>,
        manual_checks: Vec<ManualCheck>,
        existing: ExistingDeployment,
    ) -> Self {
        let verdict = if checks.iter().any(|c| c.verdict == Verdict::Fail) {
            Verdict::Fail
        } else if checks.iter().any(|c| c.verdict == Verdict::Warn) {
            Verdict::Warn
        } else {
            Verdict::Pass
        };
        Self {
            verdict,
            checks,
            manual_checks,
            existing_deployment: existing,
            cost_of_waiting: None,
        }
    }

    pub fn failures(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .collect()
    }

    /// The error for a mutating action with failed checks: names every one and its fix.
    pub fn failure_error(&self, db: &str) -> WorkerError {
        let list: Vec<String> = self
            .failures()
            .iter()
            .map(|c| format!("[{}] {}: {}", c.id, c.observed, c.fix))
            .collect();
        WorkerError::PrecheckFailed(format!(
            "{} precheck(s) failed for {db}, nothing was changed: {}",
            list.len(),
            list.join(" | ")
        ))
    }
}
