//! AWS DMS: the account's endpoints and the replication tasks that use them, read by the
//! precheck alone (only its binary links this client).

use crate::errors::Classify;
use aws_sdk_databasemigration::config::http::HttpResponse;
use aws_sdk_databasemigration::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_databasemigration::types::Filter;
use aws_sdk_databasemigration::Client;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::source::{DmsEndpoint, DmsTaskListing};

#[derive(Clone, Debug)]
pub struct Dms {
    client: Client,
}

impl Dms {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
    }

    /// Every endpoint of the account in this Region (DescribeEndpoints, every page; the API
    /// reference offers no filter on the host).
    pub async fn endpoints(&self) -> Result<Vec<DmsEndpoint>, WorkerError> {
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_endpoints()
                .set_marker(marker.clone())
                .send()
                .await;
            let out = match out {
                Err(e) if none_found(&e) => return Ok(found),
                other => other.or_classify("dms:DescribeEndpoints")?,
            };
            found.extend(out.endpoints().iter().map(|e| DmsEndpoint {
                arn: e.endpoint_arn().unwrap_or_default().to_string(),
                identifier: e.endpoint_identifier().unwrap_or_default().to_string(),
                server_name: e.server_name().map(str::to_string),
                port: e.port(),
            }));
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(found),
            }
        }
    }

    /// The replication tasks whose source or target is one of `endpoint_arns`
    /// (DescribeReplicationTasks, filter `endpoint-arn`, every page; `WithoutSettings`: the
    /// task settings are large and not needed).
    pub async fn tasks_using(
        &self,
        endpoint_arns: &[String],
    ) -> Result<Vec<DmsTaskListing>, WorkerError> {
        let filter = Filter::builder()
            .name("endpoint-arn")
            .set_values(Some(endpoint_arns.to_vec()))
            .build()
            .map_err(|e| WorkerError::MalformedRun(format!("DMS filter: {e}")))?;
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_replication_tasks()
                .filters(filter.clone())
                .without_settings(true)
                .set_marker(marker.clone())
                .send()
                .await;
            let out = match out {
                Err(e) if none_found(&e) => return Ok(found),
                other => other.or_classify("dms:DescribeReplicationTasks")?,
            };
            found.extend(out.replication_tasks().iter().map(|t| {
                DmsTaskListing {
                    identifier: t
                        .replication_task_identifier()
                        .unwrap_or_default()
                        .to_string(),
                    status: t.status().unwrap_or_default().to_string(),
                    source_endpoint_arn: t.source_endpoint_arn().unwrap_or_default().to_string(),
                    target_endpoint_arn: t.target_endpoint_arn().unwrap_or_default().to_string(),
                }
            }));
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(found),
            }
        }
    }
}

/// DMS's describe calls may answer "nothing found" as `ResourceNotFoundFault` rather than an
/// empty list (the Terraform provider treats it so); both mean none.
fn none_found<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    crate::errors::code_of(e) == Some("ResourceNotFoundFault")
}
