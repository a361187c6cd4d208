//! The source itself: the account it runs in, its status and engine, its backups, its
//! parameter groups' apply status, a managed master password, a Multi-AZ DB cluster, pending
//! maintenance, free storage, a dedicated log volume on some instances only, delayed
//! replication, Aurora MySQL backtrack.

use super::PrecheckFacts;
use crate::model::check::{id, Check};
use crate::model::source::{Replica, SourceDb};

pub(super) fn check_account(f: &PrecheckFacts) -> Check {
    const ID: &str = id::ACCOUNT;
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

pub(super) fn check_status(src: &SourceDb) -> Check {
    const ID: &str = id::SOURCE_AVAILABLE;
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

pub(super) fn check_engine(src: &SourceDb) -> Check {
    const ID: &str = id::ENGINE_SUPPORTED;
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

pub(super) fn check_backups(src: &SourceDb) -> Check {
    const ID: &str = id::AUTOMATED_BACKUPS;
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

pub(super) fn check_parameter_groups_in_sync(src: &SourceDb) -> Check {
    const ID: &str = id::PARAMETER_GROUPS_IN_SYNC;
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

pub(super) fn check_managed_master_password(src: &SourceDb) -> Check {
    const ID: &str = id::MANAGED_MASTER_PASSWORD;
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

pub(super) fn check_multi_az_cluster(src: &SourceDb) -> Check {
    const ID: &str = id::NOT_MULTI_AZ_DB_CLUSTER;
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

pub(super) fn check_pending_maintenance(f: &PrecheckFacts) -> Check {
    const ID: &str = id::PENDING_MAINTENANCE;
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

pub(super) fn check_free_storage(f: &PrecheckFacts) -> Check {
    const ID: &str = id::FREE_STORAGE;
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

/// RDS: a dedicated log volume must be on every instance of the deployment, read replicas
/// included, or on none.
pub(super) fn check_dedicated_log_volume(src: &SourceDb, replicas: &[Replica]) -> Check {
    const ID: &str = id::DEDICATED_LOG_VOLUME;
    let with: Vec<&str> = replicas
        .iter()
        .filter(|r| r.dedicated_log_volume)
        .map(|r| r.identifier.as_str())
        .collect();
    let without: Vec<&str> = replicas
        .iter()
        .filter(|r| !r.dedicated_log_volume)
        .map(|r| r.identifier.as_str())
        .collect();
    let mixed = if src.dedicated_log_volume {
        (!without.is_empty()).then(|| {
            format!(
                "{} has a dedicated log volume; its read replica(s) {} do not",
                src.identifier,
                without.join(", ")
            )
        })
    } else {
        (!with.is_empty()).then(|| {
            format!(
                "{} has no dedicated log volume; its read replica(s) {} do",
                src.identifier,
                with.join(", ")
            )
        })
    };
    match mixed {
        Some(observed) => Check::fail(
            ID,
            format!(
                "{observed}; blue/green needs it on every instance, replicas included, or on none"
            ),
            "turn the dedicated log volume on (or off) on the instances that differ \
             (aws rds modify-db-instance --dedicated-log-volume | --no-dedicated-log-volume \
             --apply-immediately), then run again",
        ),
        None if src.dedicated_log_volume => {
            Check::pass(ID, "dedicated log volume on every instance")
        }
        None => Check::pass(ID, "no dedicated log volume"),
    }
}

/// RDS for MySQL and MariaDB: delayed replication (`mysql.rds_set_source_delay`) is not
/// compatible with a major-version blue/green. It is set inside each replica, where the
/// RDS API does not show it: the operator confirms.
pub(super) fn check_delayed_replication(replicas: &[Replica]) -> Option<Check> {
    if replicas.is_empty() {
        return None;
    }
    let names: Vec<&str> = replicas.iter().map(|r| r.identifier.as_str()).collect();
    Some(Check::warn(
        id::DELAYED_REPLICATION,
        format!(
            "read replica(s) {}: a major-version blue/green is not compatible with delayed \
             replication, which the RDS API does not show",
            names.join(", ")
        ),
        "on each replica run SHOW REPLICA STATUS (MariaDB: SHOW SLAVE STATUS); where SQL_Delay \
         is above 0, call mysql.rds_set_source_delay(0) (MariaDB: mysql.rds_set_master_delay) \
         before the upgrade and set it again after the switchover",
    ))
}

/// Aurora MySQL backtrack is not carried to green; forcing one on blue during the deployment
/// breaks it and blocks the switchover.
pub(super) fn check_backtrack(src: &SourceDb) -> Option<Check> {
    let window = src.backtrack_window.filter(|w| *w > 0)?;
    Some(Check::warn(
        id::BACKTRACK,
        format!(
            "backtrack is on ({window} s window): green does not carry it, and backtracking blue \
             during the deployment breaks it and blocks the switchover"
        ),
        "do not backtrack blue until the switchover; after it, the new production has no \
         backtrack: use point-in-time restore, or recreate the cluster with backtrack from a \
         snapshot if you need it",
    ))
}
