//! Shared fixtures for the worker tests: a small fake AWS account (an RDS PostgreSQL 13.15
//! instance `orders-pg` going to 16.4) served through `aws-smithy-mocks` rules, realistic SDK
//! response shapes built with the SDK's own builders, and the run documents the state machine
//! would pass between steps.
//!
//! Every RDS, CloudWatch and SNS call a handler makes is answered from `State` and logged;
//! mutating calls are captured with their exact request so tests can assert on them. A call
//! no rule answers panics (the mock interceptor's `must_match`), so "no AWS call" is
//! asserted by giving a handler `no_aws()`.

#![allow(dead_code)]

use aws_sdk_cloudwatch::operation::get_metric_statistics::{
    GetMetricStatisticsError, GetMetricStatisticsInput, GetMetricStatisticsOutput,
};
use aws_sdk_cloudwatch::operation::put_metric_data::{
    PutMetricDataError, PutMetricDataInput, PutMetricDataOutput,
};
use aws_sdk_cloudwatch::types::Datapoint;
use aws_sdk_rds::operation::add_tags_to_resource::{
    AddTagsToResourceError, AddTagsToResourceOutput,
};
use aws_sdk_rds::operation::create_blue_green_deployment::{
    CreateBlueGreenDeploymentError, CreateBlueGreenDeploymentInput, CreateBlueGreenDeploymentOutput,
};
use aws_sdk_rds::operation::create_db_cluster_snapshot::{
    CreateDBClusterSnapshotError, CreateDbClusterSnapshotInput, CreateDbClusterSnapshotOutput,
};
use aws_sdk_rds::operation::create_db_snapshot::{
    CreateDBSnapshotError, CreateDbSnapshotInput, CreateDbSnapshotOutput,
};
use aws_sdk_rds::operation::delete_blue_green_deployment::{
    DeleteBlueGreenDeploymentError, DeleteBlueGreenDeploymentInput, DeleteBlueGreenDeploymentOutput,
};
use aws_sdk_rds::operation::delete_db_cluster::{
    DeleteDBClusterError, DeleteDbClusterInput, DeleteDbClusterOutput,
};
use aws_sdk_rds::operation::delete_db_instance::{
    DeleteDBInstanceError, DeleteDbInstanceInput, DeleteDbInstanceOutput,
};
use aws_sdk_rds::operation::describe_blue_green_deployments::{
    DescribeBlueGreenDeploymentsError, DescribeBlueGreenDeploymentsOutput,
};
use aws_sdk_rds::operation::describe_db_cluster_parameter_groups::{
    DescribeDBClusterParameterGroupsError, DescribeDbClusterParameterGroupsOutput,
};
use aws_sdk_rds::operation::describe_db_cluster_parameters::{
    DescribeDBClusterParametersError, DescribeDbClusterParametersOutput,
};
use aws_sdk_rds::operation::describe_db_cluster_snapshots::{
    DescribeDBClusterSnapshotsError, DescribeDbClusterSnapshotsOutput,
};
use aws_sdk_rds::operation::describe_db_clusters::{
    DescribeDBClustersError, DescribeDbClustersOutput,
};
use aws_sdk_rds::operation::describe_db_engine_versions::{
    DescribeDBEngineVersionsError, DescribeDbEngineVersionsOutput,
};
use aws_sdk_rds::operation::describe_db_instances::{
    DescribeDBInstancesError, DescribeDbInstancesOutput,
};
use aws_sdk_rds::operation::describe_db_parameter_groups::{
    DescribeDBParameterGroupsError, DescribeDbParameterGroupsOutput,
};
use aws_sdk_rds::operation::describe_db_parameters::{
    DescribeDBParametersError, DescribeDbParametersOutput,
};
use aws_sdk_rds::operation::describe_db_snapshots::{
    DescribeDBSnapshotsError, DescribeDbSnapshotsOutput,
};
use aws_sdk_rds::operation::describe_pending_maintenance_actions::{
    DescribePendingMaintenanceActionsError, DescribePendingMaintenanceActionsOutput,
};
use aws_sdk_rds::operation::modify_db_cluster::{
    ModifyDBClusterError, ModifyDbClusterInput, ModifyDbClusterOutput,
};
use aws_sdk_rds::operation::modify_db_instance::{
    ModifyDBInstanceError, ModifyDbInstanceInput, ModifyDbInstanceOutput,
};
use aws_sdk_rds::operation::switchover_blue_green_deployment::{
    SwitchoverBlueGreenDeploymentError, SwitchoverBlueGreenDeploymentInput,
    SwitchoverBlueGreenDeploymentOutput,
};
use aws_sdk_rds::types::{
    BlueGreenDeployment, BlueGreenDeploymentTask, DbCluster, DbClusterMember,
    DbClusterParameterGroup, DbClusterSnapshot, DbEngineVersion, DbInstance, DbParameterGroup,
    DbParameterGroupStatus, DbSnapshot, Endpoint, OptionGroupMembership, Parameter,
    PendingMaintenanceAction, ResourcePendingMaintenanceActions, SwitchoverDetail, Tag,
    UpgradeTarget,
};
use aws_sdk_sns::operation::publish::{PublishError, PublishInput, PublishOutput};
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::DateTime;
use bluegreen_aws::{Metrics, Notifier, Rds};
use bluegreen_domain::engine::Engine;
use bluegreen_domain::plan::CreatePlan;
use bluegreen_domain::request::{DbKind, Request};
use bluegreen_domain::run::{DeploymentRecord, ExecutionInfo, Route, Run};
use bluegreen_domain::source::{Membership, SourceDb};
use bluegreen_workers::runtime::rfc3339;
use bluegreen_workers::{Deps, Invocation};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------- names

pub const ACCOUNT: &str = "123456789012";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:precheck";
pub const DB: &str = "orders-pg";
pub const SOURCE_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:orders-pg";
pub const OLD_BLUE: &str = "orders-pg-old1";
pub const OLD_BLUE_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:orders-pg-old1";
pub const GREEN: &str = "orders-pg-green-x1y2z3";
pub const GREEN_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:orders-pg-green-x1y2z3";
pub const ENDPOINT: &str = "orders-pg.c9akciq32.us-east-1.rds.amazonaws.com";
pub const DEPLOYMENT_NAME: &str = "rbg-orders-pg-to-16-4";
/// Resource ids stay with a database through renames: blue's is the old blue's after the
/// switchover, green's is production's.
pub const BLUE_RID: &str = "db-BLUEBLUEBLUEBLUEBLUEBLUE01";
pub const GREEN_RID: &str = "db-GREENGREENGREENGREENGREE1";
pub const DEPLOYMENT_ID: &str = "bgd-v53303651eihqk6t";
pub const SNAPSHOT_ID: &str = "rbg-orders-pg-to-16-4-final";
pub const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:rds-bluegreen";
pub const EXECUTION_ARN: &str =
    "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen-upgrade:orders-pg-upgrade";

/// 2026-11-24T17:05:00Z: when the run started.
pub const T0: u64 = 1_795_539_900;

pub fn at(seconds_after_t0: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + seconds_after_t0)
}

pub fn rfc(seconds_after_t0: u64) -> String {
    rfc3339(at(seconds_after_t0))
}

/// An invocation `seconds_after_t0` after the run started.
pub fn inv_at(seconds_after_t0: u64) -> Invocation {
    Invocation::new(FUNCTION_ARN, at(seconds_after_t0))
}

pub fn inv() -> Invocation {
    inv_at(0)
}

// ---------------------------------------------------------------- sample events

pub fn event(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A run as the state machine starts it: the execution and its raw input.
pub fn started_run(input: Value) -> Run {
    Run {
        execution: ExecutionInfo {
            id: EXECUTION_ARN.into(),
            started_at: Some(rfc(0)),
        },
        input: Some(input),
        ..Run::default()
    }
}

// ---------------------------------------------------------------- SDK response shapes

pub fn arn_of(id: &str) -> String {
    format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:{id}")
}

pub fn endpoint_of(id: &str) -> Endpoint {
    Endpoint::builder()
        .address(format!("{id}.c9akciq32.us-east-1.rds.amazonaws.com"))
        .port(5432)
        .hosted_zone_id("Z2R2ITUGPM61AM")
        .build()
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// An RDS PostgreSQL instance as DescribeDBInstances returns it: Multi-AZ, encrypted,
/// deletion protection on, 7 days of backups, a custom parameter group of its major.
pub fn instance(id: &str, version: &str) -> DbInstance {
    let rid = format!("db-{}", id.to_ascii_uppercase().replace('-', ""));
    instance_with_rid(id, version, &rid)
}

pub fn instance_with_rid(id: &str, version: &str, rid: &str) -> DbInstance {
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
        .endpoint(endpoint_of(id))
        .allocated_storage(100)
        .storage_type("gp3")
        .storage_encrypted(true)
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

/// Production before the upgrade.
pub fn source_instance() -> DbInstance {
    instance_with_rid(DB, "13.15", BLUE_RID)
}

/// The green instance RDS builds, in `status`.
pub fn green_instance(status: &str) -> DbInstance {
    let mut green = instance_with_rid(GREEN, "16.4", GREEN_RID);
    green.db_instance_status = Some(status.into());
    green
}

/// Production after switchover: green renamed to the production name, same endpoint.
pub fn switched_production() -> DbInstance {
    instance_with_rid(DB, "16.4", GREEN_RID)
}

/// The old blue after switchover, renamed by RDS.
pub fn old_blue_instance() -> DbInstance {
    instance_with_rid(OLD_BLUE, "13.15", BLUE_RID)
}

pub fn param(name: &str, value: &str) -> Parameter {
    Parameter::builder()
        .parameter_name(name)
        .parameter_value(value)
        .source("user")
        .apply_type("static")
        .is_modifiable(true)
        .build()
}

/// The custom groups of `orders-pg` (orders-pg13, and orders-pg16 made with the same
/// settings for the target): logical replication on, room for slots.
pub fn orders_pg_parameters() -> Vec<Parameter> {
    vec![
        param("autovacuum", "1"),
        param("max_logical_replication_workers", "8"),
        param("max_replication_slots", "20"),
        param("max_wal_senders", "20"),
        param("max_worker_processes", "16"),
        param("rds.logical_replication", "1"),
        param("shared_preload_libraries", "pg_stat_statements"),
        param("work_mem", "8192"),
        // A parameter RDS lists without a value (engine default).
        Parameter::builder()
            .parameter_name("wal_sender_timeout")
            .source("engine-default")
            .build(),
    ]
}

pub fn upgrade_target(version: &str, major: bool) -> UpgradeTarget {
    UpgradeTarget::builder()
        .engine("postgres")
        .engine_version(version)
        .is_major_version_upgrade(major)
        .auto_upgrade(false)
        .build()
}

pub fn engine_versions() -> Vec<DbEngineVersion> {
    vec![
        DbEngineVersion::builder()
            .engine("postgres")
            .engine_version("13.15")
            .db_parameter_group_family("postgres13")
            .valid_upgrade_target(upgrade_target("13.16", false))
            .valid_upgrade_target(upgrade_target("14.12", true))
            .valid_upgrade_target(upgrade_target("15.7", true))
            .valid_upgrade_target(upgrade_target("16.3", true))
            .valid_upgrade_target(upgrade_target("16.4", true))
            .build(),
        DbEngineVersion::builder()
            .engine("postgres")
            .engine_version("16.4")
            .db_parameter_group_family("postgres16")
            .build(),
    ]
}

pub fn task(name: &str, status: &str) -> BlueGreenDeploymentTask {
    BlueGreenDeploymentTask::builder()
        .name(name)
        .status(status)
        .build()
}

pub fn detail(source: &str, target: &str, status: &str) -> SwitchoverDetail {
    SwitchoverDetail::builder()
        .source_member(source)
        .target_member(target)
        .status(status)
        .build()
}

/// Our deployment as DescribeBlueGreenDeployments returns it in `status`, with the tasks
/// and switchover details RDS shows at that point. After a completed switchover RDS names
/// the renamed old blue as the source and production as the target.
pub fn deployment(status: &str) -> BlueGreenDeployment {
    let (tasks, detail_status) = match status {
        "PROVISIONING" => (
            vec![
                task("CREATING_READ_REPLICA_OF_SOURCE", "IN_PROGRESS"),
                task("DB_ENGINE_VERSION_UPGRADE", "PENDING"),
                task("CONFIGURE_BACKUPS", "PENDING"),
            ],
            "PROVISIONING",
        ),
        "SWITCHOVER_IN_PROGRESS" | "SWITCHOVER_COMPLETED" | "SWITCHOVER_FAILED" => {
            (all_tasks_completed(), status)
        }
        "INVALID_CONFIGURATION" => (all_tasks_completed(), "PROVISIONING"),
        _ => (all_tasks_completed(), "AVAILABLE"),
    };
    let (source, target) = if status == "SWITCHOVER_COMPLETED" {
        (OLD_BLUE_ARN, SOURCE_ARN)
    } else {
        (SOURCE_ARN, GREEN_ARN)
    };
    BlueGreenDeployment::builder()
        .blue_green_deployment_identifier(DEPLOYMENT_ID)
        .blue_green_deployment_name(DEPLOYMENT_NAME)
        .source(source)
        .target(target)
        .status(status)
        .set_tasks(Some(tasks))
        .switchover_details(detail(source, target, detail_status))
        .create_time(DateTime::from_secs((T0 + 60) as i64))
        .tag_list(tag("bluegreen:managed-by", "rds-bluegreen"))
        .tag_list(tag("bluegreen:source-resource-id", BLUE_RID))
        .build()
}

pub fn all_tasks_completed() -> Vec<BlueGreenDeploymentTask> {
    vec![
        task("CREATING_READ_REPLICA_OF_SOURCE", "COMPLETED"),
        task("DB_ENGINE_VERSION_UPGRADE", "COMPLETED"),
        task("CONFIGURE_BACKUPS", "COMPLETED"),
        task("CREATING_TOPOLOGY_OF_SOURCE", "COMPLETED"),
    ]
}

pub fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

// ---------------------------------------------------------------- the fake account

/// What the fake account holds, and every call made to it.
#[derive(Default)]
pub struct State {
    pub instances: BTreeMap<String, DbInstance>,
    pub clusters: BTreeMap<String, DbCluster>,
    /// Parameters by DB parameter group or DB cluster parameter group name.
    pub parameters: BTreeMap<String, Vec<Parameter>>,
    pub engine_versions: Vec<DbEngineVersion>,
    /// DB parameter group name -> family.
    pub parameter_groups: BTreeMap<String, String>,
    /// DB cluster parameter group name -> family.
    pub cluster_parameter_groups: BTreeMap<String, String>,
    pub deployments: Vec<BlueGreenDeployment>,
    /// Snapshot id -> status.
    pub snapshots: BTreeMap<String, String>,
    pub pending_maintenance: Vec<PendingMaintenanceAction>,
    /// (metric name, dimension value) -> datapoint values.
    pub metrics: BTreeMap<(String, String), Vec<f64>>,
    /// Operation name -> the error every call to it returns.
    pub errors: BTreeMap<String, ErrorMetadata>,
    /// Operation name -> how every call to it fails on the wire (see `WireFault`).
    pub faults: BTreeMap<String, (WireFault, Lost)>,
    /// Every call, as "Operation argument".
    pub log: Vec<String>,

    pub created: Vec<CreateBlueGreenDeploymentInput>,
    pub switchovers: Vec<SwitchoverBlueGreenDeploymentInput>,
    pub deleted_deployments: Vec<DeleteBlueGreenDeploymentInput>,
    pub modified_instances: Vec<ModifyDbInstanceInput>,
    /// AddTagsToResource calls: (resource ARN, tags).
    pub tags_added: Vec<(String, BTreeMap<String, String>)>,
    pub deleted_instances: Vec<DeleteDbInstanceInput>,
    pub modified_clusters: Vec<ModifyDbClusterInput>,
    pub deleted_clusters: Vec<DeleteDbClusterInput>,
    pub snapshots_created: Vec<CreateDbSnapshotInput>,
    pub cluster_snapshots_created: Vec<CreateDbClusterSnapshotInput>,
    pub metric_queries: Vec<GetMetricStatisticsInput>,
    /// DescribeDBEngineVersions calls: whether each asked for IncludeAll.
    pub engine_version_queries: Vec<bool>,
    pub put_metric_data: Vec<PutMetricDataInput>,
    pub published: Vec<PublishInput>,
}

impl State {
    fn error(&self, op: &str) -> Option<ErrorMetadata> {
        self.errors.get(op).cloned()
    }

    fn deployments_matching(
        &self,
        filters: &[aws_sdk_rds::types::Filter],
    ) -> Vec<BlueGreenDeployment> {
        self.deployments
            .iter()
            .filter(|d| {
                filters.iter().all(|f| {
                    let field = match f.name() {
                        Some("source") => d.source(),
                        Some("blue-green-deployment-name") => d.blue_green_deployment_name(),
                        Some("blue-green-deployment-identifier") => {
                            d.blue_green_deployment_identifier()
                        }
                        Some("target") => d.target(),
                        other => panic!("the fake does not know filter {other:?}"),
                    };
                    f.values().iter().any(|v| Some(v.as_str()) == field)
                })
            })
            .cloned()
            .collect()
    }
}

/// A fake AWS account behind mocked SDK clients.
#[derive(Clone, Default)]
pub struct World(pub Arc<Mutex<State>>);

impl World {
    /// An empty account.
    pub fn empty() -> Self {
        Self::default()
    }

    /// `orders-pg` on PostgreSQL 13.15 with its custom group, the engine versions, and the
    /// target group `orders-pg16` (family postgres16); 60 GiB free; no deployment yet.
    pub fn orders_pg() -> Self {
        let w = Self::empty();
        w.with(|s| {
            s.instances.insert(DB.into(), source_instance());
            s.parameters
                .insert("orders-pg13".into(), orders_pg_parameters());
            s.parameters
                .insert("orders-pg16".into(), orders_pg_parameters());
            s.engine_versions = engine_versions();
            s.parameter_groups
                .insert("orders-pg13".into(), "postgres13".into());
            s.parameter_groups
                .insert("orders-pg16".into(), "postgres16".into());
            s.metrics.insert(
                ("FreeStorageSpace".into(), DB.into()),
                vec![66.0e9, 64.5e9, 65.2e9],
            );
        });
        w
    }

    /// The account after a completed switchover: production on 16.4 with the same
    /// endpoint, the old blue on 13.15, our deployment SWITCHOVER_COMPLETED.
    pub fn switched_over() -> Self {
        let w = Self::orders_pg();
        w.with(|s| {
            s.instances.insert(DB.into(), switched_production());
            s.instances.insert(OLD_BLUE.into(), old_blue_instance());
            s.deployments = vec![deployment("SWITCHOVER_COMPLETED")];
        });
        w
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.0.lock().expect("state lock"))
    }

    pub fn put_instance(&self, db: DbInstance) {
        let id = db.db_instance_identifier().unwrap_or_default().to_string();
        self.with(|s| s.instances.insert(id, db));
    }

    pub fn remove_instance(&self, id: &str) {
        self.with(|s| s.instances.remove(id));
    }

    /// Replaces every deployment with this one.
    pub fn set_deployment(&self, d: BlueGreenDeployment) {
        self.with(|s| s.deployments = vec![d]);
    }

    pub fn set_metric(&self, metric: &str, dimension_value: &str, values: &[f64]) {
        self.with(|s| {
            s.metrics.insert(
                (metric.to_string(), dimension_value.to_string()),
                values.to_vec(),
            )
        });
    }

    /// Every call to `op` (e.g. "SwitchoverBlueGreenDeployment") fails with this AWS error.
    pub fn fail(&self, op: &str, code: &str, message: &str) {
        self.with(|s| s.errors.insert(op.to_string(), meta(code, message)));
    }

    pub fn log(&self) -> Vec<String> {
        self.with(|s| s.log.clone())
    }

    /// Calls whose log line starts with `prefix`.
    pub fn calls(&self, prefix: &str) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    pub fn deps(&self) -> Deps {
        self.deps_with(Vec::new())
    }

    /// Every call to `op` (e.g. "CreateBlueGreenDeployment") fails on the wire with `fault`;
    /// with `Lost::Answer` AWS carries the call out first and only its answer is lost.
    pub fn fault(&self, op: &str, fault: WireFault, lost: Lost) {
        self.with(|s| s.faults.insert(op.to_string(), (fault, lost)));
    }

    pub fn clear_faults(&self) {
        self.with(|s| s.faults.clear());
    }

    /// Deps whose RDS client tries `first` before the fake account (MatchAny, in order).
    pub fn deps_with(&self, first: Vec<Rule>) -> Deps {
        self.build_deps(first, Duration::from_secs(10))
    }

    /// Deps for fault tests: a call that gets no answer times out after 200 ms.
    pub fn faulty_deps(&self) -> Deps {
        self.build_deps(Vec::new(), Duration::from_millis(200))
    }

    fn build_deps(&self, first: Vec<Rule>, attempt_timeout: Duration) -> Deps {
        let mut rds = first;
        rds.extend(rds_rules(self));
        let cw = cloudwatch_rules(self);
        let sns = sns_rules(self);
        Deps {
            rds: Rds::new(mock_client!(
                aws_sdk_rds,
                RuleMode::MatchAny,
                rds.iter(),
                |c| c
                    .retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled())
                    .timeout_config(attempt_timeout_config(attempt_timeout))
                    .http_client(faulting_http_client())
            )),
            metrics: Metrics::new(mock_client!(
                aws_sdk_cloudwatch,
                RuleMode::MatchAny,
                cw.iter(),
                |c| c
                    .retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled())
                    .timeout_config(attempt_timeout_config(attempt_timeout))
                    .http_client(faulting_http_client())
            )),
            notifier: Notifier::new(mock_client!(
                aws_sdk_sns,
                RuleMode::MatchAny,
                sns.iter(),
                |c| c
                    .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
                    .timeout_config(attempt_timeout_config(attempt_timeout))
                    .http_client(faulting_http_client())
            )),
            default_topic_arn: Some(TOPIC_ARN.into()),
        }
    }
}

/// Deps whose clients answer nothing: any AWS call panics and fails the test.
pub fn no_aws() -> Deps {
    let none: Vec<Rule> = Vec::new();
    Deps {
        rds: Rds::new(mock_client!(aws_sdk_rds, RuleMode::MatchAny, none.iter())),
        metrics: Metrics::new(mock_client!(
            aws_sdk_cloudwatch,
            RuleMode::MatchAny,
            none.iter()
        )),
        notifier: Notifier::new(mock_client!(aws_sdk_sns, RuleMode::MatchAny, none.iter())),
        default_topic_arn: Some(TOPIC_ARN.into()),
    }
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.lock().expect("state lock")
}

// ---------------------------------------------------------------- wire faults

/// How a call fails below the modeled API: what the SDK sees when AWS or the network has
/// trouble. `Http*` go through the SDK's real error parsing (the body each protocol uses);
/// the others are produced by the HTTP client the mocked SDK clients are built with.
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
    /// The request was sent and no answer came: the attempt timeout fires (`SdkError::TimeoutError`).
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

/// Whether AWS carried the call out before the fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    /// The request never reached AWS (or AWS failed it): nothing changed.
    Request,
    /// AWS did it, then the answer was lost (a reset or a 500 on the way back).
    Answer,
}

const FAULT_HEADER: &str = "x-test-wire-fault";

/// The HTTP response that stands for `fault` on `op`. Connector faults and hangs are marked
/// with a header the HTTP client below turns into the real thing.
fn wire_response(
    op: &str,
    fault: WireFault,
) -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    // CloudWatch speaks Smithy RPC v2 CBOR; RDS and SNS the AWS Query protocol (XML errors).
    let cbor = matches!(op, "GetMetricStatistics" | "PutMetricData");
    let modeled = |status: u16, code: &str, message: &str| {
        let mut r = if cbor {
            HttpResponse::new(
                StatusCode::try_from(status).expect("status"),
                SdkBody::from(cbor_error(code, message)),
            )
        } else {
            HttpResponse::new(
                StatusCode::try_from(status).expect("status"),
                SdkBody::from(format!(
                    "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error>\
                     <Type>Receiver</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                     <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>"
                )),
            )
        };
        if cbor {
            r.headers_mut().insert("content-type", "application/cbor");
            r.headers_mut().insert("smithy-protocol", "rpc-v2-cbor");
        } else {
            r.headers_mut().insert("content-type", "text/xml");
        }
        r
    };
    let marked = |mark: &'static str| {
        let mut r = HttpResponse::new(StatusCode::try_from(200).expect("status"), SdkBody::empty());
        r.headers_mut().insert(FAULT_HEADER, mark);
        r
    };
    match fault {
        WireFault::Http500 => modeled(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        WireFault::Http503 => modeled(
            503,
            "ServiceUnavailable",
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

/// The mock HTTP client of `aws-smithy-mocks`, wrapped: a response marked by `wire_response`
/// becomes a connection reset, a connect timeout, or an answer that never comes.
fn faulting_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
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
    let mock = aws_smithy_mocks::create_mock_http_client();
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Faulting(mock.http_connector(settings, components)))
    })
}

fn attempt_timeout_config(attempt: Duration) -> aws_sdk_rds::config::timeout::TimeoutConfig {
    aws_sdk_rds::config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(attempt)
        .build()
}

/// The fault set for `op` when the request never reaches AWS: logged as `OP !FAULT`.
fn fault_before<O, E>(s: &Shared, op: &str) -> Option<MockResponse<O, E>> {
    let mut st = lock(s);
    match st.faults.get(op).copied() {
        Some((fault, Lost::Request)) => {
            st.log.push(format!("{op} !{fault:?}"));
            Some(MockResponse::Http(wire_response(op, fault)))
        }
        _ => None,
    }
}

/// The fault set for `op` when AWS carried the call out and the answer is lost.
fn fault_after<O, E>(s: &Shared, op: &str) -> Option<MockResponse<O, E>> {
    let mut st = lock(s);
    match st.faults.get(op).copied() {
        Some((fault, Lost::Answer)) => {
            st.log.push(format!("{op} !{fault:?} (answer lost)"));
            Some(MockResponse::Http(wire_response(op, fault)))
        }
        _ => None,
    }
}

/// A rule's response function with the account's wire faults around it.
macro_rules! served {
    ($s:ident, $op:literal, |$req:ident| $body:block $(,)?) => {
        move |$req| {
            if let Some(r) = fault_before(&$s, $op) {
                return r;
            }
            #[allow(clippy::redundant_closure_call)]
            let out = (|| $body)();
            fault_after(&$s, $op).unwrap_or(out)
        }
    };
}

/// The value of a resource-id filter, when the call has one.
fn resource_id_filter(filters: &[aws_sdk_rds::types::Filter], name: &str) -> Option<String> {
    filters
        .iter()
        .find(|f| f.name() == Some(name))
        .and_then(|f| f.values().first().cloned())
}

/// One page of two from `all`, and the marker of the next page.
fn page_of<T>(all: Vec<T>, marker: Option<&str>) -> (Vec<T>, Option<String>) {
    let from: usize = marker.map_or(0, |m| m.parse().expect("marker"));
    let total = all.len();
    let page: Vec<T> = all.into_iter().skip(from).take(2).collect();
    let next = (from + 2 < total).then(|| (from + 2).to_string());
    (page, next)
}

fn rds_rules(w: &World) -> Vec<Rule> {
    let mut rules = Vec::new();

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_instances).then_compute_response(served!(
            s,
            "DescribeDBInstances",
            |req| {
                let mut st = lock(&s);
                let id = req.db_instance_identifier().unwrap_or_default().to_string();
                let rid = resource_id_filter(req.filters(), "dbi-resource-id");
                st.log.push(match &rid {
                    Some(r) => format!("DescribeDBInstances dbi-resource-id={r}"),
                    None => format!("DescribeDBInstances {id}"),
                });
                if let Some(e) = st.error("DescribeDBInstances") {
                    return MockResponse::Error(DescribeDBInstancesError::generic(e));
                }
                if let Some(rid) = rid {
                    let found: Vec<DbInstance> = st
                        .instances
                        .values()
                        .filter(|d| d.dbi_resource_id() == Some(rid.as_str()))
                        .cloned()
                        .collect();
                    return MockResponse::Output(
                        DescribeDbInstancesOutput::builder()
                            .set_db_instances(Some(found))
                            .build(),
                    );
                }
                if id.is_empty() {
                    // Listing: pages of two (RDS may return fewer than MaxRecords), the marker
                    // is the next index, so callers must follow markers.
                    let (page, next) =
                        page_of(st.instances.values().cloned().collect(), req.marker());
                    return MockResponse::Output(
                        DescribeDbInstancesOutput::builder()
                            .set_db_instances(Some(page))
                            .set_marker(next)
                            .build(),
                    );
                }
                match st.instances.get(&id) {
                    Some(db) => MockResponse::Output(
                        DescribeDbInstancesOutput::builder()
                            .db_instances(db.clone())
                            .build(),
                    ),
                    None => MockResponse::Error(DescribeDBInstancesError::generic(meta(
                        "DBInstanceNotFound",
                        &format!("DBInstance {id} not found."),
                    ))),
                }
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_compute_response(served!(
            s,
            "DescribeDBClusters",
            |req| {
                let mut st = lock(&s);
                let id = req.db_cluster_identifier().unwrap_or_default().to_string();
                let rid = resource_id_filter(req.filters(), "db-cluster-resource-id");
                st.log.push(match &rid {
                    Some(r) => format!("DescribeDBClusters db-cluster-resource-id={r}"),
                    None => format!("DescribeDBClusters {id}"),
                });
                if let Some(rid) = rid {
                    let found: Vec<DbCluster> = st
                        .clusters
                        .values()
                        .filter(|c| c.db_cluster_resource_id() == Some(rid.as_str()))
                        .cloned()
                        .collect();
                    return MockResponse::Output(
                        DescribeDbClustersOutput::builder()
                            .set_db_clusters(Some(found))
                            .build(),
                    );
                }
                if id.is_empty() {
                    let (page, next) =
                        page_of(st.clusters.values().cloned().collect(), req.marker());
                    return MockResponse::Output(
                        DescribeDbClustersOutput::builder()
                            .set_db_clusters(Some(page))
                            .set_marker(next)
                            .build(),
                    );
                }
                match st.clusters.get(&id) {
                    Some(c) => MockResponse::Output(
                        DescribeDbClustersOutput::builder()
                            .db_clusters(c.clone())
                            .build(),
                    ),
                    None => MockResponse::Error(DescribeDBClustersError::generic(meta(
                        "DBClusterNotFoundFault",
                        &format!("DBCluster {id} not found."),
                    ))),
                }
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_cluster_parameters).then_compute_response(served!(
            s,
            "DescribeDBClusterParameters",
            |req| {
                let mut st = lock(&s);
                let group = req
                    .db_cluster_parameter_group_name()
                    .unwrap_or_default()
                    .to_string();
                st.log.push(format!("DescribeDBClusterParameters {group}"));
                match st.parameters.get(&group) {
                    Some(all) => MockResponse::Output(
                        DescribeDbClusterParametersOutput::builder()
                            .set_parameters(Some(all.clone()))
                            .build(),
                    ),
                    None => MockResponse::Error(DescribeDBClusterParametersError::generic(meta(
                        "DBParameterGroupNotFound",
                        &format!("DBClusterParameterGroup {group} not found."),
                    ))),
                }
            },
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_cluster_parameter_groups).then_compute_response(
            served!(s, "DescribeDBClusterParameterGroups", |req| {
                let mut st = lock(&s);
                let name = req
                    .db_cluster_parameter_group_name()
                    .unwrap_or_default()
                    .to_string();
                st.log
                    .push(format!("DescribeDBClusterParameterGroups {name}"));
                match st.cluster_parameter_groups.get(&name) {
                    Some(family) => MockResponse::Output(
                        DescribeDbClusterParameterGroupsOutput::builder()
                            .db_cluster_parameter_groups(
                                DbClusterParameterGroup::builder()
                                    .db_cluster_parameter_group_name(&name)
                                    .db_parameter_group_family(family)
                                    .build(),
                            )
                            .build(),
                    ),
                    None => {
                        MockResponse::Error(DescribeDBClusterParameterGroupsError::generic(meta(
                            "DBParameterGroupNotFound",
                            &format!("DBClusterParameterGroup not found: {name}"),
                        )))
                    }
                }
            },),
        ),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::modify_db_cluster).then_compute_response(served!(
            s,
            "ModifyDBCluster",
            |req| {
                let mut st = lock(&s);
                let id = req.db_cluster_identifier().unwrap_or_default().to_string();
                st.log.push(format!("ModifyDBCluster {id}"));
                st.modified_clusters.push(req.clone());
                let Some(c) = st.clusters.get_mut(&id) else {
                    return MockResponse::Error(ModifyDBClusterError::generic(meta(
                        "DBClusterNotFoundFault",
                        &format!("DBCluster {id} not found."),
                    )));
                };
                if let Some(p) = req.deletion_protection() {
                    c.deletion_protection = Some(p);
                }
                let c = c.clone();
                MockResponse::Output(ModifyDbClusterOutput::builder().db_cluster(c).build())
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::delete_db_cluster).then_compute_response(served!(s, "DeleteDBCluster", |req| {
            let mut st = lock(&s);
            let id = req.db_cluster_identifier().unwrap_or_default().to_string();
            st.log.push(format!("DeleteDBCluster {id}"));
            st.deleted_clusters.push(req.clone());
            let Some(c) = st.clusters.get_mut(&id) else {
                return MockResponse::Error(DeleteDBClusterError::generic(meta(
                    "DBClusterNotFoundFault",
                    &format!("DBCluster {id} not found."),
                )));
            };
            if !c.db_cluster_members().is_empty() {
                return MockResponse::Error(DeleteDBClusterError::generic(meta(
                    "InvalidDBClusterStateFault",
                    "Cluster cannot be deleted, it still contains DB instances in non-deleting state.",
                )));
            }
            c.status = Some("deleting".into());
            let c = c.clone();
            MockResponse::Output(DeleteDbClusterOutput::builder().db_cluster(c).build())
        })),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::create_db_cluster_snapshot).then_compute_response(served!(
            s,
            "CreateDBClusterSnapshot",
            |req| {
                let mut st = lock(&s);
                let id = req
                    .db_cluster_snapshot_identifier()
                    .unwrap_or_default()
                    .to_string();
                let cluster = req.db_cluster_identifier().unwrap_or_default().to_string();
                st.log
                    .push(format!("CreateDBClusterSnapshot {id} of {cluster}"));
                st.cluster_snapshots_created.push(req.clone());
                if let Some(e) = st.error("CreateDBClusterSnapshot") {
                    return MockResponse::Error(CreateDBClusterSnapshotError::generic(e));
                }
                st.snapshots.insert(id.clone(), "creating".into());
                MockResponse::Output(
                    CreateDbClusterSnapshotOutput::builder()
                        .db_cluster_snapshot(
                            DbClusterSnapshot::builder()
                                .db_cluster_snapshot_identifier(id)
                                .db_cluster_identifier(cluster)
                                .status("creating")
                                .snapshot_type("manual")
                                .build(),
                        )
                        .build(),
                )
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_cluster_snapshots).then_compute_response(served!(
            s,
            "DescribeDBClusterSnapshots",
            |req| {
                let mut st = lock(&s);
                let id = req
                    .db_cluster_snapshot_identifier()
                    .unwrap_or_default()
                    .to_string();
                st.log.push(format!("DescribeDBClusterSnapshots {id}"));
                match st.snapshots.get(&id) {
                    Some(status) => MockResponse::Output(
                        DescribeDbClusterSnapshotsOutput::builder()
                            .db_cluster_snapshots(
                                DbClusterSnapshot::builder()
                                    .db_cluster_snapshot_identifier(&id)
                                    .status(status)
                                    .snapshot_type("manual")
                                    .build(),
                            )
                            .build(),
                    ),
                    None => MockResponse::Error(DescribeDBClusterSnapshotsError::generic(meta(
                        "DBClusterSnapshotNotFoundFault",
                        &format!("DBClusterSnapshot {id} not found."),
                    ))),
                }
            },
        )),
    );

    // Paginated like RDS: four parameters a page, the marker is the next index.
    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_parameters).then_compute_response(served!(
            s,
            "DescribeDBParameters",
            |req| {
                let mut st = lock(&s);
                let group = req
                    .db_parameter_group_name()
                    .unwrap_or_default()
                    .to_string();
                let from: usize = req.marker().map_or(0, |m| m.parse().expect("marker"));
                st.log
                    .push(format!("DescribeDBParameters {group} from {from}"));
                let Some(all) = st.parameters.get(&group) else {
                    return MockResponse::Error(DescribeDBParametersError::generic(meta(
                        "DBParameterGroupNotFound",
                        &format!("DBParameterGroup {group} not found."),
                    )));
                };
                let page: Vec<Parameter> = all.iter().skip(from).take(4).cloned().collect();
                let next = (from + 4 < all.len()).then(|| (from + 4).to_string());
                MockResponse::Output(
                    DescribeDbParametersOutput::builder()
                        .set_parameters(Some(page))
                        .set_marker(next)
                        .build(),
                )
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_engine_versions).then_compute_response(served!(
            s,
            "DescribeDBEngineVersions",
            |req| {
                let mut st = lock(&s);
                let engine = req.engine().unwrap_or_default().to_string();
                let version = req.engine_version().unwrap_or_default().to_string();
                let include_all = req.include_all().unwrap_or(false);
                st.log
                    .push(format!("DescribeDBEngineVersions {engine} {version}"));
                st.engine_version_queries.push(include_all);
                if let Some(e) = st.error("DescribeDBEngineVersions") {
                    return MockResponse::Error(DescribeDBEngineVersionsError::generic(e));
                }
                // As RDS: "The default is to list only available engine versions."
                let found: Vec<DbEngineVersion> = st
                    .engine_versions
                    .iter()
                    .filter(|v| {
                        v.engine() == Some(engine.as_str())
                            && v.engine_version() == Some(version.as_str())
                            && (include_all || v.status().unwrap_or("available") == "available")
                    })
                    .cloned()
                    .collect();
                MockResponse::Output(
                    DescribeDbEngineVersionsOutput::builder()
                        .set_db_engine_versions(Some(found))
                        .build(),
                )
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_parameter_groups).then_compute_response(served!(
            s,
            "DescribeDBParameterGroups",
            |req| {
                let mut st = lock(&s);
                let name = req
                    .db_parameter_group_name()
                    .unwrap_or_default()
                    .to_string();
                st.log.push(format!("DescribeDBParameterGroups {name}"));
                match st.parameter_groups.get(&name) {
                    Some(family) => MockResponse::Output(
                        DescribeDbParameterGroupsOutput::builder()
                            .db_parameter_groups(
                                DbParameterGroup::builder()
                                    .db_parameter_group_name(&name)
                                    .db_parameter_group_family(family)
                                    .description(format!("{name} for orders"))
                                    .build(),
                            )
                            .build(),
                    ),
                    None => MockResponse::Error(DescribeDBParameterGroupsError::generic(meta(
                        "DBParameterGroupNotFound",
                        &format!("DBParameterGroup not found: {name}"),
                    ))),
                }
            },
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_blue_green_deployments).then_compute_response(served!(
            s,
            "DescribeBlueGreenDeployments",
            |req| {
                let mut st = lock(&s);
                let filters: Vec<String> = req
                    .filters()
                    .iter()
                    .map(|f| format!("{}={}", f.name().unwrap_or_default(), f.values().join(",")))
                    .collect();
                st.log.push(format!(
                    "DescribeBlueGreenDeployments {}",
                    filters.join(" ")
                ));
                if let Some(e) = st.error("DescribeBlueGreenDeployments") {
                    return MockResponse::Error(DescribeBlueGreenDeploymentsError::generic(e));
                }
                let found = st.deployments_matching(req.filters());
                MockResponse::Output(
                    DescribeBlueGreenDeploymentsOutput::builder()
                        .set_blue_green_deployments(Some(found))
                        .build(),
                )
            },
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_pending_maintenance_actions).then_compute_response(
            served!(s, "DescribePendingMaintenanceActions", |req| {
                let mut st = lock(&s);
                let arn = req.resource_identifier().unwrap_or_default().to_string();
                st.log
                    .push(format!("DescribePendingMaintenanceActions {arn}"));
                if let Some(e) = st.error("DescribePendingMaintenanceActions") {
                    return MockResponse::Error(DescribePendingMaintenanceActionsError::generic(e));
                }
                let mut out = DescribePendingMaintenanceActionsOutput::builder();
                if !st.pending_maintenance.is_empty() {
                    out = out.pending_maintenance_actions(
                        ResourcePendingMaintenanceActions::builder()
                            .resource_identifier(arn)
                            .set_pending_maintenance_action_details(Some(
                                st.pending_maintenance.clone(),
                            ))
                            .build(),
                    );
                }
                MockResponse::Output(out.build())
            },),
        ),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::create_blue_green_deployment).then_compute_response(served!(
            s,
            "CreateBlueGreenDeployment",
            |req| {
                let mut st = lock(&s);
                let name = req
                    .blue_green_deployment_name()
                    .unwrap_or_default()
                    .to_string();
                st.log.push(format!("CreateBlueGreenDeployment {name}"));
                st.created.push(req.clone());
                if let Some(e) = st.error("CreateBlueGreenDeployment") {
                    return MockResponse::Error(CreateBlueGreenDeploymentError::generic(e));
                }
                let d = deployment("PROVISIONING");
                st.deployments.push(d.clone());
                MockResponse::Output(
                    CreateBlueGreenDeploymentOutput::builder()
                        .blue_green_deployment(d)
                        .build(),
                )
            },
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::switchover_blue_green_deployment).then_compute_response(
            served!(s, "SwitchoverBlueGreenDeployment", |req| {
                let mut st = lock(&s);
                let id = req
                    .blue_green_deployment_identifier()
                    .unwrap_or_default()
                    .to_string();
                st.log.push(format!("SwitchoverBlueGreenDeployment {id}"));
                st.switchovers.push(req.clone());
                if let Some(e) = st.error("SwitchoverBlueGreenDeployment") {
                    return MockResponse::Error(SwitchoverBlueGreenDeploymentError::generic(e));
                }
                let d = deployment("SWITCHOVER_IN_PROGRESS");
                st.deployments = vec![d.clone()];
                MockResponse::Output(
                    SwitchoverBlueGreenDeploymentOutput::builder()
                        .blue_green_deployment(d)
                        .build(),
                )
            },),
        ),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::delete_blue_green_deployment).then_compute_response(served!(
            s,
            "DeleteBlueGreenDeployment",
            |req| {
                let mut st = lock(&s);
                let id = req
                    .blue_green_deployment_identifier()
                    .unwrap_or_default()
                    .to_string();
                st.log.push(format!("DeleteBlueGreenDeployment {id}"));
                st.deleted_deployments.push(req.clone());
                if let Some(e) = st.error("DeleteBlueGreenDeployment") {
                    return MockResponse::Error(DeleteBlueGreenDeploymentError::generic(e));
                }
                let Some(d) = st
                    .deployments
                    .iter_mut()
                    .find(|d| d.blue_green_deployment_identifier() == Some(id.as_str()))
                else {
                    return MockResponse::Error(DeleteBlueGreenDeploymentError::generic(meta(
                        "BlueGreenDeploymentNotFoundFault",
                        &format!("BlueGreenDeployment {id} not found."),
                    )));
                };
                d.status = Some("DELETING".into());
                let d = d.clone();
                MockResponse::Output(
                    DeleteBlueGreenDeploymentOutput::builder()
                        .blue_green_deployment(d)
                        .build(),
                )
            },
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::add_tags_to_resource).then_compute_response(served!(
            s,
            "AddTagsToResource",
            |req| {
                let mut st = lock(&s);
                let arn = req.resource_name().unwrap_or_default().to_string();
                st.log.push(format!("AddTagsToResource {arn}"));
                if let Some(e) = st.error("AddTagsToResource") {
                    return MockResponse::Error(AddTagsToResourceError::generic(e));
                }
                let added: BTreeMap<String, String> = req
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                st.tags_added.push((arn.clone(), added.clone()));
                if let Some(db) = st
                    .instances
                    .values_mut()
                    .find(|d| d.db_instance_arn() == Some(arn.as_str()))
                {
                    for (k, v) in &added {
                        db.tag_list.get_or_insert_with(Vec::new).push(tag(k, v));
                    }
                }
                MockResponse::Output(AddTagsToResourceOutput::builder().build())
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::modify_db_instance).then_compute_response(served!(
            s,
            "ModifyDBInstance",
            |req| {
                let mut st = lock(&s);
                let id = req.db_instance_identifier().unwrap_or_default().to_string();
                st.log.push(format!("ModifyDBInstance {id}"));
                st.modified_instances.push(req.clone());
                if let Some(e) = st.error("ModifyDBInstance") {
                    return MockResponse::Error(ModifyDBInstanceError::generic(e));
                }
                let Some(db) = st.instances.get_mut(&id) else {
                    return MockResponse::Error(ModifyDBInstanceError::generic(meta(
                        "DBInstanceNotFound",
                        &format!("DBInstance {id} not found."),
                    )));
                };
                if let Some(p) = req.deletion_protection() {
                    db.deletion_protection = Some(p);
                }
                if let Some(class) = req.db_instance_class() {
                    // As RDS with ApplyImmediately: modifying, the class pending.
                    db.db_instance_status = Some("modifying".into());
                    db.pending_modified_values = Some(
                        aws_sdk_rds::types::PendingModifiedValues::builder()
                            .db_instance_class(class)
                            .build(),
                    );
                }
                let db = db.clone();
                MockResponse::Output(ModifyDbInstanceOutput::builder().db_instance(db).build())
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::delete_db_instance).then_compute_response(served!(
            s,
            "DeleteDBInstance",
            |req| {
                let mut st = lock(&s);
                let id = req.db_instance_identifier().unwrap_or_default().to_string();
                st.log.push(format!("DeleteDBInstance {id}"));
                st.deleted_instances.push(req.clone());
                if let Some(e) = st.error("DeleteDBInstance") {
                    return MockResponse::Error(DeleteDBInstanceError::generic(e));
                }
                let Some(db) = st.instances.get_mut(&id) else {
                    return MockResponse::Error(DeleteDBInstanceError::generic(meta(
                        "DBInstanceNotFound",
                        &format!("DBInstance {id} not found."),
                    )));
                };
                if db.db_instance_status() == Some("deleting") {
                    return MockResponse::Error(DeleteDBInstanceError::generic(meta(
                        "InvalidDBInstanceState",
                        &format!("Instance {id} is already being deleted."),
                    )));
                }
                db.db_instance_status = Some("deleting".into());
                let db = db.clone();
                MockResponse::Output(DeleteDbInstanceOutput::builder().db_instance(db).build())
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::create_db_snapshot).then_compute_response(served!(
            s,
            "CreateDBSnapshot",
            |req| {
                let mut st = lock(&s);
                let id = req.db_snapshot_identifier().unwrap_or_default().to_string();
                st.log.push(format!(
                    "CreateDBSnapshot {id} of {}",
                    req.db_instance_identifier().unwrap_or_default()
                ));
                st.snapshots_created.push(req.clone());
                if let Some(e) = st.error("CreateDBSnapshot") {
                    return MockResponse::Error(CreateDBSnapshotError::generic(e));
                }
                st.snapshots.insert(id.clone(), "creating".into());
                MockResponse::Output(
                    CreateDbSnapshotOutput::builder()
                        .db_snapshot(
                            DbSnapshot::builder()
                                .db_snapshot_identifier(id)
                                .db_instance_identifier(
                                    req.db_instance_identifier().unwrap_or_default(),
                                )
                                .status("creating")
                                .snapshot_type("manual")
                                .engine("postgres")
                                .engine_version("13.15")
                                .build(),
                        )
                        .build(),
                )
            }
        )),
    );

    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_rds::Client::describe_db_snapshots).then_compute_response(served!(
            s,
            "DescribeDBSnapshots",
            |req| {
                let mut st = lock(&s);
                let id = req.db_snapshot_identifier().unwrap_or_default().to_string();
                st.log.push(format!("DescribeDBSnapshots {id}"));
                match st.snapshots.get(&id) {
                    Some(status) => MockResponse::Output(
                        DescribeDbSnapshotsOutput::builder()
                            .db_snapshots(
                                DbSnapshot::builder()
                                    .db_snapshot_identifier(&id)
                                    .db_instance_identifier(OLD_BLUE)
                                    .status(status)
                                    .snapshot_type("manual")
                                    .build(),
                            )
                            .build(),
                    ),
                    None => MockResponse::Error(DescribeDBSnapshotsError::generic(meta(
                        "DBSnapshotNotFound",
                        &format!("DBSnapshot {id} not found."),
                    ))),
                }
            }
        )),
    );

    rules
}

fn cloudwatch_rules(w: &World) -> Vec<Rule> {
    let mut rules = Vec::new();
    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_cloudwatch::Client::get_metric_statistics).then_compute_response(served!(
            s,
            "GetMetricStatistics",
            |req| {
                let mut st = lock(&s);
                let metric = req.metric_name().unwrap_or_default().to_string();
                let dim = req
                    .dimensions()
                    .first()
                    .and_then(|d| d.value())
                    .unwrap_or_default()
                    .to_string();
                st.log.push(format!("GetMetricStatistics {metric} {dim}"));
                st.metric_queries.push(req.clone());
                if let Some(e) = st.error("GetMetricStatistics") {
                    return MockResponse::Error(GetMetricStatisticsError::generic(e));
                }
                let values = st
                    .metrics
                    .get(&(metric.clone(), dim))
                    .cloned()
                    .unwrap_or_default();
                let points: Vec<Datapoint> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        Datapoint::builder()
                            .timestamp(DateTime::from_secs(T0 as i64 - 60 * (i as i64 + 1)))
                            .minimum(*v)
                            .maximum(*v)
                            .average(*v)
                            .sample_count(1.0)
                            .build()
                    })
                    .collect();
                MockResponse::Output(
                    GetMetricStatisticsOutput::builder()
                        .label(metric)
                        .set_datapoints(Some(points))
                        .build(),
                )
            },
        )),
    );
    let s = w.0.clone();
    rules.push(
        mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_compute_response(served!(
            s,
            "PutMetricData",
            |req| {
                let mut st = lock(&s);
                st.log.push(format!(
                    "PutMetricData {}",
                    req.namespace().unwrap_or_default()
                ));
                st.put_metric_data.push(req.clone());
                match st.error("PutMetricData") {
                    Some(e) => MockResponse::Error(PutMetricDataError::generic(e)),
                    None => MockResponse::Output(PutMetricDataOutput::builder().build()),
                }
            }
        )),
    );
    rules
}

fn sns_rules(w: &World) -> Vec<Rule> {
    let s = w.0.clone();
    vec![
        mock!(aws_sdk_sns::Client::publish).then_compute_response(served!(s, "Publish", |req| {
            let mut st = lock(&s);
            st.log
                .push(format!("Publish {}", req.topic_arn().unwrap_or_default()));
            st.published.push(req.clone());
            match st.error("Publish") {
                Some(e) => MockResponse::Error(PublishError::generic(e)),
                None => MockResponse::Output(
                    PublishOutput::builder()
                        .message_id("5f6a7b8c-9d0e-4f12-8a3b-4c5d6e7f8a9b")
                        .build(),
                ),
            }
        })),
    ]
}

// ---------------------------------------------------------------- Aurora

pub const CLUSTER: &str = "ledger";
pub const CLUSTER_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:ledger";

pub fn cluster_arn_of(id: &str) -> String {
    format!("arn:aws:rds:us-east-1:{ACCOUNT}:cluster:{id}")
}

/// An Aurora PostgreSQL cluster as DescribeDBClusters returns it; `members` are its
/// instances, the first one the writer.
pub fn aurora_cluster(id: &str, version: &str, members: &[&str]) -> DbCluster {
    let major = version.split('.').next().unwrap_or_default();
    let mut c = DbCluster::builder()
        .db_cluster_identifier(id)
        .db_cluster_arn(cluster_arn_of(id))
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
        .db_cluster_parameter_group(format!("ledger-apg{major}"))
        .tag_list(tag("bluegreen:managed", "true"));
    for (i, m) in members.iter().enumerate() {
        c = c.db_cluster_members(
            DbClusterMember::builder()
                .db_instance_identifier(*m)
                .is_cluster_writer(i == 0)
                .db_cluster_parameter_group_status("in-sync")
                .promotion_tier(1)
                .build(),
        );
    }
    c.build()
}

/// An instance of an Aurora PostgreSQL cluster.
pub fn aurora_instance(id: &str, cluster: &str, version: &str) -> DbInstance {
    let mut db = instance(id, version);
    db.engine = Some("aurora-postgresql".into());
    db.db_cluster_identifier = Some(cluster.into());
    db.db_parameter_groups = Some(vec![DbParameterGroupStatus::builder()
        .db_parameter_group_name("default.aurora-postgresql13")
        .parameter_apply_status("in-sync")
        .build()]);
    db.option_group_memberships = None;
    db
}

// ---------------------------------------------------------------- run documents

/// The upgrade request for `orders-pg`, with `extra` fields merged in.
pub fn request_with(extra: Value) -> Request {
    let mut v = json!({
        "db_identifier": DB,
        "target_engine_version": "16.4",
        "target_db_parameter_group_name": "orders-pg16",
        "action": "upgrade"
    });
    for (k, x) in extra.as_object().expect("extra is an object") {
        v[k] = x.clone();
    }
    Request::from_json(&v).expect("valid request")
}

/// `orders-pg` as the precheck exported it before anything changed.
pub fn source_db() -> SourceDb {
    SourceDb {
        kind: DbKind::Instance,
        identifier: DB.into(),
        arn: SOURCE_ARN.into(),
        resource_id: Some(BLUE_RID.into()),
        engine: Engine::Postgres,
        engine_version: "13.15".into(),
        status: "available".into(),
        instance_class: Some("db.r6g.large".into()),
        multi_az: true,
        multi_az_db_cluster: false,
        endpoint: Some(ENDPOINT.into()),
        port: Some(5432),
        backup_retention_days: 7,
        deletion_protection: true,
        storage_encrypted: true,
        allocated_storage_gib: Some(100),
        parameter_groups: vec![Membership::new("orders-pg13", "in-sync")],
        cluster_parameter_group: None,
        option_groups: vec![Membership::new("default:postgres-13", "in-sync")],
        managed_master_password: false,
        read_replicas: vec![],
        topology: Default::default(),
        replica_source: None,
        members: vec![],
        tags: [("team", "payments"), ("bluegreen:managed", "true")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        parameters: [
            ("max_logical_replication_workers", "8"),
            ("max_replication_slots", "20"),
            ("max_wal_senders", "20"),
            ("max_worker_processes", "16"),
            ("rds.logical_replication", "1"),
            ("shared_preload_libraries", "pg_stat_statements"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    }
}

pub fn create_plan() -> CreatePlan {
    CreatePlan {
        deployment_name: DEPLOYMENT_NAME.into(),
        source_arn: SOURCE_ARN.into(),
        target_engine_version: "16.4".into(),
        is_major_upgrade: true,
        target_db_parameter_group_name: Some("orders-pg16".into()),
        target_db_cluster_parameter_group_name: None,
        target_db_instance_class: None,
        green_instance_class: None,
        tags: [
            ("bluegreen:managed-by", "rds-bluegreen"),
            ("bluegreen:execution", EXECUTION_ARN),
            ("bluegreen:source-resource-id", BLUE_RID),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    }
}

/// The old blue as verify finds it after the switchover: the database with blue's resource id.
pub fn old_blue_record() -> bluegreen_domain::old_blue::OldBlue {
    bluegreen_domain::old_blue::OldBlue {
        kind: DbKind::Instance,
        identifier: OLD_BLUE.into(),
        arn: OLD_BLUE_ARN.into(),
        resource_id: Some(BLUE_RID.into()),
        engine_version: "13.15".into(),
        members: vec![],
        replicas: vec![],
    }
}

/// A run as the precheck leaves it for `route`.
pub fn prechecked_run(route: Route, request: Request) -> Run {
    let mut run = started_run(json!({"db_identifier": DB, "target_engine_version": "16.4"}));
    run.input = None;
    run.route = Some(route);
    run.request = Some(request);
    run.source = Some(source_db());
    run.plan = Some(create_plan());
    run.mark("started", &rfc(0));
    run
}

/// A run whose green was requested a minute after it started, deployment in `status`.
pub fn run_with_deployment(route: Route, request: Request, status: &str) -> Run {
    let mut run = prechecked_run(route, request);
    run.deployment = Some(DeploymentRecord {
        id: DEPLOYMENT_ID.into(),
        name: DEPLOYMENT_NAME.into(),
        created_by_this_run: true,
        status: status.into(),
        target_arn: Some(GREEN_ARN.into()),
    });
    run.mark("green_requested", &rfc(60));
    run
}

/// The error name and message, for asserting on failures.
#[track_caller]
pub fn err_of<T: std::fmt::Debug>(
    r: Result<T, bluegreen_domain::WorkerError>,
) -> (&'static str, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (e.name(), e.to_string()),
    }
}

#[track_caller]
pub fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "expected `{p}` in: {msg}");
    }
}

/// Whether a log line names a mutating RDS call.
pub fn is_mutation(line: &str) -> bool {
    ["Create", "Switchover", "Delete", "Modify", "AddTags"]
        .iter()
        .any(|p| line.starts_with(p))
}

// ---------------------------------------------------------------- fault sweeps

/// One row of a fault sweep: which call failed, how, and what the step ended with.
#[derive(Debug, Clone)]
pub struct FaultCase {
    pub op: String,
    pub fault: WireFault,
    pub lost: Lost,
    /// The error name the step returned (or `ok (recorded)` for steps that never raise).
    pub outcome: String,
}

/// Mutating calls that took effect (a call failed before reaching AWS does not count).
pub fn effective_mutations(log: &[String]) -> Vec<String> {
    let mut m: Vec<String> = log
        .iter()
        .filter(|l| is_mutation(l) && !l.contains(" !"))
        .cloned()
        .collect();
    m.sort();
    m
}

/// The operations a step calls on a healthy account, in first-call order.
pub async fn operations_of<F, Fut>(make_world: &impl Fn() -> World, step: &F) -> Vec<String>
where
    F: Fn(Deps) -> Fut,
    Fut: std::future::Future<Output = Result<Run, bluegreen_domain::WorkerError>>,
{
    let world = make_world();
    step(world.faulty_deps())
        .await
        .unwrap_or_else(|e| panic!("the step must succeed on a healthy account: {e}"));
    let mut ops: Vec<String> = Vec::new();
    for line in world.log() {
        let op = line.split(' ').next().unwrap_or_default().to_string();
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    ops
}

/// For every call the step makes on a healthy account and every `WireFault` (for mutating
/// calls also with the answer lost after AWS carried the call out): the step must end with
/// the retryable `AwsUnavailable` naming the call, make no mutating call after the failure,
/// and, retried on the same account as the state machine would, succeed with exactly the
/// changes of a run without the fault (nothing done twice, nothing half-done).
pub async fn sweep_wire_faults<F, Fut>(make_world: impl Fn() -> World, step: F) -> Vec<FaultCase>
where
    F: Fn(Deps) -> Fut,
    Fut: std::future::Future<Output = Result<Run, bluegreen_domain::WorkerError>>,
{
    let healthy = make_world();
    step(healthy.faulty_deps()).await.expect("healthy run");
    let expected = effective_mutations(&healthy.log());
    let ops = operations_of(&make_world, &step).await;
    assert!(!ops.is_empty(), "the step makes no AWS call");
    let mut cases = Vec::new();
    for op in &ops {
        let mutating = is_mutation(op);
        let losts: &[Lost] = if mutating {
            &[Lost::Request, Lost::Answer]
        } else {
            &[Lost::Request]
        };
        for &lost in losts {
            for fault in WireFault::ALL {
                let case = format!("{op} {fault:?} ({lost:?} lost)");
                let world = make_world();
                world.fault(op, fault, lost);
                let err = match step(world.faulty_deps()).await {
                    Ok(run) => panic!("{case}: the step succeeded: {run:?}"),
                    Err(e) => e,
                };
                assert_eq!(err.name(), "AwsUnavailable", "{case}: {err}");
                assert!(err.is_transient(), "{case}");
                assert!(err.to_string().contains(op.as_str()), "{case}: {err}");
                let log = world.log();
                let at = log
                    .iter()
                    .position(|l| l.starts_with(op.as_str()) && l.contains(" !"))
                    .unwrap_or_else(|| panic!("{case}: the fault was not hit: {log:?}"));
                let after: Vec<&String> = log[at + 1..].iter().filter(|l| is_mutation(l)).collect();
                assert!(
                    after.is_empty(),
                    "{case}: mutating calls after the failure: {after:?}"
                );
                // The state machine retries the step with the same input.
                world.clear_faults();
                step(world.faulty_deps()).await.unwrap_or_else(|e| {
                    panic!("{case}: the retried step failed: {} {e}", e.name())
                });
                assert_eq!(
                    effective_mutations(&world.log()),
                    expected,
                    "{case}: the fault and its retry changed something other than one healthy run does"
                );
                cases.push(FaultCase {
                    op: op.clone(),
                    fault,
                    lost,
                    outcome: err.name().to_string(),
                });
            }
        }
    }
    cases
}
