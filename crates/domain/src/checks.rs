//! Prechecks: everything AWS would reject, or that would lose data, checked before anything
//! changes. Each rule is a small function over facts the adapters gathered (read-only).

use crate::access::{KeyLookup, StackGrants};
use crate::deployment::DeploymentView;
use crate::engine::{
    compare_versions, major_version, postgres_minimum_minor_for_major_upgrade, Engine,
};
use crate::names::tags;
use crate::plan::CreatePlan;
use crate::request::{Action, DbKind, Request};
use crate::source::SourceDb;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

/// One check's result: what it saw and, unless it passed, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub id: String,
    pub verdict: Verdict,
    pub observed: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Check {
    pub fn pass(id: &str, observed: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            verdict: Verdict::Pass,
            observed: observed.into(),
            fix: String::new(),
        }
    }
    pub fn warn(id: &str, observed: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            verdict: Verdict::Warn,
            observed: observed.into(),
            fix: fix.into(),
        }
    }
    pub fn fail(id: &str, observed: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            verdict: Verdict::Fail,
            observed: observed.into(),
            fix: fix.into(),
        }
    }
}

/// A check that needs database access, which the workers do not have: the operator runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualCheck {
    pub id: String,
    pub why: String,
    pub sql: String,
}

/// An engine version as DescribeDBEngineVersions reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineVersionInfo {
    pub version: String,
    pub family: String,
    /// `available`, or `deprecated` for a version AWS has withdrawn (listed only with
    /// `IncludeAll=true`): a source may run one, a target may not be one.
    #[serde(default = "available")]
    pub status: String,
    pub valid_upgrade_targets: Vec<UpgradeTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeTarget {
    pub version: String,
    pub is_major: bool,
}

fn available() -> String {
    "available".into()
}

impl EngineVersionInfo {
    pub fn is_available(&self) -> bool {
        self.status.eq_ignore_ascii_case("available")
    }
}

/// A parameter group looked up by name: its family, or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterGroupInfo {
    pub name: String,
    pub family: String,
}

/// Everything the rules read, gathered read-only by the precheck worker.
#[derive(Debug, Clone)]
pub struct PrecheckFacts {
    pub request: Request,
    /// The account the worker runs in (from its own function ARN), when known.
    pub account_id: Option<String>,
    pub source: SourceDb,
    /// The source's current version in DescribeDBEngineVersions, if RDS knows it.
    pub current_version: Option<EngineVersionInfo>,
    /// The target version in DescribeDBEngineVersions, if RDS knows it.
    pub target_version: Option<EngineVersionInfo>,
    /// Looked-up target DB parameter group (`None` when not requested or not found).
    pub target_parameter_group: Option<ParameterGroupInfo>,
    pub target_cluster_parameter_group: Option<ParameterGroupInfo>,
    /// The relevant parameters (`source::RELEVANT_PARAMETERS`) of the group green will use:
    /// the target DB parameter group (named, or the target family's default), and the target
    /// cluster parameter group (Aurora).
    pub target_parameters: BTreeMap<String, String>,
    /// Blue/green deployments whose source is this database.
    pub deployments: Vec<DeploymentView>,
    /// Pending maintenance action descriptions, or why they could not be read.
    pub pending_maintenance: Result<Vec<String>, String>,
    /// Minimum `FreeStorageSpace` over the last hour, in bytes (instances only).
    pub free_storage_bytes: Option<f64>,
    pub deployment_name: String,
    /// What the stack's template gave its roles (the precheck function's environment).
    pub grants: StackGrants,
    /// What KMS said of the source's key, when it had to be asked (`access::key_to_look_up`).
    pub key_manager: KeyLookup,
}

/// Why the deployment found for this source matters to the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExistingDeployment {
    /// None: create one.
    None,
    /// Ours (same name), resumable: adopt it.
    Adopt,
    /// Another deployment is in flight for this source.
    Conflict,
}

pub struct Evaluation {
    pub checks: Vec<Check>,
    pub existing: ExistingDeployment,
    pub is_major_upgrade: bool,
    pub plan: CreatePlan,
}

/// Runs every rule. Pure: the same facts always give the same checks.
pub fn evaluate(f: &PrecheckFacts) -> Evaluation {
    let mut checks = Vec::new();
    let src = &f.source;
    let req = &f.request;

    checks.push(check_account(f));
    checks.push(check_status(src));
    checks.push(check_engine(src));

    let target_info = f.current_version.as_ref().and_then(|cur| {
        cur.valid_upgrade_targets
            .iter()
            .find(|t| t.version == req.target_engine_version)
    });
    let is_major_upgrade = target_info.map(|t| t.is_major).unwrap_or_else(|| {
        major_version(&src.engine, &src.engine_version)
            != major_version(&src.engine, &req.target_engine_version)
    });
    checks.push(check_upgrade_target(f, target_info.is_some()));

    if src.engine.is_postgres_family() && is_major_upgrade {
        checks.push(check_postgres_minimum_minor(src));
        checks.push(check_logical_replication(src));
        checks.push(check_replication_headroom(
            "replication-headroom",
            &src.parameters,
            true,
        ));
        checks.push(check_replication_headroom(
            "green-replication-headroom",
            &f.target_parameters,
            false,
        ));
    }
    if src.engine.is_mysql_family() {
        checks.push(check_event_scheduler(&f.target_parameters));
    }
    if src.engine == Engine::AuroraMysql {
        checks.push(check_binlog_format(src));
    }
    checks.push(check_backups(src));
    checks.push(check_parameter_groups_in_sync(src));
    checks.push(check_managed_master_password(src));
    checks.extend(crate::topology::checks(src));
    // What the stack's roles would be denied later: reported by every action, plan included.
    checks.extend(crate::access::checks(src, req, &f.grants, &f.key_manager));
    checks.push(check_multi_az_cluster(src));
    if matches!(src.engine, Engine::Mysql | Engine::Mariadb) {
        checks.push(check_option_group(src, is_major_upgrade));
    }
    let (pg_check, target_pg) = check_target_parameter_group(f);
    checks.push(pg_check);
    let mut target_cluster_pg = None;
    if src.kind == DbKind::Cluster {
        let (c, name) = check_target_cluster_parameter_group(f);
        checks.push(c);
        target_cluster_pg = name;
    }
    let (deployment_check, existing) = check_existing_deployments(f);
    checks.push(deployment_check);
    checks.push(check_pending_maintenance(f));
    if src.kind == DbKind::Instance {
        checks.push(check_free_storage(f));
    }
    if let Some(class) = &req.target_db_instance_class {
        checks.push(check_instance_class(src, class));
    }

    let mut tags = BTreeMap::new();
    tags.insert(
        tags::MANAGED_BY.to_string(),
        tags::MANAGED_BY_VALUE.to_string(),
    );
    if let Some(id) = &src.resource_id {
        tags.insert(tags::SOURCE_RESOURCE_ID.to_string(), id.clone());
    }
    // AWS refuses TargetDBInstanceClass for a cluster: green's instances are resized once
    // green is ready instead (see `readiness`).
    let (target_db_instance_class, green_instance_class) = match src.kind {
        DbKind::Instance => (req.target_db_instance_class.clone(), None),
        DbKind::Cluster => (None, req.target_db_instance_class.clone()),
    };
    let plan = CreatePlan {
        deployment_name: f.deployment_name.clone(),
        source_arn: src.arn.clone(),
        target_engine_version: req.target_engine_version.clone(),
        is_major_upgrade,
        target_db_parameter_group_name: target_pg,
        target_db_cluster_parameter_group_name: target_cluster_pg,
        target_db_instance_class,
        green_instance_class,
        tags,
    };
    Evaluation {
        checks,
        existing,
        is_major_upgrade,
        plan,
    }
}

fn check_account(f: &PrecheckFacts) -> Check {
    const ID: &str = "account";
    match (&f.request.expected_account_id, &f.account_id) {
        (None, Some(actual)) => Check::pass(ID, format!("running in account {actual}; no expected_account_id given")),
        (None, None) => Check::pass(ID, "no expected_account_id given"),
        (Some(expected), Some(actual)) if expected == actual => {
            Check::pass(ID, format!("running in account {actual}, as expected"))
        }
        (Some(expected), Some(actual)) => Check::fail(
            ID,
            format!("running in account {actual}, but the request expects {expected}"),
            "start the execution in the state machine of the intended account, or correct expected_account_id",
        ),
        (Some(expected), None) => Check::fail(
            ID,
            format!("the request expects account {expected}, but the worker could not tell its own account"),
            "run the worker as a Lambda function (its ARN names the account) or drop expected_account_id",
        ),
    }
}

fn check_status(src: &SourceDb) -> Check {
    const ID: &str = "source-available";
    if src.status.eq_ignore_ascii_case("available") {
        Check::pass(ID, format!("{} is available", src.identifier))
    } else {
        Check::fail(
            ID,
            format!("{} is `{}`", src.identifier, src.status),
            "wait until the database is `available` (finish or cancel the pending operation), then run again",
        )
    }
}

fn check_engine(src: &SourceDb) -> Check {
    const ID: &str = "engine-supported";
    if src.engine.supports_blue_green() {
        Check::pass(
            ID,
            format!(
                "engine {} supports blue/green deployments",
                src.engine.as_str()
            ),
        )
    } else {
        Check::fail(
            ID,
            format!("engine {} does not support blue/green deployments", src.engine.as_str()),
            "blue/green supports RDS MySQL, MariaDB, PostgreSQL and Aurora MySQL/PostgreSQL: upgrade this database another way",
        )
    }
}

fn check_upgrade_target(f: &PrecheckFacts, listed: bool) -> Check {
    const ID: &str = "upgrade-target";
    let cur = &f.source.engine_version;
    let target = &f.request.target_engine_version;
    match compare_versions(target, cur) {
        Ordering::Equal => {
            return Check::fail(
                ID,
                format!("{} already runs {target}", f.source.identifier),
                "nothing to upgrade: pick a higher target_engine_version",
            )
        }
        Ordering::Less => {
            return Check::fail(
                ID,
                format!(
                    "target {target} is lower than the current {cur}; blue/green cannot downgrade"
                ),
                "pick a target_engine_version higher than the current version",
            )
        }
        Ordering::Greater => {}
    }
    let Some(current) = &f.current_version else {
        return Check::fail(
            ID,
            format!("DescribeDBEngineVersions does not list {} {cur}", f.source.engine.as_str()),
            "check the engine and version in the RDS console; the worker cannot confirm the upgrade path",
        );
    };
    if let Some(t) = f.target_version.as_ref().filter(|t| !t.is_available()) {
        return Check::fail(
            ID,
            format!(
                "{target} is `{}`: RDS no longer creates new databases on it",
                t.status
            ),
            "pick an available target_engine_version (`aws rds describe-db-engine-versions --engine ENGINE`)",
        );
    }
    let deprecated = if current.is_available() {
        String::new()
    } else {
        format!(
            " ({cur} itself is `{}`, which is why it needs upgrading)",
            current.status
        )
    };
    if listed {
        let kind = if f.current_version.as_ref().is_some_and(|c| {
            c.valid_upgrade_targets
                .iter()
                .any(|t| &t.version == target && t.is_major)
        }) {
            "major"
        } else {
            "minor"
        };
        Check::pass(
            ID,
            format!("{cur} -> {target} is a valid {kind} upgrade target{deprecated}"),
        )
    } else {
        let mut majors: Vec<&str> = current
            .valid_upgrade_targets
            .iter()
            .filter(|t| t.is_major)
            .map(|t| t.version.as_str())
            .collect();
        majors.sort_by(|a, b| compare_versions(b, a));
        majors.truncate(8);
        let exists = if f.target_version.is_some() {
            "exists but "
        } else {
            ""
        };
        Check::fail(
            ID,
            format!("{target} {exists}is not a valid upgrade target of {cur}"),
            if majors.is_empty() {
                format!("{cur} has no major upgrade target: upgrade to a later minor first")
            } else {
                format!("pick one of the valid major targets ({}), or upgrade to a later minor of {cur} first", majors.join(", "))
            },
        )
    }
}

fn check_postgres_minimum_minor(src: &SourceDb) -> Check {
    const ID: &str = "postgres-minimum-minor";
    match postgres_minimum_minor_for_major_upgrade(&src.engine_version) {
        Some(min) if compare_versions(&src.engine_version, min) == Ordering::Less => Check::fail(
            ID,
            format!(
                "{} is below {min}, the lowest minor blue/green accepts for a major upgrade",
                src.engine_version
            ),
            format!(
                "first upgrade {} to {min} or later (a minor version upgrade), then run again",
                src.identifier
            ),
        ),
        Some(min) => Check::pass(
            ID,
            format!(
                "{} is at or above the minimum minor {min}",
                src.engine_version
            ),
        ),
        None => Check::pass(
            ID,
            format!("no minimum minor applies to {}", src.engine_version),
        ),
    }
}

fn param<'a>(src: &'a SourceDb, name: &str) -> Option<&'a str> {
    src.parameters.get(name).map(String::as_str)
}

fn group_label(src: &SourceDb) -> String {
    match (&src.cluster_parameter_group, src.parameter_groups.first()) {
        (Some(c), _) => format!("cluster parameter group {}", c.name),
        (None, Some(p)) => format!("parameter group {}", p.name),
        (None, None) => "the source's parameter group".into(),
    }
}

fn check_logical_replication(src: &SourceDb) -> Check {
    const ID: &str = "logical-replication";
    let group = group_label(src);
    match param(src, "rds.logical_replication") {
        Some("1") => Check::pass(ID, format!("rds.logical_replication = 1 in {group}")),
        other => Check::fail(
            ID,
            format!("rds.logical_replication = {} in {group}; a major-version blue/green replicates logically", other.unwrap_or("0 (default)")),
            if src.parameter_groups.iter().chain(src.cluster_parameter_group.iter()).any(|g| g.is_default()) {
                "attach a custom parameter group with rds.logical_replication = 1, reboot, then run again"
            } else {
                "set rds.logical_replication = 1 in that group and reboot the database, then run again"
            },
        ),
    }
}

/// Replication slots and workers: on blue (`failing`: too few fail the precheck), and in the
/// group green will use (a warning: AWS rejects a green whose workers cannot keep up only
/// after create, "incompatible parameter(s)", and the fix is delete and recreate).
fn check_replication_headroom(id: &str, params: &BTreeMap<String, String>, failing: bool) -> Check {
    let param = |name: &str| params.get(name).map(String::as_str);
    let mut low = Vec::new();
    let mut zero = Vec::new();
    let mut seen = Vec::new();
    for name in [
        "max_replication_slots",
        "max_wal_senders",
        "max_logical_replication_workers",
        "max_worker_processes",
    ] {
        match param(name).map(|v| (v, v.parse::<i64>())) {
            Some((v, Ok(n))) => {
                seen.push(format!("{name} = {v}"));
                if n <= 0 {
                    zero.push(name);
                } else if n < 10 && name != "max_logical_replication_workers" {
                    low.push(format!("{name} = {n}"));
                }
            }
            Some((v, Err(_))) => seen.push(format!("{name} = {v} (formula; RDS computes it)")),
            None => seen.push(format!("{name} = default")),
        }
    }
    let workers = param("max_logical_replication_workers").and_then(|v| v.parse::<i64>().ok());
    let processes = param("max_worker_processes").and_then(|v| v.parse::<i64>().ok());
    if let (Some(w), Some(p)) = (workers, processes) {
        if p <= w {
            low.push(format!(
                "max_worker_processes ({p}) must exceed max_logical_replication_workers ({w})"
            ));
        }
    }
    let observed = seen.join(", ");
    let observed = if failing {
        observed
    } else {
        format!("target parameter group: {observed}")
    };
    if !zero.is_empty() && failing {
        Check::fail(
            id,
            observed,
            format!(
                "set {} above zero: blue/green needs one replication slot and worker per database",
                zero.join(", ")
            ),
        )
    } else if !low.is_empty() || !zero.is_empty() {
        low.extend(zero.iter().map(|z| format!("{z} = 0")));
        Check::warn(
            id,
            format!("{observed}; low: {}", low.join("; ")),
            "blue/green needs one replication slot, WAL sender and worker per database on top of those in use; raise these (the failure only shows after create, and the fix is delete and recreate)",
        )
    } else {
        Check::pass(id, observed)
    }
}

/// AWS: the event scheduler must be off on green when the deployment is created (green
/// would run blue's events a second time).
fn check_event_scheduler(target: &BTreeMap<String, String>) -> Check {
    const ID: &str = "event-scheduler-off-on-green";
    match target.get("event_scheduler").map(|v| v.to_ascii_uppercase()) {
        Some(v) if v == "ON" || v == "1" => Check::fail(
            ID,
            format!("event_scheduler = {v} in the parameter group green will use"),
            "set event_scheduler = OFF in the target parameter group (turn it on again on the new production after the switchover), then run again",
        ),
        Some(v) => Check::pass(ID, format!("event_scheduler = {v} in the target parameter group")),
        None => Check::pass(ID, "event_scheduler not set in the target parameter group (engine default)"),
    }
}

fn check_instance_class(src: &SourceDb, class: &str) -> Check {
    const ID: &str = "target-instance-class";
    match src.kind {
        DbKind::Instance => Check::pass(ID, format!("green is created as {class}")),
        DbKind::Cluster => Check::pass(
            ID,
            format!(
                "RDS takes no instance class for an Aurora blue/green deployment: once green is \
                 ready, its {} instance(s) are modified to {class}, and the switchover waits until \
                 they run it",
                src.members.len().max(1)
            ),
        ),
    }
}

fn check_binlog_format(src: &SourceDb) -> Check {
    const ID: &str = "binlog-format";
    let group = group_label(src);
    match param(src, "binlog_format").map(|v| v.to_ascii_uppercase()) {
        Some(v) if v == "ROW" => Check::pass(ID, format!("binlog_format = ROW in {group}")),
        Some(v) if v == "MIXED" || v == "STATEMENT" => Check::warn(
            ID,
            format!("binlog_format = {v} in {group}"),
            "ROW is the safe choice for blue/green replication: set binlog_format = ROW and reboot the writer",
        ),
        other => Check::fail(
            ID,
            format!("binlog_format = {} in {group}: binary logging is off", other.unwrap_or_else(|| "OFF (default)".into())),
            "set binlog_format = ROW in the cluster parameter group and reboot the writer, then run again",
        ),
    }
}

fn check_backups(src: &SourceDb) -> Check {
    const ID: &str = "automated-backups";
    if src.backup_retention_days > 0 {
        Check::pass(
            ID,
            format!("backup retention {} days", src.backup_retention_days),
        )
    } else {
        Check::fail(
            ID,
            "automated backups are off (retention 0 days)",
            "set a backup retention period of at least 1 day (modify-db-instance --backup-retention-period 7), then run again",
        )
    }
}

fn check_parameter_groups_in_sync(src: &SourceDb) -> Check {
    const ID: &str = "parameter-groups-in-sync";
    let out: Vec<String> = src
        .parameter_groups
        .iter()
        .chain(src.cluster_parameter_group.iter())
        .filter(|g| !g.status.eq_ignore_ascii_case("in-sync"))
        .map(|g| format!("{} is {}", g.name, g.status))
        .collect();
    if out.is_empty() {
        Check::pass(ID, "all parameter groups in-sync")
    } else {
        Check::fail(ID, out.join(", "), "reboot the database so the parameter group changes apply (status in-sync), then run again")
    }
}

fn check_managed_master_password(src: &SourceDb) -> Check {
    const ID: &str = "managed-master-password";
    if src.managed_master_password {
        Check::fail(
            ID,
            "the master password is managed in Secrets Manager, which blue/green does not support",
            "turn off --manage-master-user-password (set a password yourself), or upgrade without blue/green",
        )
    } else {
        Check::pass(ID, "master password not managed by Secrets Manager")
    }
}

fn check_multi_az_cluster(src: &SourceDb) -> Check {
    const ID: &str = "not-multi-az-db-cluster";
    if src.multi_az_db_cluster {
        Check::fail(
            ID,
            format!("{} is a Multi-AZ DB cluster", src.identifier),
            "blue/green does not support Multi-AZ DB clusters: upgrade it in place",
        )
    } else {
        Check::pass(ID, "not a Multi-AZ DB cluster")
    }
}

fn check_option_group(src: &SourceDb, is_major: bool) -> Check {
    const ID: &str = "option-group";
    let custom: Vec<&str> = src
        .option_groups
        .iter()
        .filter(|g| !g.is_default())
        .map(|g| g.name.as_str())
        .collect();
    if is_major && !custom.is_empty() {
        Check::fail(
            ID,
            format!("custom option group {} with a major upgrade", custom.join(", ")),
            "with a custom option group RDS cannot upgrade the major version at create: move the source to the default option group first",
        )
    } else {
        Check::pass(
            ID,
            if custom.is_empty() {
                "default option group".to_string()
            } else {
                format!("option group {} (no major upgrade)", custom.join(", "))
            },
        )
    }
}

fn check_target_parameter_group(f: &PrecheckFacts) -> (Check, Option<String>) {
    const ID: &str = "target-parameter-group";
    let family = f.target_version.as_ref().map(|v| v.family.clone());
    match (&f.request.target_db_parameter_group_name, &f.target_parameter_group) {
        (Some(name), Some(found)) => match &family {
            Some(fam) if !fam.eq_ignore_ascii_case(&found.family) => (
                Check::fail(
                    ID,
                    format!("{name} is of family {}, the target needs {fam}", found.family),
                    format!("create a parameter group of family {fam} and name it in target_db_parameter_group_name"),
                ),
                Some(name.clone()),
            ),
            _ => (Check::pass(ID, format!("{name} exists, family {}", found.family)), Some(name.clone())),
        },
        (Some(name), None) => (
            Check::fail(
                ID,
                format!("parameter group {name} does not exist"),
                format!("create it (family {}) with your settings, then run again", family.as_deref().unwrap_or("of the target version")),
            ),
            Some(name.clone()),
        ),
        (None, _) if f.source.kind == DbKind::Cluster => {
            // Aurora instances may keep the default group of the new family.
            let name = family.as_ref().map(|fam| format!("default.{fam}"));
            (Check::pass(ID, format!("green instances use {}", name.as_deref().unwrap_or("the default group"))), name)
        }
        (None, _) => {
            let custom = f.source.parameter_groups.iter().find(|g| !g.is_default());
            let default = family.as_ref().map(|fam| format!("default.{fam}"));
            match custom {
                Some(g) => (
                    Check::fail(
                        ID,
                        format!("the source uses custom group {}; green would fall back to {}", g.name, default.as_deref().unwrap_or("a default group")),
                        format!("create a group of family {} with the same settings and pass target_db_parameter_group_name", family.as_deref().unwrap_or("of the target version")),
                    ),
                    None,
                ),
                None => (Check::pass(ID, format!("source uses a default group; green uses {}", default.as_deref().unwrap_or("the default"))), default),
            }
        }
    }
}

fn check_target_cluster_parameter_group(f: &PrecheckFacts) -> (Check, Option<String>) {
    const ID: &str = "target-cluster-parameter-group";
    let family = f.target_version.as_ref().map(|v| v.family.clone());
    match (&f.request.target_db_cluster_parameter_group_name, &f.target_cluster_parameter_group) {
        (Some(name), Some(found)) => match &family {
            Some(fam) if !fam.eq_ignore_ascii_case(&found.family) => (
                Check::fail(ID, format!("{name} is of family {}, the target needs {fam}", found.family), format!("create a cluster parameter group of family {fam}")),
                Some(name.clone()),
            ),
            _ => (Check::pass(ID, format!("{name} exists, family {}", found.family)), Some(name.clone())),
        },
        (Some(name), None) => (
            Check::fail(ID, format!("cluster parameter group {name} does not exist"), "create it with your settings (for Aurora PostgreSQL: rds.logical_replication = 1), then run again"),
            Some(name.clone()),
        ),
        (None, _) => (
            Check::fail(
                ID,
                "no target_db_cluster_parameter_group_name: green would get a default cluster group and lose your settings (logical replication, binlog)",
                format!("create a cluster parameter group of family {} and pass target_db_cluster_parameter_group_name", family.as_deref().unwrap_or("of the target version")),
            ),
            None,
        ),
    }
}

fn check_existing_deployments(f: &PrecheckFacts) -> (Check, ExistingDeployment) {
    const ID: &str = "existing-deployment";
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

fn check_pending_maintenance(f: &PrecheckFacts) -> Check {
    const ID: &str = "pending-maintenance";
    match &f.pending_maintenance {
        Ok(list) if list.is_empty() => Check::pass(ID, "no pending maintenance actions"),
        Ok(list) => Check::warn(
            ID,
            format!("pending maintenance: {}", list.join("; ")),
            "apply or defer pending maintenance before the upgrade window so it does not run during switchover",
        ),
        Err(why) => Check::warn(ID, format!("could not read pending maintenance actions: {why}"), "check pending maintenance in the RDS console"),
    }
}

fn check_free_storage(f: &PrecheckFacts) -> Check {
    const ID: &str = "free-storage";
    let gib = 1024.0 * 1024.0 * 1024.0;
    match (f.free_storage_bytes, f.source.allocated_storage_gib) {
        (Some(free), Some(alloc)) if alloc > 0 => {
            let pct = free / (alloc as f64 * gib) * 100.0;
            let observed = format!("{:.1} GiB free of {alloc} GiB ({pct:.0}%)", free / gib);
            if pct < 10.0 || free < 5.0 * gib {
                Check::warn(ID, observed, "replication keeps WAL/binlogs on blue until green catches up: free storage (or enable storage autoscaling) before the upgrade")
            } else {
                Check::pass(ID, observed)
            }
        }
        (Some(free), _) => Check::pass(ID, format!("{:.1} GiB free", free / gib)),
        (None, _) => Check::warn(
            ID,
            "no FreeStorageSpace datapoint in the last hour",
            "check free storage in CloudWatch before the upgrade",
        ),
    }
}

/// Checks that need database access, with the SQL to run, per engine.
pub fn manual_checks(engine: &Engine) -> Vec<ManualCheck> {
    let m = |id: &str, why: &str, sql: &str| ManualCheck {
        id: id.into(),
        why: why.into(),
        sql: sql.into(),
    };
    if engine.is_postgres_family() {
        vec![
            m("tables-without-primary-key", "logical replication cannot replicate UPDATE/DELETE on a table without a primary key or REPLICA IDENTITY",
              "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND NOT EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p') AND c.relreplident <> 'f';"),
            m("large-objects", "large-object changes are not replicated and put green into 'Replication degraded'",
              "SELECT count(*) FROM pg_largeobject_metadata;"),
            m("unlogged-tables", "unlogged tables and materialized views are not replicated",
              "SELECT relname, relkind FROM pg_class WHERE relpersistence = 'u' OR relkind = 'm';"),
            m("incompatible-extensions", "pg_partman, pglogical and pgactive must be off on blue; pg_cron must be off on green",
              "SELECT extname, extversion FROM pg_extension WHERE extname IN ('pg_partman','pglogical','pgactive','pg_cron');"),
            m("databases-and-slots", "blue/green needs one replication slot per database on top of those in use",
              "SELECT (SELECT count(*) FROM pg_database WHERE datallowconn AND NOT datistemplate) AS databases, (SELECT count(*) FROM pg_replication_slots) AS slots_in_use, current_setting('max_replication_slots') AS max_slots;"),
            m("no-ddl-during-window", "DDL on blue during the upgrade puts green into 'Replication degraded'; the only fix is delete and recreate",
              "-- Freeze schema changes (migrations, pg_partman jobs) until switchover. Check recent DDL: SELECT * FROM pg_stat_activity WHERE query ILIKE ANY (ARRAY['%ALTER %','%CREATE %','%DROP %']);"),
        ]
    } else {
        vec![
            m("tables-without-primary-key", "row-based replication of tables without a primary key is slow and can lag",
              "SELECT t.table_schema, t.table_name FROM information_schema.tables t LEFT JOIN information_schema.table_constraints c ON c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY' WHERE t.table_type = 'BASE TABLE' AND c.constraint_name IS NULL AND t.table_schema NOT IN ('mysql','sys','information_schema','performance_schema');"),
            m("long-running-transactions", "switchover waits for long-running writes and fails on timeout",
              "SELECT trx_id, trx_started, trx_query FROM information_schema.innodb_trx WHERE trx_started < NOW() - INTERVAL 60 SECOND;"),
            m("no-ddl-during-window", "DDL during switchover blocks it; freeze schema changes until switchover",
              "SHOW PROCESSLIST;"),
        ]
    }
}
