//! MySQL and MariaDB: one connection to the server sees every schema. TLS required and
//! verified (never the Unix socket, even on loopback), READ ONLY sessions, a statement time
//! limit (`max_execution_time` on MySQL, `max_statement_time` on MariaDB) on top of the
//! client-side bound.

use crate::failure::{connect_timed_out, from_mysql, Failure};
use crate::session::{Endpoint, Session};
use bluegreen_domain::database::access::AccessFailure;
use bluegreen_domain::database::facts::{MysqlFacts, OpenTransaction, ReplicaChannel};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row, SslOpts, Value};
use std::time::Duration;

const SYSTEM_SCHEMAS: &str = "('mysql', 'sys', 'information_schema', 'performance_schema')";

pub struct My {
    conn: Conn,
    timeout: Duration,
    pub is_mariadb: bool,
    pub version: String,
}

/// A column as text, whatever its wire type (`@@log_bin` is an integer, most are bytes).
fn text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn col(row: &Row, i: usize) -> Option<String> {
    text(row.get::<Value, _>(i))
}

/// The first of `names` that the row has, as text (SHOW statements name their columns
/// differently across MySQL and MariaDB versions: `Source_Host` / `Master_Host`).
fn named(row: &Row, names: &[&str]) -> Option<String> {
    let columns = row.columns_ref();
    names.iter().find_map(|name| {
        let i = columns
            .iter()
            .position(|c| c.name_str().eq_ignore_ascii_case(name))?;
        col(row, i)
    })
}

/// ER_PARSE_ERROR: an older server that does not know the newer spelling.
const PARSE_ERROR: u16 = 1064;

impl My {
    pub async fn rows(&mut self, sql: &str) -> Result<Vec<Row>, Failure> {
        match tokio::time::timeout(self.timeout, self.conn.query::<Row, _>(sql)).await {
            Ok(Ok(rows)) => Ok(rows),
            Ok(Err(e)) => Err(Failure::Access(from_mysql(&e))),
            Err(_) => Err(Failure::Access(AccessFailure::Other {
                detail: format!(
                    "no answer to a catalog query within {} s",
                    self.timeout.as_secs()
                ),
            })),
        }
    }

    /// The first column of the first row, or the server's error code when it refused.
    async fn scalar(&mut self, sql: &str) -> Result<Result<Option<String>, u16>, Failure> {
        match tokio::time::timeout(self.timeout, self.conn.query::<Row, _>(sql)).await {
            Ok(Ok(rows)) => Ok(Ok(rows.first().and_then(|r| col(r, 0)))),
            Ok(Err(mysql_async::Error::Server(s))) => Ok(Err(s.code)),
            Ok(Err(e)) => Err(Failure::Access(from_mysql(&e))),
            Err(_) => Err(Failure::Access(AccessFailure::Other {
                detail: format!("no answer within {} s", self.timeout.as_secs()),
            })),
        }
    }

    /// Rows, or the server's refusal (code and message): for statements a privilege or a
    /// version may refuse, where the refusal is itself the finding.
    async fn try_rows(&mut self, sql: &str) -> Result<Result<Vec<Row>, (u16, String)>, Failure> {
        match tokio::time::timeout(self.timeout, self.conn.query::<Row, _>(sql)).await {
            Ok(Ok(rows)) => Ok(Ok(rows)),
            Ok(Err(mysql_async::Error::Server(e))) => Ok(Err((e.code, e.message))),
            Ok(Err(e)) => Err(Failure::Access(from_mysql(&e))),
            Err(_) => Err(Failure::Access(AccessFailure::Other {
                detail: format!("no answer within {} s", self.timeout.as_secs()),
            })),
        }
    }

    async fn strings(&mut self, sql: &str) -> Result<Vec<String>, Failure> {
        Ok(self
            .rows(sql)
            .await?
            .iter()
            .filter_map(|r| col(r, 0))
            .collect())
    }

    async fn exec(&mut self, sql: &str) -> Result<(), Failure> {
        match tokio::time::timeout(self.timeout, self.conn.query_drop(sql)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Failure::Access(from_mysql(&e))),
            Err(_) => Err(Failure::Access(AccessFailure::Other {
                detail: format!("no answer within {} s", self.timeout.as_secs()),
            })),
        }
    }

    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.conn.disconnect()).await;
    }
}

pub async fn connect(ep: &Endpoint, s: &Session) -> Result<My, Failure> {
    let ssl = SslOpts::default()
        .with_root_certs(vec![s.trust.pem.as_ref().clone().into()])
        .with_disable_built_in_roots(true);
    let opts = OptsBuilder::default()
        .ip_or_hostname(ep.host.clone())
        .tcp_port(ep.port)
        .user(Some(s.login.username.clone()))
        .pass(Some(s.login.password.expose().to_string()))
        .db_name(None::<String>)
        .prefer_socket(false)
        .ssl_opts(ssl)
        .enable_cleartext_plugin(s.cleartext_auth)
        .stmt_cache_size(0);
    let conn = match tokio::time::timeout(s.connect_timeout, Conn::new(opts)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(Failure::Access(from_mysql(&e))),
        Err(_) => return Err(Failure::Access(connect_timed_out(&ep.address()))),
    };
    let mut my = My {
        conn,
        timeout: s.client_timeout(),
        is_mariadb: false,
        version: String::new(),
    };
    my.version = my
        .scalar("SELECT VERSION()")
        .await?
        .ok()
        .flatten()
        .unwrap_or_default();
    my.is_mariadb = my.version.to_ascii_lowercase().contains("mariadb");
    let limit = if my.is_mariadb {
        format!(
            "SET SESSION max_statement_time = {}",
            s.statement_timeout.as_secs()
        )
    } else {
        format!(
            "SET SESSION max_execution_time = {}",
            s.statement_timeout.as_millis()
        )
    };
    my.exec(&limit).await?;
    if s.read_only {
        my.exec("SET SESSION TRANSACTION READ ONLY").await?;
    }
    Ok(my)
}

/// Every fact the MySQL/MariaDB prechecks read. (Primary keys come from
/// `information_schema.STATISTICS`: MariaDB shows `TABLE_CONSTRAINTS` only to users with more
/// than SELECT on a table.) Without global SELECT and PROCESS, only the privileges are read.
pub async fn gather(ep: &Endpoint, s: &Session) -> Result<MysqlFacts, Failure> {
    let mut my = connect(ep, s).await?;
    let mut f = MysqlFacts {
        version: my.version.clone(),
        is_mariadb: my.is_mariadb,
        ..Default::default()
    };
    f.privileges = my
        .strings(
            "SELECT privilege_type FROM information_schema.user_privileges WHERE grantee = \
             CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
             SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
        )
        .await?;
    if !bluegreen_domain::database::prechecks::mysql_missing_privileges(&f).is_empty() {
        // Every other query would see only part of the server, or be refused: one finding.
        my.close().await;
        return Ok(f);
    }
    f.schemas = my
        .strings(&format!(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN \
             {SYSTEM_SCHEMAS} ORDER BY 1"
        ))
        .await?;
    f.tables_without_key = my
        .strings(&format!(
            "SELECT CONCAT(t.table_schema, '.', t.table_name) FROM information_schema.tables t \
             WHERE t.table_type = 'BASE TABLE' AND t.table_schema NOT IN {SYSTEM_SCHEMAS} \
             AND NOT EXISTS (SELECT 1 FROM information_schema.statistics k \
               WHERE k.table_schema = t.table_schema AND k.table_name = t.table_name \
               AND k.index_name = 'PRIMARY') ORDER BY 1"
        ))
        .await?;
    f.non_innodb_tables = my
        .rows(&format!(
            "SELECT CONCAT(table_schema, '.', table_name), engine FROM information_schema.tables \
             WHERE table_type = 'BASE TABLE' AND table_schema NOT IN {SYSTEM_SCHEMAS} \
             AND engine IS NOT NULL AND engine <> 'InnoDB' ORDER BY 1"
        ))
        .await?
        .iter()
        .filter_map(|r| Some((col(r, 0)?, col(r, 1).unwrap_or_default())))
        .collect();
    f.event_scheduler = my
        .scalar("SELECT @@event_scheduler")
        .await?
        .ok()
        .flatten()
        .unwrap_or_default();
    // mysql.event (MariaDB, MySQL 5.7) is readable with SELECT; information_schema.EVENTS
    // shows events only to holders of EVENT. MySQL 8 keeps events in its data dictionary.
    let events = match my
        .scalar("SELECT COUNT(*) FROM mysql.event WHERE status = 'ENABLED'")
        .await?
    {
        Ok(v) => v,
        Err(_) => my
            .scalar("SELECT COUNT(*) FROM information_schema.events WHERE status = 'ENABLED'")
            .await?
            .ok()
            .flatten(),
    };
    f.enabled_events = events.and_then(|v| v.parse().ok()).unwrap_or(0);
    f.log_bin = my
        .scalar("SELECT @@log_bin")
        .await?
        .ok()
        .flatten()
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("ON"));
    f.binlog_format = my
        .scalar("SELECT @@binlog_format")
        .await?
        .ok()
        .flatten()
        .unwrap_or_default();
    match my
        .scalar("SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention hours'")
        .await?
    {
        Ok(v) => {
            f.rds_configuration = true;
            f.binlog_retention_hours = v.and_then(|v| v.trim().parse().ok());
        }
        Err(_) => f.rds_configuration = false, // 1146 no such table: not RDS
    }
    f.binlog_expire_logs_seconds = match my.scalar("SELECT @@binlog_expire_logs_seconds").await? {
        Ok(v) => v.and_then(|v| v.parse().ok()),
        Err(_) => my
            .scalar("SELECT @@expire_logs_days")
            .await?
            .ok()
            .flatten()
            .and_then(|v| v.parse::<f64>().ok())
            .map(|d| (d * 86_400.0) as u64),
    };
    if f.is_mariadb {
        f.gtid_strict_mode = my
            .scalar("SELECT @@gtid_strict_mode")
            .await?
            .ok()
            .flatten()
            .map(|v| v == "1");
    } else {
        f.gtid_mode = my.scalar("SELECT @@gtid_mode").await?.ok().flatten();
    }
    f.transactions = my
        .rows(
            "SELECT t.trx_mysql_thread_id, p.db, p.user, \
             TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), t.trx_state \
             FROM information_schema.innodb_trx t \
             LEFT JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id \
             WHERE t.trx_mysql_thread_id <> CONNECTION_ID() ORDER BY t.trx_started LIMIT 100",
        )
        .await?
        .iter()
        .map(|r| OpenTransaction {
            pid: col(r, 0).and_then(|v| v.parse().ok()).unwrap_or(0),
            database: col(r, 1),
            user: col(r, 2),
            age_seconds: col(r, 3).and_then(|v| v.parse().ok()).unwrap_or(0),
            state: col(r, 4),
        })
        .collect();
    f.binlog_consumers = my
        .scalar(
            "SELECT COUNT(*) FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'",
        )
        .await?
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if f.schemas.iter().any(|s| s == "tmp") {
        f.tmp_schema_tables = Some(
            my.scalar(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'tmp' \
                 AND table_type = 'BASE TABLE'",
            )
            .await?
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        );
    }
    replica_status(&mut my, &mut f).await?;
    // Accounts AWS manages are left out. MariaDB's view of mysql.user has the column too;
    // the rule itself applies to MySQL only.
    f.native_password_users = match my
        .try_rows(
            "SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user \
             WHERE plugin = 'mysql_native_password' AND user NOT IN ('rdsadmin', \
             'rdsrepladmin', 'rdstopmgr', 'mysql.sys', 'mysql.session', 'mysql.infoschema', \
             'mariadb.sys') ORDER BY 1",
        )
        .await?
    {
        Ok(rows) => rows.iter().filter_map(|r| col(r, 0)).collect(),
        Err((code, message)) => {
            f.native_password_unreadable = Some(format!("mysql.user: {message} (error {code})"));
            vec![]
        }
    };
    my.close().await;
    Ok(f)
}

/// The server as a binlog replica (`f.replication`): `SHOW ALL REPLICAS STATUS` (MariaDB
/// 10.5.1+, every named connection), `SHOW REPLICA STATUS` (MySQL 8.0.22+, one row per
/// channel), or their older spellings. Refused for a privilege (MariaDB 10.5.9+ wants SLAVE
/// MONITOR, MySQL REPLICATION CLIENT): MySQL's performance_schema tables (global SELECT
/// reads them), else the replication threads in the process list (PROCESS).
pub async fn replica_status(my: &mut My, f: &mut MysqlFacts) -> Result<(), Failure> {
    let statements: &[&str] = if my.is_mariadb {
        &["SHOW ALL REPLICAS STATUS", "SHOW ALL SLAVES STATUS"]
    } else {
        &["SHOW REPLICA STATUS", "SHOW SLAVE STATUS"]
    };
    let mut refused = None;
    for sql in statements {
        match my.try_rows(sql).await? {
            Ok(rows) => {
                f.replication = rows
                    .iter()
                    .map(|r| ReplicaChannel {
                        channel: named(r, &["Channel_Name", "Connection_name"]).unwrap_or_default(),
                        source: format!(
                            "{}:{}",
                            named(r, &["Source_Host", "Master_Host"]).unwrap_or_default(),
                            named(r, &["Source_Port", "Master_Port"]).unwrap_or_default()
                        ),
                        io_running: named(r, &["Replica_IO_Running", "Slave_IO_Running"])
                            .unwrap_or_default(),
                        sql_running: named(r, &["Replica_SQL_Running", "Slave_SQL_Running"])
                            .unwrap_or_default(),
                        last_error: [named(r, &["Last_IO_Error"]), named(r, &["Last_SQL_Error"])]
                            .into_iter()
                            .flatten()
                            .find(|e| !e.is_empty()),
                    })
                    .collect();
                f.replication_unreadable = None;
                return Ok(());
            }
            Err((PARSE_ERROR, _)) => continue,
            Err((code, message)) => {
                refused = Some(format!("{sql}: {message} (error {code})"));
                break;
            }
        }
    }
    f.replication_unreadable = refused.or(Some("no SHOW REPLICA STATUS form answered".into()));
    if !my.is_mariadb {
        let state = |v: Option<String>| match v.as_deref() {
            Some("ON") => "Yes".to_string(),
            Some("CONNECTING") => "Connecting".to_string(),
            _ => "No".to_string(),
        };
        if let Ok(rows) = my
            .try_rows(
                "SELECT c.CHANNEL_NAME, c.HOST, c.PORT, s.SERVICE_STATE, a.SERVICE_STATE \
                 FROM performance_schema.replication_connection_configuration c \
                 LEFT JOIN performance_schema.replication_connection_status s \
                   ON s.CHANNEL_NAME = c.CHANNEL_NAME \
                 LEFT JOIN performance_schema.replication_applier_status a \
                   ON a.CHANNEL_NAME = c.CHANNEL_NAME",
            )
            .await?
        {
            f.replication = rows
                .iter()
                .map(|r| ReplicaChannel {
                    channel: col(r, 0).unwrap_or_default(),
                    source: format!(
                        "{}:{}",
                        col(r, 1).unwrap_or_default(),
                        col(r, 2).unwrap_or_default()
                    ),
                    io_running: state(col(r, 3)),
                    sql_running: state(col(r, 4)),
                    last_error: None,
                })
                .collect();
            f.replication_unreadable = None;
            return Ok(());
        }
    }
    f.replication_threads = my
        .scalar(
            "SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'system user' \
             AND (command LIKE 'Slave%' OR command LIKE 'Replica%' OR command = 'Connect')",
        )
        .await?
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(())
}

/// The replica status alone, for the watch before the switchover.
pub async fn replication_of(ep: &Endpoint, s: &Session) -> Result<MysqlFacts, Failure> {
    let mut my = connect(ep, s).await?;
    let mut f = MysqlFacts {
        version: my.version.clone(),
        is_mariadb: my.is_mariadb,
        ..Default::default()
    };
    replica_status(&mut my, &mut f).await?;
    my.close().await;
    Ok(f)
}

/// The smoke query in a READ ONLY transaction.
pub async fn smoke(
    ep: &Endpoint,
    s: &Session,
    query: &str,
) -> Result<Result<u64, String>, Failure> {
    let mut my = connect(ep, s).await?;
    my.exec("START TRANSACTION READ ONLY").await?;
    let answer = match tokio::time::timeout(my.timeout, my.conn.query::<Row, _>(query)).await {
        Ok(Ok(rows)) => Ok(rows.len() as u64),
        Ok(Err(mysql_async::Error::Server(e))) => Err(format!("{} (error {})", e.message, e.code)),
        Ok(Err(e)) => return Err(Failure::Access(from_mysql(&e))),
        Err(_) => Err(format!("no answer within {} s", my.timeout.as_secs())),
    };
    let _ = my.exec("ROLLBACK").await;
    my.close().await;
    Ok(answer)
}
