//! The ports: what the workers ask of AWS, in domain terms only. The real adapters ([`Rds`],
//! [`Metrics`], [`Notifier`], [`Executions`], [`Dms`], [`Kms`], [`AutoScaling`]) implement them by delegating to their own methods;
//! the in-memory account of `bluegreen-memory` (tests only) implements them too.
//!
//! RDS is two ports by capability: [`RdsRead`] (describe, never change) and [`RdsWrite`] (the
//! few blue/green mutations). A bundle is [`AwsRead`] (its RDS reads) or [`Aws`] (its RDS
//! also writes): the precheck, `resolve` and the guardrails are generic over `AwsRead`, so
//! that they change nothing is a fact of their types, not of their code.
//!
//! Every method returns a `Send` future, so a handler generic over these traits stays `Send`
//! for `lambda_runtime`.

use crate::{AutoScaling, Dms, Executions, Kms, Metrics, Notifier, Rds};
use bluegreen_domain::fleet::{Candidate, ChildStatus};
use bluegreen_domain::model::db::{DbKind, DbRef};
use bluegreen_domain::model::deployment::{DeploymentView, MemberStatus};
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::engine::EngineVersionInfo;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::grants::KeyManager;
use bluegreen_domain::model::lifecycle::MajorLifecycle;
use bluegreen_domain::model::plan::CreatePlan;
use bluegreen_domain::model::scaling::ScalableTarget;
use bluegreen_domain::model::source::ParameterGroupInfo;
use bluegreen_domain::model::source::SourceDb;
use bluegreen_domain::model::source::{
    CustomEndpoint, DmsEndpoint, DmsTaskListing, GlobalMembership, Integration, Proxy,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The statistic a metric query reduces its datapoints with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// The minimum of the minimums.
    Minimum,
    /// The maximum of the maximums.
    Maximum,
}

/// The unit of a published datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

/// One datum to publish: a metric name, its value and unit, its dimensions, its time.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
    pub dimensions: Vec<(String, String)>,
    pub timestamp: SystemTime,
}

impl Datum {
    /// A datum with string dimensions, timestamped `now`.
    pub fn new(name: &str, value: f64, unit: Unit, dims: &[(&str, &str)], now: SystemTime) -> Self {
        Self {
            name: name.to_string(),
            value,
            unit,
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            timestamp: now,
        }
    }
}

/// RDS, read: the source and its surroundings, the deployments, green's members. Changes nothing.
pub trait RdsRead: Send + Sync {
    /// The instance or cluster the reference names (a cluster member's instance names its
    /// cluster), with its parameters of interest; `SourceNotFound` when there is none.
    fn find_source(&self, db: &DbRef)
        -> impl Future<Output = Result<SourceDb, WorkerError>> + Send;

    /// One instance or cluster by name, or `None` when it is gone.
    fn describe(
        &self,
        kind: DbKind,
        id: &str,
    ) -> impl Future<Output = Result<Option<SourceDb>, WorkerError>> + Send;

    /// The instance or cluster that carries a resource id, whatever it is named now.
    fn describe_by_resource_id(
        &self,
        kind: DbKind,
        resource_id: &str,
    ) -> impl Future<Output = Result<Option<SourceDb>, WorkerError>> + Send;

    /// The parameters the prechecks read from one parameter group; empty when it does not exist.
    fn parameters(
        &self,
        group: &str,
        cluster: bool,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, WorkerError>> + Send;

    /// One engine version, deprecated ones included.
    fn engine_version(
        &self,
        engine: &Engine,
        version: &str,
    ) -> impl Future<Output = Result<Option<EngineVersionInfo>, WorkerError>> + Send;

    fn parameter_group(
        &self,
        name: &str,
        cluster: bool,
    ) -> impl Future<Output = Result<Option<ParameterGroupInfo>, WorkerError>> + Send;

    fn deployments_for_source(
        &self,
        source_arn: &str,
    ) -> impl Future<Output = Result<Vec<DeploymentView>, WorkerError>> + Send;

    fn deployment_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<DeploymentView>, WorkerError>> + Send;

    /// Every deployment of the account and Region.
    fn all_deployments(
        &self,
    ) -> impl Future<Output = Result<Vec<DeploymentView>, WorkerError>> + Send;

    /// Every instance and cluster of the account and Region.
    fn fleet_candidates(&self) -> impl Future<Output = Result<Vec<Candidate>, WorkerError>> + Send;

    /// Pending maintenance for one resource, as readable lines.
    fn pending_maintenance(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<String>, WorkerError>> + Send;

    /// Every RDS Proxy of the account and Region with each of its targets: one entry per
    /// (proxy, target) (DescribeDBProxies, DescribeDBProxyTargets).
    fn proxy_targets(&self) -> impl Future<Output = Result<Vec<Proxy>, WorkerError>> + Send;

    /// The custom endpoints of an Aurora cluster (DescribeDBClusterEndpoints, CUSTOM).
    fn custom_endpoints(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<CustomEndpoint>, WorkerError>> + Send;

    /// The tags of an RDS resource by ARN (ListTagsForResource): a custom endpoint's, which
    /// DescribeDBClusterEndpoints does not return.
    fn tags_of(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, WorkerError>> + Send;

    /// The Aurora Global Database the cluster (by ARN) is a member of (DescribeGlobalClusters).
    fn global_membership(
        &self,
        cluster_arn: &str,
    ) -> impl Future<Output = Result<Option<GlobalMembership>, WorkerError>> + Send;

    /// The zero-ETL integrations whose source is the database (DescribeIntegrations).
    fn integrations(
        &self,
        source_arn: &str,
    ) -> impl Future<Output = Result<Vec<Integration>, WorkerError>> + Send;

    /// A major version's support dates (DescribeDBMajorEngineVersions); `None` when RDS
    /// publishes none.
    fn major_lifecycle(
        &self,
        engine: &Engine,
        major: &str,
    ) -> impl Future<Output = Result<Option<MajorLifecycle>, WorkerError>> + Send;

    /// Statuses of the green members named by ARN; absent ones are `missing`.
    fn member_statuses(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<MemberStatus>, WorkerError>> + Send;

    /// The snapshot's status, or `None` when it does not exist.
    fn snapshot_status(
        &self,
        kind: DbKind,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<Option<String>, WorkerError>> + Send;

    /// One deployment by its identifier (`bgd-...`), or `None` when there is none.
    fn deployment(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<DeploymentView>, WorkerError>> + Send;
}

/// RDS, write: the few blue/green mutations.
pub trait RdsWrite: Send + Sync {
    /// Creates the deployment; `Ok(None)` when one with this name already exists.
    fn create_deployment(
        &self,
        plan: &CreatePlan,
    ) -> impl Future<Output = Result<Option<DeploymentView>, WorkerError>> + Send;

    /// Modifies an instance's class now.
    fn modify_instance_class(
        &self,
        id: &str,
        class: &str,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send;

    /// Adds (or overwrites) tags on an instance or cluster by ARN.
    fn add_tags(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send;

    fn switchover(
        &self,
        deployment_id: &str,
        timeout_seconds: u32,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send;

    /// Deletes the deployment record, with `delete_target` also green; `Ok(false)` when gone.
    fn delete_deployment(
        &self,
        deployment_id: &str,
        delete_target: bool,
    ) -> impl Future<Output = Result<bool, WorkerError>> + Send;

    fn disable_deletion_protection(
        &self,
        kind: DbKind,
        id: &str,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send;

    /// Starts a manual snapshot; `Ok(false)` when one with this id already exists.
    fn create_snapshot(
        &self,
        kind: DbKind,
        db_id: &str,
        snapshot_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<bool, WorkerError>> + Send;

    /// Deletes an instance or an (empty) cluster without a final snapshot; `Ok(false)` when
    /// already gone or already being deleted.
    fn delete_db(
        &self,
        kind: DbKind,
        id: &str,
    ) -> impl Future<Output = Result<bool, WorkerError>> + Send;
}

/// CloudWatch: the AWS/RDS metrics the rules read, and the metrics the runs publish.
pub trait MetricsApi: Send + Sync {
    /// One statistic of an AWS/RDS metric with exactly these dimensions over the last
    /// `lookback`; `None` without datapoints.
    fn rds_statistic(
        &self,
        metric: &str,
        dimensions: &[(&str, &str)],
        statistic: Stat,
        lookback: Duration,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<f64>, WorkerError>> + Send;

    fn put(
        &self,
        namespace: &str,
        data: Vec<Datum>,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send;
}

/// SNS: one notification.
pub trait NotifyApi: Send + Sync {
    /// Publishes `body` with `subject` and string message attributes; the message id.
    fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        body: &str,
        attributes: &[(&str, &str)],
    ) -> impl Future<Output = Result<String, WorkerError>> + Send;
}

/// Step Functions: the executions a fleet starts and follows.
pub trait ExecutionsApi: Send + Sync {
    /// Starts an execution named `name` (idempotent by name); its ARN.
    fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> impl Future<Output = Result<String, WorkerError>> + Send;

    fn status(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<ChildStatus, WorkerError>> + Send;
}

/// AWS DMS: the endpoints of the account and the tasks that use them (the precheck's only).
pub trait DmsApi: Send + Sync {
    /// Every DMS endpoint in this account and Region (DescribeEndpoints).
    fn endpoints(&self) -> impl Future<Output = Result<Vec<DmsEndpoint>, WorkerError>> + Send;

    /// The replication tasks whose source or target is one of these endpoints
    /// (DescribeReplicationTasks, filter `endpoint-arn`).
    fn tasks_using(
        &self,
        endpoint_arns: &[String],
    ) -> impl Future<Output = Result<Vec<DmsTaskListing>, WorkerError>> + Send;
}

/// A bundle that also reaches AWS DMS: the precheck's. The other workers do not link the
/// DMS client.
pub trait WithDms: AwsRead {
    type Dms: DmsApi;
    fn dms(&self) -> &Self::Dms;
}

/// AWS KMS: who manages the source's key (the precheck's only).
pub trait KeysApi: Send + Sync {
    /// The key's manager (DescribeKey `KeyMetadata.KeyManager`); `None` when there is no such key.
    fn key_manager(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Option<KeyManager>, WorkerError>> + Send;
}

/// A bundle that also reaches AWS KMS: the precheck's. The other workers do not link the
/// KMS client.
pub trait WithKeys: AwsRead {
    type Keys: KeysApi;
    fn keys(&self) -> &Self::Keys;
}

/// Application Auto Scaling, read: an Aurora cluster's Auto Scaling (the precheck's only).
pub trait ScalingApi: Send + Sync {
    /// The cluster's `rds:cluster:ReadReplicaCount` targets with their policies
    /// (DescribeScalableTargets, DescribeScalingPolicies); empty when none is registered.
    fn cluster_targets(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<ScalableTarget>, WorkerError>> + Send;
}

/// A bundle that also reaches Application Auto Scaling: the precheck's. The other workers do
/// not link its client.
pub trait WithScaling: AwsRead {
    type Scaling: ScalingApi;
    fn scaling(&self) -> &Self::Scaling;
}

/// What a per-database worker uses, as one type parameter, when it changes nothing in RDS:
/// its RDS is known to read only.
pub trait AwsRead: Clone + Send + Sync + 'static {
    type Rds: RdsRead;
    type Metrics: MetricsApi;
    type Notifier: NotifyApi;
    fn rds(&self) -> &Self::Rds;
    fn metrics(&self) -> &Self::Metrics;
    fn notifier(&self) -> &Self::Notifier;
}

/// What a per-database worker that changes RDS uses: the same bundle, its RDS also writing.
pub trait Aws: AwsRead<Rds: RdsWrite> {}

impl<A: AwsRead<Rds: RdsWrite>> Aws for A {}

/// The real bundle: the SDK adapters, built once per process.
#[derive(Clone, Debug)]
pub struct Clients {
    pub rds: Rds,
    pub metrics: Metrics,
    pub notifier: Notifier,
}

impl Clients {
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self {
            rds: Rds::from_conf(conf),
            metrics: Metrics::from_conf(conf),
            notifier: Notifier::from_conf(conf),
        }
    }
}

impl AwsRead for Clients {
    type Rds = Rds;
    type Metrics = Metrics;
    type Notifier = Notifier;
    fn rds(&self) -> &Rds {
        &self.rds
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn notifier(&self) -> &Notifier {
        &self.notifier
    }
}

/// The precheck's bundle: the common clients, DMS's, KMS's and Application Auto Scaling's.
#[derive(Clone, Debug)]
pub struct PrecheckClients {
    pub clients: Clients,
    pub dms: Dms,
    pub kms: Kms,
    pub scaling: AutoScaling,
}

impl PrecheckClients {
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Clients::from_conf(conf),
            dms: Dms::from_conf(conf),
            kms: Kms::from_conf(conf),
            scaling: AutoScaling::from_conf(conf),
        }
    }
}

impl AwsRead for PrecheckClients {
    type Rds = Rds;
    type Metrics = Metrics;
    type Notifier = Notifier;
    fn rds(&self) -> &Rds {
        &self.clients.rds
    }
    fn metrics(&self) -> &Metrics {
        &self.clients.metrics
    }
    fn notifier(&self) -> &Notifier {
        &self.clients.notifier
    }
}

impl WithDms for PrecheckClients {
    type Dms = Dms;
    fn dms(&self) -> &Dms {
        &self.dms
    }
}

impl WithKeys for PrecheckClients {
    type Keys = Kms;
    fn keys(&self) -> &Kms {
        &self.kms
    }
}

impl WithScaling for PrecheckClients {
    type Scaling = AutoScaling;
    fn scaling(&self) -> &AutoScaling {
        &self.scaling
    }
}

/// `fn name(&self, args) -> impl Future<..> + Send { Self::name(self, args) }`: each port
/// method is the adapter's own inherent method, its error read as the workers read it (an
/// adapter method that returns the call's `AwsError` is one `From` away).
macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(
            fn $name(&self, $($arg: $ty),*) -> impl Future<Output = Result<$out, WorkerError>> + Send {
                let call = Self::$name(self, $($arg),*);
                async move { call.await.map_err(WorkerError::from) }
            }
        )*
    };
}

impl RdsRead for Rds {
    delegate! {
        find_source(db: &DbRef) -> SourceDb;
        describe(kind: DbKind, id: &str) -> Option<SourceDb>;
        describe_by_resource_id(kind: DbKind, resource_id: &str) -> Option<SourceDb>;
        parameters(group: &str, cluster: bool) -> BTreeMap<String, String>;
        engine_version(engine: &Engine, version: &str) -> Option<EngineVersionInfo>;
        parameter_group(name: &str, cluster: bool) -> Option<ParameterGroupInfo>;
        deployments_for_source(source_arn: &str) -> Vec<DeploymentView>;
        deployment_by_name(name: &str) -> Option<DeploymentView>;
        all_deployments() -> Vec<DeploymentView>;
        fleet_candidates() -> Vec<Candidate>;
        pending_maintenance(arn: &str) -> Vec<String>;
        proxy_targets() -> Vec<Proxy>;
        custom_endpoints(cluster: &str) -> Vec<CustomEndpoint>;
        tags_of(arn: &str) -> BTreeMap<String, String>;
        global_membership(cluster_arn: &str) -> Option<GlobalMembership>;
        integrations(source_arn: &str) -> Vec<Integration>;
        major_lifecycle(engine: &Engine, major: &str) -> Option<MajorLifecycle>;
        member_statuses(arns: &[String]) -> Vec<MemberStatus>;
        snapshot_status(kind: DbKind, snapshot_id: &str) -> Option<String>;
        deployment(id: &str) -> Option<DeploymentView>;
    }
}

impl RdsWrite for Rds {
    delegate! {
        create_deployment(plan: &CreatePlan) -> Option<DeploymentView>;
        modify_instance_class(id: &str, class: &str) -> ();
        add_tags(arn: &str, tags: &BTreeMap<String, String>) -> ();
        switchover(deployment_id: &str, timeout_seconds: u32) -> ();
        delete_deployment(deployment_id: &str, delete_target: bool) -> bool;
        disable_deletion_protection(kind: DbKind, id: &str) -> ();
        create_snapshot(kind: DbKind, db_id: &str, snapshot_id: &str, tags: &BTreeMap<String, String>) -> bool;
        delete_db(kind: DbKind, id: &str) -> bool;
    }
}

impl MetricsApi for Metrics {
    delegate! {
        rds_statistic(metric: &str, dimensions: &[(&str, &str)], statistic: Stat, lookback: Duration, now: SystemTime) -> Option<f64>;
        put(namespace: &str, data: Vec<Datum>) -> ();
    }
}

impl NotifyApi for Notifier {
    delegate! {
        publish(topic_arn: &str, subject: &str, body: &str, attributes: &[(&str, &str)]) -> String;
    }
}

impl DmsApi for Dms {
    delegate! {
        endpoints() -> Vec<DmsEndpoint>;
        tasks_using(endpoint_arns: &[String]) -> Vec<DmsTaskListing>;
    }
}

impl KeysApi for Kms {
    delegate! {
        key_manager(key_id: &str) -> Option<KeyManager>;
    }
}

impl ScalingApi for AutoScaling {
    delegate! {
        cluster_targets(cluster: &str) -> Vec<ScalableTarget>;
    }
}

impl ExecutionsApi for Executions {
    delegate! {
        start(state_machine_arn: &str, name: &str, input: &str) -> String;
        status(execution_arn: &str) -> ChildStatus;
    }
}
