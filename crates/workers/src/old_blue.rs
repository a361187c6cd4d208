//! Reading the old blue after a switchover: one gatherer, for verify and for the precheck of a
//! run started after the switchover. What it means is decided by the domain
//! (`bluegreen_domain::verify::old_blue::locate`).

use bluegreen_aws::RdsRead;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::verify::old_blue::{OldBlueFacts, OldBlueLookup};

/// The database that carries blue's resource id now and, when that finds nothing, the one the
/// deployment reports as its source.
pub async fn gather<R: RdsRead>(
    rds: &R,
    lookup: &OldBlueLookup,
) -> Result<OldBlueFacts, WorkerError> {
    let by_resource_id = match &lookup.resource_id {
        Some(id) => rds.describe_by_resource_id(lookup.kind, id).await?,
        None => None,
    };
    let reported = match (lookup.reported_name(), &by_resource_id) {
        (Some(name), None) => rds.describe(lookup.kind, name).await?,
        _ => None,
    };
    Ok(OldBlueFacts {
        production: lookup.production.clone(),
        resource_id: lookup.resource_id.clone(),
        by_resource_id,
        reported_source_arn: lookup.reported_source_arn.clone(),
        reported,
    })
}
