//! A blue/green deployment as RDS describes it, what phase of the upgrade that means, and
//! the deployment as a run records it.

use crate::model::error::WorkerError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentTask {
    pub name: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchoverDetail {
    #[serde(default)]
    pub source_member: String,
    #[serde(default)]
    pub target_member: String,
    pub status: String,
}

/// The parts of `DescribeBlueGreenDeployments` the rules read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentView {
    pub id: String,
    pub name: String,
    pub source_arn: String,
    #[serde(default)]
    pub target_arn: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_details: Option<String>,
    #[serde(default)]
    pub tasks: Vec<DeploymentTask>,
    #[serde(default)]
    pub switchover_details: Vec<SwitchoverDetail>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// The deployment as the run records it: created by this run or adopted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub id: String,
    pub name: String,
    /// True when this run created it; false when it adopted an existing one.
    pub created_by_this_run: bool,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
}

impl DeploymentRecord {
    /// A deployment this run continues with (created by an earlier run).
    pub fn adopted(d: &DeploymentView) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            created_by_this_run: false,
            status: d.status.clone(),
            target_arn: Some(d.target_arn.clone()).filter(|a| !a.is_empty()),
        }
    }
}

/// A green (target) member and its status, from DescribeDBInstances / DescribeDBClusters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub arn: String,
    pub status: String,
    /// Instances: the class it runs, and the one a pending modification will give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_instance_class: Option<String>,
    /// Instances loading their data: how far, in percent (`PercentProgress`, or
    /// `StorageOperationPercentProgress`), when RDS reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_progress: Option<f64>,
    /// Instances: `StorageOperationStatus` (`Initializing`, `Optimizing`), when RDS reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_operation: Option<String>,
}

/// The instance statuses of a green member that is still loading its data after create:
/// "green and its read replicas continue to load data in the background … the overall
/// instance status changes to Storage-initialization … PercentProgress"; "Make sure data
/// loading is complete before switching over" (RDS User Guide, Creating a blue/green
/// deployment, "Lazy loading and storage initialization"). `storage-config-upgrade` (a
/// storage file system upgrade) loads the data likewise.
pub const LOADING_STATUSES: [&str; 2] = ["storage-initialization", "storage-config-upgrade"];

impl MemberStatus {
    /// Loading its data: a loading status, or (newer API) `StorageOperationStatus`
    /// `Initializing` ("The volume is initializing from a snapshot, such as during … blue/green
    /// deployment", API reference, DBInstance) whatever the status.
    pub fn is_loading(&self) -> bool {
        LOADING_STATUSES.iter().any(|s| is(&self.status, s))
            || self
                .storage_operation
                .as_deref()
                .is_some_and(|o| is(o, "Initializing"))
    }

    /// The member's name (the last part of its ARN).
    pub fn name(&self) -> &str {
        self.arn.rsplit(':').next().unwrap_or(&self.arn)
    }
}

/// `PercentProgress` as RDS sends it (a string: `42`, `42.5`, `42%`), as a number.
pub fn parse_percent(text: &str) -> Option<f64> {
    text.trim()
        .trim_end_matches('%')
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite())
}

/// Where the upgrade stands, derived from AWS on every poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Provisioning,
    Ready,
    Switching,
    Switched,
    Failed,
}

fn is(status: &str, expected: &str) -> bool {
    status.eq_ignore_ascii_case(expected)
}

impl DeploymentView {
    /// Deployment statuses in which a run may continue with (adopt) this deployment. A
    /// switchover that failed was rolled back ("If anything stops it, every change is rolled
    /// back"): blue and green are intact, and the deployment can be switched over again,
    /// whether RDS keeps it SWITCHOVER_FAILED or returns it to AVAILABLE (not documented).
    pub fn is_adoptable_before_switchover(&self) -> bool {
        is(&self.status, "PROVISIONING")
            || is(&self.status, "AVAILABLE")
            || self.is_switchover_failed()
    }

    /// An earlier switchover of this deployment failed and RDS rolled it back.
    pub fn is_switchover_failed(&self) -> bool {
        is(&self.status, "SWITCHOVER_FAILED")
    }

    pub fn is_switched_over(&self) -> bool {
        is(&self.status, "SWITCHOVER_COMPLETED")
    }

    pub fn is_switchover_in_progress(&self) -> bool {
        is(&self.status, "SWITCHOVER_IN_PROGRESS")
    }

    pub fn is_deleting(&self) -> bool {
        is(&self.status, "DELETING")
    }

    /// Not finished with: anything but a completed switchover counts as in flight.
    pub fn is_in_flight(&self) -> bool {
        !self.is_switched_over() && !self.is_deleting()
    }

    fn details(&self) -> String {
        let mut parts = vec![format!("status {}", self.status)];
        if let Some(d) = self.status_details.as_deref().filter(|d| !d.is_empty()) {
            parts.push(format!("details: {d}"));
        }
        for t in &self.tasks {
            if !is(&t.status, "COMPLETED") {
                parts.push(format!("task {} {}", t.name, t.status));
            }
        }
        for s in &self.switchover_details {
            if !is(&s.status, "AVAILABLE") && !is(&s.status, "SWITCHOVER_COMPLETED") {
                parts.push(format!(
                    "member {} -> {} {}",
                    s.source_member, s.target_member, s.status
                ));
            }
        }
        parts.join("; ")
    }

    /// The phase for a run that has not requested a switchover itself (the wait before it, the
    /// guardrails, the switchover step): as `phase`, except that a deployment an earlier
    /// switchover left SWITCHOVER_FAILED is judged as AVAILABLE (RDS rolled everything back:
    /// blue is production, green intact), its members' SWITCHOVER_FAILED marks included.
    pub fn phase_to_switch(&self, green_members: &[MemberStatus]) -> Result<Phase, WorkerError> {
        if !self.is_switchover_failed() {
            return self.phase(green_members);
        }
        let mut rolled_back = self.clone();
        rolled_back.status = "AVAILABLE".into();
        for s in &mut rolled_back.switchover_details {
            if is(&s.status, "SWITCHOVER_FAILED") {
                s.status = "AVAILABLE".into();
            }
        }
        rolled_back.phase(green_members)
    }

    /// The phase this single observation shows. `green_members` are the target members'
    /// statuses (instances or cluster). Failed states are errors naming what RDS said.
    pub fn phase(&self, green_members: &[MemberStatus]) -> Result<Phase, WorkerError> {
        let status = self.status.to_ascii_uppercase();
        // A failure can show only in a switchover detail while the top level says AVAILABLE.
        let detail_failure = self.switchover_details.iter().find(|s| {
            let st = s.status.to_ascii_uppercase();
            st == "SWITCHOVER_FAILED" || st.starts_with("MISSING_")
        });
        if let Some(detail) = detail_failure {
            return Err(self.failure(&format!(
                "member {} reports {}",
                detail.source_member, detail.status
            )));
        }
        if let Some(task) = self.tasks.iter().find(|t| is(&t.status, "FAILED")) {
            return Err(self.failure(&format!("task {} FAILED", task.name)));
        }
        match status.as_str() {
            "PROVISIONING" => Ok(Phase::Provisioning),
            "AVAILABLE" => {
                let tasks_done = self.tasks.iter().all(|t| is(&t.status, "COMPLETED"));
                let details_ready = self
                    .switchover_details
                    .iter()
                    .all(|s| is(&s.status, "AVAILABLE"));
                let members_ready = !green_members.is_empty()
                    && green_members.iter().all(|m| is(&m.status, "available"));
                if tasks_done && details_ready && members_ready {
                    Ok(Phase::Ready)
                } else {
                    Ok(Phase::Provisioning)
                }
            }
            "SWITCHOVER_IN_PROGRESS" => Ok(Phase::Switching),
            "SWITCHOVER_COMPLETED" => Ok(Phase::Switched),
            "INVALID_CONFIGURATION" | "SWITCHOVER_FAILED" => Err(self.failure("")),
            // DELETING, or a status this tool does not know: never "keep waiting" on it.
            _ => Err(self.failure("a status this tool does not know")),
        }
    }

    fn failure(&self, what: &str) -> WorkerError {
        let lead = if what.is_empty() {
            String::new()
        } else {
            format!("{what}; ")
        };
        let fix = if is(&self.status, "SWITCHOVER_FAILED")
            || self
                .switchover_details
                .iter()
                .any(|s| is(&s.status, "SWITCHOVER_FAILED"))
        {
            "RDS rolled the switchover back: blue is still production and green is intact and \
             kept. Check the deployment's events for the cause, fix it, then run action \
             `switchover` again (it switches over this same deployment), or `abort` to delete green"
        } else if is(&self.status, "INVALID_CONFIGURATION") {
            "green cannot be used: fix the cause (often a parameter group setting), run action \
             `abort` to delete this deployment and its green, then `prepare` again"
        } else {
            "inspect the deployment in the RDS console; run action `abort` to delete it and its \
             green if it cannot recover"
        };
        let message = format!(
            "blue/green deployment {} ({}) failed: {lead}{}. {fix}",
            self.name,
            self.id,
            self.details()
        );
        if self
            .switchover_details
            .iter()
            .any(|s| is(&s.status, "SWITCHOVER_FAILED"))
            || is(&self.status, "SWITCHOVER_FAILED")
        {
            WorkerError::SwitchoverFailed(message)
        } else {
            WorkerError::GreenFailed(message)
        }
    }

    /// The names this deployment reports that are not a production database: before the
    /// switchover its green members; after it, the members renamed `NAME-oldN` next to a
    /// `NAME` the deployment also reports (AWS does not document which ARNs it reports after
    /// a switchover: if it keeps blue's original ones, the old blues are found by their
    /// `bluegreen:old-blue-of` tag instead, see `fleet::select`).
    pub fn non_production_members(&self) -> Vec<String> {
        let mut arns = vec![self.source_arn.clone(), self.target_arn.clone()];
        for s in &self.switchover_details {
            arns.push(s.source_member.clone());
            arns.push(s.target_member.clone());
        }
        let names: Vec<String> = arns
            .iter()
            .filter_map(|a| crate::model::names::parse_rds_arn(a).map(|(_, n)| n.to_string()))
            .collect();
        if !self.is_switched_over() {
            return self
                .green_member_arns()
                .into_iter()
                .chain(std::iter::once(self.target_arn.clone()))
                .filter_map(|a| crate::model::names::parse_rds_arn(&a).map(|(_, n)| n.to_string()))
                .collect();
        }
        names
            .iter()
            .filter(|n| {
                crate::model::names::looks_like_old_blue(n)
                    .is_some_and(|base| names.iter().any(|m| m.eq_ignore_ascii_case(base)))
            })
            .cloned()
            .collect()
    }

    /// Target member ARNs (green), from the switchover details.
    pub fn green_member_arns(&self) -> Vec<String> {
        self.switchover_details
            .iter()
            .map(|s| s.target_member.clone())
            .filter(|a| !a.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(status: &str) -> DeploymentView {
        DeploymentView {
            id: "bgd-1".into(),
            name: "rbg-orders-pg-to-16-4".into(),
            source_arn: "arn:aws:rds:us-east-1:123456789012:db:orders-pg".into(),
            target_arn: "arn:aws:rds:us-east-1:123456789012:db:orders-pg-green-abc".into(),
            status: status.into(),
            status_details: None,
            tasks: vec![
                DeploymentTask {
                    name: "CREATING_READ_REPLICA_OF_SOURCE".into(),
                    status: "COMPLETED".into(),
                },
                DeploymentTask {
                    name: "DB_ENGINE_VERSION_UPGRADE".into(),
                    status: "COMPLETED".into(),
                },
            ],
            switchover_details: vec![SwitchoverDetail {
                source_member: "arn:aws:rds:us-east-1:123456789012:db:orders-pg".into(),
                target_member: "arn:aws:rds:us-east-1:123456789012:db:orders-pg-green-abc".into(),
                status: "AVAILABLE".into(),
            }],
            tags: Default::default(),
        }
    }

    fn green(status: &str) -> Vec<MemberStatus> {
        vec![MemberStatus {
            arn: "arn:aws:rds:us-east-1:123456789012:db:orders-pg-green-abc".into(),
            status: status.into(),
            ..MemberStatus::default()
        }]
    }

    #[test]
    fn available_with_everything_done_is_ready() {
        assert_eq!(
            view("AVAILABLE").phase(&green("available")),
            Ok(Phase::Ready)
        );
        assert_eq!(
            view("available").phase(&green("Available")),
            Ok(Phase::Ready)
        );
    }

    #[test]
    fn available_with_a_task_in_progress_is_still_provisioning() {
        let mut v = view("AVAILABLE");
        v.tasks[1].status = "IN_PROGRESS".into();
        assert_eq!(v.phase(&green("available")), Ok(Phase::Provisioning));
    }

    #[test]
    fn green_in_storage_optimization_is_not_ready() {
        assert_eq!(
            view("AVAILABLE").phase(&green("storage-optimization")),
            Ok(Phase::Provisioning)
        );
        assert_eq!(view("AVAILABLE").phase(&[]), Ok(Phase::Provisioning));
    }

    #[test]
    fn invalid_configuration_fails_with_status_details() {
        let mut v = view("INVALID_CONFIGURATION");
        v.status_details = Some("incompatible parameter(s): max_replication_slots".into());
        let err = v.phase(&green("available")).unwrap_err();
        assert_eq!(err.name(), "GreenFailed");
        assert!(err.to_string().contains("max_replication_slots"), "{err}");
        assert!(err.to_string().contains("abort"), "{err}");
    }

    #[test]
    fn switchover_failed_only_in_details_is_a_failure() {
        let mut v = view("AVAILABLE");
        v.switchover_details[0].status = "switchover_failed".into();
        let err = v.phase(&green("available")).unwrap_err();
        assert_eq!(err.name(), "SwitchoverFailed");
    }

    #[test]
    fn missing_members_failed_tasks_and_unknown_statuses_fail() {
        let mut v = view("AVAILABLE");
        v.switchover_details[0].status = "MISSING_TARGET".into();
        assert_eq!(
            v.phase(&green("available")).unwrap_err().name(),
            "GreenFailed"
        );
        let mut v = view("PROVISIONING");
        v.tasks[0].status = "FAILED".into();
        assert!(v
            .phase(&[])
            .unwrap_err()
            .to_string()
            .contains("CREATING_READ_REPLICA_OF_SOURCE"));
        assert_eq!(
            view("SOMETHING_NEW").phase(&[]).unwrap_err().name(),
            "GreenFailed"
        );
        assert_eq!(
            view("DELETING").phase(&[]).unwrap_err().name(),
            "GreenFailed"
        );
    }

    #[test]
    fn switchover_statuses_map_to_switching_and_switched() {
        assert_eq!(
            view("SWITCHOVER_IN_PROGRESS").phase(&[]),
            Ok(Phase::Switching)
        );
        let mut v = view("SWITCHOVER_COMPLETED");
        v.switchover_details[0].status = "SWITCHOVER_COMPLETED".into();
        assert_eq!(v.phase(&[]), Ok(Phase::Switched));
    }
}
