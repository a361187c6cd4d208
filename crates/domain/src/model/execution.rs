//! The Step Functions execution a run (or a fleet) belongs to.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    /// `$$.Execution.Id`: the ARN of the Step Functions execution.
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
}
