//! An engine major version's support dates (`DescribeDBMajorEngineVersions`) and what not
//! upgrading costs, as the plan reports it (`precheck::lifecycle` computes it).

use serde::{Deserialize, Serialize};

/// A major version's support dates, from `SupportedEngineLifecycles` (ISO dates).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MajorLifecycle {
    pub engine: String,
    pub major: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_support_ends: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_support_starts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_support_ends: Option<String>,
}

/// What not upgrading costs, as the plan reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostOfWaiting {
    pub major: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_support_ends: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_support_starts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_support_ends: Option<String>,
    /// Past the end of standard support on `today`.
    pub in_extended_support: bool,
    /// vCPUs billed: the instance's, times (1 + a Multi-AZ standby + each read replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus_billed: Option<u32>,
    pub rate_per_vcpu_hour: f64,
    /// The monthly Extended Support charge at that rate, when the vCPUs are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_usd: Option<f64>,
    pub note: String,
}
