//! Shared fixtures for the worker tests: the in-memory account of `bluegreen_memory`
//! (an RDS PostgreSQL 13.15 instance `orders-pg` going to 16.4), domain-typed fixtures for
//! what it holds, and the run documents the state machine would pass between steps.
//!
//! Every call a handler makes is answered from the account and logged as `op argument`
//! (the port method); what it changed is recorded in domain terms (`Account::changes`). What
//! the SDK adapters send and read is tested in crates/aws.

#![allow(dead_code)]

use bluegreen_aws::errors::from_code;
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::deployment::DeploymentRecord;
use bluegreen_domain::model::deployment::{DeploymentTask, DeploymentView, SwitchoverDetail};
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::engine::{EngineVersionInfo, UpgradeTarget};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::execution::ExecutionInfo;
#[allow(unused_imports)]
pub use bluegreen_domain::model::grants::{KeyManager, StackGrants};
use bluegreen_domain::model::plan::CreatePlan;
use bluegreen_domain::model::request::Request;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::source::{Membership, SourceDb};
use bluegreen_domain::precheck::intake::parse_request;
use bluegreen_domain::run::Run;
#[allow(unused_imports)]
pub use bluegreen_memory::{Call, Lost, Memory, Modification, Notification, Snapshot, MUTATIONS};
use bluegreen_workers::runtime::rfc3339;
use bluegreen_workers::{Deps, Invocation};
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
/// The account's AWS managed RDS key (`aws/rds`), which encrypts the fixtures' databases:
/// no grant needed, so the `kms-key` check passes without the stack listing it.
pub const AWS_RDS_KEY_ARN: &str =
    "arn:aws:kms:us-east-1:123456789012:key/0b7f5d2e-6c1a-4e8b-9a3d-aws0managed01";
/// A customer managed key, registered by the tests that need one.
pub const CUSTOMER_KEY_ARN: &str =
    "arn:aws:kms:us-east-1:123456789012:key/5e9c1f7a-2b4d-4c6e-8f0a-customer0001";
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

// ---------------------------------------------------------------- what the account holds

pub fn arn_of(id: &str) -> String {
    format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:{id}")
}

pub fn cluster_arn_of(id: &str) -> String {
    format!("arn:aws:rds:us-east-1:{ACCOUNT}:cluster:{id}")
}

pub fn endpoint_of(id: &str) -> String {
    format!("{id}.c9akciq32.us-east-1.rds.amazonaws.com")
}

pub fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An RDS PostgreSQL instance: Multi-AZ, encrypted with the AWS managed key, deletion
/// protection on, 7 days of backups, a custom parameter group of its major, opted in
/// (`bluegreen:managed=true`), no Enhanced Monitoring.
pub fn instance(id: &str, version: &str) -> SourceDb {
    let rid = format!("db-{}", id.to_ascii_uppercase().replace('-', ""));
    instance_with_rid(id, version, &rid)
}

pub fn instance_with_rid(id: &str, version: &str, rid: &str) -> SourceDb {
    let major = version.split('.').next().unwrap_or_default();
    SourceDb {
        kind: DbKind::Instance,
        identifier: id.into(),
        arn: arn_of(id),
        resource_id: Some(rid.into()),
        engine: Engine::Postgres,
        engine_version: version.into(),
        status: "available".into(),
        instance_class: Some("db.r6g.large".into()),
        multi_az: true,
        multi_az_db_cluster: false,
        endpoint: Some(endpoint_of(id)),
        port: Some(5432),
        backup_retention_days: 7,
        deletion_protection: true,
        storage_encrypted: true,
        kms_key_id: Some(AWS_RDS_KEY_ARN.into()),
        monitoring_role_arn: None,
        allocated_storage_gib: Some(100),
        dedicated_log_volume: false,
        backtrack_window: None,
        parameter_groups: vec![Membership::new(format!("orders-pg{major}"), "in-sync")],
        cluster_parameter_group: None,
        option_groups: vec![Membership::new(
            format!("default:postgres-{major}"),
            "in-sync",
        )],
        managed_master_password: false,
        read_replicas: vec![],
        topology: Default::default(),
        replica_source: None,
        members: vec![],
        tags: tags(&[("team", "payments"), ("bluegreen:managed", "true")]),
        parameters: BTreeMap::new(),
    }
}

/// Production before the upgrade.
pub fn source_instance() -> SourceDb {
    instance_with_rid(DB, "13.15", BLUE_RID)
}

/// The green instance RDS builds, in `status`.
pub fn green_instance(status: &str) -> SourceDb {
    let mut green = instance_with_rid(GREEN, "16.4", GREEN_RID);
    green.status = status.into();
    green
}

/// Production after switchover: green renamed to the production name, same endpoint.
pub fn switched_production() -> SourceDb {
    instance_with_rid(DB, "16.4", GREEN_RID)
}

/// The old blue after switchover, renamed by RDS.
pub fn old_blue_instance() -> SourceDb {
    instance_with_rid(OLD_BLUE, "13.15", BLUE_RID)
}

/// The custom groups of `orders-pg` (orders-pg13, and orders-pg16 made with the same
/// settings for the target): logical replication on, room for slots; two parameters the
/// prechecks do not read.
pub fn orders_pg_parameters() -> BTreeMap<String, String> {
    tags(&[
        ("autovacuum", "1"),
        ("max_logical_replication_workers", "8"),
        ("max_replication_slots", "20"),
        ("max_wal_senders", "20"),
        ("max_worker_processes", "16"),
        ("rds.logical_replication", "1"),
        ("shared_preload_libraries", "pg_stat_statements"),
        ("work_mem", "8192"),
    ])
}

pub fn upgrade_target(version: &str, major: bool) -> UpgradeTarget {
    UpgradeTarget {
        version: version.into(),
        is_major: major,
    }
}

pub fn engine_version(
    engine: Engine,
    version: &str,
    family: &str,
    targets: Vec<UpgradeTarget>,
) -> (Engine, EngineVersionInfo) {
    (
        engine,
        EngineVersionInfo {
            version: version.into(),
            family: family.into(),
            status: "available".into(),
            valid_upgrade_targets: targets,
        },
    )
}

pub fn engine_versions() -> Vec<(Engine, EngineVersionInfo)> {
    vec![
        engine_version(
            Engine::Postgres,
            "13.15",
            "postgres13",
            vec![
                upgrade_target("13.16", false),
                upgrade_target("14.12", true),
                upgrade_target("15.7", true),
                upgrade_target("16.3", true),
                upgrade_target("16.4", true),
            ],
        ),
        engine_version(Engine::Postgres, "16.4", "postgres16", vec![]),
    ]
}

pub fn task(name: &str, status: &str) -> DeploymentTask {
    DeploymentTask {
        name: name.into(),
        status: status.into(),
    }
}

pub fn detail(source: &str, target: &str, status: &str) -> SwitchoverDetail {
    SwitchoverDetail {
        source_member: source.into(),
        target_member: target.into(),
        status: status.into(),
    }
}

pub fn all_tasks_completed() -> Vec<DeploymentTask> {
    vec![
        task("CREATING_READ_REPLICA_OF_SOURCE", "COMPLETED"),
        task("DB_ENGINE_VERSION_UPGRADE", "COMPLETED"),
        task("CONFIGURE_BACKUPS", "COMPLETED"),
        task("CREATING_TOPOLOGY_OF_SOURCE", "COMPLETED"),
    ]
}

/// Our deployment in `status`, with the tasks and switchover details RDS shows at that
/// point. After a completed switchover RDS names the renamed old blue as the source and
/// production as the target.
pub fn deployment(status: &str) -> DeploymentView {
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
    DeploymentView {
        id: DEPLOYMENT_ID.into(),
        name: DEPLOYMENT_NAME.into(),
        source_arn: source.into(),
        target_arn: target.into(),
        status: status.into(),
        status_details: None,
        tasks,
        switchover_details: vec![detail(source, target, detail_status)],
        tags: tags(&[
            ("bluegreen:managed-by", "rds-bluegreen"),
            ("bluegreen:source-resource-id", BLUE_RID),
        ]),
    }
}

// ---------------------------------------------------------------- Aurora

pub const CLUSTER: &str = "ledger";
pub const CLUSTER_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:ledger";

/// An Aurora PostgreSQL cluster; `members` are its instances, the first one the writer.
pub fn aurora_cluster(id: &str, version: &str, members: &[&str]) -> SourceDb {
    let major = version.split('.').next().unwrap_or_default();
    SourceDb {
        kind: DbKind::Cluster,
        identifier: id.into(),
        arn: cluster_arn_of(id),
        resource_id: None,
        engine: Engine::AuroraPostgresql,
        engine_version: version.into(),
        status: "available".into(),
        instance_class: None,
        multi_az: true,
        multi_az_db_cluster: false,
        endpoint: Some(format!(
            "{id}.cluster-c9akciq32.us-east-1.rds.amazonaws.com"
        )),
        port: Some(5432),
        backup_retention_days: 7,
        deletion_protection: true,
        storage_encrypted: true,
        kms_key_id: Some(AWS_RDS_KEY_ARN.into()),
        monitoring_role_arn: None,
        allocated_storage_gib: None,
        dedicated_log_volume: false,
        backtrack_window: None,
        parameter_groups: vec![],
        cluster_parameter_group: Some(Membership::new(format!("ledger-apg{major}"), "in-sync")),
        option_groups: vec![],
        managed_master_password: false,
        read_replicas: vec![],
        topology: Default::default(),
        replica_source: None,
        members: members.iter().map(|m| m.to_string()).collect(),
        tags: tags(&[("bluegreen:managed", "true")]),
        parameters: BTreeMap::new(),
    }
}

/// An instance of an Aurora PostgreSQL cluster (the cluster lists it among its members;
/// deletion protection is the cluster's).
pub fn aurora_instance(id: &str, version: &str) -> SourceDb {
    let mut db = instance(id, version);
    db.engine = Engine::AuroraPostgresql;
    db.deletion_protection = false;
    db.parameter_groups = vec![Membership::new("default.aurora-postgresql13", "in-sync")];
    db.option_groups = vec![];
    db
}

// ---------------------------------------------------------------- the account

/// The in-memory account, with the fixtures' shapes.
#[derive(Clone, Default)]
pub struct World(pub Memory);

impl std::ops::Deref for World {
    type Target = Memory;
    fn deref(&self) -> &Memory {
        &self.0
    }
}

impl World {
    /// An account without databases; its AWS managed RDS key (`AWS_RDS_KEY_ARN`) exists.
    pub fn empty() -> Self {
        let w = Self::default();
        w.with(|a| a.kms_keys.insert(AWS_RDS_KEY_ARN.into(), KeyManager::Aws));
        w
    }

    /// `orders-pg` on PostgreSQL 13.15 with its custom group, the engine versions, and the
    /// target group `orders-pg16` (family postgres16); 60 GiB free; no deployment yet. A
    /// create makes our deployment (`deployment("PROVISIONING")`).
    pub fn orders_pg() -> Self {
        let w = Self::empty();
        w.put_db(source_instance());
        w.with(|a| {
            a.parameters
                .insert("orders-pg13".into(), orders_pg_parameters());
            a.parameters
                .insert("orders-pg16".into(), orders_pg_parameters());
            a.engine_versions = engine_versions();
            a.parameter_groups
                .insert("orders-pg13".into(), "postgres13".into());
            a.parameter_groups
                .insert("orders-pg16".into(), "postgres16".into());
            a.on_create = Some(deployment("PROVISIONING"));
        });
        w.set_instance_metric("FreeStorageSpace", DB, &[66.0e9, 64.5e9, 65.2e9]);
        w
    }

    /// The account after a completed switchover: production on 16.4 with the same
    /// endpoint, the old blue on 13.15, our deployment SWITCHOVER_COMPLETED.
    pub fn switched_over() -> Self {
        let w = Self::orders_pg();
        w.put_db(switched_production());
        w.put_db(old_blue_instance());
        w.set_deployment(deployment("SWITCHOVER_COMPLETED"));
        w
    }

    pub fn put_instance(&self, db: SourceDb) {
        self.put_db(db);
    }

    pub fn remove_instance(&self, id: &str) {
        self.remove_db(DbKind::Instance, id);
    }

    pub fn instance(&self, id: &str) -> SourceDb {
        self.with(|a| a.db(DbKind::Instance, id).cloned())
            .unwrap_or_else(|| panic!("no instance {id}"))
    }

    /// The datapoints of an instance metric (dimension `DBInstanceIdentifier`).
    pub fn set_instance_metric(&self, metric: &str, instance: &str, values: &[f64]) {
        self.set_metric(metric, &[("DBInstanceIdentifier", instance)], values);
    }

    /// Every call to `op` is refused by AWS with `code`, as the adapter maps it
    /// (`aws_op` names the AWS call, e.g. `rds:SwitchoverBlueGreenDeployment`).
    pub fn refuse(&self, op: &str, aws_op: &str, code: &str, message: &str) {
        self.fail(op, from_code(aws_op, code, message, 400), Lost::Request);
    }

    /// The mutating calls, as logged.
    pub fn mutations(&self) -> Vec<String> {
        self.with(|a| {
            a.log
                .iter()
                .filter(|c| c.is_mutation())
                .map(Call::to_string)
                .collect()
        })
    }

    pub fn deps(&self) -> Deps<Memory> {
        Deps::new(self.0.clone(), Some(TOPIC_ARN.into()))
    }

    /// `deps` of a stack whose template listed `grants`.
    pub fn deps_with(&self, grants: StackGrants) -> Deps<Memory> {
        self.deps().with_grants(grants)
    }

    /// Registers a KMS key and who manages it.
    pub fn put_key(&self, arn: &str, manager: KeyManager) {
        self.with(|a| a.kms_keys.insert(arn.to_string(), manager));
    }
}

/// Every port method of the account.
pub const OPERATIONS: &[&str] = &[
    "find_source",
    "describe",
    "describe_by_resource_id",
    "parameters",
    "engine_version",
    "parameter_group",
    "deployments_for_source",
    "deployment_by_name",
    "all_deployments",
    "fleet_candidates",
    "pending_maintenance",
    "proxy_targets",
    "custom_endpoints",
    "tags_of",
    "global_membership",
    "integrations",
    "major_lifecycle",
    "dms_endpoints",
    "dms_tasks_using",
    "key_manager",
    "create_deployment",
    "member_statuses",
    "modify_instance_class",
    "add_tags",
    "switchover",
    "delete_deployment",
    "disable_deletion_protection",
    "create_snapshot",
    "snapshot_status",
    "delete_db",
    "rds_statistic",
    "put",
    "publish",
    "start",
    "status",
];

/// Deps whose account panics on any call: "no AWS call" is asserted by giving a handler these.
pub fn no_aws() -> Deps<Memory> {
    let world = World::empty();
    for op in OPERATIONS {
        world.before(op, move |_| {
            panic!("no AWS call was expected, but {op} was called")
        });
    }
    world.deps()
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
    parse_request(&v).expect("valid request")
}

/// `orders-pg` as the precheck exported it before anything changed: its parameters of
/// interest read from its group.
pub fn source_db() -> SourceDb {
    let mut db = source_instance();
    db.endpoint = Some(ENDPOINT.into());
    db.parameters = tags(&[
        ("max_logical_replication_workers", "8"),
        ("max_replication_slots", "20"),
        ("max_wal_senders", "20"),
        ("max_worker_processes", "16"),
        ("rds.logical_replication", "1"),
        ("shared_preload_libraries", "pg_stat_statements"),
    ]);
    db
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
        tags: tags(&[
            ("bluegreen:managed-by", "rds-bluegreen"),
            ("bluegreen:execution", EXECUTION_ARN),
            ("bluegreen:source-resource-id", BLUE_RID),
        ]),
    }
}

/// The old blue as verify finds it after the switchover: the database with blue's resource id.
pub fn old_blue_record() -> bluegreen_domain::model::old_blue::OldBlue {
    bluegreen_domain::model::old_blue::OldBlue {
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
pub fn err_of<T: std::fmt::Debug>(r: Result<T, WorkerError>) -> (&'static str, String) {
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
