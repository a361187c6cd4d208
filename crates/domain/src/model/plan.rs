//! The deployment a run will create: a deterministic name (so a restarted run finds and
//! adopts it, see `names::deployment_name`) and the exact CreateBlueGreenDeployment
//! parameters.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePlan {
    pub deployment_name: String,
    pub source_arn: String,
    pub target_engine_version: String,
    pub is_major_upgrade: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_parameter_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_cluster_parameter_group_name: Option<String>,
    /// Sent with CreateBlueGreenDeployment: RDS DB instances only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_db_instance_class: Option<String>,
    /// Aurora: AWS refuses `TargetDBInstanceClass` for a cluster ("don't specify this
    /// parameter"), so green's instances are modified to this class once green is ready,
    /// and the switchover waits until they run it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green_instance_class: Option<String>,
    pub tags: BTreeMap<String, String>,
}
