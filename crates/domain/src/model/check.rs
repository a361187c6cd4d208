//! A check: one finding of the precheck (AWS-level or inside the database) or of the finish,
//! with what it saw and, unless it passed, what to do; the checks an operator runs by hand;
//! and every check id.

use crate::model::engine::Engine;
use serde::{Deserialize, Serialize};

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
    /// A check from its parts.
    pub fn new(
        id: &str,
        verdict: Verdict,
        observed: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            verdict,
            observed: observed.into(),
            fix: fix.into(),
        }
    }
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

/// Every check id, as the report, the notifications and the operator see it. An id is part of
/// the output contract: never renamed.
pub mod id {
    // The AWS-level prechecks (`precheck::checks`).
    pub const ACCOUNT: &str = "account";
    pub const SOURCE_AVAILABLE: &str = "source-available";
    pub const ENGINE_SUPPORTED: &str = "engine-supported";
    pub const UPGRADE_TARGET: &str = "upgrade-target";
    pub const POSTGRES_MINIMUM_MINOR: &str = "postgres-minimum-minor";
    pub const LOGICAL_REPLICATION: &str = "logical-replication";
    pub const REPLICATION_HEADROOM: &str = "replication-headroom";
    pub const GREEN_REPLICATION_HEADROOM: &str = "green-replication-headroom";
    pub const EVENT_SCHEDULER_OFF_ON_GREEN: &str = "event-scheduler-off-on-green";
    pub const BINLOG_FORMAT: &str = "binlog-format";
    pub const AUTOMATED_BACKUPS: &str = "automated-backups";
    pub const PARAMETER_GROUPS_IN_SYNC: &str = "parameter-groups-in-sync";
    pub const MANAGED_MASTER_PASSWORD: &str = "managed-master-password";
    pub const NOT_MULTI_AZ_DB_CLUSTER: &str = "not-multi-az-db-cluster";
    pub const OPTION_GROUP: &str = "option-group";
    pub const TARGET_PARAMETER_GROUP: &str = "target-parameter-group";
    pub const TARGET_CLUSTER_PARAMETER_GROUP: &str = "target-cluster-parameter-group";
    pub const EXISTING_DEPLOYMENT: &str = "existing-deployment";
    pub const PENDING_MAINTENANCE: &str = "pending-maintenance";
    pub const FREE_STORAGE: &str = "free-storage";
    pub const TARGET_INSTANCE_CLASS: &str = "target-instance-class";
    pub const SYNCHRONOUS_COMMIT: &str = "synchronous-commit";
    pub const GREEN_PRELOADED_LIBRARIES: &str = "green-preloaded-libraries";
    pub const LOWER_CASE_TABLE_NAMES: &str = "lower-case-table-names";
    pub const PLAN_CAPTURE_OFF_ON_GREEN: &str = "plan-capture-off-on-green";
    pub const BABELFISH: &str = "babelfish";
    pub const DEDICATED_LOG_VOLUME: &str = "dedicated-log-volume";
    pub const DELAYED_REPLICATION: &str = "delayed-replication";
    pub const BACKTRACK: &str = "backtrack";
    pub const AUTO_SCALING: &str = "auto-scaling";

    // Around the source (`precheck::checks::topology`).
    pub const REPLICAS: &str = "replicas";
    pub const RDS_PROXY: &str = "rds-proxy";
    pub const GLOBAL_DATABASE: &str = "global-database";
    pub const ZERO_ETL_INTEGRATIONS: &str = "zero-etl-integrations";
    pub const DMS_TASKS: &str = "dms-tasks";
    pub const TOPOLOGY_READ: &str = "topology-read";

    // What the stack's roles would be denied (`precheck::checks::access`).
    pub const OPT_IN: &str = "opt-in";
    pub const MONITORING_ROLE: &str = "monitoring-role";
    pub const KMS_KEY: &str = "kms-key";
    pub const NOTIFICATION_TOPIC: &str = "notification-topic";

    // Inside the database (`database::access`, `database::prechecks`); some are also manual checks.
    pub const DATABASE_ACCESS: &str = "database-access";
    pub const TABLES_WITHOUT_PRIMARY_KEY: &str = "tables-without-primary-key";
    pub const LARGE_OBJECTS: &str = "large-objects";
    pub const UNLOGGED_TABLES: &str = "unlogged-tables";
    pub const MATERIALIZED_VIEWS: &str = "materialized-views";
    pub const INCOMPATIBLE_EXTENSIONS: &str = "incompatible-extensions";
    pub const REPLICATION_SLOTS: &str = "replication-slots";
    pub const PUBLICATIONS_AND_SUBSCRIPTIONS: &str = "publications-and-subscriptions";
    pub const DATABASES_AND_SLOTS: &str = "databases-and-slots";
    pub const LONG_RUNNING_TRANSACTIONS: &str = "long-running-transactions";
    pub const PREPARED_TRANSACTIONS: &str = "prepared-transactions";
    pub const NON_INNODB_TABLES: &str = "non-innodb-tables";
    pub const EVENT_SCHEDULER: &str = "event-scheduler";
    pub const BINLOG_RETENTION: &str = "binlog-retention";
    pub const GTID_MODE: &str = "gtid-mode";
    pub const BINLOG_CONSUMERS: &str = "binlog-consumers";
    pub const SEQUENCE_COUNT: &str = "sequence-count";
    pub const FOREIGN_SERVERS: &str = "foreign-servers";
    pub const TMP_DATABASE: &str = "tmp-database";
    pub const EXTERNAL_REPLICATION: &str = "external-replication";
    pub const NATIVE_PASSWORD_USERS: &str = "native-password-users";
    /// Before the switchover, on green (`database::analyze`).
    pub const ANALYZE_ON_GREEN: &str = "analyze-on-green";

    // After the switchover, on the new production (`database::finish`).
    pub const ANALYZE: &str = "analyze";
    pub const EXTENSION_VERSIONS: &str = "extension-versions";
    pub const SEQUENCES: &str = "sequences";
    pub const SMOKE_QUERY: &str = "smoke-query";

    // Manual checks only (`manual_checks`).
    pub const NO_DDL_DURING_WINDOW: &str = "no-ddl-during-window";
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
            m(id::TABLES_WITHOUT_PRIMARY_KEY, "logical replication cannot replicate UPDATE/DELETE on a table without a primary key or REPLICA IDENTITY",
              "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND NOT EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p') AND c.relreplident <> 'f';"),
            m(id::LARGE_OBJECTS, "large-object changes are not replicated and put green into 'Replication degraded'",
              "SELECT count(*) FROM pg_largeobject_metadata;"),
            m(id::UNLOGGED_TABLES, "unlogged tables and materialized views are not replicated",
              "SELECT relname, relkind FROM pg_class WHERE relpersistence = 'u' OR relkind = 'm';"),
            m(id::INCOMPATIBLE_EXTENSIONS, "pg_partman, pglogical and pgactive must be off on blue; pg_cron must be off on green",
              "SELECT extname, extversion FROM pg_extension WHERE extname IN ('pg_partman','pglogical','pgactive','pg_cron');"),
            m(id::DATABASES_AND_SLOTS, "blue/green needs one replication slot per database on top of those in use",
              "SELECT (SELECT count(*) FROM pg_database WHERE datallowconn AND NOT datistemplate) AS databases, (SELECT count(*) FROM pg_replication_slots) AS slots_in_use, current_setting('max_replication_slots') AS max_slots;"),
            m(id::NO_DDL_DURING_WINDOW, "DDL on blue during the upgrade puts green into 'Replication degraded'; the only fix is delete and recreate. DCL (GRANT, REVOKE, role changes) is not replicated either: made on blue, it is lost at the switchover",
              "-- Freeze schema changes (migrations, pg_partman jobs) and GRANT/REVOKE/ALTER ROLE until switchover. Check recent DDL: SELECT * FROM pg_stat_activity WHERE query ILIKE ANY (ARRAY['%ALTER %','%CREATE %','%DROP %']);"),
        ]
    } else {
        vec![
            m(id::TABLES_WITHOUT_PRIMARY_KEY, "row-based replication of tables without a primary key is slow and can lag",
              "SELECT t.table_schema, t.table_name FROM information_schema.tables t LEFT JOIN information_schema.table_constraints c ON c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY' WHERE t.table_type = 'BASE TABLE' AND c.constraint_name IS NULL AND t.table_schema NOT IN ('mysql','sys','information_schema','performance_schema');"),
            m(id::LONG_RUNNING_TRANSACTIONS, "switchover waits for long-running writes and fails on timeout",
              "SELECT trx_id, trx_started, trx_query FROM information_schema.innodb_trx WHERE trx_started < NOW() - INTERVAL 60 SECOND;"),
            m(id::NO_DDL_DURING_WINDOW, "DDL during switchover blocks it; freeze schema changes until switchover",
              "SHOW PROCESSLIST;"),
        ]
    }
}
