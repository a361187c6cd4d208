//! The PostgreSQL side against real servers (tests/db/servers.py): every precheck seeded
//! with its problem, the fingerprint, ANALYZE in a budget, sequences, extensions, the smoke
//! query. Blue is `postgres`, green (and the new production) `postgres_green`.

mod common;

use bluegreen_domain::database::fingerprint::compare;
use bluegreen_domain::database::finish::{
    compare_sequences, outdated_extensions, AnalyzeProgress, NextAnalyze,
};
use bluegreen_domain::database::prechecks::{postgres_checks, Context};
use bluegreen_domain::database::smoke::validate;
use bluegreen_domain::database::watch::cdc_blockers;
use bluegreen_domain::model::check::{Check, Verdict};
use bluegreen_domain::model::engine::Engine;
use bluegreen_sql::postgres;
use common::{exec, required, servers, turn, Server};
use std::time::Duration;

fn by_id<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {checks:#?}"))
}

fn short() -> Context {
    Context {
        deployment_exists: false,
        long_transaction_seconds: 1,
        ..Context::default()
    }
}

#[tokio::test]
async fn a_seeded_source_fails_naming_each_problem() {
    let Some(s) = servers("a_seeded_source_fails_naming_each_problem") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    let admin = s.admin(Server::Blue, "postgres").await;
    exec(&admin, "CREATE DATABASE t_seeded").await;
    let db = s.admin(Server::Blue, "t_seeded").await;
    exec(
        &db,
        "CREATE TABLE events (id int, body text); INSERT INTO events VALUES (1, 'x');
         CREATE TABLE keyed (id int PRIMARY KEY);
         CREATE TABLE full_identity (id int); ALTER TABLE full_identity REPLICA IDENTITY FULL;
         CREATE TABLE no_identity (id int PRIMARY KEY); ALTER TABLE no_identity REPLICA IDENTITY NOTHING;
         CREATE UNLOGGED TABLE cache (k text PRIMARY KEY);
         CREATE MATERIALIZED VIEW daily AS SELECT count(*) FROM keyed;
         SELECT lo_from_bytea(0, 'a large object');
         CREATE PUBLICATION dms_pub FOR TABLE keyed;",
    )
    .await;
    exec(
        &db,
        "CREATE SUBSCRIPTION from_legacy CONNECTION 'host=127.0.0.1 port=1 dbname=legacy' \
         PUBLICATION legacy_pub WITH (connect = false, enabled = false, create_slot = false, slot_name = NONE)",
    )
    .await;
    exec(
        &db,
        "SELECT pg_create_logical_replication_slot('debezium_orders', 'pgoutput')",
    )
    .await;
    exec(
        &db,
        "BEGIN; INSERT INTO keyed VALUES (42); PREPARE TRANSACTION 't_two_phase'",
    )
    .await;
    // A transaction another session keeps open.
    let long = s.admin(Server::Blue, "t_seeded").await;
    exec(&long, "BEGIN; SELECT txid_current()").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let ep = s.endpoint(Server::Blue, "blue");
    let facts = postgres::gather(&ep, &s.session(Server::Blue, "bluegreen_check", true))
        .await
        .expect("facts");
    assert!(facts.database_names.contains(&"t_seeded".to_string()));
    assert!(
        facts.database_names.contains(&"locked".to_string()),
        "every database, not just the default one"
    );
    let checks = postgres_checks(&facts, &short());

    let c = by_id(&checks, "tables-without-primary-key");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed.contains("t_seeded.public.events"),
        "{}",
        c.observed
    );
    assert!(
        c.observed.contains("t_seeded.public.no_identity"),
        "REPLICA IDENTITY NOTHING: {}",
        c.observed
    );
    assert!(
        !c.observed.contains("full_identity") && !c.observed.contains("keyed"),
        "{}",
        c.observed
    );
    let c = by_id(&checks, "large-objects");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(c.observed.contains("t_seeded (1)"), "{}", c.observed);
    let c = by_id(&checks, "unlogged-tables");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed.contains("t_seeded.public.cache"),
        "{}",
        c.observed
    );
    let c = by_id(&checks, "materialized-views");
    assert_eq!(c.verdict, Verdict::Warn);
    assert!(
        c.observed.contains("t_seeded.public.daily"),
        "{}",
        c.observed
    );
    let c = by_id(&checks, "replication-slots");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed.contains("debezium_orders (pgoutput on t_seeded"),
        "{}",
        c.observed
    );
    let c = by_id(&checks, "publications-and-subscriptions");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed.contains("dms_pub in t_seeded")
            && c.observed.contains("from_legacy in t_seeded"),
        "{}",
        c.observed
    );
    let c = by_id(&checks, "prepared-transactions");
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed.contains("'t_two_phase' on t_seeded"),
        "{}",
        c.observed
    );
    let c = by_id(&checks, "long-running-transactions");
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert!(
        c.observed.contains("bluegreen_admin on t_seeded"),
        "{}",
        c.observed
    );
    assert_eq!(
        by_id(&checks, "incompatible-extensions").verdict,
        Verdict::Pass
    );
    assert_eq!(by_id(&checks, "databases-and-slots").verdict, Verdict::Pass);

    // The slot's lag in bytes, as the watch reads it.
    let slots = postgres::slots_of(&ep, &s.session(Server::Blue, "bluegreen_check", true))
        .await
        .unwrap();
    let slot = slots.iter().find(|s| s.name == "debezium_orders").unwrap();
    assert!(slot.lag_bytes.is_some_and(|b| b >= 0), "{slot:?}");
    drop(long);
    s.reset_pg(Server::Blue).await;
}

#[tokio::test]
async fn pglogical_pg_partman_with_its_worker_and_pg_cron_are_named() {
    let Some(s) = servers("pglogical_pg_partman_with_its_worker_and_pg_cron_are_named") else {
        return;
    };
    if !s.has_ext() {
        // Only when Debian's postgresql-15-cron/-partman/-pglogical are missing: `make test`
        // installs them and requires them; elsewhere say so rather than pretend.
        assert!(
            !required(),
            "BLUEGREEN_REQUIRE_DB_SERVERS=1 but pg_cron/pglogical/pg_partman are not installed: \
             run `make db-packages` (postgresql-15-cron, postgresql-15-partman, \
             postgresql-15-pglogical)"
        );
        eprintln!("SKIPPED pg_cron/pglogical/pg_partman: their packages are not installed");
        return;
    }
    // Its own cluster (pglogical blocks DROP DATABASE): created once, never dropped.
    let admin = s.admin(Server::Ext, "postgres").await;
    let exists = !admin
        .rows("SELECT 1 FROM pg_database WHERE datname = 'app'")
        .await
        .unwrap()
        .is_empty();
    if !exists {
        exec(&admin, "CREATE DATABASE app").await;
    }
    exec(&admin, "CREATE EXTENSION IF NOT EXISTS pg_cron").await; // only in cron.database_name
    let app = s.admin(Server::Ext, "app").await;
    exec(
        &app,
        "CREATE EXTENSION IF NOT EXISTS pglogical; CREATE SCHEMA IF NOT EXISTS partman;
         CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;",
    )
    .await;
    let ep = s.endpoint(Server::Ext, "blue");
    let facts = postgres::gather(&ep, &s.session(Server::Ext, "bluegreen_check", true))
        .await
        .expect("facts");
    assert!(
        facts.preloaded().contains(&"pg_partman_bgw".to_string()),
        "{:?}",
        facts.settings
    );
    let checks = postgres_checks(&facts, &Context::default());
    let c = by_id(&checks, "incompatible-extensions");
    assert_eq!(c.verdict, Verdict::Fail);
    for what in [
        "pglogical",
        "pg_partman",
        "background worker",
        "pg_cron",
        "in app",
        "in postgres",
    ] {
        assert!(c.observed.contains(what), "{what}: {}", c.observed);
    }
    assert!(
        c.fix.contains("target parameter group"),
        "pg_cron on green: {}",
        c.fix
    );
}

#[tokio::test]
async fn the_same_source_cleaned_up_passes() {
    let Some(s) = servers("the_same_source_cleaned_up_passes") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    let admin = s.admin(Server::Blue, "postgres").await;
    exec(&admin, "CREATE DATABASE t_clean").await;
    let db = s.admin(Server::Blue, "t_clean").await;
    exec(
        &db,
        "CREATE TABLE orders (id bigserial PRIMARY KEY, note text); INSERT INTO orders (note) VALUES ('a');
         CREATE TABLE audit (at timestamptz, msg text); ALTER TABLE audit REPLICA IDENTITY FULL;",
    )
    .await;
    let ep = s.endpoint(Server::Blue, "blue");
    let facts = postgres::gather(&ep, &s.session(Server::Blue, "bluegreen_check", true))
        .await
        .expect("facts");
    for c in postgres_checks(&facts, &Context::default()) {
        assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    }
}

#[tokio::test]
async fn blue_sessions_are_read_only() {
    let Some(s) = servers("blue_sessions_are_read_only") else {
        return;
    };
    let ep = s.endpoint(Server::Blue, "blue");
    // Even the superuser, through a blue session, cannot write.
    let pg = postgres::connect(
        &ep,
        &s.session(Server::Blue, "bluegreen_admin", true),
        "postgres",
    )
    .await
    .unwrap();
    let e = pg
        .client
        .batch_execute("CREATE TABLE t_nope (id int)")
        .await
        .unwrap_err();
    assert!(
        e.as_db_error()
            .unwrap()
            .message()
            .contains("read-only transaction"),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_fingerprint_changes_with_ddl_and_not_with_dml() {
    let Some(s) = servers("the_fingerprint_changes_with_ddl_and_not_with_dml") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    let admin = s.admin(Server::Blue, "postgres").await;
    exec(&admin, "CREATE DATABASE t_fp").await;
    let db = s.admin(Server::Blue, "t_fp").await;
    exec(
        &db,
        "CREATE TYPE mood AS ENUM ('ok', 'meh');
         CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL, qty int CHECK (qty > 0), m mood);
         CREATE INDEX orders_sku ON orders (sku);
         CREATE VIEW big AS SELECT * FROM orders WHERE qty > 10;
         CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
         CREATE EXTENSION hstore;",
    )
    .await;
    let ep = s.endpoint(Server::Blue, "blue");
    let session = s.session(Server::Blue, "bluegreen_check", true);
    let before = postgres::fingerprints(&ep, &session).await.unwrap();
    let t_fp = before.iter().find(|f| f.database == "t_fp").unwrap();
    assert!(t_fp.objects >= 10, "{t_fp:?}");

    exec(
        &db,
        "INSERT INTO orders (sku, qty) SELECT 'sku' || g, g FROM generate_series(1, 500) g;
         UPDATE orders SET qty = qty + 1; DELETE FROM orders WHERE id % 2 = 0; ANALYZE orders;
         SELECT nextval('orders_id_seq');",
    )
    .await;
    let after_dml = postgres::fingerprints(&ep, &session).await.unwrap();
    assert!(
        compare(&before, &after_dml).is_empty(),
        "DML changes nothing"
    );

    exec(&db, "ALTER TABLE orders ADD COLUMN note text").await;
    let after_ddl = postgres::fingerprints(&ep, &session).await.unwrap();
    let changes = compare(&before, &after_ddl);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        changes[0].starts_with("the schema of t_fp changed"),
        "{changes:?}"
    );

    for ddl in [
        "CREATE INDEX orders_qty ON orders (qty)",
        "ALTER TYPE mood ADD VALUE 'great'",
        "CREATE OR REPLACE FUNCTION twice(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1 * 2'",
    ] {
        let before = postgres::fingerprints(&ep, &session).await.unwrap();
        exec(&db, ddl).await;
        let after = postgres::fingerprints(&ep, &session).await.unwrap();
        assert!(!compare(&before, &after).is_empty(), "{ddl} must show");
    }
    exec(&admin, "CREATE DATABASE t_fp_new").await;
    let with_new = postgres::fingerprints(&ep, &session).await.unwrap();
    assert!(compare(&after_ddl, &with_new)
        .iter()
        .any(|c| c.contains("t_fp_new was created")));
    s.reset_pg(Server::Blue).await;
}

#[tokio::test]
async fn blue_and_green_with_the_same_schema_have_the_same_fingerprint() {
    let Some(s) = servers("blue_and_green_with_the_same_schema_have_the_same_fingerprint") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    s.reset_pg(Server::Green).await;
    let schema =
        "CREATE TABLE orders (id bigserial PRIMARY KEY, sku varchar(20) NOT NULL, at timestamptz);
                  CREATE INDEX orders_at ON orders (at);";
    for server in [Server::Blue, Server::Green] {
        exec(&s.admin(server, "postgres").await, "CREATE DATABASE t_same").await;
        exec(&s.admin(server, "t_same").await, schema).await;
    }
    exec(
        &s.admin(Server::Blue, "t_same").await,
        "INSERT INTO orders (sku) VALUES ('only on blue')",
    )
    .await;
    let fp = |server| {
        let ep = s.endpoint(server, "x");
        let session = s.session(server, "bluegreen_check", true);
        async move { postgres::fingerprints(&ep, &session).await.unwrap() }
    };
    let (blue, green) = (fp(Server::Blue).await, fp(Server::Green).await);
    assert!(compare(&green, &blue).is_empty(), "{blue:?} vs {green:?}");
    exec(
        &s.admin(Server::Blue, "t_same").await,
        "ALTER TABLE orders DROP COLUMN at",
    )
    .await;
    assert!(!compare(&green, &fp(Server::Blue).await).is_empty());
    s.reset_pg(Server::Blue).await;
    s.reset_pg(Server::Green).await;
}

#[tokio::test]
async fn analyze_in_a_budget_resumes_where_it_stopped_across_databases() {
    let Some(s) = servers("analyze_in_a_budget_resumes_where_it_stopped_across_databases") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Green).await;
    let admin = s.admin(Server::Green, "postgres").await;
    for db in ["t_an1", "t_an2"] {
        exec(&admin, &format!("CREATE DATABASE {db}")).await;
        let pg = s.admin(Server::Green, db).await;
        for t in ["a", "b", "c"] {
            exec(&pg, &format!("CREATE TABLE {t} (id int PRIMARY KEY); INSERT INTO {t} SELECT generate_series(1, 1000)")).await;
        }
    }
    let ep = s.endpoint(Server::Green, "the new production");
    let session = s.session(Server::Green, "bluegreen_admin", false);
    let mut progress = AnalyzeProgress::default();
    let mut calls = 0;
    // A zero budget: every call analyzes one table, then stops; the next resumes after it.
    while !progress.is_complete() {
        postgres::analyze(&ep, &session, &mut progress, Duration::ZERO)
            .await
            .unwrap();
        calls += 1;
        if calls == 2 {
            assert_eq!(
                progress.next(),
                NextAnalyze::Database {
                    name: "t_an1".into(),
                    after: Some("public.b".into())
                }
            );
        }
        assert!(calls < 20, "no progress: {progress:?}");
    }
    assert_eq!(progress.tables_analyzed, 6, "{progress:?}");
    assert!(calls >= 6, "{calls}");
    assert!(progress.skipped.is_empty(), "{progress:?}");
    for db in ["t_an1", "t_an2"] {
        let pg = s.admin(Server::Green, db).await;
        let rows = pg
            .rows("SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NULL")
            .await
            .unwrap();
        assert_eq!(rows[0].get::<_, i64>(0), 0, "every table of {db} analyzed");
    }
    // A generous budget does it in one call; a user who owns nothing analyzes nothing.
    let mut one = AnalyzeProgress::default();
    postgres::analyze(&ep, &session, &mut one, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(one.is_complete() && one.invocations == 1, "{one:?}");
    let mut not_owner = AnalyzeProgress::default();
    let check = s.session(Server::Green, "bluegreen_check", false);
    while !not_owner.is_complete() {
        postgres::analyze(&ep, &check, &mut not_owner, Duration::from_secs(30))
            .await
            .unwrap();
    }
    assert_eq!(not_owner.tables_analyzed, 0);
    assert!(
        not_owner
            .skipped
            .iter()
            .any(|s| s.contains("t_an1.public.a: not the owner")),
        "{not_owner:?}"
    );
    s.reset_pg(Server::Green).await;
}

#[tokio::test]
async fn sequences_on_the_new_production_must_be_at_or_past_the_old_blue() {
    let Some(s) = servers("sequences_on_the_new_production_must_be_at_or_past_the_old_blue") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    s.reset_pg(Server::Green).await;
    for server in [Server::Blue, Server::Green] {
        exec(&s.admin(server, "postgres").await, "CREATE DATABASE t_seq").await;
        exec(
            &s.admin(server, "t_seq").await,
            "CREATE TABLE orders (id bigserial PRIMARY KEY); CREATE SEQUENCE unused",
        )
        .await;
    }
    exec(
        &s.admin(Server::Blue, "t_seq").await,
        "INSERT INTO orders SELECT FROM generate_series(1, 100)",
    )
    .await;
    let read = |server, role| {
        let ep = s.endpoint(server, role);
        let session = s.session(server, "bluegreen_admin", true);
        async move { postgres::sequences(&ep, &session).await.unwrap() }
    };
    let old = read(Server::Blue, "the old blue").await;
    assert!(
        old.iter()
            .any(|v| v.name == "public.orders_id_seq" && v.last_value == Some(100)),
        "{old:?}"
    );
    let c = compare_sequences(&read(Server::Green, "the new production").await, &old);
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed
            .contains("t_seq.public.orders_id_seq is at its start (old blue at 100)"),
        "{}",
        c.observed
    );
    exec(
        &s.admin(Server::Green, "t_seq").await,
        "SELECT setval('orders_id_seq', 100)",
    )
    .await;
    let c = compare_sequences(&read(Server::Green, "the new production").await, &old);
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    s.reset_pg(Server::Blue).await;
    s.reset_pg(Server::Green).await;
}

#[tokio::test]
async fn outdated_extensions_are_found_and_updated() {
    let Some(s) = servers("outdated_extensions_are_found_and_updated") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Green).await;
    exec(
        &s.admin(Server::Green, "postgres").await,
        "CREATE DATABASE t_ext",
    )
    .await;
    exec(
        &s.admin(Server::Green, "t_ext").await,
        "CREATE EXTENSION hstore VERSION '1.4'",
    )
    .await;
    let ep = s.endpoint(Server::Green, "the new production");
    let session = s.session(Server::Green, "bluegreen_admin", false);
    let mut outdated =
        outdated_extensions(postgres::extension_versions(&ep, &session).await.unwrap());
    assert_eq!(outdated.len(), 1, "{outdated:?}");
    assert_eq!(
        (outdated[0].name.as_str(), outdated[0].installed.as_str()),
        ("hstore", "1.4")
    );
    postgres::update_extensions(&ep, &session, &mut outdated)
        .await
        .unwrap();
    assert!(
        outdated[0].updated && outdated[0].error.is_none(),
        "{outdated:?}"
    );
    assert!(
        outdated_extensions(postgres::extension_versions(&ep, &session).await.unwrap()).is_empty()
    );
    s.reset_pg(Server::Green).await;
}

#[tokio::test]
async fn the_smoke_query_runs_read_only() {
    let Some(s) = servers("the_smoke_query_runs_read_only") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Green).await;
    exec(
        &s.admin(Server::Green, "postgres").await,
        "CREATE TABLE IF NOT EXISTS t_smoke (id int); CREATE SEQUENCE IF NOT EXISTS t_smoke_seq",
    )
    .await;
    let ep = s.endpoint(Server::Green, "the new production");
    // A read-write session (the finish's): the smoke query still gets a READ ONLY transaction.
    let session = s.session(Server::Green, "bluegreen_admin", false);
    let q = validate("SELECT count(*) FROM pg_class;").unwrap();
    assert_eq!(postgres::smoke(&ep, &session, &q).await.unwrap(), Ok(1));
    for write in [
        "WITH gone AS (DELETE FROM t_smoke RETURNING 1) SELECT * FROM gone",
        "SELECT nextval('t_smoke_seq')",
        "SELECT * FROM t_smoke FOR UPDATE",
    ] {
        let q = validate(write).expect("starts like a read");
        let answer = postgres::smoke(&ep, &session, &q).await.unwrap();
        assert!(
            answer
                .as_ref()
                .is_err_and(|e| e.contains("read-only transaction")),
            "{write}: {answer:?}"
        );
    }
    assert!(validate("INSERT INTO t_smoke VALUES (1)").is_err());
    exec(
        &s.admin(Server::Green, "postgres").await,
        "DROP TABLE t_smoke; DROP SEQUENCE t_smoke_seq",
    )
    .await;
}

fn ctx_with(f: impl FnOnce(&mut Context)) -> Context {
    let mut c = Context::default();
    f(&mut c);
    c
}

/// Item: AWS Knowledge Center (rds-postgresql-blue-green-deployment-error) counts every row of
/// pg_database, templates included, and wants max_replication_slots HIGHER than that.
#[tokio::test]
async fn max_replication_slots_must_be_higher_than_every_row_of_pg_database() {
    let Some(s) = servers("max_replication_slots_must_be_higher_than_every_row_of_pg_database")
    else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    let admin = s.admin(Server::Blue, "postgres").await;
    // template0, template1, postgres, locked + 6 = 10 rows; max_replication_slots = 10.
    for i in 1..=6 {
        exec(&admin, &format!("CREATE DATABASE t_slots{i}")).await;
    }
    let ep = s.endpoint(Server::Blue, "blue");
    let facts = postgres::gather(&ep, &s.session(Server::Blue, "bluegreen_check", true))
        .await
        .expect("facts");
    assert_eq!(facts.database_rows, 10, "{:?}", facts.database_names);
    assert_eq!(
        facts.database_names.len(),
        8,
        "the templates are not replicated"
    );
    let c = by_id(
        &postgres_checks(&facts, &Context::default()),
        "databases-and-slots",
    )
    .clone();
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert!(
        c.observed
            .contains("pg_database has 10 row(s) (templates included)")
            && c.observed
                .contains("max_replication_slots = 10, needs at least 11"),
        "{}",
        c.observed
    );
    s.reset_pg(Server::Blue).await;
}

/// Item: logical-replication limits only for logical deployments. A minor-version or
/// parameter-only RDS for PostgreSQL blue/green replicates physically.
#[tokio::test]
async fn a_physical_deployment_is_not_refused_for_logical_replication_limits() {
    let Some(s) = servers("a_physical_deployment_is_not_refused_for_logical_replication_limits")
    else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    exec(
        &s.admin(Server::Blue, "postgres").await,
        "CREATE DATABASE t_phys",
    )
    .await;
    exec(
        &s.admin(Server::Blue, "t_phys").await,
        "CREATE TABLE events (id int, body text);
         CREATE UNLOGGED TABLE cache (k text PRIMARY KEY);
         CREATE TABLE keyed (id int PRIMARY KEY);
         CREATE MATERIALIZED VIEW daily AS SELECT count(*) FROM keyed;
         SELECT lo_from_bytea(0, 'a large object');",
    )
    .await;
    let ep = s.endpoint(Server::Blue, "blue");
    let facts = postgres::gather(&ep, &s.session(Server::Blue, "bluegreen_check", true))
        .await
        .expect("facts");
    let logical = postgres_checks(&facts, &Context::default());
    for id in [
        "tables-without-primary-key",
        "large-objects",
        "unlogged-tables",
    ] {
        assert_eq!(by_id(&logical, id).verdict, Verdict::Fail, "logical: {id}");
    }
    let physical = postgres_checks(&facts, &ctx_with(|c| c.logical = false));
    for id in [
        "tables-without-primary-key",
        "large-objects",
        "materialized-views",
    ] {
        let c = by_id(&physical, id);
        assert_eq!(c.verdict, Verdict::Pass, "physical: {c:?}");
        assert!(
            c.observed.contains("replicates physically"),
            "{}",
            c.observed
        );
    }
    assert!(by_id(&physical, "tables-without-primary-key")
        .observed
        .contains("t_phys.public.events"));
    let c = by_id(&physical, "unlogged-tables");
    assert_eq!(c.verdict, Verdict::Warn, "reported, not refused: {c:?}");
    assert!(c.observed.contains("t_phys.public.cache") && c.observed.contains("no WAL"));
    assert!(
        physical.iter().all(|c| c.verdict != Verdict::Fail),
        "{physical:#?}"
    );
    s.reset_pg(Server::Blue).await;
}

/// Item: Aurora PostgreSQL replicates unlogged tables when
/// rds.logically_replicate_unlogged_tables = 1 (default on for 14 and earlier, off for 15+).
#[tokio::test]
async fn unlogged_tables_on_aurora_postgresql_pass_when_the_parameter_replicates_them() {
    let Some(s) =
        servers("unlogged_tables_on_aurora_postgresql_pass_when_the_parameter_replicates_them")
    else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    exec(
        &s.admin(Server::Blue, "postgres").await,
        "CREATE DATABASE t_unlogged",
    )
    .await;
    exec(
        &s.admin(Server::Blue, "t_unlogged").await,
        "CREATE UNLOGGED TABLE cache (k text PRIMARY KEY)",
    )
    .await;
    let ep = s.endpoint(Server::Blue, "blue");
    let facts = postgres::gather(&ep, &s.session(Server::Blue, "bluegreen_check", true))
        .await
        .expect("facts");
    let aurora = |version: &str, parameter: Option<&str>| {
        let ctx = ctx_with(|c| {
            c.engine = Engine::AuroraPostgresql;
            c.source_version = version.into();
            if let Some(v) = parameter {
                c.parameters
                    .insert("rds.logically_replicate_unlogged_tables".into(), v.into());
            }
        });
        by_id(&postgres_checks(&facts, &ctx), "unlogged-tables").clone()
    };
    let c = aurora("16.4", Some("1"));
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert!(
        c.observed.contains("t_unlogged.public.cache")
            && c.observed.contains(
                "replicated to green: rds.logically_replicate_unlogged_tables = 1 in the source's parameter group"
            ),
        "{}",
        c.observed
    );
    let c = aurora("14.9", None);
    assert_eq!(c.verdict, Verdict::Pass, "14's default is 1: {c:?}");
    assert!(
        c.observed.contains("Aurora PostgreSQL 14's default is 1"),
        "{}",
        c.observed
    );
    let c = aurora("15.4", None);
    assert_eq!(c.verdict, Verdict::Fail, "15's default is 0: {c:?}");
    assert!(
        c.fix
            .contains("rds.logically_replicate_unlogged_tables = 1"),
        "{}",
        c.fix
    );
    assert_eq!(aurora("14.9", Some("0")).verdict, Verdict::Fail);
    let c = by_id(
        &postgres_checks(&facts, &Context::default()),
        "unlogged-tables",
    )
    .clone();
    assert_eq!(c.verdict, Verdict::Fail, "RDS for PostgreSQL: {c:?}");
    assert!(c.fix.contains("SET LOGGED"), "{}", c.fix);
    s.reset_pg(Server::Blue).await;
}

/// Item: on Aurora PostgreSQL refreshing a materialized view on blue breaks replication:
/// listed (warn), and a pg_cron job that refreshes one fails the precheck.
#[tokio::test]
async fn materialized_views_on_aurora_warn_and_a_pg_cron_refresh_fails() {
    let Some(s) = servers("materialized_views_on_aurora_warn_and_a_pg_cron_refresh_fails") else {
        return;
    };
    if !s.preloaded().contains(&"pg_cron".to_string()) {
        panic!("pg_cron is not installed: install postgresql-15-cron (make db-packages)");
    }
    let _turn = turn().await;
    // The extensions' own cluster: pg_cron lives in its `postgres` database.
    let admin = s.admin(Server::Ext, "postgres").await;
    exec(
        &admin,
        "CREATE EXTENSION IF NOT EXISTS pg_cron;
         DROP MATERIALIZED VIEW IF EXISTS t_daily;
         CREATE MATERIALIZED VIEW t_daily AS SELECT 1 AS one;",
    )
    .await;
    let jobs = || async {
        let admin = s.admin(Server::Ext, "postgres").await;
        exec(
            &admin,
            "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 't_refresh_daily'",
        )
        .await;
    };
    jobs().await;
    let ep = s.endpoint(Server::Ext, "blue");
    let aurora = ctx_with(|c| c.engine = Engine::AuroraPostgresql);
    let gather = |user: &'static str| {
        let ep = ep.clone();
        let session = s.session(Server::Ext, user, true);
        async move { postgres::gather(&ep, &session).await.expect("facts") }
    };
    // Listed on Aurora, with why refreshes must pause.
    let c = by_id(
        &postgres_checks(&gather("bluegreen_admin").await, &aurora),
        "materialized-views",
    )
    .clone();
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert!(
        c.observed.contains("postgres.public.t_daily")
            && c.observed
                .contains("refreshing one on blue breaks replication"),
        "{}",
        c.observed
    );
    assert!(
        c.fix.contains("pause every REFRESH MATERIALIZED VIEW"),
        "{}",
        c.fix
    );
    exec(
        &admin,
        "SELECT cron.schedule('t_refresh_daily', '0 3 1 1 *', 'REFRESH MATERIALIZED VIEW public.t_daily')",
    )
    .await;
    let facts = gather("bluegreen_admin").await;
    let c = by_id(&postgres_checks(&facts, &aurora), "materialized-views").clone();
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert!(
        c.observed
            .contains("\"t_refresh_daily\" (0 3 1 1 *) of bluegreen_admin on postgres")
            && c.observed
                .contains("REFRESH MATERIALIZED VIEW public.t_daily"),
        "{}",
        c.observed
    );
    assert!(c.fix.contains("cron.unschedule"), "{}", c.fix);
    // RDS for PostgreSQL: not a replication breaker, still reported.
    let c = by_id(
        &postgres_checks(&facts, &Context::default()),
        "materialized-views",
    )
    .clone();
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert!(c.observed.contains("pg_cron refreshes"), "{}", c.observed);
    // A least-privilege user cannot read cron.job: said, not pretended.
    let c = by_id(
        &postgres_checks(&gather("bluegreen_check").await, &aurora),
        "materialized-views",
    )
    .clone();
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert!(
        c.observed
            .contains("pg_cron's jobs are not readable by bluegreen_check"),
        "{}",
        c.observed
    );
    jobs().await;
    exec(&admin, "DROP MATERIALIZED VIEW t_daily").await;
}

/// Item: CDC on a PostgreSQL blue is a switchover guardrail. The precheck fails on the
/// user's publications and subscriptions; the watch tells RDS's own (those green's
/// subscriptions name, and those owned by rdsadmin) from the user's.
#[tokio::test]
async fn self_managed_publications_block_and_the_deployments_own_do_not() {
    let Some(s) = servers("self_managed_publications_block_and_the_deployments_own_do_not") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    s.reset_pg(Server::Green).await;
    let admin = s.admin(Server::Blue, "postgres").await;
    exec(&admin, "CREATE DATABASE t_cdc").await;
    exec(
        &admin,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rdsadmin') THEN \
         CREATE ROLE rdsadmin; END IF; END $$; GRANT CREATE ON DATABASE t_cdc TO rdsadmin",
    )
    .await;
    exec(
        &s.admin(Server::Blue, "t_cdc").await,
        "CREATE TABLE orders (id int PRIMARY KEY);
         CREATE PUBLICATION dbz_publication FOR TABLE orders;
         CREATE PUBLICATION bg_pub_t_cdc FOR TABLE orders;
         CREATE PUBLICATION rds_owned FOR TABLE orders; ALTER PUBLICATION rds_owned OWNER TO rdsadmin;",
    )
    .await;
    // Green subscribes to the deployment's publication (not connected: the name is what counts).
    exec(
        &s.admin(Server::Green, "postgres").await,
        "CREATE DATABASE t_cdc",
    )
    .await;
    exec(
        &s.admin(Server::Green, "t_cdc").await,
        "CREATE SUBSCRIPTION bg_sub CONNECTION 'host=127.0.0.1 port=1 dbname=t_cdc' \
         PUBLICATION bg_pub_t_cdc WITH (connect = false, enabled = false, create_slot = false, slot_name = NONE)",
    )
    .await;
    let blue = s.endpoint(Server::Blue, "blue");
    let check = s.session(Server::Blue, "bluegreen_check", true);
    // The precheck, before create: every publication of the user's fails; rdsadmin's is RDS's.
    let facts = postgres::gather(&blue, &check).await.expect("facts");
    let c = by_id(
        &postgres_checks(&facts, &Context::default()),
        "publications-and-subscriptions",
    )
    .clone();
    assert_eq!(c.verdict, Verdict::Fail);
    assert!(
        c.observed.contains("publication dbz_publication in t_cdc")
            && !c.observed.contains("rds_owned"),
        "{}",
        c.observed
    );
    assert!(c.fix.contains("DROP PUBLICATION") && c.fix.contains("before the switchover"));
    // The watch: green's subscription names the deployment's own.
    let now = postgres::watch_facts(&blue, &check)
        .await
        .expect("watch facts");
    let green = s.endpoint(Server::Green, "green");
    let subscribed = postgres::subscribed_publications(
        &green,
        &s.session(Server::Green, "bluegreen_check", true),
    )
    .await
    .expect("green's subscriptions");
    assert_eq!(
        subscribed,
        [("t_cdc".to_string(), "bg_pub_t_cdc".to_string())]
    );
    let blockers = cdc_blockers(&now.publications, &now.subscriptions, Some(&subscribed));
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert!(
        blockers[0].contains("(publication dbz_publication in t_cdc)"),
        "{}",
        blockers[0]
    );
    // A subscription on blue blocks too.
    exec(
        &s.admin(Server::Blue, "t_cdc").await,
        "DROP PUBLICATION dbz_publication; CREATE SUBSCRIPTION from_legacy CONNECTION \
         'host=127.0.0.1 port=1 dbname=legacy' PUBLICATION legacy_pub WITH (connect = false, \
         enabled = false, create_slot = false, slot_name = NONE)",
    )
    .await;
    let now = postgres::watch_facts(&blue, &check).await.unwrap();
    let blockers = cdc_blockers(&now.publications, &now.subscriptions, Some(&subscribed));
    assert!(
        blockers.len() == 1 && blockers[0].contains("(subscription from_legacy in t_cdc)"),
        "{blockers:?}"
    );
    s.reset_pg(Server::Blue).await;
    s.reset_pg(Server::Green).await;
    exec(&admin, "DROP ROLE IF EXISTS rdsadmin").await;
}

/// Item: "If you have thousands of sequences, this can delay switchover."
#[tokio::test]
async fn thousands_of_sequences_suggest_a_longer_switchover_timeout() {
    let Some(s) = servers("thousands_of_sequences_suggest_a_longer_switchover_timeout") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    exec(
        &s.admin(Server::Blue, "postgres").await,
        "CREATE DATABASE t_seqs",
    )
    .await;
    let db = s.admin(Server::Blue, "t_seqs").await;
    exec(
        &db,
        "DO $$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('CREATE SEQUENCE s%s', i); END LOOP; END $$",
    )
    .await;
    let ep = s.endpoint(Server::Blue, "blue");
    let session = s.session(Server::Blue, "bluegreen_check", true);
    let facts = postgres::gather(&ep, &session).await.unwrap();
    let c = by_id(
        &postgres_checks(&facts, &Context::default()),
        "sequence-count",
    )
    .clone();
    assert_eq!(c.verdict, Verdict::Pass, "1,000 is not thousands: {c:?}");
    assert!(
        c.observed.starts_with("1000 sequence(s) (1000 in t_seqs)"),
        "{}",
        c.observed
    );
    exec(&db, "CREATE TABLE orders (id bigserial PRIMARY KEY)").await;
    let facts = postgres::gather(&ep, &session).await.unwrap();
    let c = by_id(
        &postgres_checks(&facts, &Context::default()),
        "sequence-count",
    )
    .clone();
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert!(c.observed.contains("1001 sequence(s)"), "{}", c.observed);
    assert!(
        c.fix.contains("switchover_timeout_seconds = 420") && c.fix.contains("AWS gives no"),
        "300 s + 60 s per started thousand: {}",
        c.fix
    );
    let physical = ctx_with(|c| c.logical = false);
    assert_eq!(
        by_id(&postgres_checks(&facts, &physical), "sequence-count").verdict,
        Verdict::Pass
    );
    s.reset_pg(Server::Blue).await;
}

/// Item: DCL is not replicated. GRANT, REVOKE and role changes show in the fingerprint (as
/// privileges, apart from the schema); passwords do not.
#[tokio::test]
async fn grants_revokes_and_role_changes_show_in_the_fingerprint() {
    let Some(s) = servers("grants_revokes_and_role_changes_show_in_the_fingerprint") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    let admin = s.admin(Server::Blue, "postgres").await;
    exec(&admin, "CREATE DATABASE t_dcl").await;
    let db = s.admin(Server::Blue, "t_dcl").await;
    exec(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY);
         CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
         CREATE SCHEMA reporting;",
    )
    .await;
    let ep = s.endpoint(Server::Blue, "blue");
    let session = s.session(Server::Blue, "bluegreen_check", true);
    let fp = || postgres::fingerprints(&ep, &session);
    let mut before = fp().await.unwrap();
    for (dcl, on) in [
        ("GRANT SELECT ON orders TO nogrants", &db),
        ("REVOKE SELECT ON orders FROM nogrants", &db),
        ("GRANT USAGE ON SCHEMA reporting TO nogrants", &db),
        ("REVOKE EXECUTE ON FUNCTION twice(int) FROM PUBLIC", &db),
        ("GRANT pg_read_all_data TO nogrants", &admin),
        ("REVOKE pg_read_all_data FROM nogrants", &admin),
        ("ALTER ROLE nogrants CREATEDB", &admin),
        ("ALTER ROLE nogrants NOCREATEDB", &admin),
        ("CREATE ROLE t_reporting", &admin),
        ("DROP ROLE t_reporting", &admin),
    ] {
        exec(on, dcl).await;
        let after = fp().await.unwrap();
        let changes = compare(&before, &after);
        assert!(
            changes
                .iter()
                .any(|c| c.starts_with("the privileges of t_dcl changed")),
            "{dcl}: {changes:?}"
        );
        assert!(
            !changes.iter().any(|c| c.contains("the schema of")),
            "{dcl} is no DDL: {changes:?}"
        );
        before = after;
    }
    // Not a password, nor its expiry.
    exec(&admin, "ALTER ROLE nogrants VALID UNTIL 'infinity'").await;
    assert!(compare(&before, &fp().await.unwrap()).is_empty());
    s.reset_pg(Server::Blue).await;
}

/// Item: "an FDW foreign server pointing at blue must use its endpoint name, not an IP".
#[tokio::test]
async fn a_foreign_server_named_by_an_ip_address_is_warned() {
    let Some(s) = servers("a_foreign_server_named_by_an_ip_address_is_warned") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Blue).await;
    exec(
        &s.admin(Server::Blue, "postgres").await,
        "CREATE DATABASE t_fdw",
    )
    .await;
    let db = s.admin(Server::Blue, "t_fdw").await;
    exec(
        &db,
        "CREATE EXTENSION postgres_fdw;
         CREATE SERVER by_name FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'localhost', dbname 'app');",
    )
    .await;
    let ep = s.endpoint(Server::Blue, "blue");
    let session = s.session(Server::Blue, "bluegreen_check", true);
    let blue = ctx_with(|c| c.blue_addresses = vec!["127.0.0.1".into()]);
    let facts = postgres::gather(&ep, &session).await.unwrap();
    let c = by_id(&postgres_checks(&facts, &blue), "foreign-servers").clone();
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert!(
        c.observed
            .contains("1 foreign server(s), none named by an IP"),
        "{}",
        c.observed
    );
    exec(
        &db,
        "CREATE SERVER by_ip FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', dbname 'app');
         CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '10.1.2.3', dbname 'x');",
    )
    .await;
    let facts = postgres::gather(&ep, &session).await.unwrap();
    let c = by_id(&postgres_checks(&facts, &blue), "foreign-servers").clone();
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert!(
        c.observed
            .contains("by_ip (postgres_fdw) in t_fdw names 127.0.0.1, blue's own address")
            && c.observed
                .contains("elsewhere (postgres_fdw) in t_fdw names 10.1.2.3")
            && !c.observed.contains("by_name"),
        "{}",
        c.observed
    );
    assert!(c.fix.contains("ALTER SERVER"), "{}", c.fix);
    s.reset_pg(Server::Blue).await;
}

/// Item: ANALYZE on green before the switchover, in a session of its own that is not read-only
/// (green's sessions default to default_transaction_read_only = on).
#[tokio::test]
async fn analyze_on_green_turns_read_only_off_for_its_own_session() {
    let Some(s) = servers("analyze_on_green_turns_read_only_off_for_its_own_session") else {
        return;
    };
    let _turn = turn().await;
    s.reset_pg(Server::Green).await;
    let admin = s.admin(Server::Green, "postgres").await;
    exec(&admin, "CREATE DATABASE t_green").await;
    exec(
        &s.admin(Server::Green, "t_green").await,
        "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 100)",
    )
    .await;
    // What RDS does to green.
    exec(
        &admin,
        "ALTER DATABASE t_green SET default_transaction_read_only = on",
    )
    .await;
    let ep = s.endpoint(Server::Green, "green");
    let show = |session: bluegreen_sql::Session| {
        let ep = ep.clone();
        async move {
            let pg = postgres::connect(&ep, &session, "t_green").await.unwrap();
            let rows = pg.rows("SHOW default_transaction_read_only").await.unwrap();
            rows[0].get::<_, String>(0)
        }
    };
    assert_eq!(
        show(s.session(Server::Green, "bluegreen_check", true)).await,
        "on"
    );
    let rw = s.session(Server::Green, "bluegreen_admin", false);
    assert_eq!(show(rw.clone()).await, "off", "the analyze session only");
    let mut progress = AnalyzeProgress::default();
    while !progress.is_complete() {
        postgres::analyze(&ep, &rw, &mut progress, Duration::from_secs(30))
            .await
            .unwrap();
    }
    assert!(
        progress.done.contains(&"t_green".to_string()),
        "{progress:?}"
    );
    let rows = s
        .admin(Server::Green, "t_green")
        .await
        .rows("SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NULL")
        .await
        .unwrap();
    assert_eq!(
        rows[0].get::<_, i64>(0),
        0,
        "every table of t_green analyzed"
    );
    s.reset_pg(Server::Green).await;
}
