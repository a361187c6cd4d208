//! What the `sql` worker reads inside the database, read-only, per engine. The adapter
//! (crates/sql) fills these from catalog queries; the rules in `prechecks` read them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One installed extension of one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub name: String,
    pub version: String,
}

/// A database of a PostgreSQL instance, as one connection to it sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgDatabaseFacts {
    pub name: String,
    /// `schema.table` of ordinary and partitioned tables without a primary key whose replica
    /// identity is DEFAULT (there is no key to use) or NOTHING.
    pub tables_without_key: Vec<String>,
    /// Rows of `pg_largeobject_metadata`.
    pub large_objects: u64,
    /// `schema.table` of unlogged tables.
    pub unlogged_tables: Vec<String>,
    /// `schema.view` of materialized views.
    pub materialized_views: Vec<String>,
    pub extensions: Vec<Extension>,
    pub publications: Vec<String>,
    /// Subscriptions of this database (blue is itself a logical replica).
    pub subscriptions: Vec<String>,
}

/// A replication slot (`pg_replication_slots`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub name: String,
    /// `logical` or `physical`.
    pub slot_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    pub active: bool,
    /// `pg_current_wal_lsn() - confirmed_flush_lsn` (logical) or `- restart_lsn` (physical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_bytes: Option<i64>,
}

/// An open transaction of another session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTransaction {
    pub pid: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub age_seconds: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A prepared (two-phase) transaction (`pg_prepared_xacts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedTransaction {
    pub gid: String,
    pub database: String,
    pub age_seconds: i64,
}

/// A PostgreSQL instance (or Aurora cluster writer): the instance-wide facts, read once,
/// and one entry per database the worker could connect to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PgFacts {
    /// `server_version_num`, e.g. 150007.
    pub server_version_num: u32,
    /// Databases with `datallowconn` and not templates (RDS's own `rdsadmin` excluded).
    pub database_names: Vec<String>,
    pub databases: Vec<PgDatabaseFacts>,
    pub slots: Vec<Slot>,
    /// `max_replication_slots`, `max_wal_senders`, `max_logical_replication_workers`,
    /// `max_worker_processes`, `shared_preload_libraries`, `wal_level`, `max_prepared_transactions`.
    pub settings: BTreeMap<String, String>,
    /// Transactions of other sessions, oldest first.
    pub transactions: Vec<OpenTransaction>,
    pub prepared: Vec<PreparedTransaction>,
    /// The user sees other sessions' activity (superuser, `pg_monitor` or `pg_read_all_stats`).
    pub sees_all_activity: bool,
}

impl PgFacts {
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(String::as_str)
    }

    pub fn setting_number(&self, name: &str) -> Option<i64> {
        self.setting(name)?.trim().parse().ok()
    }

    /// `shared_preload_libraries`, split and trimmed.
    pub fn preloaded(&self) -> Vec<String> {
        self.setting("shared_preload_libraries")
            .unwrap_or_default()
            .split(',')
            .map(|l| l.trim().trim_matches('"').to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// A MySQL or MariaDB server: one connection, every schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MysqlFacts {
    /// `SELECT VERSION()`, e.g. `8.0.39` or `10.11.6-MariaDB`.
    pub version: String,
    pub is_mariadb: bool,
    /// User schemas (the system schemas excluded).
    pub schemas: Vec<String>,
    /// `schema.table` of base tables without a primary key.
    pub tables_without_key: Vec<String>,
    /// (`schema.table`, engine) of base tables not in InnoDB.
    pub non_innodb_tables: Vec<(String, String)>,
    /// `@@event_scheduler`: ON, OFF or DISABLED.
    pub event_scheduler: String,
    /// Events with status ENABLED.
    pub enabled_events: u64,
    /// `@@log_bin`.
    pub log_bin: bool,
    pub binlog_format: String,
    /// RDS: `binlog retention hours` from `mysql.rds_configuration` (`None` when NULL or
    /// not RDS; see `rds_configuration`).
    pub binlog_retention_hours: Option<u64>,
    /// Whether `mysql.rds_configuration` exists (an RDS server).
    pub rds_configuration: bool,
    /// `@@binlog_expire_logs_seconds` (MySQL 8, MariaDB 10.6+), 0 = never purged.
    pub binlog_expire_logs_seconds: Option<u64>,
    /// MySQL `@@gtid_mode` (OFF, OFF_PERMISSIVE, ON_PERMISSIVE, ON); `None` on MariaDB.
    pub gtid_mode: Option<String>,
    /// MariaDB `@@gtid_strict_mode`.
    pub gtid_strict_mode: Option<bool>,
    pub transactions: Vec<OpenTransaction>,
    /// Sessions reading the binlog (`Binlog Dump`, `Binlog Dump GTID`): replicas, DMS, Debezium.
    pub binlog_consumers: u64,
    /// Global privileges of the current user (`information_schema.USER_PRIVILEGES`).
    pub privileges: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preloaded_libraries_are_split() {
        let mut f = PgFacts::default();
        f.settings.insert(
            "shared_preload_libraries".into(),
            "pg_stat_statements, pg_partman_bgw,\"pg_cron\"".into(),
        );
        assert_eq!(
            f.preloaded(),
            ["pg_stat_statements", "pg_partman_bgw", "pg_cron"]
        );
        f.settings
            .insert("max_replication_slots".into(), " 10 ".into());
        assert_eq!(f.setting_number("max_replication_slots"), Some(10));
        assert_eq!(f.setting_number("nothing"), None);
    }
}
