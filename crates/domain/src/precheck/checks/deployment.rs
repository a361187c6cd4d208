//! The deployment found for this source: adopt ours, refuse another in flight.

use super::PrecheckFacts;
use crate::model::check::{id, Check};
use crate::model::deployment::DeploymentView;
use crate::model::report::ExistingDeployment;
use crate::model::request::Action;

pub(super) fn check_existing_deployments(f: &PrecheckFacts) -> (Check, ExistingDeployment) {
    const ID: &str = id::EXISTING_DEPLOYMENT;
    let ours = f.deployments.iter().find(|d| d.name == f.deployment_name);
    let others: Vec<&DeploymentView> = f
        .deployments
        .iter()
        .filter(|d| d.name != f.deployment_name && d.is_in_flight())
        .collect();
    if let Some(other) = others.first() {
        return (
            Check::fail(
                ID,
                format!("deployment {} ({}) is {} for this source", other.name, other.id, other.status),
                "finish or delete that deployment first; only one blue/green deployment per source is allowed",
            ),
            ExistingDeployment::Conflict,
        );
    }
    match (ours, f.request.action) {
        (None, Action::Switchover | Action::Abort | Action::Cleanup) => (
            Check::fail(
                ID,
                format!("no deployment named {} for this source", f.deployment_name),
                "run action `prepare` (or `upgrade`) with the same db_identifier and target_engine_version first",
            ),
            ExistingDeployment::None,
        ),
        (None, _) => (Check::pass(ID, format!("no deployment for this source; will create {}", f.deployment_name)), ExistingDeployment::None),
        (Some(d), _) if d.is_adoptable_before_switchover() || d.is_switchover_in_progress() || d.is_switched_over() => {
            (Check::pass(ID, format!("deployment {} ({}) is {}: will continue with it", d.name, d.id, d.status)), ExistingDeployment::Adopt)
        }
        (Some(d), Action::Abort) => (Check::pass(ID, format!("deployment {} ({}) is {}", d.name, d.id, d.status)), ExistingDeployment::Adopt),
        (Some(d), _) => (
            Check::fail(
                ID,
                format!("deployment {} ({}) is {}{}", d.name, d.id, d.status, d.status_details.as_deref().map(|s| format!(": {s}")).unwrap_or_default()),
                "this deployment cannot be resumed: run action `abort` to delete it and its green, then start again",
            ),
            ExistingDeployment::Conflict,
        ),
    }
}
