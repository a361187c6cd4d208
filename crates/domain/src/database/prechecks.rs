//! In-database prechecks: the facts the `sql` worker read on blue, to checks of the same
//! shape as the AWS-level ones (id, verdict, observed, fix), for every database of the
//! instance. They join the run's report; what they cover leaves `manual_checks`.
//!
//! PostgreSQL. A major-version blue/green of RDS for PostgreSQL, and every Aurora PostgreSQL
//! one, replicates logically (RDS User Guide, "Limitations for blue/green deployments with
//! logical replication"): DDL and large-object changes are not replicated and degrade green;
//! UPDATE/DELETE need a primary key or replica identity; unlogged tables (unless Aurora's
//! `rds.logically_replicate_unlogged_tables` is 1) and materialized views are not replicated
//! (on Aurora, refreshing one on blue breaks replication); pg_partman's background worker,
//! pglogical and pgactive must be off on blue, pg_cron off on green; `max_replication_slots`
//! must be higher than the number of databases; RDS sets every sequence on green at
//! switchover ("thousands of sequences can delay switchover"). A minor-version or
//! parameter-only RDS for PostgreSQL blue/green replicates physically: those limits do not
//! apply to it (`Context::logical`), and the checks report them as information only. For
//! both: blue may not be a self-managed logical publisher or subscriber (an RDS switchover
//! guardrail), logical slots of CDC consumers are not carried to green, and a foreign server
//! pointing at blue must use its endpoint name, not an IP.
//!
//! MySQL/MariaDB (binlog replication): tables without a primary key lag, non-transactional
//! engines are not crash-safe, event_scheduler must be off on green, the binlog must be on,
//! blue may not be an actively replicating external binlog replica (an RDS switchover
//! guardrail; Aurora MySQL: blue can't be an external binlog replica), Aurora MySQL does not
//! copy a database named `tmp` to green, and MySQL 8.4 no longer enables
//! `mysql_native_password` by default.

use super::facts::{MysqlFacts, PgFacts};
use super::list_some;
use crate::model::check::{id, Check, ManualCheck, Verdict};
use crate::model::engine::{major_version, Engine};
use crate::model::report::Report;
use crate::model::request::DEFAULT_SWITCHOVER_TIMEOUT_SECONDS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many names a check lists before "and N more".
pub const LIST_MAX: usize = 10;
/// A transaction open longer than this is reported: a slot's creation waits for it, and the
/// switchover waits for long-running writes.
pub const LONG_TRANSACTION_SECONDS: i64 = 300;

fn pass(id: &str, observed: impl Into<String>) -> Check {
    Check::new(id, Verdict::Pass, observed, "")
}

/// Above this many sequences, the switchover is warned about. AWS: "During switchover,
/// Amazon RDS increments sequence values in the green environment to match those in the blue
/// environment. If you have thousands of sequences, this can delay switchover." 1,000 is the
/// lower bound of "thousands": below it AWS gives no reason to expect a delay.
pub const MANY_SEQUENCES: u64 = 1_000;
/// The extra switchover time suggested per 1,000 sequences. AWS gives no per-sequence figure;
/// this is a conservative assumption (60 ms per sequence, a round trip and a `setval` with
/// room to spare), not a measurement of RDS.
pub const SWITCHOVER_SECONDS_PER_1000_SEQUENCES: u64 = 60;
/// `SwitchoverTimeout`'s upper bound (RDS API reference: 30 to 3,600 seconds).
pub const MAX_SWITCHOVER_TIMEOUT_SECONDS: u64 = 3_600;

/// What the rules need besides the facts: what the run knows about the source and the
/// deployment it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// A blue/green deployment of ours exists already (a resumed run): its own slots and
    /// publication are on blue, so those no longer mean a CDC consumer.
    pub deployment_exists: bool,
    pub long_transaction_seconds: i64,
    /// The source's engine, as the run exported it (RDS's `Engine`): the Aurora rules key on
    /// it, whatever server answers.
    pub engine: Engine,
    /// Blue's engine version and the requested target version.
    pub source_version: String,
    pub target_version: String,
    /// The deployment replicates logically (`super::replicates_logically`). PostgreSQL only.
    pub logical: bool,
    /// The source's parameters the precheck exported (`model::source::RELEVANT_PARAMETERS`).
    pub parameters: BTreeMap<String, String>,
    /// The request's `switchover_timeout_seconds`.
    pub switchover_timeout_seconds: u32,
    /// Blue's IP addresses, from its endpoint name.
    pub blue_addresses: Vec<String>,
}

impl Default for Context {
    fn default() -> Self {
        Self {
            deployment_exists: false,
            long_transaction_seconds: LONG_TRANSACTION_SECONDS,
            engine: Engine::Postgres,
            source_version: String::new(),
            target_version: String::new(),
            logical: true,
            parameters: BTreeMap::new(),
            switchover_timeout_seconds: DEFAULT_SWITCHOVER_TIMEOUT_SECONDS,
            blue_addresses: Vec::new(),
        }
    }
}

impl Context {
    fn major(&self, version: &str) -> String {
        major_version(&self.engine, version)
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
    /// `db.schema.view` of the materialized views found (PostgreSQL): on Aurora, refreshing
    /// one on blue breaks replication, which the green-ready notification repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materialized_views: Vec<String>,
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
        pg_tables_without_key(f, ctx),
        pg_large_objects(f, ctx),
        pg_unlogged_tables(f, ctx),
        pg_materialized_views(f, ctx),
        pg_extensions(f, ctx),
        pg_slots(f, ctx),
        pg_publications_and_subscriptions(f, ctx),
        pg_databases_and_slots(f, ctx),
        long_transactions(&f.transactions, f.sees_all_activity, "pg_monitor", ctx),
        pg_prepared_transactions(f),
        pg_sequences(f, ctx),
        pg_foreign_servers(f, ctx),
    ]
}

/// `db.schema.view` of every materialized view.
pub fn materialized_views(f: &PgFacts) -> Vec<String> {
    f.databases
        .iter()
        .flat_map(|d| qualified(&d.name, &d.materialized_views))
        .collect()
}

/// The words a check uses when a logical-replication limit does not apply: the deployment
/// replicates physically (a minor-version or parameter-only RDS for PostgreSQL blue/green).
const PHYSICAL: &str = "this deployment replicates physically (no major-version upgrade), which \
                        carries them";

fn pg_tables_without_key(f: &PgFacts, ctx: &Context) -> Check {
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
    if !ctx.logical {
        return pass(
            ID,
            format!(
                "{} table(s) without a primary key or replica identity ({}): {PHYSICAL}",
                all.len(),
                list_some(&all, LIST_MAX)
            ),
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

fn pg_large_objects(f: &PgFacts, ctx: &Context) -> Check {
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
    if !ctx.logical {
        return pass(
            ID,
            format!(
                "large objects in {}: {PHYSICAL}",
                list_some(&with, LIST_MAX)
            ),
        );
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

/// Aurora PostgreSQL replicates unlogged tables when `rds.logically_replicate_unlogged_tables`
/// is 1: its value and where it comes from (the server's own setting, the source's parameter
/// group, or the engine's default: on for Aurora PostgreSQL 14 and earlier, off for 15 and
/// later; Aurora User Guide, "Unlogged tables"). `None` off Aurora PostgreSQL.
pub fn aurora_replicates_unlogged(f: &PgFacts, ctx: &Context) -> Option<(bool, String)> {
    const NAME: &str = "rds.logically_replicate_unlogged_tables";
    if ctx.engine != Engine::AuroraPostgresql {
        return None;
    }
    let on = |v: &str| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "on" | "true");
    if let Some(v) = f.setting(NAME) {
        return Some((on(v), format!("{NAME} = {} on blue", v.trim())));
    }
    if let Some(v) = ctx.parameters.get(NAME) {
        return Some((
            on(v),
            format!("{NAME} = {} in the source's parameter group", v.trim()),
        ));
    }
    let major: u32 = ctx.major(&ctx.source_version).parse().ok()?;
    let default = major <= 14;
    Some((
        default,
        format!(
            "{NAME} unset: Aurora PostgreSQL {major}'s default is {}",
            if default { "1" } else { "0" }
        ),
    ))
}

fn pg_unlogged_tables(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::UNLOGGED_TABLES;
    let all: Vec<String> = f
        .databases
        .iter()
        .flat_map(|d| qualified(&d.name, &d.unlogged_tables))
        .collect();
    if all.is_empty() {
        return pass(ID, "no unlogged tables");
    }
    let listed = format!(
        "{} unlogged table(s): {}",
        all.len(),
        list_some(&all, LIST_MAX)
    );
    let set_logged = "ALTER TABLE t SET LOGGED for each whose rows must survive the switchover \
                      (or drop them), then run again";
    if !ctx.logical {
        // Not a limit of the deployment (it must not refuse it), but PostgreSQL's own: an
        // unlogged table writes no WAL, so a physical replica has it empty too.
        return Check::new(
            ID,
            Verdict::Warn,
            format!(
                "{listed}; this deployment replicates physically, and an unlogged table writes \
                 no WAL: green has them empty"
            ),
            set_logged,
        );
    }
    match aurora_replicates_unlogged(f, ctx) {
        Some((true, why)) => pass(ID, format!("{listed}; replicated to green: {why}")),
        Some((false, why)) => Check::new(
            ID,
            Verdict::Fail,
            format!("{listed}; not replicated ({why}), so green has them empty"),
            format!(
                "set rds.logically_replicate_unlogged_tables = 1 in the source's DB cluster \
                 parameter group (reboot) to replicate them, or {set_logged}"
            ),
        ),
        None => Check::new(
            ID,
            Verdict::Fail,
            format!("{listed}; they are not replicated, so green has them empty"),
            set_logged,
        ),
    }
}

fn pg_materialized_views(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::MATERIALIZED_VIEWS;
    let all = materialized_views(f);
    let cron: Vec<String> = f
        .databases
        .iter()
        .filter_map(|d| d.cron.as_ref())
        .flat_map(|c| c.refreshes.clone())
        .collect();
    let caveat = f
        .databases
        .iter()
        .filter_map(|d| d.cron.as_ref().and_then(|c| c.caveat.clone()))
        .map(|c| format!(" ({c})"))
        .next()
        .unwrap_or_default();
    if all.is_empty() {
        return pass(ID, "no materialized views");
    }
    let listed = format!(
        "{} materialized view(s): {}",
        all.len(),
        list_some(&all, LIST_MAX)
    );
    if !ctx.logical {
        return pass(ID, format!("{listed}: {PHYSICAL}"));
    }
    if ctx.engine == Engine::AuroraPostgresql {
        // Aurora User Guide, blue/green limitations: refreshing a materialized view on blue
        // breaks replication.
        let pause = "pause every REFRESH MATERIALIZED VIEW on blue (jobs, scripts) from the \
                     deployment's creation until the switchover, then refresh each one on the \
                     new production";
        if !cron.is_empty() {
            return Check::new(
                ID,
                Verdict::Fail,
                format!(
                    "{listed}; on Aurora PostgreSQL refreshing one on blue breaks replication, and \
                     pg_cron schedules refreshes: {}",
                    list_some(&cron, LIST_MAX)
                ),
                format!(
                    "unschedule those jobs (SELECT cron.unschedule(jobid)) until the switchover, \
                     then run again; {pause}"
                ),
            );
        }
        return Check::new(
            ID,
            Verdict::Warn,
            format!(
                "{listed}; on Aurora PostgreSQL refreshing one on blue breaks replication{caveat}"
            ),
            pause,
        );
    }
    let scheduled = if cron.is_empty() {
        String::new()
    } else {
        format!(
            "; pg_cron refreshes: {} (their new contents are not replicated)",
            list_some(&cron, LIST_MAX)
        )
    };
    Check::new(
        ID,
        Verdict::Warn,
        format!("{listed}; their contents are not replicated after create{scheduled}"),
        "REFRESH MATERIALIZED VIEW each one on the new production right after the switchover",
    )
}

fn pg_extensions(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::INCOMPATIBLE_EXTENSIONS;
    if !ctx.logical {
        let named: Vec<String> = f
            .databases
            .iter()
            .flat_map(|d| {
                d.extensions
                    .iter()
                    .filter(|e| {
                        matches!(
                            e.name.as_str(),
                            "pglogical" | "pgactive" | "pg_partman" | "pg_cron"
                        )
                    })
                    .map(move |e| format!("{} in {}", e.name, d.name))
            })
            .collect();
        return pass(
            ID,
            if named.is_empty() {
                "no pglogical, pgactive, pg_partman or pg_cron in any database".to_string()
            } else {
                format!(
                    "{}: their limits are logical replication's, and {PHYSICAL}",
                    list_some(&named, LIST_MAX)
                )
            },
        );
    }
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

/// Blue's own logical publications and subscriptions, as `what in database` (RDS's own,
/// owned by `rdsadmin`, are not in the facts). Blue/green refuses to switch over a blue that
/// is a self-managed logical publisher or subscriber (RDS User Guide, switchover guardrails).
pub fn cdc_on_blue(f: &PgFacts) -> (Vec<String>, Vec<String>) {
    let subs = f
        .databases
        .iter()
        .flat_map(|d| {
            d.subscriptions
                .iter()
                .map(move |s| format!("subscription {} in {}", s, d.name))
        })
        .collect();
    let pubs = f
        .databases
        .iter()
        .flat_map(|d| {
            d.publications
                .iter()
                .map(move |p| format!("publication {} in {}", p, d.name))
        })
        .collect();
    (pubs, subs)
}

/// What to do about a self-managed publisher or subscriber on blue.
pub const CDC_FIX: &str = "blue can be neither a logical publisher nor a subscriber of its own \
    (RDS refuses the switchover): stop the consumers, drop the subscriptions (DROP \
    SUBSCRIPTION) and publications (DROP PUBLICATION), or move them to another database, \
    before the switchover; recreate them on the new production after it";

fn pg_publications_and_subscriptions(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::PUBLICATIONS_AND_SUBSCRIPTIONS;
    let (pubs, subs) = cdc_on_blue(f);
    if subs.is_empty() && pubs.is_empty() {
        return pass(ID, "no publications or subscriptions of blue's own");
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
            "blue publishes for CDC consumers: {}",
            list_some(&pubs, LIST_MAX)
        ));
    }
    if subs.is_empty() && ctx.deployment_exists {
        // Ours exists: if RDS created its publication under another owner than rdsadmin, it
        // is among these. The watch tells them apart (green's subscriptions name RDS's).
        return Check::new(
            ID,
            Verdict::Warn,
            format!(
                "{} (the deployment's own may be among them: the watch before the switchover \
                 compares them with green's subscriptions)",
                observed.join("; ")
            ),
            CDC_FIX,
        );
    }
    Check::new(ID, Verdict::Fail, observed.join("; "), CDC_FIX)
}

fn pg_databases_and_slots(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::DATABASES_AND_SLOTS;
    let databases = f.database_names.len() as i64;
    // AWS Knowledge Center (rds-postgresql-blue-green-deployment-error) counts every row of
    // pg_database, templates included, and wants max_replication_slots HIGHER than that.
    let rows = f.database_rows.max(databases);
    let in_use = f.slots.len() as i64;
    if !ctx.logical {
        return pass(
            ID,
            format!(
                "{rows} database(s) in pg_database: this deployment replicates physically and \
                 needs no slot per database"
            ),
        );
    }
    // One slot per database the deployment replicates, on top of the slots in use; and in
    // any case more slots than pg_database has rows.
    let (slots_needed, senders_needed) = if ctx.deployment_exists {
        (in_use.max(rows + 1), in_use.max(databases))
    } else {
        ((in_use + databases).max(rows + 1), in_use + databases)
    };
    let mut short = Vec::new();
    let mut low = Vec::new();
    let mut seen = Vec::new();
    for (name, needed) in [
        ("max_replication_slots", slots_needed),
        ("max_wal_senders", senders_needed),
    ] {
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
        "pg_database has {rows} row(s) (templates included), {databases} of them replicated, \
         {in_use} slot(s) in use: max_replication_slots must be higher than {rows} and leave one \
         slot per replicated database on top of those in use"
    );
    if !short.is_empty() {
        return Check::new(
            ID,
            Verdict::Fail,
            format!("{observed_base}; {}", short.join(", ")),
            format!(
                "raise max_replication_slots to at least {slots_needed} and max_wal_senders to at \
                 least {senders_needed} in the source parameter group (reboot) and in the target \
                 group, then run again; RDS fails the create with \"incompatible parameter(s)\" \
                 otherwise"
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

/// The switchover timeout to suggest for `sequences` sequences on top of `current`, in
/// seconds: `SWITCHOVER_SECONDS_PER_1000_SEQUENCES` per started thousand, at most the API's
/// 3,600.
pub fn suggested_switchover_timeout(current: u32, sequences: u64) -> u64 {
    let extra = sequences.div_ceil(1_000) * SWITCHOVER_SECONDS_PER_1000_SEQUENCES;
    (u64::from(current) + extra).min(MAX_SWITCHOVER_TIMEOUT_SECONDS)
}

fn pg_sequences(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::SEQUENCE_COUNT;
    let total: u64 = f.databases.iter().map(|d| d.sequences).sum();
    let per_db: Vec<String> = f
        .databases
        .iter()
        .filter(|d| d.sequences > 0)
        .map(|d| format!("{} in {}", d.sequences, d.name))
        .collect();
    let listed = if per_db.is_empty() {
        String::new()
    } else {
        format!(" ({})", list_some(&per_db, LIST_MAX))
    };
    if !ctx.logical {
        return pass(
            ID,
            format!("{total} sequence(s){listed}: physical replication carries their values"),
        );
    }
    if total <= MANY_SEQUENCES {
        return pass(
            ID,
            format!("{total} sequence(s){listed}: RDS sets each one on green at switchover"),
        );
    }
    let suggested = suggested_switchover_timeout(ctx.switchover_timeout_seconds, total);
    Check::new(
        ID,
        Verdict::Warn,
        format!(
            "{total} sequence(s){listed}: during the switchover RDS sets each one on green to \
             blue's value, and AWS says thousands of them can delay the switchover (past \
             switchover_timeout_seconds = {}, RDS rolls the switchover back)",
            ctx.switchover_timeout_seconds
        ),
        format!(
            "run with switchover_timeout_seconds = {suggested} (AWS gives no per-sequence figure: \
             this adds a conservative {SWITCHOVER_SECONDS_PER_1000_SEQUENCES} s per 1,000 \
             sequences, at most {MAX_SWITCHOVER_TIMEOUT_SECONDS}), and drop the sequences nothing \
             uses"
        ),
    )
}

/// Whether a host option is an IP address literal (v4 or v6, brackets allowed).
pub fn is_ip_address(host: &str) -> bool {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok()
}

fn pg_foreign_servers(f: &PgFacts, ctx: &Context) -> Check {
    const ID: &str = id::FOREIGN_SERVERS;
    let mut by_ip = Vec::new();
    let mut total = 0;
    for d in &f.databases {
        for s in &d.foreign_servers {
            total += 1;
            // A libpq host option may list several hosts.
            for host in s.host.iter().flat_map(|h| h.split(',')) {
                let host = host.trim();
                if !is_ip_address(host) {
                    continue;
                }
                let bare = host.trim_start_matches('[').trim_end_matches(']');
                let blue = ctx.blue_addresses.iter().any(|a| a == bare);
                by_ip.push(format!(
                    "{} ({}) in {} names {host}{}",
                    s.name,
                    s.wrapper,
                    d.name,
                    if blue { ", blue's own address" } else { "" }
                ));
            }
        }
    }
    if by_ip.is_empty() {
        return pass(
            ID,
            if total == 0 {
                "no foreign servers".to_string()
            } else {
                format!("{total} foreign server(s), none named by an IP address")
            },
        );
    }
    Check::new(
        ID,
        Verdict::Warn,
        format!(
            "foreign server(s) named by IP address: {}; AWS: a foreign server pointing at blue \
             must use its endpoint name, not an IP, or it keeps reaching the old blue after the \
             switchover",
            list_some(&by_ip, LIST_MAX)
        ),
        "ALTER SERVER name OPTIONS (SET host 'the database's endpoint name') for each, before \
         the switchover",
    )
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

/// Every MySQL/MariaDB rule, in a stable order; the engine- and version-specific ones only
/// where they apply.
pub fn mysql_checks(f: &MysqlFacts, ctx: &Context) -> Vec<Check> {
    let mut checks = vec![
        my_tables_without_key(f),
        my_non_innodb(f),
        my_event_scheduler(f),
        my_binlog(f),
        my_gtid(f),
        my_long_transactions(f, ctx),
        my_binlog_consumers(f),
        external_replication(f, ctx, false),
    ];
    if ctx.engine == Engine::AuroraMysql {
        checks.push(my_tmp_database(f));
    }
    if let Some(c) = my_native_password(f, ctx) {
        checks.push(c);
    }
    checks
}

/// Aurora User Guide, blue/green limitations for Aurora MySQL: "Databases with this name
/// [tmp] will not be copied to the green environment."
fn my_tmp_database(f: &MysqlFacts) -> Check {
    const ID: &str = id::TMP_DATABASE;
    let Some(tables) = f.tmp_schema_tables else {
        return pass(
            ID,
            "no database named tmp (Aurora MySQL does not copy one to green)",
        );
    };
    Check::new(
        ID,
        Verdict::Fail,
        format!(
            "a database named tmp exists ({tables} table(s)): Aurora MySQL blue/green does not \
             copy a database with this name to green, so it is missing after the switchover"
        ),
        "before creating the deployment, move its tables to a database of another name \
         (CREATE DATABASE tmp_data; RENAME TABLE tmp.t TO tmp_data.t for each) and point the \
         application at it, or DROP DATABASE tmp if it only holds scratch data, then run again",
    )
}

/// The RDS procedure that removes blue's external source, by engine (RDS User Guide, "Configuring,
/// starting, and stopping binary log (binlog) replication": the `_master` procedures are RDS for
/// MariaDB's and RDS for MySQL 8.0 and lower's, the `_source` ones RDS for MySQL 8.4's and
/// Aurora MySQL version 3's).
fn reset_external_source(engine: &Engine) -> &'static str {
    match engine {
        Engine::AuroraMysql => {
            "CALL mysql.rds_reset_external_source (Aurora MySQL version 2: \
             mysql.rds_reset_external_master)"
        }
        Engine::Mariadb => "CALL mysql.rds_reset_external_master",
        _ => "CALL mysql.rds_reset_external_master (MySQL 8.4: mysql.rds_reset_external_source)",
    }
}

/// What to do about a blue that is a binlog replica of an external source.
pub fn external_replication_fix(engine: &Engine) -> String {
    let reset = reset_external_source(engine);
    let stop = if engine.is_aurora() {
        format!("CALL mysql.rds_stop_replication; {reset}")
    } else {
        format!(
            "CALL mysql.rds_stop_replication (self-managed: STOP REPLICA), and {reset} \
             (self-managed: RESET REPLICA ALL) once it is no longer needed"
        )
    };
    format!(
        "stop replicating into blue before the switchover: {stop}; or first switch the external \
         source over to blue (make blue the writer) and stop its replication, then run again"
    )
}

/// Blue as a binlog replica of an external source. RDS's switchover guardrails refuse a blue
/// that is an actively replicating external binlog replica (RDS User Guide, "Switchover
/// guardrails"); Aurora MySQL's limitations say blue can't be an external binlog replica at
/// all. So: a running channel fails (the precheck) or holds (`in_watch`: started since);
/// a configured but stopped one fails on Aurora MySQL and warns elsewhere (starting it
/// before the switchover would block it).
pub fn external_replication(f: &MysqlFacts, ctx: &Context, in_watch: bool) -> Check {
    const ID: &str = id::EXTERNAL_REPLICATION;
    let fix = external_replication_fix(&ctx.engine);
    let running: Vec<String> = f
        .replication
        .iter()
        .filter(|c| c.running())
        .map(|c| c.describe())
        .collect();
    let stopped: Vec<String> = f
        .replication
        .iter()
        .filter(|c| !c.running())
        .map(|c| c.describe())
        .collect();
    if !running.is_empty() {
        return Check::new(
            ID,
            Verdict::Fail,
            format!(
                "blue is actively replicating from an external source{}: {}; RDS refuses to \
                 switch over a blue that is an external binlog replica",
                if in_watch {
                    " (started since the precheck)"
                } else {
                    ""
                },
                list_some(&running, LIST_MAX)
            ),
            fix,
        );
    }
    if f.replication.is_empty() && f.replication_unreadable.is_some() && f.replication_threads > 0 {
        return Check::new(
            ID,
            Verdict::Fail,
            format!(
                "{} replication thread(s) run on blue (the replica status is not readable: {}); \
                 RDS refuses to switch over a blue that is an external binlog replica",
                f.replication_threads,
                f.replication_unreadable.as_deref().unwrap_or_default()
            ),
            format!(
                "{fix} (grant REPLICATION CLIENT, on MariaDB SLAVE MONITOR, to see the source)"
            ),
        );
    }
    if !stopped.is_empty() {
        let aurora = ctx.engine == Engine::AuroraMysql;
        return Check::new(
            ID,
            if aurora { Verdict::Fail } else { Verdict::Warn },
            format!(
                "blue is configured as a binlog replica, replication stopped: {}; {}",
                list_some(&stopped, LIST_MAX),
                if aurora {
                    "on Aurora MySQL blue can't be an external binlog replica"
                } else {
                    "starting it before the switchover would make RDS refuse the switchover"
                }
            ),
            if aurora {
                fix
            } else {
                format!(
                    "keep it stopped until the switchover, or remove it ({}; self-managed: \
                     RESET REPLICA ALL)",
                    reset_external_source(&ctx.engine)
                )
            },
        );
    }
    match &f.replication_unreadable {
        Some(why) => pass(
            ID,
            format!(
                "no replication thread runs on blue (the replica status itself is not readable: \
                 {why})"
            ),
        ),
        None => pass(ID, "blue is not a binlog replica of another server"),
    }
}

/// MySQL 8.4 no longer loads `mysql_native_password` by default (MySQL 8.4 release notes):
/// accounts still on it may not log in after an 8.0 -> 8.4 upgrade. MariaDB is not concerned:
/// `mysql_native_password` is its own default plugin and stays supported, so the rule is not
/// applied there.
fn my_native_password(f: &MysqlFacts, ctx: &Context) -> Option<Check> {
    const ID: &str = id::NATIVE_PASSWORD_USERS;
    if !matches!(ctx.engine, Engine::Mysql | Engine::AuroraMysql) {
        return None;
    }
    // Aurora MySQL's versions read `8.0.mysql_aurora.3.x` (8.0) and `8.4.x` (8.4).
    let before = crate::model::engine::compare_versions(&ctx.major(&ctx.source_version), "8.4");
    let after = crate::model::engine::compare_versions(&ctx.major(&ctx.target_version), "8.4");
    if before != std::cmp::Ordering::Less || after == std::cmp::Ordering::Less {
        return None;
    }
    const MOVE: &str = "move each to caching_sha2_password before the switchover (ALTER USER \
                        'u'@'h' IDENTIFIED WITH caching_sha2_password BY '...'; clients need TLS \
                        or the server's RSA key): MySQL 8.4 disables the plugin by default \
                        (MySQL 8.4 Reference Manual, Native Pluggable Authentication)";
    if let Some(why) = &f.native_password_unreadable {
        // Not readable is not "none": the upgrade may still lock accounts out.
        return Some(Check::new(
            ID,
            Verdict::Warn,
            format!(
                "the accounts' authentication plugins could not be read ({why}); MySQL 8.4 no \
                 longer enables mysql_native_password by default, so accounts on it may fail to \
                 log in after the upgrade"
            ),
            format!(
                "list them (SELECT user, host FROM mysql.user WHERE plugin = \
                 'mysql_native_password') as a user that may read mysql.user, or grant the \
                 check user SELECT on it and run again; {MOVE}"
            ),
        ));
    }
    if f.native_password_users.is_empty() {
        return Some(pass(
            ID,
            "no account authenticates with mysql_native_password",
        ));
    }
    Some(Check::new(
        ID,
        Verdict::Warn,
        format!(
            "{} account(s) still authenticate with mysql_native_password: {}; MySQL 8.4 no \
             longer enables that plugin by default, so they may fail to log in after the upgrade",
            f.native_password_users.len(),
            list_some(&f.native_password_users, LIST_MAX)
        ),
        MOVE,
    ))
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

/// How the in-database refusal names the databases it read (`refusal`).
pub const DATABASES_READ: &str = "in-database precheck, database(s) read: ";

/// The error of a `prepare` / `upgrade` the in-database precheck refuses: the report's
/// (`Report::failure_error`: every failed check, `[id] observed: fix`), naming the databases
/// read. The run document the worker filled is lost with the error (Step Functions keeps the
/// step's input), so the failure notification rebuilds `failed_checks` and `database` from
/// this message (`failed_checks_in_message`, `databases_in_message`).
pub fn refusal(
    report: &Report,
    db: &str,
    databases: &[String],
) -> crate::model::error::WorkerError {
    use crate::model::error::WorkerError;
    let error = report.failure_error(db);
    let WorkerError::PrecheckFailed(message) = &error else {
        return error;
    };
    let marker = format!(" precheck(s) failed for {db}");
    if !message.contains(&marker) {
        return error;
    }
    WorkerError::PrecheckFailed(message.replacen(
        &marker,
        &format!("{marker} ({DATABASES_READ}{})", list_some(databases, 50)),
        1,
    ))
}

/// The databases a refusal message names (`refusal`), if it names any.
pub fn databases_in_message(message: &str) -> Option<Vec<String>> {
    let start = message.find(DATABASES_READ)? + DATABASES_READ.len();
    let rest = &message[start..];
    let list = &rest[..rest.find("), nothing was changed")?];
    Some(
        list.split(", ")
            .map(|d| d.split(" and ").next().unwrap_or(d).to_string())
            .filter(|d| !d.is_empty())
            .collect(),
    )
}

/// The failed checks a `PrecheckFailed` message lists (`Report::failure_error`'s
/// `[id] observed: fix | ...`), for a failure notification whose run document lost them.
/// The message joins observed and fix with ": ", which either may contain too: an entry equal
/// to one of `known` (the run's report) is that check; otherwise the text is split at its
/// last ": " (fixes are imperative sentences, which rarely hold one). The ids are exact.
pub fn failed_checks_in_message(message: &str, known: &[Check]) -> Vec<Check> {
    const AFTER: &str = ", nothing was changed: ";
    let Some(start) = message.find(AFTER) else {
        return vec![];
    };
    let mut out: Vec<Check> = Vec::new();
    for entry in message[start + AFTER.len()..].split(" | ") {
        let Some(rest) = entry.strip_prefix('[') else {
            continue;
        };
        let Some((id, text)) = rest.split_once("] ") else {
            continue;
        };
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            continue;
        }
        if out.iter().any(|c| c.id == id) {
            continue;
        }
        let exact = known.iter().find(|c| {
            c.id == id && c.verdict == Verdict::Fail && format!("{}: {}", c.observed, c.fix) == text
        });
        out.push(match exact {
            Some(c) => c.clone(),
            None => match text.rsplit_once(": ") {
                Some((observed, fix)) => Check::new(id, Verdict::Fail, observed, fix),
                None => Check::new(id, Verdict::Fail, text, ""),
            },
        });
    }
    out
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
        assert_eq!(checks.len(), 12);
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
        let c = pg_tables_without_key(&f, &Context::default());
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
        assert_eq!(
            pg_extensions(&f, &Context::default()).verdict,
            Verdict::Warn
        );
        f.settings.insert(
            "shared_preload_libraries".into(),
            "pg_stat_statements,pg_partman_bgw".into(),
        );
        let c = pg_extensions(&f, &Context::default());
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.observed.contains("background worker"), "{}", c.observed);
        let mut f = clean();
        f.databases[1].extensions = vec![ext("pglogical")];
        assert_eq!(
            pg_extensions(&f, &Context::default()).verdict,
            Verdict::Fail
        );
        f.databases[1].extensions = vec![ext("pgactive")];
        assert_eq!(
            pg_extensions(&f, &Context::default()).verdict,
            Verdict::Fail
        );
        f.databases[1].extensions = vec![ext("pg_cron")];
        let c = pg_extensions(&f, &Context::default());
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
                .contains("max_replication_slots = 10, needs at least 13"),
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

    /// AWS Knowledge Center (rds-postgresql-blue-green-deployment-error): max_replication_slots
    /// must be HIGHER than the number of rows of pg_database, templates included.
    #[test]
    fn slots_must_be_higher_than_every_row_of_pg_database() {
        let mut f = clean();
        // template0, template1, rdsadmin, postgres + 6 databases: 10 rows, 7 replicated.
        f.database_rows = 10;
        f.database_names = (0..7).map(|i| format!("db{i}")).collect();
        let c = pg_databases_and_slots(&f, &Context::default());
        assert_eq!(c.verdict, Verdict::Fail, "10 slots for 10 rows: {c:?}");
        assert!(
            c.observed
                .contains("pg_database has 10 row(s) (templates included)")
                && c.observed
                    .contains("max_replication_slots = 10, needs at least 11"),
            "{}",
            c.observed
        );
        assert!(c.fix.contains("at least 11"), "{}", c.fix);
        f.settings
            .insert("max_replication_slots".into(), "11".into());
        f.settings
            .insert("max_logical_replication_workers".into(), "8".into());
        f.settings
            .insert("max_worker_processes".into(), "10".into());
        assert_eq!(
            pg_databases_and_slots(&f, &Context::default()).verdict,
            Verdict::Pass
        );
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
        assert_eq!(report.checks.len(), 13);
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
        assert_eq!(report.checks.len(), 13);
        assert_eq!(report.verdict, Verdict::Pass);
        assert!(report
            .failure_error("orders-pg")
            .to_string()
            .contains("0 precheck"));
    }

    #[test]
    fn unreadable_accounts_are_not_reported_as_none_on_mysql_native_password() {
        let rules = Context {
            engine: Engine::Mysql,
            source_version: "8.0.39".into(),
            target_version: "8.4.3".into(),
            ..Context::default()
        };
        let mut f = mysql();
        assert_eq!(
            verdict(&mysql_checks(&f, &rules), "native-password-users"),
            Verdict::Pass
        );
        f.native_password_unreadable =
            Some("mysql.user: SELECT command denied (error 1142)".into());
        let checks = mysql_checks(&f, &rules);
        let c = by_id(&checks, "native-password-users");
        assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
        assert!(c
            .observed
            .contains("could not be read (mysql.user: SELECT command denied"));
        assert!(c.fix.contains("caching_sha2_password"), "{}", c.fix);
    }

    #[test]
    fn the_external_replication_fix_names_each_engines_own_procedure() {
        let master = "CALL mysql.rds_reset_external_master";
        let source = "CALL mysql.rds_reset_external_source";
        let fix = external_replication_fix(&Engine::Mariadb);
        assert!(fix.contains(master) && !fix.contains("_source"), "{fix}");
        let fix = external_replication_fix(&Engine::Mysql);
        assert!(fix.contains(master) && fix.contains("MySQL 8.4: mysql.rds_reset_external_source"));
        let fix = external_replication_fix(&Engine::AuroraMysql);
        assert!(
            fix.contains(source) && fix.contains("CALL mysql.rds_stop_replication"),
            "{fix}"
        );
    }
}
