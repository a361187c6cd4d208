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
    /// Publications not owned by RDS's own `rdsadmin` (what a blue/green deployment creates
    /// is RDS's; these are the user's: CDC).
    pub publications: Vec<String>,
    /// Subscriptions of this database (blue is itself a logical replica).
    pub subscriptions: Vec<String>,
    /// Sequences (`pg_sequences`): RDS sets each one on green at switchover.
    #[serde(default)]
    pub sequences: u64,
    /// Foreign servers (`pg_foreign_server`) and the host each names.
    #[serde(default)]
    pub foreign_servers: Vec<ForeignServer>,
    /// pg_cron's `cron.job`, where it exists (only in `cron.database_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<CronFacts>,
}

/// A foreign server of a foreign-data wrapper.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignServer {
    pub name: String,
    /// `postgres_fdw`, `mysql_fdw`, ...
    pub wrapper: String,
    /// Its `host` option, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// What `cron.job` shows the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronFacts {
    /// Jobs whose command refreshes a materialized view, described (`job 3 "nightly"
    /// (0 3 * * *) on app: REFRESH MATERIALIZED VIEW daily`).
    pub refreshes: Vec<String>,
    /// Why some jobs may be invisible: pg_cron's row security shows a user only its own jobs
    /// unless it is a superuser (or bypasses row security), and the `cron` schema may not be
    /// readable at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
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
    /// Every row of `pg_database`, templates and `rdsadmin` included: what AWS counts when it
    /// says `max_replication_slots` must be higher than the number of databases.
    #[serde(default)]
    pub database_rows: i64,
    pub databases: Vec<PgDatabaseFacts>,
    pub slots: Vec<Slot>,
    /// `max_replication_slots`, `max_wal_senders`, `max_logical_replication_workers`,
    /// `max_worker_processes`, `shared_preload_libraries`, `wal_level`, `max_prepared_transactions`,
    /// and Aurora's `rds.logically_replicate_unlogged_tables` where the server has it.
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
    /// Base tables in a schema named `tmp` (`None`: no such schema).
    #[serde(default)]
    pub tmp_schema_tables: Option<u64>,
    /// The server as a binlog replica: one entry per configured channel (connection).
    #[serde(default)]
    pub replication: Vec<ReplicaChannel>,
    /// Why the replica status could not be read (a privilege), when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_unreadable: Option<String>,
    /// Replication threads (`system user` sessions) seen in the process list: the fallback
    /// signal when the status cannot be read.
    #[serde(default)]
    pub replication_threads: u64,
    /// `'user'@'host'` of accounts authenticating with `mysql_native_password`.
    #[serde(default)]
    pub native_password_users: Vec<String>,
    /// Why `mysql.user` could not be read (the server's refusal), when it could not: then
    /// `native_password_users` is empty for want of an answer, not for want of accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_password_unreadable: Option<String>,
}

/// One replication channel of a server that is itself a binlog replica
/// (`SHOW REPLICA STATUS` / `SHOW ALL REPLICAS STATUS`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaChannel {
    /// The channel (MySQL) or connection (MariaDB) name; empty for the default one.
    pub channel: String,
    /// `host:port` of its source.
    pub source: String,
    /// `Yes`, `No` or `Connecting`.
    pub io_running: String,
    /// `Yes` or `No`.
    pub sql_running: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl ReplicaChannel {
    /// Actively replicating: either thread started, i.e. in any state but `No`. An I/O thread
    /// still `Connecting` counts (it replicates as soon as its source answers, and the SQL
    /// thread applies what arrives), and so does MariaDB's `Preparing` (the I/O thread between
    /// connecting and reading: its states are No, Connecting, Preparing, Yes).
    pub fn running(&self) -> bool {
        let started = |v: &str| {
            let v = v.trim();
            !v.is_empty() && !v.eq_ignore_ascii_case("no")
        };
        started(&self.io_running) || started(&self.sql_running)
    }

    pub fn describe(&self) -> String {
        let name = if self.channel.is_empty() {
            "the default channel".to_string()
        } else {
            format!("channel '{}'", self.channel)
        };
        format!(
            "{name} from {} (I/O thread {}, SQL thread {}{})",
            self.source,
            self.io_running,
            self.sql_running,
            self.last_error
                .as_deref()
                .filter(|e| !e.is_empty())
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_channel_runs_in_any_thread_state_but_no() {
        let channel = |io: &str, sql: &str| ReplicaChannel {
            io_running: io.into(),
            sql_running: sql.into(),
            ..Default::default()
        };
        for (io, sql) in [
            ("Yes", "Yes"),
            ("Connecting", "Yes"),
            ("Preparing", "No"),
            ("No", "Yes"),
        ] {
            assert!(channel(io, sql).running(), "{io} / {sql}");
        }
        for (io, sql) in [("No", "No"), ("", ""), ("no", "")] {
            assert!(!channel(io, sql).running(), "{io} / {sql}");
        }
    }

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
