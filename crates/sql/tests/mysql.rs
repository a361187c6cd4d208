//! MariaDB 10.11 (Debian's), a real server started by tests/db/servers.py: the MySQL-family
//! prechecks seeded with their problems, and the read-only smoke query.

mod common;

use bluegreen_domain::database::prechecks::{mysql_checks, mysql_missing_privileges, Context};
use bluegreen_domain::model::check::{Check, Verdict};
use bluegreen_sql::mysql;
use common::{servers, turn, Server};

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
