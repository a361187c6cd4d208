//! An in-memory AWS account in domain terms, behind the same ports as the SDK adapters of
//! `bluegreen-aws` (the workers' tests only: a dev-dependency, so no product binary links it,
//! and a crate of its own rather than a feature, so `cargo test` reuses the `bluegreen-aws` the
//! binaries are built with instead of compiling every crate above it twice).
//!
//! It holds what the workers read (instances and clusters as `SourceDb`, deployments as
//! `DeploymentView`, parameter groups and their parameters, engine versions, snapshots,
//! pending maintenance, metrics by metric and dimension set, executions, custom endpoints with
//! their tags, KMS keys with their manager, Aurora Auto Scaling targets), logs every call as
//! `op argument`, and records every change it carried out (`created`, `switchovers`,
//! `deleted_deployments`, `modified`, `tags_added`, `snapshots_created`, `deleted_dbs`, `put`,
//! `published`, `started`; `changes()` gathers them).
//!
//! It answers as RDS does where the workers depend on it: names are case-insensitive; a
//! cluster member named alone stands for its cluster; a lookup by resource id finds the
//! database whatever it is named now (renames are the test's to set up); creating a
//! deployment whose name exists answers `Ok(None)`, as the adapter does; deletes are
//! asynchronous (`deleting` / `DELETING` until [`Memory::finish_deletions`]); a deployment
//! deleted with `delete_target` takes green with it, never blue; a protected database, or a
//! cluster with instances left, is not deleted; a switchover of a deployment that is not
//! `AVAILABLE` is `DeploymentStateTransient`. Refusals carry the error the adapter would map
//! RDS's answer to (`bluegreen_aws::errors::from_code`).
//!
//! Failure injection per operation ([`Memory::fail`]): every call to it fails with the given
//! error either before it is carried out ([`Lost::Request`]) or after (the answer is lost,
//! [`Lost::Answer`]). [`Memory::before`] changes the account just before the next call to an
//! operation (another execution acting at the same moment).

use bluegreen_aws::errors::from_code;
use bluegreen_aws::ports::{
    AwsRead, Datum, DmsApi, ExecutionsApi, KeysApi, MetricsApi, NotifyApi, RdsRead, RdsWrite,
    ScalingApi, Stat, WithDms, WithKeys, WithScaling,
};
use bluegreen_aws::rds::{parse_member_arn, source_not_found};
use bluegreen_aws::sfn::execution_arn;
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
use bluegreen_domain::model::source::{
    CustomEndpoint, DmsEndpoint, DmsTaskListing, GlobalMembership, Integration, Proxy,
};
use bluegreen_domain::model::source::{SourceDb, RELEVANT_PARAMETERS};
use std::collections::BTreeMap;
use std::fmt;
use std::future::{ready, Future, Ready};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// When an injected failure strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    /// Before the call is carried out: nothing changed.
    Request,
    /// After AWS carried it out: the change stands, the answer is lost.
    Answer,
}

/// The operations that change something, by port method name.
pub const MUTATIONS: &[&str] = &[
    "create_deployment",
    "modify_instance_class",
    "add_tags",
    "switchover",
    "delete_deployment",
    "disable_deletion_protection",
    "create_snapshot",
    "delete_db",
    "put",
    "publish",
    "start",
];

/// One call, as logged: the port method, its main argument, and the failure injected into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub op: &'static str,
    pub arg: String,
    pub failed: Option<Lost>,
}

impl Call {
    pub fn is_mutation(&self) -> bool {
        MUTATIONS.contains(&self.op)
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op)?;
        if !self.arg.is_empty() {
            write!(f, " {}", self.arg)?;
        }
        match self.failed {
            Some(Lost::Request) => f.write_str(" !failed"),
            Some(Lost::Answer) => f.write_str(" !answer lost"),
            None => Ok(()),
        }
    }
}

/// A change to an instance or cluster that is not a tag or a deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modification {
    InstanceClass { instance: String, class: String },
    DeletionProtectionOff { kind: DbKind, id: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub kind: DbKind,
    pub of: String,
    pub id: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuery {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: Stat,
    pub lookback: Duration,
    pub now: SystemTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub topic_arn: String,
    pub subject: String,
    pub body: String,
    pub attributes: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    pub state_machine_arn: String,
    pub name: String,
    pub input: String,
    pub status: ChildStatus,
}

/// Every change the account carried out, in order per kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    pub created: Vec<CreatePlan>,
    pub switchovers: Vec<(String, u32)>,
    pub deleted_deployments: Vec<(String, bool)>,
    pub modified: Vec<Modification>,
    pub tags_added: Vec<(String, BTreeMap<String, String>)>,
    pub snapshots_created: Vec<Snapshot>,
    pub deleted_dbs: Vec<(DbKind, String)>,
    pub put: Vec<(String, Vec<Datum>)>,
    pub published: Vec<Notification>,
    /// (state machine, execution name, input)
    pub started: Vec<(String, String, String)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

type Hook = Box<dyn FnOnce(&mut Account) + Send>;

/// A metric and its whole dimension set (CloudWatch matches the set), sorted by name.
pub type MetricKey = (String, Vec<(String, String)>);

/// What the account holds, and every call made to it.
#[derive(Default)]
pub struct Account {
    /// By identifier.
    pub instances: BTreeMap<String, SourceDb>,
    /// By identifier; a cluster's `members` are its instances, writer first.
    pub clusters: BTreeMap<String, SourceDb>,
    /// Instance -> the class a pending modification gives it.
    pub pending_class: BTreeMap<String, String>,
    /// Instance -> how far it is in loading its data (`PercentProgress`), while its status is
    /// `storage-initialization` (or `storage-config-upgrade`).
    pub percent_progress: BTreeMap<String, f64>,
    /// Parameter group or cluster parameter group -> its parameters.
    pub parameters: BTreeMap<String, BTreeMap<String, String>>,
    /// DB parameter group -> family.
    pub parameter_groups: BTreeMap<String, String>,
    /// DB cluster parameter group -> family.
    pub cluster_parameter_groups: BTreeMap<String, String>,
    /// Every engine version, deprecated ones included (the adapter asks with IncludeAll).
    pub engine_versions: Vec<(Engine, EngineVersionInfo)>,
    pub deployments: Vec<DeploymentView>,
    /// What RDS answers a create with (the plan's name, source and tags applied to it);
    /// `None`: a PROVISIONING deployment with a generated id and no target yet.
    pub on_create: Option<DeploymentView>,
    /// Snapshot id -> status.
    pub snapshots: BTreeMap<String, String>,
    /// Resource ARN -> pending maintenance, as readable lines.
    pub pending_maintenance: BTreeMap<String, Vec<String>>,
    /// (metric, dimension set sorted by name) -> datapoint values.
    pub metrics: BTreeMap<MetricKey, Vec<f64>>,
    /// By execution ARN.
    pub executions: BTreeMap<String, Execution>,
    /// Every RDS Proxy target, one entry per (proxy, target), as DescribeDBProxyTargets lists them.
    pub proxies: Vec<Proxy>,
    /// Aurora cluster -> its custom endpoints, with their tags (DescribeDBClusterEndpoints
    /// answers without them; `tags_of` by the endpoint's ARN reads them).
    pub custom_endpoints: BTreeMap<String, Vec<CustomEndpoint>>,
    /// KMS key (ARN, as RDS reports `KmsKeyId`) -> who manages it; DescribeKey of any other
    /// key is `None` (NotFoundException).
    pub kms_keys: BTreeMap<String, KeyManager>,
    /// Global cluster -> its members (cluster ARN, is the writer/primary).
    pub global_clusters: BTreeMap<String, Vec<(String, bool)>>,
    /// (source ARN, integration)
    pub integrations: Vec<(String, Integration)>,
    /// What DescribeDBMajorEngineVersions answers, per engine and major.
    pub lifecycles: Vec<MajorLifecycle>,
    /// AWS DMS: the account's endpoints and replication tasks.
    pub dms_endpoints: Vec<DmsEndpoint>,
    pub dms_tasks: Vec<DmsTaskListing>,
    /// Application Auto Scaling: Aurora cluster -> its replica-count targets with their
    /// policies (none registered: absent).
    pub auto_scaling: BTreeMap<String, Vec<ScalableTarget>>,

    pub log: Vec<Call>,
    pub metric_queries: Vec<MetricQuery>,

    pub created: Vec<CreatePlan>,
    /// (deployment id, timeout seconds)
    pub switchovers: Vec<(String, u32)>,
    /// (deployment id, delete_target)
    pub deleted_deployments: Vec<(String, bool)>,
    pub modified: Vec<Modification>,
    /// (resource ARN, tags)
    pub tags_added: Vec<(String, BTreeMap<String, String>)>,
    pub snapshots_created: Vec<Snapshot>,
    pub deleted_dbs: Vec<(DbKind, String)>,
    /// (namespace, data)
    pub put: Vec<(String, Vec<Datum>)>,
    pub published: Vec<Notification>,
    pub started: Vec<(String, String, String)>,

    faults: BTreeMap<String, (WorkerError, Lost)>,
    hooks: Vec<(String, Hook)>,
}

fn find<'a>(map: &'a BTreeMap<String, SourceDb>, id: &str) -> Option<&'a SourceDb> {
    map.get(id)
        .or_else(|| map.values().find(|d| d.identifier.eq_ignore_ascii_case(id)))
}

fn find_mut<'a>(map: &'a mut BTreeMap<String, SourceDb>, id: &str) -> Option<&'a mut SourceDb> {
    map.values_mut()
        .find(|d| d.identifier.eq_ignore_ascii_case(id))
}

fn kind_str(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Instance => "instance",
        DbKind::Cluster => "cluster",
    }
}

fn not_found(operation: &str, kind: DbKind, id: &str) -> WorkerError {
    match kind {
        DbKind::Instance => from_code(
            operation,
            "DBInstanceNotFound",
            &format!("DBInstance {id} not found."),
            404,
        ),
        DbKind::Cluster => from_code(
            operation,
            "DBClusterNotFoundFault",
            &format!("DBCluster {id} not found."),
            404,
        ),
    }
}

fn deleting(status: &str) -> bool {
    status.eq_ignore_ascii_case("deleting")
}

impl Account {
    pub fn db(&self, kind: DbKind, id: &str) -> Option<&SourceDb> {
        match kind {
            DbKind::Instance => find(&self.instances, id),
            DbKind::Cluster => find(&self.clusters, id),
        }
    }

    pub fn db_mut(&mut self, kind: DbKind, id: &str) -> Option<&mut SourceDb> {
        match kind {
            DbKind::Instance => find_mut(&mut self.instances, id),
            DbKind::Cluster => find_mut(&mut self.clusters, id),
        }
    }

    /// The cluster an instance belongs to.
    pub fn cluster_of(&self, instance: &str) -> Option<&SourceDb> {
        self.clusters
            .values()
            .find(|c| c.members.iter().any(|m| m.eq_ignore_ascii_case(instance)))
    }

    fn by_arn_mut(&mut self, arn: &str) -> Option<&mut SourceDb> {
        self.instances
            .values_mut()
            .chain(self.clusters.values_mut())
            .find(|d| d.arn == arn)
    }

    /// As DescribeDBInstances / DescribeDBClusters answer: no parameters; a cluster's DB
    /// parameter groups are its writer's, read by `find_source` alone.
    fn described(&self, kind: DbKind, id: &str) -> Option<SourceDb> {
        self.db(kind, id).map(|d| {
            let mut d = d.clone();
            d.parameters.clear();
            if kind == DbKind::Cluster {
                d.parameter_groups.clear();
            }
            d
        })
    }

    fn group_parameters(&self, group: &str) -> BTreeMap<String, String> {
        self.parameters
            .get(group)
            .map(|all| {
                all.iter()
                    .filter(|(k, _)| RELEVANT_PARAMETERS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn find_source(&self, db: &DbRef) -> Result<SourceDb, WorkerError> {
        let mut source = match db.kind {
            Some(kind) => self.described(kind, &db.name),
            None => match self.described(DbKind::Instance, &db.name) {
                Some(i) => match self.cluster_of(&i.identifier) {
                    Some(c) => self.described(DbKind::Cluster, &c.identifier.clone()),
                    None => Some(i),
                },
                None => self.described(DbKind::Cluster, &db.name),
            },
        }
        .ok_or_else(|| source_not_found(&db.name))?;
        if source.kind == DbKind::Cluster {
            if let Some(writer) = source.members.first() {
                if let Some(w) = self.db(DbKind::Instance, writer) {
                    source.parameter_groups = w.parameter_groups.clone();
                }
            }
        }
        let mut params = BTreeMap::new();
        if let Some(group) = &source.cluster_parameter_group {
            params.extend(self.group_parameters(&group.name));
        }
        for group in &source.parameter_groups {
            for (k, v) in self.group_parameters(&group.name) {
                params.entry(k).or_insert(v);
            }
        }
        source.parameters = params;
        Ok(source)
    }

    fn candidate(&self, d: &SourceDb) -> Candidate {
        Candidate {
            identifier: d.identifier.clone(),
            kind: d.kind,
            engine: d.engine.as_str().to_ascii_lowercase(),
            engine_version: d.engine_version.clone(),
            tags: d.tags.clone(),
            replica_of: d.replica_source.clone(),
            cluster: match d.kind {
                DbKind::Instance => self.cluster_of(&d.identifier).map(|c| c.identifier.clone()),
                DbKind::Cluster => None,
            },
        }
    }

    fn create_deployment(
        &mut self,
        plan: &CreatePlan,
    ) -> Result<Option<DeploymentView>, WorkerError> {
        const OP: &str = "rds:CreateBlueGreenDeployment";
        if self
            .deployments
            .iter()
            .any(|d| d.name == plan.deployment_name)
        {
            return Ok(None);
        }
        if !self
            .instances
            .values()
            .chain(self.clusters.values())
            .any(|d| d.arn == plan.source_arn)
        {
            return Err(from_code(
                OP,
                "DBInstanceNotFound",
                &format!("The source {} was not found.", plan.source_arn),
                404,
            ));
        }
        let n = self.created.len() + 1;
        let mut view = self.on_create.clone().unwrap_or_else(|| DeploymentView {
            id: format!("bgd-memory{n:010}"),
            name: String::new(),
            source_arn: String::new(),
            target_arn: String::new(),
            status: "PROVISIONING".into(),
            status_details: None,
            tasks: Vec::new(),
            switchover_details: Vec::new(),
            tags: BTreeMap::new(),
        });
        view.name = plan.deployment_name.clone();
        view.source_arn = plan.source_arn.clone();
        view.tags = plan.tags.clone();
        self.deployments.push(view.clone());
        self.created.push(plan.clone());
        Ok(Some(view))
    }

    fn member_statuses(&self, arns: &[String]) -> Vec<MemberStatus> {
        arns.iter()
            .filter_map(|arn| {
                let (kind, name) = parse_member_arn(arn)?;
                let mut member = MemberStatus {
                    arn: arn.clone(),
                    status: "missing".into(),
                    ..MemberStatus::default()
                };
                if let Some(db) = self.db(kind, &name) {
                    member.status = db.status.clone();
                    if kind == DbKind::Instance {
                        member.instance_class = db.instance_class.clone();
                        member.pending_instance_class =
                            self.pending_class.get(&db.identifier).cloned();
                        member.percent_progress =
                            self.percent_progress.get(&db.identifier).copied();
                    }
                }
                Some(member)
            })
            .collect()
    }

    fn switchover(&mut self, id: &str, timeout: u32) -> Result<(), WorkerError> {
        const OP: &str = "rds:SwitchoverBlueGreenDeployment";
        let Some(d) = self.deployments.iter_mut().find(|d| d.id == id) else {
            return Err(from_code(
                OP,
                "BlueGreenDeploymentNotFoundFault",
                &format!("BlueGreenDeployment {id} not found."),
                404,
            ));
        };
        // A switchover RDS rolled back (SWITCHOVER_FAILED) leaves the deployment intact: it can
        // be switched over again (as the emulator's `switchover_failed_status` knob models).
        if !d.status.eq_ignore_ascii_case("AVAILABLE")
            && !d.status.eq_ignore_ascii_case("SWITCHOVER_FAILED")
        {
            return Err(from_code(
                OP,
                "InvalidBlueGreenDeploymentStateFault",
                &format!(
                    "The blue/green deployment {id} is {} and can't be switched over.",
                    d.status
                ),
                400,
            ));
        }
        d.status = "SWITCHOVER_IN_PROGRESS".into();
        for s in &mut d.switchover_details {
            s.status = "SWITCHOVER_IN_PROGRESS".into();
        }
        self.switchovers.push((id.to_string(), timeout));
        Ok(())
    }

    fn delete_deployment(&mut self, id: &str, delete_target: bool) -> Result<bool, WorkerError> {
        const OP: &str = "rds:DeleteBlueGreenDeployment";
        let Some(d) = self.deployments.iter_mut().find(|d| d.id == id) else {
            return Ok(false);
        };
        let switched = d.is_switched_over() || d.is_switchover_in_progress();
        if d.is_deleting() || (delete_target && switched) {
            return Err(from_code(
                OP,
                "InvalidBlueGreenDeploymentStateFault",
                &format!(
                    "The blue/green deployment {id} is {}: it can't be deleted{}.",
                    d.status,
                    if delete_target {
                        " with its target"
                    } else {
                        ""
                    }
                ),
                400,
            ));
        }
        d.status = "DELETING".into();
        let d = d.clone();
        if delete_target {
            // Green only: never a member of the source.
            let blue: Vec<&str> = std::iter::once(d.source_arn.as_str())
                .chain(
                    d.switchover_details
                        .iter()
                        .map(|s| s.source_member.as_str()),
                )
                .collect();
            let mut green: Vec<String> = vec![d.target_arn.clone()];
            green.extend(d.green_member_arns());
            for arn in green
                .iter()
                .filter(|a| !a.is_empty() && !blue.contains(&a.as_str()))
            {
                if let Some(db) = self.by_arn_mut(arn) {
                    db.status = "deleting".into();
                }
            }
        }
        self.deleted_deployments
            .push((id.to_string(), delete_target));
        Ok(true)
    }

    fn delete_db(&mut self, kind: DbKind, id: &str) -> Result<bool, WorkerError> {
        let op = match kind {
            DbKind::Instance => "rds:DeleteDBInstance",
            DbKind::Cluster => "rds:DeleteDBCluster",
        };
        let Some(db) = self.db(kind, id) else {
            return Ok(false);
        };
        if deleting(&db.status) {
            return Ok(false);
        }
        if db.deletion_protection {
            return Err(from_code(
                op,
                "InvalidParameterCombination",
                &format!(
                    "Cannot delete protected {}, please disable deletion protection and try again.",
                    match kind {
                        DbKind::Instance => "DB Instance",
                        DbKind::Cluster => "Cluster",
                    }
                ),
                400,
            ));
        }
        if kind == DbKind::Cluster
            && db.members.iter().any(|m| {
                self.db(DbKind::Instance, m)
                    .is_some_and(|i| !deleting(&i.status))
            })
        {
            return Err(from_code(
                op,
                "InvalidDBClusterStateFault",
                "Cluster cannot be deleted, it still contains DB instances in non-deleting state.",
                400,
            ));
        }
        let identifier = db.identifier.clone();
        if let Some(db) = self.db_mut(kind, id) {
            db.status = "deleting".into();
        }
        self.deleted_dbs.push((kind, identifier));
        Ok(true)
    }

    /// The changes carried out so far.
    pub fn changes(&self) -> Changes {
        Changes {
            created: self.created.clone(),
            switchovers: self.switchovers.clone(),
            deleted_deployments: self.deleted_deployments.clone(),
            modified: self.modified.clone(),
            tags_added: self.tags_added.clone(),
            snapshots_created: self.snapshots_created.clone(),
            deleted_dbs: self.deleted_dbs.clone(),
            put: self.put.clone(),
            published: self.published.clone(),
            started: self.started.clone(),
        }
    }
}

/// The in-memory account; clones share it.
#[derive(Clone, Default)]
pub struct Memory(Arc<Mutex<Account>>);

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memory").finish_non_exhaustive()
    }
}

impl Memory {
    /// An empty account.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Account> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Account) -> R) -> R {
        f(&mut self.lock())
    }

    /// Adds or replaces an instance or cluster (by its kind and identifier).
    pub fn put_db(&self, db: SourceDb) {
        self.with(|a| {
            let map = match db.kind {
                DbKind::Instance => &mut a.instances,
                DbKind::Cluster => &mut a.clusters,
            };
            a.pending_class.remove(&db.identifier);
            map.insert(db.identifier.clone(), db);
        });
    }

    pub fn remove_db(&self, kind: DbKind, id: &str) {
        self.with(|a| match kind {
            DbKind::Instance => a.instances.remove(id),
            DbKind::Cluster => a.clusters.remove(id),
        });
    }

    /// Replaces every deployment with this one.
    pub fn set_deployment(&self, d: DeploymentView) {
        self.with(|a| a.deployments = vec![d]);
    }

    /// The datapoints of `metric` with exactly these dimensions.
    pub fn set_metric(&self, metric: &str, dimensions: &[(&str, &str)], values: &[f64]) {
        let key = (metric.to_string(), dimension_set(dimensions));
        self.with(|a| a.metrics.insert(key, values.to_vec()));
    }

    /// Every call to `op` (a port method name, e.g. `"switchover"`) fails with `error`:
    /// before it is carried out, or after (the answer lost).
    pub fn fail(&self, op: &str, error: WorkerError, lost: Lost) {
        self.with(|a| a.faults.insert(op.to_string(), (error, lost)));
    }

    pub fn clear_faults(&self) {
        self.with(|a| a.faults.clear());
    }

    /// Runs `change` once, just before the next call to `op` is carried out.
    pub fn before(&self, op: &str, change: impl FnOnce(&mut Account) + Send + 'static) {
        self.with(|a| a.hooks.push((op.to_string(), Box::new(change))));
    }

    /// RDS finishes what is being deleted: `DELETING` deployments and `deleting` databases
    /// are gone (instances leave their cluster).
    pub fn finish_deletions(&self) {
        self.with(|a| {
            a.deployments.retain(|d| !d.is_deleting());
            let gone: Vec<String> = a
                .instances
                .values()
                .filter(|d| deleting(&d.status))
                .map(|d| d.identifier.clone())
                .collect();
            a.instances.retain(|_, d| !deleting(&d.status));
            a.clusters.retain(|_, d| !deleting(&d.status));
            for c in a.clusters.values_mut() {
                c.members.retain(|m| !gone.contains(m));
            }
        });
    }

    /// Every call, as `op argument`.
    pub fn log(&self) -> Vec<String> {
        self.with(|a| a.log.iter().map(Call::to_string).collect())
    }

    /// The calls to `op`, as `op argument`.
    pub fn calls(&self, op: &str) -> Vec<String> {
        self.with(|a| {
            a.log
                .iter()
                .filter(|c| c.op == op)
                .map(Call::to_string)
                .collect()
        })
    }

    pub fn changes(&self) -> Changes {
        self.with(|a| a.changes())
    }

    /// Logs the call, runs the hooks set for it, then carries it out with `f`, failing as
    /// injected.
    fn serve<T>(
        &self,
        op: &'static str,
        arg: String,
        f: impl FnOnce(&mut Account) -> Result<T, WorkerError>,
    ) -> Ready<Result<T, WorkerError>> {
        let mut a = self.lock();
        a.log.push(Call {
            op,
            arg,
            failed: None,
        });
        while let Some(i) = a.hooks.iter().position(|(o, _)| o == op) {
            let (_, hook) = a.hooks.remove(i);
            hook(&mut a);
        }
        let fault = a.faults.get(op).cloned();
        let mark = |a: &mut Account, lost| {
            if let Some(call) = a.log.iter_mut().rev().find(|c| c.op == op) {
                call.failed = Some(lost);
            }
        };
        if let Some((error, Lost::Request)) = &fault {
            mark(&mut a, Lost::Request);
            return ready(Err(error.clone()));
        }
        let result = f(&mut a);
        if let Some((error, Lost::Answer)) = fault {
            mark(&mut a, Lost::Answer);
            return ready(Err(error));
        }
        ready(result)
    }
}

fn dimension_set(dimensions: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut set: Vec<(String, String)> = dimensions
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    set.sort();
    set
}

impl AwsRead for Memory {
    type Rds = Memory;
    type Metrics = Memory;
    type Notifier = Memory;
    fn rds(&self) -> &Memory {
        self
    }
    fn metrics(&self) -> &Memory {
        self
    }
    fn notifier(&self) -> &Memory {
        self
    }
}

impl WithKeys for Memory {
    type Keys = Memory;
    fn keys(&self) -> &Memory {
        self
    }
}

impl KeysApi for Memory {
    fn key_manager(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Option<KeyManager>, WorkerError>> + Send {
        self.serve("key_manager", key_id.to_string(), |a| {
            Ok(a.kms_keys.get(key_id).copied())
        })
    }
}

impl WithScaling for Memory {
    type Scaling = Memory;
    fn scaling(&self) -> &Memory {
        self
    }
}

impl ScalingApi for Memory {
    /// As Application Auto Scaling answers: by the cluster's name exactly (its resource id is
    /// `cluster:<id>`, a string, not the database), whatever the cluster is now.
    fn cluster_targets(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<ScalableTarget>, WorkerError>> + Send {
        self.serve("cluster_targets", cluster.to_string(), |a| {
            Ok(a.auto_scaling.get(cluster).cloned().unwrap_or_default())
        })
    }
}

impl WithDms for Memory {
    type Dms = Memory;
    fn dms(&self) -> &Memory {
        self
    }
}

impl DmsApi for Memory {
    fn endpoints(&self) -> impl Future<Output = Result<Vec<DmsEndpoint>, WorkerError>> + Send {
        self.serve("dms_endpoints", String::new(), |a| {
            Ok(a.dms_endpoints.clone())
        })
    }

    fn tasks_using(
        &self,
        endpoint_arns: &[String],
    ) -> impl Future<Output = Result<Vec<DmsTaskListing>, WorkerError>> + Send {
        self.serve("dms_tasks_using", endpoint_arns.join(","), |a| {
            Ok(a.dms_tasks
                .iter()
                .filter(|t| {
                    endpoint_arns.contains(&t.source_endpoint_arn)
                        || endpoint_arns.contains(&t.target_endpoint_arn)
                })
                .cloned()
                .collect())
        })
    }
}

impl RdsRead for Memory {
    fn find_source(
        &self,
        db: &DbRef,
    ) -> impl Future<Output = Result<SourceDb, WorkerError>> + Send {
        self.serve("find_source", db.name.clone(), |a| a.find_source(db))
    }

    fn describe(
        &self,
        kind: DbKind,
        id: &str,
    ) -> impl Future<Output = Result<Option<SourceDb>, WorkerError>> + Send {
        self.serve("describe", format!("{} {id}", kind_str(kind)), |a| {
            Ok(a.described(kind, id))
        })
    }

    fn describe_by_resource_id(
        &self,
        kind: DbKind,
        resource_id: &str,
    ) -> impl Future<Output = Result<Option<SourceDb>, WorkerError>> + Send {
        self.serve(
            "describe_by_resource_id",
            format!("{} {resource_id}", kind_str(kind)),
            |a| {
                let map = match kind {
                    DbKind::Instance => &a.instances,
                    DbKind::Cluster => &a.clusters,
                };
                let id = map
                    .values()
                    .find(|d| d.resource_id.as_deref() == Some(resource_id))
                    .map(|d| d.identifier.clone());
                Ok(id.and_then(|id| a.described(kind, &id)))
            },
        )
    }

    fn parameters(
        &self,
        group: &str,
        cluster: bool,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, WorkerError>> + Send {
        let arg = if cluster {
            format!("{group} (cluster)")
        } else {
            group.to_string()
        };
        self.serve("parameters", arg, |a| Ok(a.group_parameters(group)))
    }

    fn engine_version(
        &self,
        engine: &Engine,
        version: &str,
    ) -> impl Future<Output = Result<Option<EngineVersionInfo>, WorkerError>> + Send {
        self.serve(
            "engine_version",
            format!("{} {version}", engine.as_str()),
            |a| {
                Ok(a.engine_versions
                    .iter()
                    .find(|(e, v)| e == engine && v.version == version)
                    .map(|(_, v)| v.clone()))
            },
        )
    }

    fn parameter_group(
        &self,
        name: &str,
        cluster: bool,
    ) -> impl Future<Output = Result<Option<ParameterGroupInfo>, WorkerError>> + Send {
        let arg = if cluster {
            format!("{name} (cluster)")
        } else {
            name.to_string()
        };
        self.serve("parameter_group", arg, |a| {
            let groups = if cluster {
                &a.cluster_parameter_groups
            } else {
                &a.parameter_groups
            };
            Ok(groups.get(name).map(|family| ParameterGroupInfo {
                name: name.to_string(),
                family: family.clone(),
            }))
        })
    }

    fn deployments_for_source(
        &self,
        source_arn: &str,
    ) -> impl Future<Output = Result<Vec<DeploymentView>, WorkerError>> + Send {
        self.serve("deployments_for_source", source_arn.to_string(), |a| {
            Ok(a.deployments
                .iter()
                .filter(|d| d.source_arn == source_arn)
                .cloned()
                .collect())
        })
    }

    fn deployment_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<DeploymentView>, WorkerError>> + Send {
        self.serve("deployment_by_name", name.to_string(), |a| {
            Ok(a.deployments.iter().find(|d| d.name == name).cloned())
        })
    }

    fn all_deployments(
        &self,
    ) -> impl Future<Output = Result<Vec<DeploymentView>, WorkerError>> + Send {
        self.serve("all_deployments", String::new(), |a| {
            Ok(a.deployments.clone())
        })
    }

    fn fleet_candidates(&self) -> impl Future<Output = Result<Vec<Candidate>, WorkerError>> + Send {
        self.serve("fleet_candidates", String::new(), |a| {
            Ok(a.instances
                .values()
                .chain(a.clusters.values())
                .map(|d| a.candidate(d))
                .collect())
        })
    }

    fn pending_maintenance(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<String>, WorkerError>> + Send {
        self.serve("pending_maintenance", arn.to_string(), |a| {
            Ok(a.pending_maintenance.get(arn).cloned().unwrap_or_default())
        })
    }

    fn proxy_targets(&self) -> impl Future<Output = Result<Vec<Proxy>, WorkerError>> + Send {
        self.serve("proxy_targets", String::new(), |a| Ok(a.proxies.clone()))
    }

    fn custom_endpoints(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<CustomEndpoint>, WorkerError>> + Send {
        self.serve("custom_endpoints", cluster.to_string(), |a| {
            if a.db(DbKind::Cluster, cluster).is_none() {
                return Err(not_found(
                    "rds:DescribeDBClusterEndpoints",
                    DbKind::Cluster,
                    cluster,
                ));
            }
            let mut found = a
                .custom_endpoints
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(cluster))
                .map(|(_, e)| e.clone())
                .unwrap_or_default();
            // As DescribeDBClusterEndpoints: no tags.
            for e in &mut found {
                e.tags.clear();
            }
            Ok(found)
        })
    }

    fn tags_of(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, WorkerError>> + Send {
        self.serve("tags_of", arn.to_string(), |a| {
            let db = a
                .instances
                .values()
                .chain(a.clusters.values())
                .find(|d| d.arn == arn)
                .map(|d| d.tags.clone());
            let endpoint = || {
                a.custom_endpoints
                    .values()
                    .flatten()
                    .find(|e| e.arn == arn)
                    .map(|e| e.tags.clone())
            };
            db.or_else(endpoint).ok_or_else(|| {
                let code = if arn.contains(":cluster-endpoint:") {
                    "DBClusterEndpointNotFoundFault"
                } else if arn.contains(":cluster:") {
                    "DBClusterNotFoundFault"
                } else {
                    "DBInstanceNotFound"
                };
                from_code(
                    "rds:ListTagsForResource",
                    code,
                    &format!("Resource {arn} not found."),
                    404,
                )
            })
        })
    }

    fn global_membership(
        &self,
        cluster_arn: &str,
    ) -> impl Future<Output = Result<Option<GlobalMembership>, WorkerError>> + Send {
        self.serve("global_membership", cluster_arn.to_string(), |a| {
            Ok(a.global_clusters.iter().find_map(|(id, members)| {
                let me = members.iter().find(|(arn, _)| arn == cluster_arn)?;
                Some(GlobalMembership {
                    global_cluster: id.clone(),
                    is_primary: me.1,
                    members: members.iter().map(|(arn, _)| arn.clone()).collect(),
                })
            }))
        })
    }

    fn integrations(
        &self,
        source_arn: &str,
    ) -> impl Future<Output = Result<Vec<Integration>, WorkerError>> + Send {
        self.serve("integrations", source_arn.to_string(), |a| {
            Ok(a.integrations
                .iter()
                .filter(|(s, _)| s == source_arn)
                .map(|(_, i)| i.clone())
                .collect())
        })
    }

    fn major_lifecycle(
        &self,
        engine: &Engine,
        major: &str,
    ) -> impl Future<Output = Result<Option<MajorLifecycle>, WorkerError>> + Send {
        self.serve(
            "major_lifecycle",
            format!("{} {major}", engine.as_str()),
            |a| {
                Ok(a.lifecycles
                    .iter()
                    .find(|l| l.engine == engine.as_str() && l.major == major)
                    .cloned())
            },
        )
    }

    fn member_statuses(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<MemberStatus>, WorkerError>> + Send {
        self.serve("member_statuses", arns.join(","), |a| {
            Ok(a.member_statuses(arns))
        })
    }

    fn snapshot_status(
        &self,
        kind: DbKind,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<Option<String>, WorkerError>> + Send {
        self.serve(
            "snapshot_status",
            format!("{} {snapshot_id}", kind_str(kind)),
            |a| Ok(a.snapshots.get(snapshot_id).cloned()),
        )
    }

    fn deployment(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<DeploymentView>, WorkerError>> + Send {
        self.serve("deployment", id.to_string(), |a| {
            Ok(a.deployments.iter().find(|d| d.id == id).cloned())
        })
    }
}

impl RdsWrite for Memory {
    fn create_deployment(
        &self,
        plan: &CreatePlan,
    ) -> impl Future<Output = Result<Option<DeploymentView>, WorkerError>> + Send {
        self.serve("create_deployment", plan.deployment_name.clone(), |a| {
            a.create_deployment(plan)
        })
    }

    fn modify_instance_class(
        &self,
        id: &str,
        class: &str,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send {
        self.serve("modify_instance_class", format!("{id} {class}"), |a| {
            let Some(db) = a.db_mut(DbKind::Instance, id) else {
                return Err(not_found("rds:ModifyDBInstance", DbKind::Instance, id));
            };
            // As RDS with ApplyImmediately: modifying, the class pending.
            db.status = "modifying".into();
            let identifier = db.identifier.clone();
            a.pending_class
                .insert(identifier.clone(), class.to_string());
            a.modified.push(Modification::InstanceClass {
                instance: identifier,
                class: class.to_string(),
            });
            Ok(())
        })
    }

    fn add_tags(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send {
        self.serve("add_tags", arn.to_string(), |a| {
            let Some(db) = a.by_arn_mut(arn) else {
                return Err(from_code(
                    "rds:AddTagsToResource",
                    "DBInstanceNotFound",
                    &format!("Resource {arn} not found."),
                    404,
                ));
            };
            db.tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            a.tags_added.push((arn.to_string(), tags.clone()));
            Ok(())
        })
    }

    fn switchover(
        &self,
        deployment_id: &str,
        timeout_seconds: u32,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send {
        self.serve(
            "switchover",
            format!("{deployment_id} {timeout_seconds}"),
            |a| a.switchover(deployment_id, timeout_seconds),
        )
    }

    fn delete_deployment(
        &self,
        deployment_id: &str,
        delete_target: bool,
    ) -> impl Future<Output = Result<bool, WorkerError>> + Send {
        let arg = if delete_target {
            format!("{deployment_id} delete-target")
        } else {
            deployment_id.to_string()
        };
        self.serve("delete_deployment", arg, |a| {
            a.delete_deployment(deployment_id, delete_target)
        })
    }

    fn disable_deletion_protection(
        &self,
        kind: DbKind,
        id: &str,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send {
        self.serve(
            "disable_deletion_protection",
            format!("{} {id}", kind_str(kind)),
            |a| {
                let op = match kind {
                    DbKind::Instance => "rds:ModifyDBInstance",
                    DbKind::Cluster => "rds:ModifyDBCluster",
                };
                let Some(db) = a.db_mut(kind, id) else {
                    return Err(not_found(op, kind, id));
                };
                db.deletion_protection = false;
                let id = db.identifier.clone();
                a.modified
                    .push(Modification::DeletionProtectionOff { kind, id });
                Ok(())
            },
        )
    }

    fn create_snapshot(
        &self,
        kind: DbKind,
        db_id: &str,
        snapshot_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<bool, WorkerError>> + Send {
        self.serve(
            "create_snapshot",
            format!("{snapshot_id} of {} {db_id}", kind_str(kind)),
            |a| {
                if a.snapshots.contains_key(snapshot_id) {
                    return Ok(false);
                }
                let op = match kind {
                    DbKind::Instance => "rds:CreateDBSnapshot",
                    DbKind::Cluster => "rds:CreateDBClusterSnapshot",
                };
                let Some(db) = a.db(kind, db_id) else {
                    return Err(not_found(op, kind, db_id));
                };
                let of = db.identifier.clone();
                a.snapshots
                    .insert(snapshot_id.to_string(), "creating".into());
                a.snapshots_created.push(Snapshot {
                    kind,
                    of,
                    id: snapshot_id.to_string(),
                    tags: tags.clone(),
                });
                Ok(true)
            },
        )
    }

    fn delete_db(
        &self,
        kind: DbKind,
        id: &str,
    ) -> impl Future<Output = Result<bool, WorkerError>> + Send {
        self.serve("delete_db", format!("{} {id}", kind_str(kind)), |a| {
            a.delete_db(kind, id)
        })
    }
}

impl MetricsApi for Memory {
    fn rds_statistic(
        &self,
        metric: &str,
        dimensions: &[(&str, &str)],
        statistic: Stat,
        lookback: Duration,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<f64>, WorkerError>> + Send {
        let dims = dimension_set(dimensions);
        let arg = format!(
            "{metric} {}",
            dimensions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        self.serve("rds_statistic", arg, |a| {
            a.metric_queries.push(MetricQuery {
                metric: metric.to_string(),
                dimensions: dimensions
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                stat: statistic,
                lookback,
                now,
            });
            let values = a
                .metrics
                .get(&(metric.to_string(), dims))
                .cloned()
                .unwrap_or_default();
            Ok(values.into_iter().reduce(|x, y| match statistic {
                Stat::Minimum => x.min(y),
                Stat::Maximum => x.max(y),
            }))
        })
    }

    fn put(
        &self,
        namespace: &str,
        data: Vec<Datum>,
    ) -> impl Future<Output = Result<(), WorkerError>> + Send {
        self.serve("put", namespace.to_string(), |a| {
            a.put.push((namespace.to_string(), data));
            Ok(())
        })
    }
}

impl NotifyApi for Memory {
    fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        body: &str,
        attributes: &[(&str, &str)],
    ) -> impl Future<Output = Result<String, WorkerError>> + Send {
        self.serve("publish", topic_arn.to_string(), |a| {
            // SNS: "Subjects must be ... less than 100 characters long."
            if subject.chars().count() >= 100 {
                return Err(from_code(
                    "sns:Publish",
                    "InvalidParameter",
                    "Invalid parameter: Subject",
                    400,
                ));
            }
            a.published.push(Notification {
                topic_arn: topic_arn.to_string(),
                subject: subject.to_string(),
                body: body.to_string(),
                attributes: attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            });
            Ok(format!("memory-message-{}", a.published.len()))
        })
    }
}

impl ExecutionsApi for Memory {
    fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> impl Future<Output = Result<String, WorkerError>> + Send {
        self.serve("start", name.to_string(), |a| {
            let arn = execution_arn(state_machine_arn, name);
            // As the adapter: the same name again is the same execution.
            if !a.executions.contains_key(&arn) {
                a.executions.insert(
                    arn.clone(),
                    Execution {
                        state_machine_arn: state_machine_arn.to_string(),
                        name: name.to_string(),
                        input: input.to_string(),
                        status: ChildStatus::Running,
                    },
                );
                a.started.push((
                    state_machine_arn.to_string(),
                    name.to_string(),
                    input.to_string(),
                ));
            }
            Ok(arn)
        })
    }

    fn status(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<ChildStatus, WorkerError>> + Send {
        self.serve("status", execution_arn.to_string(), |a| {
            a.executions
                .get(execution_arn)
                .map(|e| e.status.clone())
                .ok_or_else(|| {
                    from_code(
                        "states:DescribeExecution",
                        "ExecutionDoesNotExist",
                        &format!("Execution Does Not Exist: '{execution_arn}'"),
                        400,
                    )
                })
        })
    }
}
