//! Milestones: the moments a run notifies (SNS) and, when they end a run, counts in the
//! `Remediations` metric with an `Outcome`. The state machine names them in its
//! notification states; the fleet's table reads them back.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    Started,
    GreenReady,
    Prepared,
    SwitchedOver,
    CleanedUp,
    Succeeded,
    Failed,
    Aborted,
    AlreadyInProgress,
    /// Green ready, but the switchover window closed first: green is left prepared.
    SwitchoverSkipped,
    /// Green ready and the guardrails say go: waiting for an operator's approval.
    ApprovalRequested,
    /// The operator rejected the switchover.
    Rejected,
}

impl Milestone {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::GreenReady => "green_ready",
            Self::Prepared => "prepared",
            Self::SwitchedOver => "switched_over",
            Self::CleanedUp => "cleaned_up",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
            Self::AlreadyInProgress => "already_in_progress",
            Self::SwitchoverSkipped => "switchover_skipped",
            Self::ApprovalRequested => "approval_requested",
            Self::Rejected => "rejected",
        }
    }

    /// The `Outcome` dimension for milestones that end a run; `None` for the others.
    /// `already_in_progress` remediates nothing, so it is notified but not counted.
    pub fn outcome(self) -> Option<&'static str> {
        match self {
            Self::Succeeded | Self::CleanedUp => Some("succeeded"),
            Self::Failed => Some("failed"),
            Self::Aborted => Some("aborted"),
            // The run ends with green prepared, as a `prepare` does.
            // Green left prepared (a rejection with on_reject=abort ends `aborted` instead).
            Self::Prepared | Self::SwitchoverSkipped | Self::Rejected => Some("prepared"),
            _ => None,
        }
    }

    /// The milestone recorded by name in a run document's `published` list.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    pub const ALL: [Milestone; 12] = [
        Self::Started,
        Self::GreenReady,
        Self::Prepared,
        Self::SwitchedOver,
        Self::CleanedUp,
        Self::Succeeded,
        Self::Failed,
        Self::Aborted,
        Self::AlreadyInProgress,
        Self::SwitchoverSkipped,
        Self::ApprovalRequested,
        Self::Rejected,
    ];
}

/// What each notification/metric publication did; failures are kept, never raised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublishRecord {
    pub milestone: String,
    pub metric_published: bool,
    pub notification_published: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}
