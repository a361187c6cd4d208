//! In-database prechecks: the facts the `sql` worker read on blue, to checks of the same
//! shape as the AWS-level ones (id, verdict, observed, fix), for every database of the
//! instance. They join the run's report; what they cover leaves `manual_checks`.
//!
//! PostgreSQL (a major-version blue/green replicates logically, RDS User Guide, "Limitations
//! for blue/green deployments with logical replication"): DDL and large-object changes are not
//! replicated and degrade green; UPDATE/DELETE need a primary key or replica identity;
//! unlogged tables and materialized views are not replicated; pg_partman's background worker,
//! pglogical and pgactive must be off on blue, pg_cron off on green; blue may not be a logical
//! publisher or subscriber of its own; one replication slot per database.
//! MySQL/MariaDB (binlog replication): tables without a primary key lag, non-transactional
//! engines are not crash-safe, event_scheduler must be off on green, the binlog must be on.

use super::facts::{MysqlFacts, PgFacts};
use super::list_some;
use crate::model::check::{id, Check, ManualCheck, Verdict};
use crate::model::engine::Engine;
use crate::model::report::Report;
use serde::{Deserialize, Serialize};

/// How many names a check lists before "and N more".
pub const LIST_MAX: usize = 10;
/// A transaction open longer than this is reported: a slot's creation waits for it, and the
/// switchover waits for long-running writes.
pub const LONG_TRANSACTION_SECONDS: i64 = 300;

fn pass(id: &str, observed: impl Into<String>) -> Check {
    Check::new(id, Verdict::Pass, observed, "")
}

/// What the rules need besides the facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// A blue/green deployment of ours exists already (a resumed run): its own slots and
    /// publication are on blue, so those no longer mean a CDC consumer.
    pub deployment_exists: bool,
    pub long_transaction_seconds: i64,
}

impl Default for Context {
    fn default() -> Self {
        Self {
            deployment_exists: false,
            long_transaction_seconds: LONG_TRANSACTION_SECONDS,
        }
    }
}

/// What the `precheck` op recorded in `run.database.precheck`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecheckRecord {
    pub checked_at: String,
    /// Every database (PostgreSQL) or schema (MySQL) that was read.
    pub databases: Vec<String>,
    pub checks: Vec<Check>,
    /// The ids of `manual_checks` these checks replaced in the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced_manual_checks: Vec<String>,
    /// Why nothing was checked (e.g. the deployment is already switched over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl PrecheckRecord {
    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .count()
    }
    pub fn warned(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Warn)
            .count()
    }
}

/// In `db.schema.table` form: the database's name in front of each.
fn qualified(db: &str, names: &[String]) -> Vec<String> {
    names.iter().map(|n| format!("{db}.{n}")).collect()
}

/// Every PostgreSQL rule, in a stable order.
pub fn postgres_checks(f: &PgFacts, ctx: &Context) -> Vec<Check> {
    vec![
        pg_tables_without_key(f),
        pg_large_objects(f),
        pg_unlogged_tables(f),
        pg_materialized_views(f),
        pg_extensions(f),
        pg_slots(f, ctx),
        pg_publications_and_subscriptions(f, ctx),
        pg_databases_and_slots(f, ctx),
        long_transactions(&f.transactions, f.sees_all_activity, "pg_monitor", ctx),
        pg_prepared_transactions(f),
    ]
}

fn pg_tables_without_key(f: &PgFacts) -> Check {
    const ID: &str = id::TABLES_WITHOUT_PRIMARY_KEY;
    let all: Vec<String> = f
        .databases
        .iter()
        .flat_map(|d| qualified(&d.name, &d.tables_without_key))
        .collect();
    if all.is_empty() {
        return pass(
            ID,
            "every table has a primary key or a usable replica identity",
        );
    }
    Check::new(
        ID,
        Verdict::Fail,
        format!(
            "{} table(s) without a primary key or replica identity: {}; once blue publishes them, \
             UPDATE and DELETE on them fail on blue and are not replicated",
            all.len(),
            list_some(&all, LIST_MAX)
        ),
        "add a primary key to each (ALTER TABLE t ADD PRIMARY KEY (...)), or if none exists \
         ALTER TABLE t REPLICA IDENTITY FULL (slower replication), then run again",
    )
}

fn pg_large_objects(f: &PgFacts) -> Check {
    const ID: &str = id::LARGE_OBJECTS;
    let with: Vec<String> = f
        .databases
        .iter()
        .filter(|d| d.large_objects > 0)
        .map(|d| format!("{} ({})", d.name, d.large_objects))
        .collect();
    if with.is_empty() {
        return pass(ID, "no large objects");
    }
    Check::new(
        ID,
        Verdict::Fail,
        format!(
            "large objects in {}: logical replication does not carry them, and a change to one \
             puts green into \"Replication degraded\" (the only fix is delete and recreate)",
            list_some(&with, LIST_MAX)
        ),
        "move the data to bytea columns and remove the large objects (SELECT lo_unlink(oid) FROM \
         pg_largeobject_metadata), or upgrade without blue/green",
    )
}

fn pg_unlogged_tables(f: &PgFacts) -> Check {
    const ID: &str = id::UNLOGGED_TABLES;
    let all: Vec<String> = f
        .databases
        .iter()
        .flat_map(|d| qualified(&d.name, &d.unlogged_tables))
        .collect();
    if all.is_empty() {
        return pass(ID, "no unlogged tables");
    }
    Check::new(
        ID,
        Verdict::Fail,
        format!(
            "{} unlogged table(s): {}; they are not replicated, so green has them empty",
            all.len(),
            list_some(&all, LIST_MAX)
        ),
        "ALTER TABLE t SET LOGGED for each whose rows must survive the switchover (or drop \
         them), then run again",
    )
}

fn pg_materialized_views(f: &PgFacts) -> Check {
    const ID: &str = id::MATERIALIZED_VIEWS;
    let all: Vec<String> = f
        .databases
        .iter()
        .flat_map(|d| qualified(&d.name, &d.materialized_views))
        .collect();
    if all.is_empty() {
        return pass(ID, "no materialized views");
    }
    Check::new(
        ID,
        Verdict::Warn,
        format!(
            "{} materialized view(s): {}; their contents are not replicated after create",
            all.len(),
            list_some(&all, LIST_MAX)
        ),
        "REFRESH MATERIALIZED VIEW each one on the new production right after the switchover",
    )
}

fn pg_extensions(f: &PgFacts) -> Check {
    const ID: &str = id::INCOMPATIBLE_EXTENSIONS;
    let preloaded = f.preloaded();
    let bgw = preloaded.iter().any(|l| l == "pg_partman_bgw");
    let mut blocking = Vec::new();
    let mut warnings = Vec::new();
    for d in &f.databases {
        for e in &d.extensions {
            let at = format!("{} {} in {}", e.name, e.version, d.name);
            match e.name.as_str() {
                "pglogical" | "pgactive" => blocking.push(format!("{at} (must be off on blue)")),
                "pg_partman" if bgw => blocking.push(format!(
                    "{at} with its background worker (pg_partman_bgw in shared_preload_libraries) \
                     running partition DDL"
                )),
                "pg_partman" => warnings.push(format!(
                    "{at}: its maintenance creates partitions (DDL) when run"
                )),
                "pg_cron" => warnings.push(format!(
                    "{at}: jobs would also run on green, which must not write"
                )),
                _ => {}
            }
        }
    }
    if blocking.is_empty() && warnings.is_empty() {
        return pass(
            ID,
            "no pglogical, pgactive, pg_partman or pg_cron in any database",
        );
    }
    let mut fixes = Vec::new();
    if !blocking.is_empty() {
        fixes.push(
            "drop pglogical/pgactive on blue (DROP EXTENSION) and remove pg_partman_bgw from the \
             source parameter group's shared_preload_libraries (reboot), then run again",
        );
    }
    if warnings.iter().any(|w| w.contains("pg_partman")) {
        fixes.push("pause pg_partman's run_maintenance jobs until the switchover");
    }
    if warnings.iter().any(|w| w.contains("pg_cron")) {
        fixes.push(
            "leave pg_cron out of the target parameter group's shared_preload_libraries (or \
             unschedule its jobs) until the switchover, and turn it on afterwards",
        );
    }
    let mut observed = blocking.clone();
    observed.extend(warnings);
    Check::new(
        ID,
        if blocking.is_empty() {
            Verdict::Warn
        } else {
            Verdict::Fail
        },
        list_some(&observed, LIST_MAX),
        fixes.join("; "),
    )
}

fn pg_slots(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::REPLICATION_SLOTS;
    let logical: Vec<String> = f
        .slots
        .iter()
        .filter(|s| s.slot_type == "logical")
        .map(|s| {
            format!(
                "{} ({}{}, {})",
                s.name,
                s.plugin.as_deref().unwrap_or("?"),
                s.database
                    .as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default(),
                if s.active { "active" } else { "inactive" }
            )
        })
        .collect();
    if logical.is_empty() {
        return pass(ID, "no logical replication slots on blue");
    }
    if ctx.deployment_exists {
        return Check::new(
            ID,
            Verdict::Warn,
            format!(
                "logical slots on blue: {} (the deployment's own are among them)",
                list_some(&logical, LIST_MAX)
            ),
            "make sure none belongs to a CDC consumer (DMS, Debezium): those break at switchover",
        );
    }
    Check::new(
        ID,
        Verdict::Fail,
        format!(
            "{} logical replication slot(s) on blue: {}; a CDC consumer (DMS, Debezium, ...) \
             reading them breaks at switchover (slots are not copied to green)",
            logical.len(),
            list_some(&logical, LIST_MAX)
        ),
        "stop each consumer and drop its slot (SELECT pg_drop_replication_slot('name')), then \
         run again; recreate the slot and restart the consumer on the new production after the \
         switchover (DMS: recreate the task)",
    )
}

fn pg_publications_and_subscriptions(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::PUBLICATIONS_AND_SUBSCRIPTIONS;
    let subs: Vec<String> = f
        .databases
        .iter()
        .flat_map(|d| {
            d.subscriptions
                .iter()
                .map(move |s| format!("{} in {}", s, d.name))
        })
        .collect();
    let pubs: Vec<String> = f
        .databases
        .iter()
        .flat_map(|d| {
            d.publications
                .iter()
                .map(move |p| format!("{} in {}", p, d.name))
        })
        .collect();
    if subs.is_empty() && pubs.is_empty() {
        return pass(ID, "no publications or subscriptions");
    }
    let mut observed = Vec::new();
    if !subs.is_empty() {
        observed.push(format!(
            "blue subscribes to another database: {}",
            list_some(&subs, LIST_MAX)
        ));
    }
    if !pubs.is_empty() {
        observed.push(format!(
            "publications for CDC consumers: {}",
            list_some(&pubs, LIST_MAX)
        ));
    }
    let fix = "blue can be neither a logical publisher nor a subscriber of its own: stop the \
               consumers, drop the subscriptions (DROP SUBSCRIPTION) and publications (DROP \
               PUBLICATION), run again, and recreate them on the new production after the \
               switchover";
    let verdict = if subs.is_empty() && ctx.deployment_exists {
        Verdict::Warn // the deployment publishes blue itself
    } else {
        Verdict::Fail
    };
    Check::new(ID, verdict, observed.join("; "), fix)
}

fn pg_databases_and_slots(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::DATABASES_AND_SLOTS;
    let databases = f.database_names.len() as i64;
    let in_use = f.slots.len() as i64;
    let needed = if ctx.deployment_exists {
        in_use.max(databases)
    } else {
        in_use + databases
    };
    let mut short = Vec::new();
    let mut low = Vec::new();
    let mut seen = Vec::new();
    for name in ["max_replication_slots", "max_wal_senders"] {
        match f.setting_number(name) {
            Some(v) if v < needed => short.push(format!("{name} = {v}, needs at least {needed}")),
            Some(v) => seen.push(format!("{name} = {v}")),
            None => {}
        }
    }
    for name in ["max_logical_replication_workers", "max_worker_processes"] {
        let need = if name == "max_worker_processes" {
            databases + 1
        } else {
            databases
        };
        match f.setting_number(name) {
            Some(v) if v < need => low.push(format!("{name} = {v} on blue, green needs {need}")),
            Some(v) => seen.push(format!("{name} = {v}")),
            None => {}
        }
    }
    let observed_base = format!(
        "{databases} database(s), {in_use} slot(s) in use: one slot per database on top of those"
    );
    if !short.is_empty() {
        return Check::new(
            ID,
            Verdict::Fail,
            format!("{observed_base}; {}", short.join(", ")),
            format!(
                "raise max_replication_slots and max_wal_senders to at least {needed} in the \
                 source parameter group (reboot) and in the target group, then run again; RDS \
                 fails the create with \"incompatible parameter(s)\" otherwise"
            ),
        );
    }
    if !low.is_empty() {
        return Check::new(
            ID,
            Verdict::Warn,
            format!("{observed_base}; {}", low.join(", ")),
            format!(
                "green applies one subscription per database: set max_logical_replication_workers \
                 >= {databases} and max_worker_processes >= {} in the target parameter group",
                databases + 1
            ),
        );
    }
    pass(ID, format!("{observed_base}; {}", seen.join(", ")))
}

fn long_transactions(
    transactions: &[super::facts::OpenTransaction],
    sees_all: bool,
    grant: &str,
    ctx: &Context,
) -> Check {
    const ID: &str = id::LONG_RUNNING_TRANSACTIONS;
    let long: Vec<String> = transactions
        .iter()
        .filter(|t| t.age_seconds >= ctx.long_transaction_seconds)
        .map(|t| {
            format!(
                "pid {} ({}{}) open {} s",
                t.pid,
                t.user.as_deref().unwrap_or("?"),
                t.database
                    .as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default(),
                t.age_seconds
            )
        })
        .collect();
    if long.is_empty() {
        let caveat = if sees_all {
            String::new()
        } else {
            format!(" (only the user's own sessions are visible: grant {grant} to see all)")
        };
        return pass(
            ID,
            format!(
                "no transaction open longer than {} s{caveat}",
                ctx.long_transaction_seconds
            ),
        );
    }
    Check::new(
        ID,
        Verdict::Warn,
        format!(
            "{} long transaction(s): {}",
            long.len(),
            list_some(&long, LIST_MAX)
        ),
        "end them before the upgrade: creating the deployment's slots waits for every running \
         transaction, and the switchover waits for long-running writes",
    )
}

fn pg_prepared_transactions(f: &PgFacts) -> Check {
    const ID: &str = id::PREPARED_TRANSACTIONS;
    if f.prepared.is_empty() {
        return pass(ID, "no prepared transactions");
    }
    let list: Vec<String> = f
        .prepared
        .iter()
        .map(|p| format!("'{}' on {} ({} s old)", p.gid, p.database, p.age_seconds))
        .collect();
    Check::new(
        ID,
        Verdict::Fail,
        format!(
            "{} prepared transaction(s): {}; they hold back every slot the deployment creates",
            list.len(),
            list_some(&list, LIST_MAX)
        ),
        "finish each one (COMMIT PREPARED 'gid' or ROLLBACK PREPARED 'gid') with its transaction \
         manager, then run again",
    )
}

/// Every MySQL/MariaDB rule, in a stable order.
pub fn mysql_checks(f: &MysqlFacts, ctx: &Context) -> Vec<Check> {
    vec![
        my_tables_without_key(f),
        my_non_innodb(f),
        my_event_scheduler(f),
        my_binlog(f),
        my_gtid(f),
        my_long_transactions(f, ctx),
        my_binlog_consumers(f),
    ]
}

fn my_tables_without_key(f: &MysqlFacts) -> Check {
    const ID: &str = id::TABLES_WITHOUT_PRIMARY_KEY;
    if f.tables_without_key.is_empty() {
        return pass(ID, "every table has a primary key");
    }
    Check::new(
        ID,
        Verdict::Warn,
        format!(
            "{} table(s) without a primary key: {}; row-based replication to green scans them \
             for every changed row and lags",
            f.tables_without_key.len(),
            list_some(&f.tables_without_key, LIST_MAX)
        ),
        "add a primary key to each (ALTER TABLE t ADD PRIMARY KEY (...), or an invisible \
         auto-increment key), then run again",
    )
}

fn my_non_innodb(f: &MysqlFacts) -> Check {
    const ID: &str = id::NON_INNODB_TABLES;
    if f.non_innodb_tables.is_empty() {
        return pass(ID, "every table uses InnoDB");
    }
    let list: Vec<String> = f
        .non_innodb_tables
        .iter()
        .map(|(t, e)| format!("{t} ({e})"))
        .collect();
    // MEMORY tables are empty on green (it starts from a snapshot): their rows are lost.
    let memory = f
        .non_innodb_tables
        .iter()
        .any(|(_, e)| e.eq_ignore_ascii_case("MEMORY"));
    Check::new(
        ID,
        if memory { Verdict::Fail } else { Verdict::Warn },
        format!(
            "{} table(s) not in InnoDB: {}; non-transactional tables are not crash-safe in \
             replication{}",
            list.len(),
            list_some(&list, LIST_MAX),
            if memory {
                ", and MEMORY tables start empty on green"
            } else {
                ""
            }
        ),
        "convert each to InnoDB (ALTER TABLE t ENGINE=InnoDB), then run again",
    )
}

fn my_event_scheduler(f: &MysqlFacts) -> Check {
    const ID: &str = id::EVENT_SCHEDULER;
    if f.event_scheduler.eq_ignore_ascii_case("ON") {
        Check::new(
            ID,
            Verdict::Warn,
            format!(
                "event_scheduler = ON on blue, {} enabled event(s)",
                f.enabled_events
            ),
            "set event_scheduler = OFF in the target parameter group (blue/green requires it off \
             on green at create, or events write to green), and turn it on after the switchover",
        )
    } else {
        pass(
            ID,
            format!("event_scheduler = {}", f.event_scheduler.to_uppercase()),
        )
    }
}

fn my_binlog(f: &MysqlFacts) -> Check {
    const ID: &str = id::BINLOG_RETENTION;
    if !f.log_bin {
        return Check::new(
            ID,
            Verdict::Fail,
            "binary logging is off: green replicates from blue's binlog",
            "turn on automated backups (RDS enables the binlog with them) or log_bin, then run again",
        );
    }
    let format = if f.binlog_format.is_empty() {
        String::new()
    } else {
        format!(", binlog_format = {}", f.binlog_format)
    };
    if f.rds_configuration {
        return match f.binlog_retention_hours {
            Some(h) if h >= 24 => pass(ID, format!("binlog retention hours = {h}{format}")),
            other => Check::new(
                ID,
                Verdict::Warn,
                format!(
                    "binlog retention hours = {}{format}: binlogs are purged soon after use",
                    other.map_or("NULL".to_string(), |h| h.to_string())
                ),
                "keep a day of binlogs so green (and CDC consumers) can catch up after a pause: \
                 CALL mysql.rds_set_configuration('binlog retention hours', 24)",
            ),
        };
    }
    match f.binlog_expire_logs_seconds {
        Some(0) | None => pass(ID, format!("binlogs are not expired{format}")),
        Some(s) if s >= 86_400 => pass(ID, format!("binlog_expire_logs_seconds = {s}{format}")),
        Some(s) => Check::new(
            ID,
            Verdict::Warn,
            format!("binlog_expire_logs_seconds = {s}{format}: less than a day of binlogs"),
            "keep at least a day of binlogs (binlog_expire_logs_seconds >= 86400)",
        ),
    }
}

fn my_gtid(f: &MysqlFacts) -> Check {
    const ID: &str = id::GTID_MODE;
    if f.is_mariadb {
        return pass(
            ID,
            format!(
                "MariaDB GTIDs (gtid_strict_mode = {})",
                match f.gtid_strict_mode {
                    Some(true) => "ON",
                    Some(false) => "OFF",
                    None => "?",
                }
            ),
        );
    }
    match f
        .gtid_mode
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("ON") => pass(ID, "gtid_mode = ON"),
        Some("OFF") | None => pass(
            ID,
            format!(
                "gtid_mode = {}: replication by binlog position; CDC consumers will need new \
                 positions after the switchover",
                f.gtid_mode.as_deref().unwrap_or("OFF")
            ),
        ),
        Some(other) => Check::new(
            ID,
            Verdict::Warn,
            format!("gtid_mode = {other}: a GTID migration is half done"),
            "finish the change (gtid_mode ON or OFF) before creating the deployment",
        ),
    }
}

fn my_long_transactions(f: &MysqlFacts, ctx: &Context) -> Check {
    let sees_all = f
        .privileges
        .iter()
        .any(|p| p.eq_ignore_ascii_case("PROCESS"));
    long_transactions(&f.transactions, sees_all, "PROCESS", ctx)
}

fn my_binlog_consumers(f: &MysqlFacts) -> Check {
    const ID: &str = id::BINLOG_CONSUMERS;
    if f.binlog_consumers == 0 {
        return pass(ID, "no session reads the binlog");
    }
    Check::new(
        ID,
        Verdict::Warn,
        format!(
            "{} session(s) read blue's binlog (replicas or CDC consumers: DMS, Debezium)",
            f.binlog_consumers
        ),
        "after the switchover, repoint each consumer at the new production with its new binlog \
         position (DMS: recreate the task)",
    )
}

/// The grants a MySQL user lacks for the checks (global SELECT to see every table, PROCESS
/// for others' transactions).
pub fn mysql_missing_privileges(f: &MysqlFacts) -> Vec<&'static str> {
    let has = |p: &str| f.privileges.iter().any(|x| x.eq_ignore_ascii_case(p));
    ["SELECT", "PROCESS"]
        .into_iter()
        .filter(|p| !has(p))
        .collect()
}

/// The manual checks (from `model::check::manual_checks`) that the in-database prechecks run.
pub fn covered_manual_checks(engine: &Engine) -> &'static [&'static str] {
    if engine.is_postgres_family() {
        &[
            id::TABLES_WITHOUT_PRIMARY_KEY,
            id::LARGE_OBJECTS,
            id::UNLOGGED_TABLES,
            id::INCOMPATIBLE_EXTENSIONS,
            id::DATABASES_AND_SLOTS,
        ]
    } else {
        &[
            id::TABLES_WITHOUT_PRIMARY_KEY,
            id::LONG_RUNNING_TRANSACTIONS,
        ]
    }
}

/// Puts the in-database checks into the report: replaces any earlier run of the same ids,
/// drops the manual checks they cover, recomputes the verdict. Returns the ids replaced.
pub fn merge_into_report(report: &mut Report, checks: &[Check], engine: &Engine) -> Vec<String> {
    let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
    let mut merged: Vec<Check> = report
        .checks
        .iter()
        .filter(|c| !ids.contains(&c.id.as_str()))
        .cloned()
        .collect();
    merged.extend(checks.iter().cloned());
    let covered = covered_manual_checks(engine);
    let (replaced, kept): (Vec<ManualCheck>, Vec<ManualCheck>) = report
        .manual_checks
        .iter()
        .cloned()
        .partition(|m| covered.contains(&m.id.as_str()) && !ids.is_empty());
    *report = Report::new(merged, kept, report.existing_deployment.clone());
    replaced.into_iter().map(|m| m.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::facts::{
        Extension, OpenTransaction, PgDatabaseFacts, PreparedTransaction, Slot,
    };
    use crate::model::check::manual_checks;
    use crate::model::report::ExistingDeployment;

    fn clean() -> PgFacts {
        let mut f = PgFacts {
            server_version_num: 150007,
            database_names: vec!["app".into(), "postgres".into()],
            databases: vec![
                PgDatabaseFacts {
                    name: "app".into(),
                    ..Default::default()
                },
                PgDatabaseFacts {
                    name: "postgres".into(),
                    ..Default::default()
                },
            ],
            sees_all_activity: true,
            ..Default::default()
        };
        for (k, v) in [
            ("max_replication_slots", "10"),
            ("max_wal_senders", "10"),
            ("max_logical_replication_workers", "4"),
            ("max_worker_processes", "8"),
        ] {
            f.settings.insert(k.into(), v.into());
        }
        f
    }

    fn verdict(checks: &[Check], id: &str) -> Verdict {
        checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .verdict
    }

    fn by_id<'a>(checks: &'a [Check], id: &str) -> &'a Check {
        checks.iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn a_clean_instance_passes_everything() {
        let checks = postgres_checks(&clean(), &Context::default());
        assert_eq!(checks.len(), 10);
        for c in &checks {
            assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
        }
    }

    #[test]
    fn tables_without_a_key_large_objects_and_unlogged_tables_fail_naming_each() {
        let mut f = clean();
        f.databases[0].tables_without_key = vec!["public.events".into()];
        f.databases[0].large_objects = 3;
        f.databases[1].unlogged_tables = vec!["public.cache".into()];
        f.databases[1].materialized_views = vec!["public.daily".into()];
        let checks = postgres_checks(&f, &Context::default());
        let c = by_id(&checks, "tables-without-primary-key");
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.observed.contains("app.public.events"), "{}", c.observed);
        let c = by_id(&checks, "large-objects");
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.observed.contains("app (3)"), "{}", c.observed);
        assert_eq!(verdict(&checks, "unlogged-tables"), Verdict::Fail);
        assert!(by_id(&checks, "unlogged-tables")
            .observed
            .contains("postgres.public.cache"));
        assert_eq!(verdict(&checks, "materialized-views"), Verdict::Warn);
    }

    #[test]
    fn five_thousand_problem_tables_make_a_short_check() {
        let mut f = clean();
        f.databases[0].tables_without_key = (0..5000).map(|i| format!("public.t{i}")).collect();
        let c = pg_tables_without_key(&f);
        assert!(c.observed.contains("5000 table(s)"));
        assert!(c.observed.contains("and 4990 more"));
        assert!(c.observed.len() < 600, "{}", c.observed.len());
    }

    #[test]
    fn extensions_that_block_or_break_logical_replication() {
        let ext = |n: &str| Extension {
            name: n.into(),
            version: "1.0".into(),
        };
        let mut f = clean();
        f.databases[0].extensions = vec![ext("pg_partman"), ext("pg_stat_statements")];
        assert_eq!(pg_extensions(&f).verdict, Verdict::Warn);
        f.settings.insert(
            "shared_preload_libraries".into(),
            "pg_stat_statements,pg_partman_bgw".into(),
        );
        let c = pg_extensions(&f);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.observed.contains("background worker"), "{}", c.observed);
        let mut f = clean();
        f.databases[1].extensions = vec![ext("pglogical")];
        assert_eq!(pg_extensions(&f).verdict, Verdict::Fail);
        f.databases[1].extensions = vec![ext("pgactive")];
        assert_eq!(pg_extensions(&f).verdict, Verdict::Fail);
        f.databases[1].extensions = vec![ext("pg_cron")];
        let c = pg_extensions(&f);
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c.fix.contains("target parameter group"), "{}", c.fix);
    }

    fn slot(name: &str, kind: &str) -> Slot {
        Slot {
            name: name.into(),
            slot_type: kind.into(),
            database: Some("app".into()),
            plugin: Some("pgoutput".into()),
            active: false,
            lag_bytes: Some(0),
        }
    }

    #[test]
    fn existing_logical_slots_fail_before_create_and_warn_once_ours_exists() {
        let mut f = clean();
        f.slots = vec![slot("physical_standby", "physical")];
        assert_eq!(
            pg_slots(&f, &Context::default()).verdict,
            Verdict::Pass,
            "a physical slot is no CDC consumer"
        );
        f.slots.push(slot("debezium", "logical"));
        let c = pg_slots(&f, &Context::default());
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.observed.contains("debezium (pgoutput on app, inactive)"));
        let resumed = Context {
            deployment_exists: true,
            ..Context::default()
        };
        assert_eq!(pg_slots(&f, &resumed).verdict, Verdict::Warn);
    }

    #[test]
    fn publications_and_subscriptions() {
        let mut f = clean();
        f.databases[0].publications = vec!["dms_pub".into()];
        let c = pg_publications_and_subscriptions(&f, &Context::default());
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.observed.contains("dms_pub in app"));
        let resumed = Context {
            deployment_exists: true,
            ..Context::default()
        };
        assert_eq!(
            pg_publications_and_subscriptions(&f, &resumed).verdict,
            Verdict::Warn
        );
        f.databases[1].subscriptions = vec!["from_legacy".into()];
        assert_eq!(
            pg_publications_and_subscriptions(&f, &resumed).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn too_few_slots_for_the_real_number_of_databases() {
        let mut f = clean();
        f.database_names = (0..12).map(|i| format!("db{i}")).collect();
        let c = pg_databases_and_slots(&f, &Context::default());
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.observed
                .contains("max_replication_slots = 10, needs at least 12"),
            "{}",
            c.observed
        );
        let mut f = clean();
        f.slots = vec![slot("a", "logical"); 9];
        assert_eq!(
            pg_databases_and_slots(&f, &Context::default()).verdict,
            Verdict::Fail,
            "9 in use + 2 databases > 10"
        );
        let mut f = clean();
        f.database_names = (0..6).map(|i| format!("db{i}")).collect();
        let c = pg_databases_and_slots(&f, &Context::default());
        assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
        assert!(c.fix.contains("max_logical_replication_workers"));
    }

    #[test]
    fn long_and_prepared_transactions() {
        let mut f = clean();
        f.transactions = vec![OpenTransaction {
            pid: 42,
            database: Some("app".into()),
            user: Some("batch".into()),
            age_seconds: 900,
            state: Some("idle in transaction".into()),
        }];
        let c = long_transactions(&f.transactions, true, "pg_monitor", &Context::default());
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c.observed.contains("pid 42 (batch on app) open 900 s"));
        let patient = Context {
            long_transaction_seconds: 1000,
            ..Context::default()
        };
        assert_eq!(
            long_transactions(&f.transactions, false, "pg_monitor", &patient).verdict,
            Verdict::Pass
        );
        assert!(
            long_transactions(&f.transactions, false, "pg_monitor", &patient)
                .observed
                .contains("grant pg_monitor")
        );
        f.prepared = vec![PreparedTransaction {
            gid: "tx-1".into(),
            database: "app".into(),
            age_seconds: 5,
        }];
        let c = pg_prepared_transactions(&f);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.fix.contains("ROLLBACK PREPARED"));
    }

    fn mysql() -> MysqlFacts {
        MysqlFacts {
            version: "8.0.39".into(),
            schemas: vec!["shop".into()],
            event_scheduler: "OFF".into(),
            log_bin: true,
            binlog_format: "ROW".into(),
            rds_configuration: true,
            binlog_retention_hours: Some(24),
            gtid_mode: Some("ON".into()),
            privileges: vec!["SELECT".into(), "PROCESS".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_clean_mysql_passes() {
        for c in mysql_checks(&mysql(), &Context::default()) {
            assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
        }
        assert!(mysql_missing_privileges(&mysql()).is_empty());
    }

    #[test]
    fn mysql_problems_are_reported() {
        let mut f = mysql();
        f.tables_without_key = vec!["shop.audit".into()];
        f.non_innodb_tables = vec![("shop.legacy".into(), "MyISAM".into())];
        f.event_scheduler = "ON".into();
        f.enabled_events = 2;
        f.binlog_retention_hours = None;
        f.gtid_mode = Some("ON_PERMISSIVE".into());
        f.binlog_consumers = 1;
        let checks = mysql_checks(&f, &Context::default());
        assert_eq!(
            verdict(&checks, "tables-without-primary-key"),
            Verdict::Warn
        );
        assert!(by_id(&checks, "non-innodb-tables")
            .observed
            .contains("shop.legacy (MyISAM)"));
        assert_eq!(verdict(&checks, "non-innodb-tables"), Verdict::Warn);
        assert_eq!(verdict(&checks, "event-scheduler"), Verdict::Warn);
        assert_eq!(verdict(&checks, "binlog-retention"), Verdict::Warn);
        assert!(by_id(&checks, "binlog-retention")
            .fix
            .contains("rds_set_configuration"));
        assert_eq!(verdict(&checks, "gtid-mode"), Verdict::Warn);
        assert_eq!(verdict(&checks, "binlog-consumers"), Verdict::Warn);
        f.non_innodb_tables
            .push(("shop.sessions".into(), "MEMORY".into()));
        f.log_bin = false;
        let checks = mysql_checks(&f, &Context::default());
        assert_eq!(verdict(&checks, "non-innodb-tables"), Verdict::Fail);
        assert_eq!(verdict(&checks, "binlog-retention"), Verdict::Fail);
    }

    #[test]
    fn mariadb_without_rds_configuration() {
        let mut f = mysql();
        f.is_mariadb = true;
        f.rds_configuration = false;
        f.gtid_mode = None;
        f.gtid_strict_mode = Some(false);
        f.binlog_expire_logs_seconds = Some(3600);
        let checks = mysql_checks(&f, &Context::default());
        assert_eq!(verdict(&checks, "gtid-mode"), Verdict::Pass);
        assert_eq!(verdict(&checks, "binlog-retention"), Verdict::Warn);
        f.binlog_expire_logs_seconds = Some(0);
        assert_eq!(my_binlog(&f).verdict, Verdict::Pass);
        f.privileges = vec!["USAGE".into()];
        assert_eq!(mysql_missing_privileges(&f), ["SELECT", "PROCESS"]);
    }

    #[test]
    fn merging_replaces_the_covered_manual_checks_and_recomputes_the_verdict() {
        let engine = Engine::Postgres;
        let mut report = Report::new(
            vec![Check::new("account", Verdict::Pass, "ok", "")],
            manual_checks(&engine),
            ExistingDeployment::None,
        );
        let mut f = clean();
        f.databases[0].large_objects = 1;
        let checks = postgres_checks(&f, &Context::default());
        let replaced = merge_into_report(&mut report, &checks, &engine);
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(report.checks.len(), 11);
        assert!(replaced.contains(&"large-objects".to_string()));
        let left: Vec<&str> = report.manual_checks.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(left, ["no-ddl-during-window"]);
        // Running again replaces, never duplicates.
        let f = clean();
        merge_into_report(
            &mut report,
            &postgres_checks(&f, &Context::default()),
            &engine,
        );
        assert_eq!(report.checks.len(), 11);
        assert_eq!(report.verdict, Verdict::Pass);
        assert!(report
            .failure_error("orders-pg")
            .to_string()
            .contains("0 precheck"));
    }
}
