//! Shared fixtures for the adapters' tests: SDK clients answered by rules (`mock`),
//! HTTP answers in each service's own protocol (RDS, SNS and CloudFormation speak the AWS
//! Query protocol, CloudWatch Smithy RPC v2 CBOR, Step Functions AWS JSON 1.0, DMS, KMS,
//! Application Auto Scaling and Secrets Manager AWS JSON 1.1), the wire failures below the API (a reset connection, a
//! connect timeout, an answer that never comes), and SDK shapes.

#![allow(dead_code)]

use aws_sdk_rds::types::{
    BlueGreenDeployment, BlueGreenDeploymentTask, DbCluster, DbClusterMember, DbInstance,
    DbParameterGroupStatus, Endpoint, OptionGroupMembership, SwitchoverDetail, Tag,
};
pub mod mock;

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use bluegreen_aws::{Clients, Executions, Metrics, Notifier, Rds, Secrets, Stacks};
use mock::{mock_client, Rule};
use std::time::Duration;

pub const ACCOUNT: &str = "123456789012";
pub const DB: &str = "orders-pg";
pub const SOURCE_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:orders-pg";
pub const GREEN: &str = "orders-pg-green-x1y2z3";
pub const GREEN_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:orders-pg-green-x1y2z3";
pub const DEPLOYMENT_ID: &str = "bgd-v53303651eihqk6t";
pub const DEPLOYMENT_NAME: &str = "rbg-orders-pg-to-16-4";
pub const BLUE_RID: &str = "db-BLUEBLUEBLUEBLUEBLUEBLUE01";
pub const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:rds-bluegreen";
pub const MACHINE: &str =
    "arn:aws:states:us-east-1:123456789012:stateMachine:rds-bluegreen-upgrade";
pub const KEY_ARN: &str =
    "arn:aws:kms:us-east-1:123456789012:key/5e9c1f7a-2b4d-4c6e-8f0a-customer0001";
pub const MONITORING_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/rds-monitoring-role";

// ---------------------------------------------------------------- protocols and faults

/// How a service encodes its errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// RDS, SNS, CloudFormation: `<ErrorResponse><Error><Code>` in XML.
    Query,
    /// CloudWatch: `{"__type": code}` in CBOR.
    Cbor,
    /// Step Functions: `{"__type": code}` in JSON (AWS JSON 1.0).
    Json,
    /// AWS DMS, AWS KMS, Application Auto Scaling, Secrets Manager: the same in AWS JSON 1.1.
    Json11,
}

/// The protocol of an operation named `service:Operation`.
pub fn proto_of(op: &str) -> Proto {
    match op.split(':').next() {
        Some("cloudwatch") => Proto::Cbor,
        Some("states") => Proto::Json,
        Some("dms" | "kms" | "application-autoscaling" | "secretsmanager") => Proto::Json11,
        _ => Proto::Query,
    }
}

/// How a call fails below the modeled API: what the SDK sees when AWS or the network has
/// trouble. `Http*` go through the SDK's real error parsing (the body each protocol uses);
/// the others are produced by the HTTP client the mocked clients are built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFault {
    /// HTTP 500 `InternalFailure`, in the service's own error format.
    Http500,
    /// HTTP 503 `ServiceUnavailable`, in the service's own error format.
    Http503,
    /// HTTP 502 with an HTML page from a proxy: no AWS error code at all.
    Http502Html,
    /// The connection was reset (the SDK's `ConnectorError::io`: a dispatch failure).
    ConnectionReset,
    /// Connecting timed out (`ConnectorError::timeout`: a dispatch failure).
    ConnectTimeout,
    /// The request was sent and no answer came: the attempt timeout fires.
    NoAnswer,
}

impl WireFault {
    pub const ALL: [WireFault; 6] = [
        WireFault::Http500,
        WireFault::Http503,
        WireFault::Http502Html,
        WireFault::ConnectionReset,
        WireFault::ConnectTimeout,
        WireFault::NoAnswer,
    ];
}

const FAULT_HEADER: &str = "x-test-wire-fault";

/// `{"__type": code, "message": message}` in CBOR (short text strings only).
fn cbor_error(code: &str, message: &str) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        let n = s.len();
        if n < 24 {
            out.push(0x60 + n as u8);
        } else {
            assert!(n < 256, "short strings only");
            out.push(0x78);
            out.push(n as u8);
        }
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = vec![0xA2];
    text(&mut out, "__type");
    text(&mut out, code);
    text(&mut out, "message");
    text(&mut out, message);
    out
}

/// An AWS error answer: `code` (none: no code at all) with `status`, in the protocol's format.
pub fn error_response(
    proto: Proto,
    status: u16,
    code: Option<&str>,
    message: &str,
) -> HttpResponse {
    let status_code = StatusCode::try_from(status).expect("status");
    let mut r = match proto {
        Proto::Query => {
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            let code = code
                .map(|c| format!("<Code>{c}</Code>"))
                .unwrap_or_default();
            HttpResponse::new(
                status_code,
                SdkBody::from(format!(
                    "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error>\
                     <Type>{kind}</Type>{code}<Message>{message}</Message></Error>\
                     <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>"
                )),
            )
        }
        Proto::Cbor => HttpResponse::new(
            status_code,
            SdkBody::from(cbor_error(code.unwrap_or("Unknown"), message)),
        ),
        Proto::Json | Proto::Json11 => HttpResponse::new(
            status_code,
            SdkBody::from(match code {
                Some(c) => format!("{{\"__type\":\"{c}\",\"message\":\"{message}\"}}"),
                None => format!("{{\"message\":\"{message}\"}}"),
            }),
        ),
    };
    match proto {
        Proto::Query => {
            r.headers_mut().insert("content-type", "text/xml");
        }
        Proto::Cbor => {
            r.headers_mut().insert("content-type", "application/cbor");
            r.headers_mut().insert("smithy-protocol", "rpc-v2-cbor");
        }
        Proto::Json => {
            r.headers_mut()
                .insert("content-type", "application/x-amz-json-1.0");
        }
        Proto::Json11 => {
            r.headers_mut()
                .insert("content-type", "application/x-amz-json-1.1");
        }
    }
    r
}

/// The HTTP answer that stands for `fault` on an operation of `proto`. Connector faults and
/// hangs are marked with a header the HTTP client below turns into the real thing.
pub fn wire_response(proto: Proto, fault: WireFault) -> HttpResponse {
    let marked = |mark: &'static str| {
        let mut r = HttpResponse::new(StatusCode::try_from(200).expect("status"), SdkBody::empty());
        r.headers_mut().insert(FAULT_HEADER, mark);
        r
    };
    match fault {
        WireFault::Http500 => error_response(
            proto,
            500,
            Some("InternalFailure"),
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        WireFault::Http503 => error_response(
            proto,
            503,
            Some("ServiceUnavailable"),
            "Service is unavailable. Try again later.",
        ),
        WireFault::Http502Html => {
            let mut r = HttpResponse::new(
                StatusCode::try_from(502).expect("status"),
                SdkBody::from("<html><body><h1>502 Bad Gateway</h1></body></html>"),
            );
            r.headers_mut().insert("content-type", "text/html");
            r
        }
        WireFault::ConnectionReset => marked("reset"),
        WireFault::ConnectTimeout => marked("connect-timeout"),
        WireFault::NoAnswer => marked("no-answer"),
    }
}

/// The mock HTTP client (`mock::http_client`), wrapped: an answer marked by `wire_response`
/// becomes a connection reset, a connect timeout, or an answer that never comes.
fn faulting_http_client() -> SharedHttpClient {
    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    #[derive(Debug)]
    struct Faulting(SharedHttpConnector);
    impl HttpConnector for Faulting {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let answer = self.0.call(request);
            HttpConnectorFuture::new(async move {
                let response = answer.await?;
                match response.headers().get(FAULT_HEADER) {
                    Some("reset") => Err(ConnectorError::io(Box::new(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "connection reset by peer",
                    )))),
                    Some("connect-timeout") => {
                        Err(ConnectorError::timeout("connect timed out after 3s".into()))
                    }
                    Some("no-answer") => std::future::pending().await,
                    _ => Ok(response),
                }
            })
        }
    }
    let mock = mock::http_client();
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Faulting(mock.http_connector(settings, components)))
    })
}

/// A call that gets no answer times out after 200 ms.
fn attempt_timeout() -> aws_sdk_rds::config::timeout::TimeoutConfig {
    aws_sdk_rds::config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_millis(200))
        .build()
}

/// The adapters over clients that answer by `rules` (in order, the first that matches; a call
/// no rule answers panics), without retries: what one attempt ends with.
pub fn clients(rules: &[Rule]) -> Clients {
    Clients {
        rds: Rds::new(mock_client!(aws_sdk_rds, rules, |c| c
            .retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled())
            .timeout_config(attempt_timeout())
            .http_client(faulting_http_client()))),
        metrics: Metrics::new(mock_client!(aws_sdk_cloudwatch, rules, |c| c
            .retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled())
            .timeout_config(attempt_timeout())
            .http_client(faulting_http_client()))),
        notifier: Notifier::new(mock_client!(aws_sdk_sns, rules, |c| c
            .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
            .timeout_config(attempt_timeout())
            .http_client(faulting_http_client()))),
    }
}

pub fn dms(rules: &[Rule]) -> bluegreen_aws::Dms {
    bluegreen_aws::Dms::new(mock_client!(aws_sdk_databasemigration, rules, |c| c
        .retry_config(aws_sdk_databasemigration::config::retry::RetryConfig::disabled())
        .timeout_config(attempt_timeout())
        .http_client(faulting_http_client())))
}

pub fn kms(rules: &[Rule]) -> bluegreen_aws::Kms {
    bluegreen_aws::Kms::new(mock_client!(aws_sdk_kms, rules, |c| c
        .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
        .timeout_config(attempt_timeout())
        .http_client(faulting_http_client())))
}

pub fn scaling(rules: &[Rule]) -> bluegreen_aws::AutoScaling {
    bluegreen_aws::AutoScaling::new(mock_client!(aws_sdk_applicationautoscaling, rules, |c| c
        .retry_config(aws_sdk_applicationautoscaling::config::retry::RetryConfig::disabled())
        .timeout_config(attempt_timeout())
        .http_client(faulting_http_client())))
}

pub fn stacks(rules: &[Rule]) -> Stacks {
    Stacks::new(mock_client!(aws_sdk_cloudformation, rules, |c| c
        .retry_config(aws_sdk_cloudformation::config::retry::RetryConfig::disabled())
        .timeout_config(attempt_timeout())
        .http_client(faulting_http_client())))
}

pub fn secrets(rules: &[Rule]) -> Secrets {
    Secrets::new(mock_client!(aws_sdk_secretsmanager, rules, |c| c
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
        .timeout_config(attempt_timeout())
        .http_client(faulting_http_client())))
}

pub fn executions(rules: &[Rule]) -> Executions {
    Executions::new(mock_client!(aws_sdk_sfn, rules, |c| c
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
        .timeout_config(attempt_timeout())
        .http_client(faulting_http_client())))
}

/// A rule answering every call to `op` (`service:Operation`) with the HTTP answer `make` builds.
pub fn respond(op: &str, make: impl Fn() -> HttpResponse + Send + Sync + 'static) -> Rule {
    use mock::mock;
    match op {
        "rds:DescribeDBInstances" => {
            mock!(aws_sdk_rds::Client::describe_db_instances).then_http_response(make)
        }
        "rds:DescribeDBClusters" => {
            mock!(aws_sdk_rds::Client::describe_db_clusters).then_http_response(make)
        }
        "rds:DescribeDBParameters" => {
            mock!(aws_sdk_rds::Client::describe_db_parameters).then_http_response(make)
        }
        "rds:DescribeDBClusterParameters" => {
            mock!(aws_sdk_rds::Client::describe_db_cluster_parameters).then_http_response(make)
        }
        "rds:DescribeDBEngineVersions" => {
            mock!(aws_sdk_rds::Client::describe_db_engine_versions).then_http_response(make)
        }
        "rds:DescribeDBParameterGroups" => {
            mock!(aws_sdk_rds::Client::describe_db_parameter_groups).then_http_response(make)
        }
        "rds:DescribeDBClusterParameterGroups" => {
            mock!(aws_sdk_rds::Client::describe_db_cluster_parameter_groups)
                .then_http_response(make)
        }
        "rds:DescribeBlueGreenDeployments" => {
            mock!(aws_sdk_rds::Client::describe_blue_green_deployments).then_http_response(make)
        }
        "rds:DescribeDBProxies" => {
            mock!(aws_sdk_rds::Client::describe_db_proxies).then_http_response(make)
        }
        "rds:DescribeDBProxyTargets" => {
            mock!(aws_sdk_rds::Client::describe_db_proxy_targets).then_http_response(make)
        }
        "rds:DescribeDBClusterEndpoints" => {
            mock!(aws_sdk_rds::Client::describe_db_cluster_endpoints).then_http_response(make)
        }
        "rds:DescribeGlobalClusters" => {
            mock!(aws_sdk_rds::Client::describe_global_clusters).then_http_response(make)
        }
        "rds:DescribeIntegrations" => {
            mock!(aws_sdk_rds::Client::describe_integrations).then_http_response(make)
        }
        "rds:DescribeDBMajorEngineVersions" => {
            mock!(aws_sdk_rds::Client::describe_db_major_engine_versions).then_http_response(make)
        }
        "rds:DescribePendingMaintenanceActions" => {
            mock!(aws_sdk_rds::Client::describe_pending_maintenance_actions)
                .then_http_response(make)
        }
        "rds:CreateBlueGreenDeployment" => {
            mock!(aws_sdk_rds::Client::create_blue_green_deployment).then_http_response(make)
        }
        "rds:ModifyDBInstance" => {
            mock!(aws_sdk_rds::Client::modify_db_instance).then_http_response(make)
        }
        "rds:ModifyDBCluster" => {
            mock!(aws_sdk_rds::Client::modify_db_cluster).then_http_response(make)
        }
        "rds:AddTagsToResource" => {
            mock!(aws_sdk_rds::Client::add_tags_to_resource).then_http_response(make)
        }
        "rds:SwitchoverBlueGreenDeployment" => {
            mock!(aws_sdk_rds::Client::switchover_blue_green_deployment).then_http_response(make)
        }
        "rds:DeleteBlueGreenDeployment" => {
            mock!(aws_sdk_rds::Client::delete_blue_green_deployment).then_http_response(make)
        }
        "rds:CreateDBSnapshot" => {
            mock!(aws_sdk_rds::Client::create_db_snapshot).then_http_response(make)
        }
        "rds:CreateDBClusterSnapshot" => {
            mock!(aws_sdk_rds::Client::create_db_cluster_snapshot).then_http_response(make)
        }
        "rds:DescribeDBSnapshots" => {
            mock!(aws_sdk_rds::Client::describe_db_snapshots).then_http_response(make)
        }
        "rds:DescribeDBClusterSnapshots" => {
            mock!(aws_sdk_rds::Client::describe_db_cluster_snapshots).then_http_response(make)
        }
        "rds:DeleteDBInstance" => {
            mock!(aws_sdk_rds::Client::delete_db_instance).then_http_response(make)
        }
        "rds:DeleteDBCluster" => {
            mock!(aws_sdk_rds::Client::delete_db_cluster).then_http_response(make)
        }
        "cloudwatch:GetMetricStatistics" => {
            mock!(aws_sdk_cloudwatch::Client::get_metric_statistics).then_http_response(make)
        }
        "cloudwatch:PutMetricData" => {
            mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_http_response(make)
        }
        "sns:Publish" => mock!(aws_sdk_sns::Client::publish).then_http_response(make),
        "states:StartExecution" => {
            mock!(aws_sdk_sfn::Client::start_execution).then_http_response(make)
        }
        "states:DescribeExecution" => {
            mock!(aws_sdk_sfn::Client::describe_execution).then_http_response(make)
        }
        "states:GetExecutionHistory" => {
            mock!(aws_sdk_sfn::Client::get_execution_history).then_http_response(make)
        }
        "states:ListExecutions" => {
            mock!(aws_sdk_sfn::Client::list_executions).then_http_response(make)
        }
        "states:SendTaskSuccess" => {
            mock!(aws_sdk_sfn::Client::send_task_success).then_http_response(make)
        }
        "states:SendTaskFailure" => {
            mock!(aws_sdk_sfn::Client::send_task_failure).then_http_response(make)
        }
        "cloudformation:DescribeStacks" => {
            mock!(aws_sdk_cloudformation::Client::describe_stacks).then_http_response(make)
        }
        "secretsmanager:GetSecretValue" => {
            mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_http_response(make)
        }
        "dms:DescribeEndpoints" => {
            mock!(aws_sdk_databasemigration::Client::describe_endpoints).then_http_response(make)
        }
        "dms:DescribeReplicationTasks" => {
            mock!(aws_sdk_databasemigration::Client::describe_replication_tasks)
                .then_http_response(make)
        }
        "rds:ListTagsForResource" => {
            mock!(aws_sdk_rds::Client::list_tags_for_resource).then_http_response(make)
        }
        "kms:DescribeKey" => mock!(aws_sdk_kms::Client::describe_key).then_http_response(make),
        "application-autoscaling:DescribeScalableTargets" => {
            mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
                .then_http_response(make)
        }
        "application-autoscaling:DescribeScalingPolicies" => {
            mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_policies)
                .then_http_response(make)
        }
        other => panic!("no rule for {other}"),
    }
}

/// Every call to `op` fails with `fault`.
pub fn fault(op: &str, fault: WireFault) -> Rule {
    let proto = proto_of(op);
    respond(op, move || wire_response(proto, fault))
}

/// Every call to `op` is answered with the AWS error `code` and `status`.
pub fn refuse(op: &str, status: u16, code: &str) -> Rule {
    let proto = proto_of(op);
    let code = code.to_string();
    respond(op, move || {
        error_response(proto, status, Some(&code), "refused by the test")
    })
}

// ---------------------------------------------------------------- SDK shapes

pub fn arn_of(id: &str) -> String {
    format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:{id}")
}

pub fn cluster_arn_of(id: &str) -> String {
    format!("arn:aws:rds:us-east-1:{ACCOUNT}:cluster:{id}")
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// An RDS PostgreSQL instance as DescribeDBInstances returns it: Multi-AZ, encrypted with
/// `KEY_ARN`, Enhanced Monitoring by `MONITORING_ROLE_ARN`, deletion protection on, 7 days of
/// backups, a custom parameter group of its major.
pub fn instance(id: &str, version: &str, rid: &str) -> DbInstance {
    let major = version.split('.').next().unwrap_or_default();
    DbInstance::builder()
        .db_instance_identifier(id)
        .db_instance_arn(arn_of(id))
        .dbi_resource_id(rid)
        .engine("postgres")
        .engine_version(version)
        .db_instance_status("available")
        .db_instance_class("db.r6g.large")
        .multi_az(true)
        .endpoint(
            Endpoint::builder()
                .address(format!("{id}.c9akciq32.us-east-1.rds.amazonaws.com"))
                .port(5432)
                .hosted_zone_id("Z2R2ITUGPM61AM")
                .build(),
        )
        .allocated_storage(100)
        .storage_type("gp3")
        .storage_encrypted(true)
        .kms_key_id(KEY_ARN)
        .monitoring_role_arn(MONITORING_ROLE_ARN)
        .monitoring_interval(60)
        .backup_retention_period(7)
        .deletion_protection(true)
        .db_parameter_groups(
            DbParameterGroupStatus::builder()
                .db_parameter_group_name(format!("orders-pg{major}"))
                .parameter_apply_status("in-sync")
                .build(),
        )
        .option_group_memberships(
            OptionGroupMembership::builder()
                .option_group_name(format!("default:postgres-{major}"))
                .status("in-sync")
                .build(),
        )
        .tag_list(tag("team", "payments"))
        .tag_list(tag("bluegreen:managed", "true"))
        .build()
}

/// An Aurora PostgreSQL cluster as DescribeDBClusters returns it; `members` are its
/// instances, the first one the writer.
pub fn cluster(id: &str, version: &str, members: &[&str]) -> DbCluster {
    let major = version.split('.').next().unwrap_or_default();
    let mut c = DbCluster::builder()
        .db_cluster_identifier(id)
        .db_cluster_arn(cluster_arn_of(id))
        .db_cluster_resource_id(format!("cluster-{}", id.to_ascii_uppercase()))
        .engine("aurora-postgresql")
        .engine_version(version)
        .status("available")
        .endpoint(format!(
            "{id}.cluster-c9akciq32.us-east-1.rds.amazonaws.com"
        ))
        .port(5432)
        .multi_az(true)
        .backup_retention_period(7)
        .deletion_protection(true)
        .storage_encrypted(true)
        .kms_key_id(KEY_ARN)
        .db_cluster_parameter_group(format!("{id}-apg{major}"))
        .tag_list(tag("bluegreen:managed", "true"));
    for (i, m) in members.iter().enumerate() {
        c = c.db_cluster_members(
            DbClusterMember::builder()
                .db_instance_identifier(*m)
                .is_cluster_writer(i == 0)
                .db_cluster_parameter_group_status("in-sync")
                .build(),
        );
    }
    c.build()
}

/// Our deployment as DescribeBlueGreenDeployments returns it, AVAILABLE.
pub fn deployment() -> BlueGreenDeployment {
    BlueGreenDeployment::builder()
        .blue_green_deployment_identifier(DEPLOYMENT_ID)
        .blue_green_deployment_name(DEPLOYMENT_NAME)
        .source(SOURCE_ARN)
        .target(GREEN_ARN)
        .status("AVAILABLE")
        .tasks(
            BlueGreenDeploymentTask::builder()
                .name("DB_ENGINE_VERSION_UPGRADE")
                .status("COMPLETED")
                .build(),
        )
        .switchover_details(
            SwitchoverDetail::builder()
                .source_member(SOURCE_ARN)
                .target_member(GREEN_ARN)
                .status("AVAILABLE")
                .build(),
        )
        .tag_list(tag("bluegreen:managed-by", "rds-bluegreen"))
        .tag_list(tag("bluegreen:source-resource-id", BLUE_RID))
        .build()
}
