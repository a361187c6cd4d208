//! PostgreSQL: one connection per database visited (`pg_database` where `datallowconn` and
//! not a template; RDS's `rdsadmin` left out), TLS required and verified, the statement,
//! lock and idle-in-transaction timeouts set at connect, `default_transaction_read_only` on
//! every session but the ANALYZE on green's and the finish's (off, explicitly). The catalog queries here gather facts; the rules that
//! read them are in `bluegreen_domain::database`.

use crate::failure::{connect_timed_out, from_pg, Failure};
use crate::session::{Endpoint, Session};
use bluegreen_domain::database::access::AccessFailure;
use bluegreen_domain::database::facts::{
    CronFacts, Extension, ForeignServer, OpenTransaction, PgDatabaseFacts, PgFacts,
    PreparedTransaction, Slot,
};
use bluegreen_domain::database::fingerprint::{fingerprint, DatabaseFingerprint};
use bluegreen_domain::database::finish::{
    remaining_tables, update_statement, AnalyzeProgress, ExtensionVersion, NextAnalyze,
    SequenceValue,
};
use std::time::{Duration, Instant};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Row, SimpleQueryMessage};

/// The database every first connection goes to.
pub fn initial_database(ep: &Endpoint) -> String {
    ep.initial_database
        .clone()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "postgres".into())
}

/// An open session on one database.
pub struct Pg {
    pub client: Client,
    pub database: String,
    timeout: Duration,
}

impl Pg {
    /// Rows of a read query, within the client-side bound.
    pub async fn rows(&self, sql: &str) -> Result<Vec<Row>, Failure> {
        match tokio::time::timeout(self.timeout, self.client.query(sql, &[])).await {
            Ok(Ok(rows)) => Ok(rows),
            Ok(Err(e)) => Err(Failure::Access(from_pg(&e))),
            Err(_) => Err(Failure::Access(AccessFailure::Other {
                detail: format!(
                    "no answer to a catalog query on {} within {} s",
                    self.database,
                    self.timeout.as_secs()
                ),
            })),
        }
    }

    /// Rows, or the server's refusal (a missing privilege, an absent object) as its message:
    /// for the optional facts, where a refusal is itself the finding.
    pub async fn try_rows(&self, sql: &str) -> Result<Result<Vec<Row>, String>, Failure> {
        match tokio::time::timeout(self.timeout, self.client.query(sql, &[])).await {
            Ok(Ok(rows)) => Ok(Ok(rows)),
            Ok(Err(e)) if e.as_db_error().is_some() => Ok(Err(e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_default())),
            Ok(Err(e)) => Err(Failure::Access(from_pg(&e))),
            Err(_) => Err(Failure::Access(AccessFailure::Other {
                detail: format!(
                    "no answer to a catalog query on {} within {} s",
                    self.database,
                    self.timeout.as_secs()
                ),
            })),
        }
    }

    async fn count(&self, sql: &str) -> Result<u64, Failure> {
        Ok(self
            .rows(sql)
            .await?
            .first()
            .map_or(0, |r| r.get::<_, i64>(0))
            .max(0) as u64)
    }

    async fn strings(&self, sql: &str) -> Result<Vec<String>, Failure> {
        Ok(self
            .rows(sql)
            .await?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect())
    }
}

/// Opens a session on `database` of `ep`.
pub async fn connect(ep: &Endpoint, s: &Session, database: &str) -> Result<Pg, Failure> {
    let ms = s.statement_timeout.as_millis();
    let mut options = format!(
        "-c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={}",
        ms * 3
    );
    // Explicit both ways: a read-write session (ANALYZE on green, the finish) must not
    // inherit green's `default_transaction_read_only = on` (RDS sets it on green; a startup
    // option overrides the instance's and the database's settings, for this session only).
    if s.read_only {
        options.push_str(" -c default_transaction_read_only=on");
    } else {
        options.push_str(" -c default_transaction_read_only=off");
    }
    let mut config = tokio_postgres::Config::new();
    config
        .host(&ep.host)
        .port(ep.port)
        .user(&s.login.username)
        .password(s.login.password.expose())
        .dbname(database)
        .ssl_mode(SslMode::Require)
        .connect_timeout(s.connect_timeout)
        .application_name("rds-bluegreen")
        .options(&options);
    let started = Instant::now();
    let connecting = config.connect(s.trust.postgres());
    let (client, connection) = match tokio::time::timeout(s.connect_timeout, connecting).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => {
            let mut failure = from_pg(&e);
            if let AccessFailure::Permission { detail, .. } = &mut failure {
                detail.push_str(&format!(" (database {database})"));
            }
            return Err(Failure::Access(failure));
        }
        Err(_) => return Err(Failure::Access(connect_timed_out(&ep.address()))),
    };
    let db = database.to_string();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(database = %db, error = %e, "database connection ended");
        }
    });
    tracing::debug!(
        database,
        ms = started.elapsed().as_millis() as u64,
        "connected"
    );
    Ok(Pg {
        client,
        database: database.to_string(),
        timeout: s.client_timeout(),
    })
}

/// The databases to visit: those that accept connections, not templates, not left invalid
/// by an interrupted DROP DATABASE (`datconnlimit = -2`), not RDS's own `rdsadmin`.
pub async fn list_databases(pg: &Pg) -> Result<Vec<String>, Failure> {
    pg.strings(
        "SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate \
         AND datconnlimit <> -2 AND datname <> 'rdsadmin' ORDER BY 1",
    )
    .await
}

/// Visits every database: the first connection, then one per other database, each closed
/// before the next is opened.
async fn each_database<T, F, Fut>(
    ep: &Endpoint,
    s: &Session,
    first: Pg,
    databases: &[String],
    mut per_db: F,
) -> Result<Vec<T>, Failure>
where
    F: FnMut(Pg) -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let mut out = Vec::with_capacity(databases.len());
    let mut first = Some(first);
    for db in databases {
        let pg = match first.take_if(|p| &p.database == db) {
            Some(p) => p,
            None => connect(ep, s, db).await?,
        };
        out.push(per_db(pg).await?);
    }
    Ok(out)
}

const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

fn qualified(rel: &str) -> String {
    format!("quote_ident(n.nspname) || '.' || quote_ident({rel}.relname)")
}

async fn database_facts(pg: Pg) -> Result<PgDatabaseFacts, Failure> {
    let name = qualified("c");
    let tables_without_key = pg
        .strings(&format!(
            "SELECT {name} FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND {USER_SCHEMAS} \
             AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS \
               (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'))) \
             ORDER BY 1"
        ))
        .await?;
    let large_objects = pg
        .rows("SELECT count(*) FROM pg_largeobject_metadata")
        .await?
        .first()
        .map_or(0, |r| r.get::<_, i64>(0))
        .max(0) as u64;
    let unlogged_tables = pg
        .strings(&format!(
            "SELECT {name} FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'u' AND {USER_SCHEMAS} ORDER BY 1"
        ))
        .await?;
    let materialized_views = pg
        .strings(&format!(
            "SELECT {name} FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'm' AND {USER_SCHEMAS} ORDER BY 1"
        ))
        .await?;
    let extensions = pg
        .rows("SELECT extname::text, extversion FROM pg_extension ORDER BY 1")
        .await?
        .iter()
        .map(|r| Extension {
            name: r.get(0),
            version: r.get(1),
        })
        .collect();
    // What a blue/green deployment creates is RDS's, owned by its `rdsadmin`; the rest is
    // the user's (CDC), which RDS's switchover guardrails refuse.
    let publications = pg
        .strings(
            "SELECT pubname::text FROM pg_publication \
             WHERE pg_get_userbyid(pubowner) <> 'rdsadmin' ORDER BY 1",
        )
        .await?;
    let subscriptions = pg
        .strings(
            "SELECT subname::text FROM pg_subscription WHERE subdbid = \
             (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1",
        )
        .await?;
    let sequences = pg
        .count(&format!(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'S' AND {USER_SCHEMAS}"
        ))
        .await?;
    let foreign_servers = pg
        .rows(
            "SELECT s.srvname::text, w.fdwname::text, (SELECT option_value FROM \
             pg_options_to_table(s.srvoptions) WHERE option_name = 'host') \
             FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw \
             ORDER BY 1",
        )
        .await?
        .iter()
        .map(|r| ForeignServer {
            name: r.get(0),
            wrapper: r.get(1),
            host: r.get(2),
        })
        .collect();
    let cron = cron_facts(&pg).await?;
    Ok(PgDatabaseFacts {
        name: pg.database.clone(),
        tables_without_key,
        large_objects,
        unlogged_tables,
        materialized_views,
        extensions,
        publications,
        subscriptions,
        sequences,
        foreign_servers,
        cron,
    })
}

/// pg_cron's jobs that refresh a materialized view, where `cron.job` exists (the database
/// named by `cron.database_name`). Its row security shows a user only its own jobs unless
/// it is a superuser or bypasses row security: said in `caveat`.
async fn cron_facts(pg: &Pg) -> Result<Option<CronFacts>, Failure> {
    let exists = pg
        // Not to_regclass: it needs USAGE on the schema, which pg_cron does not grant.
        .rows(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'cron' AND c.relname = 'job' AND c.relkind = 'r')",
        )
        .await?
        .first()
        .is_some_and(|r| r.get::<_, bool>(0));
    if !exists {
        return Ok(None);
    }
    let sees_all = pg
        .rows("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        .await?
        .first()
        .is_some_and(|r| r.get::<_, bool>(0));
    let user = pg
        .rows("SELECT current_user::text")
        .await?
        .first()
        .map(|r| r.get::<_, String>(0))
        .unwrap_or_default();
    // `jobname` and `database` came with pg_cron 1.3 and 1.4: read through to_jsonb.
    let listed = pg
        .try_rows(
            "SELECT jobid::bigint, to_jsonb(j)->>'jobname', schedule, command, \
             to_jsonb(j)->>'database', username::text FROM cron.job j \
             WHERE command ~* 'refresh\\s+materialized\\s+view' ORDER BY jobid",
        )
        .await?;
    Ok(Some(match listed {
        Ok(rows) => CronFacts {
            refreshes: rows
                .iter()
                .map(|r| {
                    let name: Option<String> = r.get(1);
                    let database: Option<String> = r.get(4);
                    format!(
                        "job {}{} ({}) of {} on {}: {}",
                        r.get::<_, i64>(0),
                        name.map(|n| format!(" \"{n}\"")).unwrap_or_default(),
                        r.get::<_, String>(2),
                        r.get::<_, String>(5),
                        database.unwrap_or_else(|| pg.database.clone()),
                        r.get::<_, String>(3).trim()
                    )
                })
                .collect(),
            caveat: (!sees_all).then(|| {
                format!(
                    "pg_cron shows {user} only its own jobs: use a login that sees every job to \
                     be sure none refreshes one"
                )
            }),
        },
        Err(why) => CronFacts {
            refreshes: vec![],
            caveat: Some(format!(
                "pg_cron's jobs are not readable by {user} ({why}): check cron.job for \
                 REFRESH MATERIALIZED VIEW by hand"
            )),
        },
    }))
}

/// The logical and physical slots on the server, with their lag in bytes.
pub async fn slots(pg: &Pg) -> Result<Vec<Slot>, Failure> {
    Ok(pg
        .rows(
            "SELECT slot_name::text, slot_type, database::text, plugin::text, active, \
             (CASE WHEN slot_type = 'logical' \
                THEN pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) \
                ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END)::bigint \
             FROM pg_replication_slots ORDER BY 1",
        )
        .await?
        .iter()
        .map(|r| Slot {
            name: r.get(0),
            slot_type: r.get(1),
            database: r.get(2),
            plugin: r.get(3),
            active: r.get(4),
            lag_bytes: r.get(5),
        })
        .collect())
}

async fn instance_facts(pg: &Pg, facts: &mut PgFacts) -> Result<(), Failure> {
    facts.server_version_num = pg
        .rows("SELECT current_setting('server_version_num')::int")
        .await?
        .first()
        .map_or(0, |r| r.get::<_, i32>(0).max(0) as u32);
    for r in pg
        .rows(
            "SELECT name::text, setting FROM pg_settings WHERE name IN ('max_replication_slots', \
             'max_wal_senders', 'max_logical_replication_workers', 'max_worker_processes', \
             'shared_preload_libraries', 'wal_level', 'max_prepared_transactions', \
             'rds.logically_replicate_unlogged_tables')",
        )
        .await?
    {
        facts.settings.insert(r.get(0), r.get(1));
    }
    facts.database_rows = pg.count("SELECT count(*) FROM pg_database").await? as i64;
    facts.slots = slots(pg).await?;
    facts.transactions = pg
        .rows(
            "SELECT pid::bigint, datname::text, usename::text, \
             EXTRACT(EPOCH FROM clock_timestamp() - xact_start)::bigint, state \
             FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() \
             AND backend_type = 'client backend' ORDER BY xact_start LIMIT 100",
        )
        .await?
        .iter()
        .map(|r| OpenTransaction {
            pid: r.get(0),
            database: r.get(1),
            user: r.get(2),
            age_seconds: r.get::<_, Option<i64>>(3).unwrap_or(0),
            state: r.get(4),
        })
        .collect();
    facts.prepared = pg
        .rows(
            "SELECT gid, database::text, EXTRACT(EPOCH FROM clock_timestamp() - prepared)::bigint \
             FROM pg_prepared_xacts ORDER BY prepared LIMIT 100",
        )
        .await?
        .iter()
        .map(|r| PreparedTransaction {
            gid: r.get(0),
            database: r.get(1),
            age_seconds: r.get::<_, Option<i64>>(2).unwrap_or(0),
        })
        .collect();
    facts.sees_all_activity = pg
        .rows("SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')")
        .await?
        .first()
        .is_some_and(|r| r.get::<_, bool>(0));
    Ok(())
}

/// Every fact the PostgreSQL prechecks read, from every database.
pub async fn gather(ep: &Endpoint, s: &Session) -> Result<PgFacts, Failure> {
    let first = connect(ep, s, &initial_database(ep)).await?;
    let mut facts = PgFacts::default();
    instance_facts(&first, &mut facts).await?;
    facts.database_names = list_databases(&first).await?;
    let names = facts.database_names.clone();
    facts.databases = each_database(ep, s, first, &names, database_facts).await?;
    Ok(facts)
}

/// One line per schema object, portable across major versions (see
/// `bluegreen_domain::database::fingerprint`). Objects that belong to an extension are left out.
/// Then the privileges (DCL is not replicated): one `acl` line per grantee and privilege of
/// each relation, schema and function (MAINTAIN, new in PostgreSQL 17, left out so blue and a
/// newer green compare), one `role` line per role with its attributes (never its password,
/// nor its expiry), one `member` line per membership; PostgreSQL's `pg_*` and RDS's own roles
/// (`rdsadmin`, `rds_*`, ...) left out: each major version and RDS change those themselves.
const SCHEMA_LINES: &str = r#"
WITH rels AS (
  SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relacl, n.nspname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND {USER_SCHEMAS}
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                    AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT 'schema ' || n.nspname FROM pg_namespace n WHERE {USER_SCHEMAS}
UNION ALL
SELECT 'extension ' || extname FROM pg_extension
UNION ALL
SELECT 'relation ' || nspname || '.' || relname || ' ' || relkind::text || ' ' || relpersistence::text FROM rels
UNION ALL
SELECT 'column ' || r.nspname || '.' || r.relname || '.' || a.attname || ' '
       || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid
WHERE a.attnum > 0 AND NOT a.attisdropped AND r.relkind <> 'S'
UNION ALL
SELECT 'constraint ' || r.nspname || '.' || r.relname || '.' || k.conname || ' ' || k.contype::text || ' '
       || coalesce(array_to_string(ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
            JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o), ','), '')
FROM pg_constraint k JOIN rels r ON r.oid = k.conrelid
UNION ALL
SELECT 'index ' || r.nspname || '.' || r.relname || '.' || i.relname
       || CASE WHEN x.indisunique THEN ' unique ' ELSE ' ' END
       || coalesce(array_to_string(ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY u(n, o)
            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o), ','), '')
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN rels r ON r.oid = x.indrelid
UNION ALL
SELECT 'trigger ' || r.nspname || '.' || r.relname || '.' || t.tgname
FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {USER_SCHEMAS} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                     AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'type ' || n.nspname || '.' || t.typname || ' ' || t.typtype::text
       || coalesce(' ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                           FROM pg_enum e WHERE e.enumtypid = t.oid), '')
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd', 'r', 'm') AND {USER_SCHEMAS}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
UNION ALL
SELECT 'acl relation ' || r.nspname || '.' || r.relname || ' ' || coalesce(g.rolname::text, 'PUBLIC')
       || ' ' || a.privilege_type || CASE WHEN a.is_grantable THEN ' grantable' ELSE '' END
FROM rels r CROSS JOIN LATERAL aclexplode(r.relacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE a.privilege_type <> 'MAINTAIN'
UNION ALL
SELECT 'acl schema ' || n.nspname || ' ' || coalesce(g.rolname::text, 'PUBLIC')
       || ' ' || a.privilege_type || CASE WHEN a.is_grantable THEN ' grantable' ELSE '' END
FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE {USER_SCHEMAS}
UNION ALL
SELECT 'acl function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid)
       || ') ' || coalesce(g.rolname::text, 'PUBLIC') || ' ' || a.privilege_type
       || CASE WHEN a.is_grantable THEN ' grantable' ELSE '' END
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  CROSS JOIN LATERAL aclexplode(p.proacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE {USER_SCHEMAS} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                     AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'role ' || rolname || ' '
       || concat_ws(',', CASE WHEN rolsuper THEN 'superuser' END, CASE WHEN rolinherit THEN 'inherit' END,
                    CASE WHEN rolcreaterole THEN 'createrole' END, CASE WHEN rolcreatedb THEN 'createdb' END,
                    CASE WHEN rolcanlogin THEN 'login' END, CASE WHEN rolreplication THEN 'replication' END,
                    CASE WHEN rolbypassrls THEN 'bypassrls' END)
       || ' connlimit ' || rolconnlimit
FROM pg_roles WHERE {USER_ROLES}
UNION ALL
SELECT 'member ' || m.rolname || ' in ' || g.rolname || CASE WHEN a.admin_option THEN ' admin' ELSE '' END
FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
WHERE {USER_MEMBERS}
"#;

/// Roles of the user's own: not PostgreSQL's predefined `pg_*` ones, not RDS's.
const USER_ROLES: &str = "rolname !~ '^(pg_|rds_)' \
     AND rolname NOT IN ('rdsadmin', 'rdsrepladmin', 'rdstopmgr', 'rdsproxyadmin')";

async fn database_fingerprint(pg: Pg) -> Result<DatabaseFingerprint, Failure> {
    database_fingerprint_of(&pg).await
}

async fn database_fingerprint_of(pg: &Pg) -> Result<DatabaseFingerprint, Failure> {
    let sql = SCHEMA_LINES
        .replace("{USER_SCHEMAS}", USER_SCHEMAS)
        .replace("{USER_ROLES}", USER_ROLES)
        .replace(
            "{USER_MEMBERS}",
            &USER_ROLES.replace("rolname", "m.rolname"),
        );
    let lines = pg.strings(&sql).await?;
    Ok(fingerprint(&pg.database, &lines))
}

/// The schema fingerprint of every database.
pub async fn fingerprints(ep: &Endpoint, s: &Session) -> Result<Vec<DatabaseFingerprint>, Failure> {
    let first = connect(ep, s, &initial_database(ep)).await?;
    let names = list_databases(&first).await?;
    each_database(ep, s, first, &names, database_fingerprint).await
}

/// What the watch reads on blue, one visit per database: the schema fingerprint, the
/// publications not owned by RDS (`database`, `publication`), and the subscriptions
/// (`database`, `subscription`; `pg_subscription` is shared: read once).
pub struct WatchFacts {
    pub fingerprints: Vec<DatabaseFingerprint>,
    pub publications: Vec<(String, String)>,
    pub subscriptions: Vec<(String, String)>,
}

pub async fn watch_facts(ep: &Endpoint, s: &Session) -> Result<WatchFacts, Failure> {
    let first = connect(ep, s, &initial_database(ep)).await?;
    let names = list_databases(&first).await?;
    let subscriptions = pairs(
        &first,
        "SELECT d.datname::text, s.subname::text FROM pg_subscription s \
         JOIN pg_database d ON d.oid = s.subdbid ORDER BY 1, 2",
    )
    .await?;
    let per_db = each_database(ep, s, first, &names, |pg| async move {
        let fp = database_fingerprint_of(&pg).await?;
        let pubs = pg
            .strings(
                "SELECT pubname::text FROM pg_publication \
                 WHERE pg_get_userbyid(pubowner) <> 'rdsadmin' ORDER BY 1",
            )
            .await?;
        Ok((fp, pubs))
    })
    .await?;
    let mut facts = WatchFacts {
        fingerprints: vec![],
        publications: vec![],
        subscriptions,
    };
    for (fp, pubs) in per_db {
        for p in pubs {
            facts.publications.push((fp.database.clone(), p));
        }
        facts.fingerprints.push(fp);
    }
    Ok(facts)
}

/// The publications green's subscriptions name (`database`, `publication`): those of blue
/// are the deployment's own, whoever owns them.
pub async fn subscribed_publications(
    ep: &Endpoint,
    s: &Session,
) -> Result<Vec<(String, String)>, Failure> {
    let first = connect(ep, s, &initial_database(ep)).await?;
    pairs(
        &first,
        "SELECT d.datname::text, p::text FROM pg_subscription s \
         JOIN pg_database d ON d.oid = s.subdbid CROSS JOIN LATERAL unnest(s.subpublications) p \
         ORDER BY 1, 2",
    )
    .await
}

async fn pairs(pg: &Pg, sql: &str) -> Result<Vec<(String, String)>, Failure> {
    Ok(pg
        .rows(sql)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The slots on `ep`, over one connection.
pub async fn slots_of(ep: &Endpoint, s: &Session) -> Result<Vec<Slot>, Failure> {
    let first = connect(ep, s, &initial_database(ep)).await?;
    slots(&first).await
}

/// ANALYZE table by table, resuming where `progress` stopped, until every database is done
/// or `budget` is spent (at least one table per call, so every call makes progress).
pub async fn analyze(
    ep: &Endpoint,
    s: &Session,
    progress: &mut AnalyzeProgress,
    budget: Duration,
) -> Result<(), Failure> {
    let started = Instant::now();
    progress.invocations += 1;
    if !progress.listed {
        let first = connect(ep, s, &initial_database(ep)).await?;
        progress.list(list_databases(&first).await?);
    }
    let mut analyzed_this_call = 0u64;
    loop {
        let NextAnalyze::Database { name, after } = progress.next() else {
            return Ok(());
        };
        let pg = match connect(ep, s, &name).await {
            Err(Failure::Access(AccessFailure::Permission { detail, .. })) => {
                progress.table_skipped(&name, "*", &format!("cannot connect: {detail}"));
                progress.database_done(&name);
                continue;
            }
            other => other?,
        };
        let pg17 = pg
            .rows("SELECT current_setting('server_version_num')::int >= 170000")
            .await?
            .first()
            .is_some_and(|r| r.get::<_, bool>(0));
        let maintain = if pg17 {
            " OR has_table_privilege(c.oid, 'MAINTAIN')"
        } else {
            ""
        };
        let rows = pg
            .rows(&format!(
                "SELECT {}, (pg_has_role(c.relowner, 'USAGE') OR pg_has_role(d.datdba, 'USAGE'){maintain}) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_database d ON d.datname = current_database() \
                 WHERE c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't' AND {USER_SCHEMAS}",
                qualified("c")
            ))
            .await?;
        let allowed: std::collections::BTreeMap<String, bool> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let tables: Vec<String> = allowed.keys().cloned().collect();
        for table in remaining_tables(&tables, after.as_deref()) {
            let elapsed = started.elapsed();
            if analyzed_this_call > 0 && elapsed >= budget {
                return Ok(());
            }
            if !allowed[table] {
                progress.table_skipped(&name, table, "not the owner (grant rds_superuser)");
                continue;
            }
            let left = budget.saturating_sub(elapsed).max(Duration::from_secs(1));
            let sql = format!(
                "SET statement_timeout = {}; ANALYZE {table}",
                left.as_millis()
            );
            match tokio::time::timeout(left + Duration::from_secs(2), pg.client.simple_query(&sql))
                .await
            {
                Ok(Ok(_)) => progress.table_done(&name, table),
                Ok(Err(e)) if e.as_db_error().is_some() => {
                    let why = e
                        .as_db_error()
                        .map(|d| d.message().to_string())
                        .unwrap_or_default();
                    progress.table_skipped(&name, table, &why);
                }
                Ok(Err(e)) => return Err(Failure::Access(from_pg(&e))),
                Err(_) => progress.table_skipped(&name, table, "no answer within the budget"),
            }
            analyzed_this_call += 1;
        }
        progress.database_done(&name);
    }
}

/// Every installed extension with the server's default version of it, per database.
pub async fn extension_versions(
    ep: &Endpoint,
    s: &Session,
) -> Result<Vec<ExtensionVersion>, Failure> {
    let first = connect(ep, s, &initial_database(ep)).await?;
    let names = list_databases(&first).await?;
    let per_db = each_database(ep, s, first, &names, |pg| async move {
        Ok(pg
            .rows(
                "SELECT name::text, installed_version, default_version FROM pg_available_extensions \
                 WHERE installed_version IS NOT NULL AND default_version IS NOT NULL ORDER BY 1",
            )
            .await?
            .iter()
            .map(|r| ExtensionVersion {
                database: pg.database.clone(),
                name: r.get(0),
                installed: r.get(1),
                default: r.get(2),
                updated: false,
                error: None,
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(per_db.into_iter().flatten().collect())
}

/// `ALTER EXTENSION ... UPDATE` for each, in its database; records the outcome on each.
pub async fn update_extensions(
    ep: &Endpoint,
    s: &Session,
    extensions: &mut [ExtensionVersion],
) -> Result<(), Failure> {
    let mut databases: Vec<String> = extensions.iter().map(|e| e.database.clone()).collect();
    databases.dedup();
    for db in databases {
        let pg = connect(ep, s, &db).await?;
        for e in extensions.iter_mut().filter(|e| e.database == db) {
            match tokio::time::timeout(
                s.client_timeout(),
                pg.client.simple_query(&update_statement(e)),
            )
            .await
            {
                Ok(Ok(_)) => e.updated = true,
                Ok(Err(err)) => {
                    e.error = Some(
                        err.as_db_error()
                            .map(|d| d.message().to_string())
                            .unwrap_or_else(|| err.to_string()),
                    )
                }
                Err(_) => e.error = Some("no answer within the statement timeout".into()),
            }
        }
    }
    Ok(())
}

/// Every sequence's `last_value`, per database.
pub async fn sequences(ep: &Endpoint, s: &Session) -> Result<Vec<SequenceValue>, Failure> {
    let first = connect(ep, s, &initial_database(ep)).await?;
    let names = list_databases(&first).await?;
    let per_db = each_database(ep, s, first, &names, |pg| async move {
        Ok(pg
            .rows(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value \
                 FROM pg_sequences ORDER BY 1",
            )
            .await?
            .iter()
            .map(|r| SequenceValue {
                database: pg.database.clone(),
                name: r.get(0),
                last_value: r.get(1),
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(per_db.into_iter().flatten().collect())
}

/// The smoke query in a READ ONLY transaction on the initial database: `Ok(rows)` or the
/// server's refusal; `Err` only when the session itself fails.
pub async fn smoke(
    ep: &Endpoint,
    s: &Session,
    query: &str,
) -> Result<Result<u64, String>, Failure> {
    let mut pg = connect(ep, s, &initial_database(ep)).await?;
    let timeout = s.client_timeout();
    let tx = match pg.client.build_transaction().read_only(true).start().await {
        Ok(tx) => tx,
        Err(e) => return Err(Failure::Access(from_pg(&e))),
    };
    let answer = match tokio::time::timeout(timeout, tx.simple_query(query)).await {
        Ok(Ok(messages)) => Ok(messages
            .iter()
            .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
            .count() as u64),
        Ok(Err(e)) => Err(e
            .as_db_error()
            .map(|d| d.message().to_string())
            .unwrap_or_else(|| e.to_string())),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    };
    let _ = tx.rollback().await;
    drop(pg.client);
    pg.database.clear();
    Ok(answer)
}
