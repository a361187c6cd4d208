//! The switchover: when it may start (`window`), the operator's approval before it, and what
//! the run records of the request to switch over.

pub mod window;

use crate::model::request::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the run records of its switchover request (`Run::switchover`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchoverRecord {
    pub requested_at: String,
    pub timeout_seconds: u32,
    /// True when a switchover was already running or done when this step ran.
    pub already_started: bool,
}

/// `require_approval`: the wait for an operator before the switchover.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalState {
    /// The approval task's timeout (`approval_timeout_hours`).
    pub timeout_seconds: u64,
    /// SendTaskSuccess's output (who, when, why), once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
    /// SendTaskFailure's error and cause, once rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timed_out: Option<Value>,
}

impl ApprovalState {
    pub fn for_request(request: &Request) -> Option<Self> {
        request.require_approval.then(|| Self {
            timeout_seconds: u64::from(request.approval_timeout_hours) * 3600,
            ..Self::default()
        })
    }
}
