//! MariaDB 10.11 (Debian's), a real server started by tests/db/servers.py: the MySQL-family
//! prechecks seeded with their problems, and the read-only smoke query.

mod common;

use bluegreen_domain::database::prechecks::{
    external_replication, mysql_checks, mysql_missing_privileges, Context,
};
use bluegreen_domain::model::check::{Check, Verdict};
use bluegreen_domain::model::engine::Engine;
use bluegreen_sql::mysql;
use common::{servers, turn, Server};
use std::time::{Duration, Instant};

fn by_id<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {checks:#?}"))
}

async fn reset(admin: &mut mysql::My) {
    let schemas: Vec<String> = admin
        .rows("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 't\\_%'")
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0).unwrap())
        .collect();
    for s in schemas {
        admin.rows(&format!("DROP DATABASE `{s}`")).await.unwrap();
    }
    admin.rows("DROP DATABASE IF EXISTS tmp").await.unwrap();
    let users: Vec<String> = admin
        .rows(
            "SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user WHERE user LIKE 't\\_%'",
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0).unwrap())
        .collect();
    for u in users {
        admin.rows(&format!("DROP USER {u}")).await.unwrap();
    }
    // A replica a test started (the second server): its dump thread on this one.
    let dumps: Vec<u64> = admin
        .rows("SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'")
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<u64, _>(0).unwrap())
        .collect();
    for id in dumps {
        let _ = admin.rows(&format!("KILL {id}")).await; // it may have ended meanwhile
    }
    admin
        .rows("SET GLOBAL event_scheduler = OFF")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_mariadb_source_with_myisam_and_tables_without_a_key_is_reported() {
    let Some(s) = servers("a_mariadb_source_with_myisam_and_tables_without_a_key_is_reported")
    else {
        return;
    };
    let _turn = turn().await;
    let mut admin = s.maria_admin().await;
    reset(&mut admin).await;
    for sql in [
        "CREATE DATABASE t_shop",
        "CREATE TABLE t_shop.orders (id bigint AUTO_INCREMENT PRIMARY KEY, sku varchar(20)) ENGINE=InnoDB",
        "CREATE TABLE t_shop.legacy (id int PRIMARY KEY) ENGINE=MyISAM",
        "CREATE TABLE t_shop.audit (at datetime, msg text) ENGINE=InnoDB",
        "CREATE TABLE t_shop.log (line text) ENGINE=MyISAM",
        "SET GLOBAL event_scheduler = ON",
        "CREATE EVENT t_shop.nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM t_shop.audit",
    ] {
        admin.rows(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
    let ep = s.endpoint(Server::Maria, "blue");
    let facts = mysql::gather(&ep, &s.session(Server::Maria, "bluegreen_check", true))
        .await
        .expect("facts");
    assert!(facts.is_mariadb, "{}", facts.version);
    assert!(
        mysql_missing_privileges(&facts).is_empty(),
        "{:?}",
        facts.privileges
    );
    let checks = mysql_checks(&facts, &Context::default());
    let c = by_id(&checks, "tables-without-primary-key");
    assert_eq!(c.verdict, Verdict::Warn);
    assert!(
        c.observed.contains("t_shop.audit") && c.observed.contains("t_shop.log"),
        "{}",
        c.observed
    );
    assert!(!c.observed.contains("t_shop.orders"), "{}", c.observed);
    let c = by_id(&checks, "non-innodb-tables");
    assert_eq!(c.verdict, Verdict::Warn);
    assert!(
        c.observed.contains("t_shop.legacy (MyISAM)"),
        "{}",
        c.observed
    );
    let c = by_id(&checks, "event-scheduler");
    assert_eq!(c.verdict, Verdict::Warn);
    assert!(c.observed.contains("1 enabled event"), "{}", c.observed);
    let c = by_id(&checks, "binlog-retention");
    assert_eq!(c.verdict, Verdict::Warn, "3600 s of binlogs: {c:?}");
    assert!(c.observed.contains("binlog_format = ROW"), "{}", c.observed);
    let c = by_id(&checks, "gtid-mode");
    assert_eq!(c.verdict, Verdict::Pass);
    assert!(c.observed.contains("MariaDB GTIDs"), "{}", c.observed);
    assert_eq!(by_id(&checks, "binlog-consumers").verdict, Verdict::Pass);
    assert_eq!(
        by_id(&checks, "long-running-transactions").verdict,
        Verdict::Pass
    );

    // MEMORY tables start empty on green: that one fails.
    admin
        .rows("CREATE TABLE t_shop.sessions (id int PRIMARY KEY) ENGINE=MEMORY")
        .await
        .unwrap();
    let facts = mysql::gather(&ep, &s.session(Server::Maria, "bluegreen_check", true))
        .await
        .unwrap();
    assert_eq!(
        by_id(
            &mysql_checks(&facts, &Context::default()),
            "non-innodb-tables"
        )
        .verdict,
        Verdict::Fail
    );
    reset(&mut admin).await;
    admin.close().await;
}

#[tokio::test]
async fn a_user_without_grants_is_one_clear_finding() {
    let Some(s) = servers("a_user_without_grants_is_one_clear_finding") else {
        return;
    };
    let ep = s.endpoint(Server::Maria, "blue");
    let facts = mysql::gather(&ep, &s.session(Server::Maria, "nogrants", true))
        .await
        .expect("it may log in");
    assert_eq!(mysql_missing_privileges(&facts), ["SELECT", "PROCESS"]);
}

#[tokio::test]
async fn the_smoke_query_runs_read_only_and_a_write_is_refused() {
    let Some(s) = servers("the_smoke_query_runs_read_only_and_a_write_is_refused") else {
        return;
    };
    let _turn = turn().await;
    let mut admin = s.maria_admin().await;
    reset(&mut admin).await;
    admin.rows("CREATE DATABASE t_smoke").await.unwrap();
    admin
        .rows("CREATE TABLE t_smoke.t (id int PRIMARY KEY) ENGINE=InnoDB")
        .await
        .unwrap();
    let ep = s.endpoint(Server::Maria, "the new production");
    let session = s.session(Server::Maria, "bluegreen_admin", false);
    assert_eq!(
        mysql::smoke(&ep, &session, "SELECT 1").await.unwrap(),
        Ok(1)
    );
    let answer = mysql::smoke(&ep, &session, "INSERT INTO t_smoke.t VALUES (1)")
        .await
        .unwrap();
    assert!(
        answer.as_ref().is_err_and(|e| e.contains("READ ONLY")),
        "{answer:?}"
    );
    let rows = admin.rows("SELECT COUNT(*) FROM t_smoke.t").await.unwrap();
    assert_eq!(rows[0].get::<i64, _>(0), Some(0), "nothing was written");
    reset(&mut admin).await;
    admin.close().await;
}

fn ctx(engine: Engine, source: &str, target: &str) -> Context {
    Context {
        engine,
        source_version: source.into(),
        target_version: target.into(),
        ..Context::default()
    }
}

async fn run_all(my: &mut mysql::My, sqls: &[&str]) {
    for sql in sqls {
        my.rows(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
}

/// Aurora User Guide, blue/green limitations for Aurora MySQL: "Databases with this name
/// [tmp] will not be copied to the green environment." MariaDB stands in for Aurora MySQL:
/// the rule keys on the source's engine in the rules' context. RDS for MySQL and MariaDB have
/// no such limitation documented: there the rule does not apply and nothing refuses.
#[tokio::test]
async fn a_database_named_tmp_is_refused_on_aurora_mysql_only() {
    let Some(s) = servers("a_database_named_tmp_is_refused_on_aurora_mysql_only") else {
        return;
    };
    let _turn = turn().await;
    let mut admin = s.maria_admin().await;
    reset(&mut admin).await;
    let ep = s.endpoint(Server::Maria, "blue");
    let session = s.session(Server::Maria, "bluegreen_check", true);
    let aurora = ctx(
        Engine::AuroraMysql,
        "8.0.mysql_aurora.3.08.0",
        "8.0.mysql_aurora.3.09.0",
    );

    let facts = mysql::gather(&ep, &session).await.expect("facts");
    assert_eq!(facts.tmp_schema_tables, None);
    let c = by_id(&mysql_checks(&facts, &aurora), "tmp-database").clone();
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert!(
        c.observed.contains("no database named tmp"),
        "{}",
        c.observed
    );

    run_all(
        &mut admin,
        &[
            "CREATE DATABASE tmp",
            "CREATE TABLE tmp.scratch (id int PRIMARY KEY) ENGINE=InnoDB",
            "CREATE TABLE tmp.imports (id int PRIMARY KEY, line text) ENGINE=InnoDB",
            "CREATE VIEW tmp.recent AS SELECT id FROM tmp.imports",
        ],
    )
    .await;
    let facts = mysql::gather(&ep, &session).await.expect("facts");
    assert!(
        facts.schemas.iter().any(|n| n == "tmp"),
        "{:?}",
        facts.schemas
    );
    assert_eq!(facts.tmp_schema_tables, Some(2), "base tables only");
    let checks = mysql_checks(&facts, &aurora);
    let c = by_id(&checks, "tmp-database");
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert!(
        c.observed
            .contains("a database named tmp exists (2 table(s))")
            && c.observed.contains("does not copy"),
        "{}",
        c.observed
    );
    assert!(
        c.fix.contains("before creating the deployment")
            && c.fix.contains("RENAME TABLE tmp.t TO")
            && c.fix.contains("DROP DATABASE tmp"),
        "{}",
        c.fix
    );

    // RDS for MySQL (and MariaDB) copy every database: the same server passes there.
    for engine in [Engine::Mysql, Engine::Mariadb] {
        let checks = mysql_checks(&facts, &ctx(engine.clone(), "8.0.39", "8.0.40"));
        assert!(
            checks
                .iter()
                .filter(|c| c.id == "tmp-database")
                .all(|c| c.verdict == Verdict::Pass),
            "{engine:?}: {checks:#?}"
        );
        assert!(
            checks
                .iter()
                .all(|c| !c.observed.contains("database named tmp")),
            "{engine:?}: {checks:#?}"
        );
    }

    // Moved out of tmp: Aurora passes again.
    run_all(
        &mut admin,
        &[
            "CREATE DATABASE t_scratch",
            "RENAME TABLE tmp.scratch TO t_scratch.scratch, tmp.imports TO t_scratch.imports",
            "DROP DATABASE tmp",
        ],
    )
    .await;
    let facts = mysql::gather(&ep, &session).await.expect("facts");
    assert_eq!(
        by_id(&mysql_checks(&facts, &aurora), "tmp-database").verdict,
        Verdict::Pass
    );
    reset(&mut admin).await;
    admin.close().await;
}

/// MySQL 8.4 no longer enables `mysql_native_password` by default: accounts on it are warned
/// about for an upgrade to 8.4 (RDS for MySQL and Aurora MySQL), not otherwise. MariaDB
/// stands in for MySQL 8.0: its `mysql.user` has the same `plugin` column.
#[tokio::test]
async fn accounts_on_mysql_native_password_are_warned_about_before_mysql_8_4() {
    let Some(s) = servers("accounts_on_mysql_native_password_are_warned_about_before_mysql_8_4")
    else {
        return;
    };
    let _turn = turn().await;
    let mut admin = s.maria_admin().await;
    reset(&mut admin).await;
    run_all(
        &mut admin,
        &[
            "CREATE USER 't_native'@'%' IDENTIFIED VIA mysql_native_password \
             USING PASSWORD('native-pass-1')",
            "CREATE USER 't_socket'@'localhost' IDENTIFIED VIA unix_socket",
        ],
    )
    .await;
    let ep = s.endpoint(Server::Maria, "blue");
    let session = s.session(Server::Maria, "bluegreen_check", true);
    let facts = mysql::gather(&ep, &session).await.expect("facts");
    assert!(
        facts
            .native_password_users
            .iter()
            .any(|u| u == "'t_native'@'%'"),
        "{:?}",
        facts.native_password_users
    );
    assert!(
        !facts
            .native_password_users
            .iter()
            .any(|u| u.contains("t_socket")),
        "{:?}",
        facts.native_password_users
    );

    for rules in [
        ctx(Engine::Mysql, "8.0.39", "8.4.3"),
        ctx(Engine::AuroraMysql, "8.0.mysql_aurora.3.08.0", "8.4.5"),
    ] {
        let checks = mysql_checks(&facts, &rules);
        let c = by_id(&checks, "native-password-users");
        assert_eq!(c.verdict, Verdict::Warn, "{rules:?}: {c:?}");
        assert!(
            c.observed.contains("'t_native'@'%'") && !c.observed.contains("t_socket"),
            "{}",
            c.observed
        );
        assert!(
            c.fix.contains("caching_sha2_password")
                && c.fix.contains("disables the plugin by default"),
            "{}",
            c.fix
        );
    }
    // Not an upgrade to 8.4, or MariaDB (whose own default it is): no such check.
    for rules in [
        ctx(Engine::Mysql, "8.0.39", "8.0.40"),
        ctx(Engine::Mysql, "8.4.3", "8.4.4"),
        ctx(Engine::Mariadb, "10.11.9", "11.4.3"),
    ] {
        let checks = mysql_checks(&facts, &rules);
        assert!(
            checks.iter().all(|c| c.id != "native-password-users"),
            "{rules:?}: {checks:#?}"
        );
    }

    // Moved off the plugin: no longer listed.
    run_all(
        &mut admin,
        &["ALTER USER 't_native'@'%' IDENTIFIED VIA unix_socket"],
    )
    .await;
    let facts = mysql::gather(&ep, &session).await.expect("facts");
    assert!(
        !facts
            .native_password_users
            .iter()
            .any(|u| u.contains("t_native")),
        "{:?}",
        facts.native_password_users
    );
    reset(&mut admin).await;
    admin.close().await;
}

/// The fix names the procedure that engine has (RDS User Guide: `rds_reset_external_master` on
/// RDS for MariaDB and RDS for MySQL 8.0, `rds_reset_external_source` on MySQL 8.4 and Aurora
/// MySQL version 3).
fn reset_named_for(engine: &Engine, fix: &str) -> bool {
    match engine {
        Engine::Mariadb => {
            fix.contains("CALL mysql.rds_reset_external_master") && !fix.contains("_source")
        }
        Engine::AuroraMysql => fix.contains("CALL mysql.rds_reset_external_source"),
        _ => {
            fix.contains("CALL mysql.rds_reset_external_master")
                && fix.contains("MySQL 8.4: mysql.rds_reset_external_source")
        }
    }
}

fn replication_check(checks: &[Check]) -> &Check {
    by_id(checks, "external-replication")
}

/// Polls `sql` on `my` until its first column reads `want` (or fails after 30 s).
async fn wait_for(my: &mut mysql::My, sql: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = my
            .rows(sql)
            .await
            .ok()
            .and_then(|rows| rows.first().and_then(|r| r.get::<Option<String>, _>(0)))
            .flatten();
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql}: {got:?}, waited for {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// RDS's switchover guardrails refuse a blue that is an actively replicating external binlog
/// replica; Aurora MySQL's limitations say blue can't be one at all. A real replication: a
/// second MariaDB server replicates from the shared one (GTID, TLS), and is blue.
#[tokio::test]
async fn a_blue_replicating_from_an_external_source_is_refused_at_precheck_and_in_the_watch() {
    let Some(s) = servers(
        "a_blue_replicating_from_an_external_source_is_refused_at_precheck_and_in_the_watch",
    ) else {
        return;
    };
    let _turn = turn().await;
    let mut source = s.maria_admin().await;
    reset(&mut source).await;
    let blue = s.second_maria("replica");
    let ep = blue.endpoint("blue");
    let session = s.session(Server::Maria, "bluegreen_check", true);
    let engines = [
        ctx(Engine::Mariadb, "10.11.9", "11.4.3"),
        ctx(Engine::Mysql, "8.0.39", "8.4.3"),
        ctx(Engine::AuroraMysql, "8.0.mysql_aurora.3.08.0", "8.4.5"),
    ];

    // Not a replica of anything: passes, for every engine.
    let facts = mysql::gather(&ep, &session).await.expect("facts");
    assert!(facts.replication.is_empty(), "{:?}", facts.replication);
    assert_eq!(facts.replication_unreadable, None);
    for rules in &engines {
        let c = replication_check(&mysql_checks(&facts, rules)).clone();
        assert_eq!(c.verdict, Verdict::Pass, "{rules:?}: {c:?}");
        assert!(
            c.observed.contains("not a binlog replica"),
            "{}",
            c.observed
        );
    }

    // blue replicates from the shared server, from its current GTID position.
    let position: String = source.rows("SELECT @@gtid_binlog_pos").await.unwrap()[0]
        .get(0)
        .unwrap();
    let ca = s.info["ca_bundle"].as_str().unwrap();
    let mut blue_admin = blue.admin(&s).await;
    run_all(
        &mut blue_admin,
        &[
            "SET GLOBAL server_id = 2",
            &format!("SET GLOBAL gtid_slave_pos = '{position}'"),
            &format!(
                "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, \
                 MASTER_USER = 'bluegreen_admin', MASTER_PASSWORD = 'admin-pass-1', \
                 MASTER_SSL = 1, MASTER_SSL_CA = '{ca}', MASTER_SSL_VERIFY_SERVER_CERT = 1, \
                 MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1",
                s.port(Server::Maria)
            ),
            "START SLAVE",
        ],
    )
    .await;
    // It really replicates: a row written on the source arrives on blue.
    run_all(
        &mut source,
        &[
            "CREATE DATABASE t_replicated",
            "CREATE TABLE t_replicated.probe (id int PRIMARY KEY) ENGINE=InnoDB",
            "INSERT INTO t_replicated.probe VALUES (42)",
        ],
    )
    .await;
    wait_for(
        &mut blue_admin,
        "SELECT CAST(MAX(id) AS CHAR) FROM t_replicated.probe",
        "42",
    )
    .await;

    let facts = mysql::gather(&ep, &session).await.expect("facts");
    let source_address = format!("127.0.0.1:{}", s.port(Server::Maria));
    assert_eq!(facts.replication.len(), 1, "{:?}", facts.replication);
    assert_eq!(facts.replication[0].source, source_address);
    assert!(facts.replication[0].running(), "{:?}", facts.replication);
    for rules in &engines {
        let checks = mysql_checks(&facts, rules);
        let c = replication_check(&checks);
        assert_eq!(c.verdict, Verdict::Fail, "{rules:?}: {c:?}");
        assert!(
            c.observed
                .contains("actively replicating from an external source")
                && c.observed.contains(&source_address)
                && c.observed.contains("I/O thread Yes, SQL thread Yes"),
            "{}",
            c.observed
        );
        assert!(
            c.fix.contains("CALL mysql.rds_stop_replication")
                && c.fix
                    .contains("stop replicating into blue before the switchover")
                && reset_named_for(&rules.engine, &c.fix),
            "{rules:?}: {}",
            c.fix
        );
    }
    // The watch looks again before the switchover (handler::watch_look_mysql).
    let now = mysql::replication_of(&ep, &session).await.expect("status");
    let c = external_replication(&now, &engines[0], true);
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert!(
        c.observed.contains("started since the precheck"),
        "{}",
        c.observed
    );

    // Configured but stopped: RDS's guardrail names only an *actively* replicating blue (a
    // warning: starting it again would block the switchover); Aurora MySQL's limitation
    // says blue can't be an external binlog replica at all (a refusal).
    run_all(&mut blue_admin, &["STOP SLAVE"]).await;
    let facts = mysql::gather(&ep, &session).await.expect("facts");
    assert!(!facts.replication.is_empty() && !facts.replication[0].running());
    for rules in &engines {
        let c = replication_check(&mysql_checks(&facts, rules)).clone();
        let want = if rules.engine == Engine::AuroraMysql {
            Verdict::Fail
        } else {
            Verdict::Warn
        };
        assert_eq!(c.verdict, want, "{rules:?}: {c:?}");
        assert!(
            c.observed
                .contains("configured as a binlog replica, replication stopped")
                && c.observed.contains(&source_address),
            "{}",
            c.observed
        );
        assert!(
            reset_named_for(&rules.engine, &c.fix),
            "{rules:?}: {}",
            c.fix
        );
    }
    let now = mysql::replication_of(&ep, &session).await.expect("status");
    assert_eq!(
        external_replication(&now, &engines[0], true).verdict,
        Verdict::Warn,
        "a stopped replica does not hold the switchover of RDS for MariaDB"
    );

    // Removed: passes again.
    run_all(&mut blue_admin, &["RESET SLAVE ALL"]).await;
    let facts = mysql::gather(&ep, &session).await.expect("facts");
    for rules in &engines {
        assert_eq!(
            replication_check(&mysql_checks(&facts, rules)).verdict,
            Verdict::Pass,
            "{rules:?}"
        );
    }
    blue_admin.close().await;
    drop(blue);
    // reset() ends the source's dump thread for blue (it would notice blue is gone only at
    // its next heartbeat, 30 s): the next test sees no binlog consumer.
    reset(&mut source).await;
    source.close().await;
}
