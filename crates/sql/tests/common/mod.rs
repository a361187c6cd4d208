//! Real servers for the `sql` worker's tests, started by tests/db/servers.py (`make test` and
//! `make db-test` start them; by hand: `python3 tests/db/servers.py run -- cargo test -p
//! bluegreen-sql`). Without them each test says it is skipped and passes, unless
//! BLUEGREEN_REQUIRE_DB_SERVERS=1 (set by the Makefile), which turns the skip into a failure.
#![allow(dead_code)]

use bluegreen_domain::database::credentials::{Login, Password};
use bluegreen_domain::model::engine::Engine;
use bluegreen_sql::session::{Endpoint, Session};
use bluegreen_sql::tls::Trust;
use bluegreen_sql::{mysql, postgres};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Servers {
    pub info: Value,
}

/// Whether a missing server or server part fails the test instead of skipping it (`make test`,
/// `make db-test`, `make e2e` set it).
pub fn required() -> bool {
    std::env::var("BLUEGREEN_REQUIRE_DB_SERVERS").is_ok_and(|v| v == "1")
}

/// The servers, or `None` (and a line saying why the test is skipped).
pub fn servers(test: &str) -> Option<Servers> {
    bluegreen_sql::tls::install_default_provider();
    let path = std::env::var("BLUEGREEN_TEST_SERVERS")
        .ok()
        .filter(|p| !p.is_empty());
    let Some(path) = path else {
        assert!(
            !required(),
            "{test}: BLUEGREEN_REQUIRE_DB_SERVERS=1 but BLUEGREEN_TEST_SERVERS is not set: start \
             the servers with tests/db/servers.py"
        );
        eprintln!(
            "SKIPPED {test}: no database servers (BLUEGREEN_TEST_SERVERS unset); run \
             `python3 tests/db/servers.py run -- cargo test -p bluegreen-sql` or `make db-test`"
        );
        return None;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Some(Servers {
        info: serde_json::from_str(&text).expect("servers.json"),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Blue,
    Green,
    /// Blue's settings plus pg_cron, pglogical, pg_partman_bgw preloaded (when installed).
    Ext,
    Maria,
}

impl Server {
    fn key(self) -> &'static str {
        match self {
            Self::Blue => "postgres",
            Self::Green => "postgres_green",
            Self::Ext => "postgres_ext",
            Self::Maria => "mariadb",
        }
    }
}

impl Servers {
    pub fn port(&self, server: Server) -> u16 {
        self.info[server.key()]["port"].as_u64().unwrap() as u16
    }

    pub fn has_ext(&self) -> bool {
        !self.info["postgres_ext"].is_null()
    }

    pub fn preloaded(&self) -> Vec<String> {
        self.info["postgres_ext"]["preloaded"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn endpoint(&self, server: Server, role: &str) -> Endpoint {
        Endpoint {
            identifier: format!("test-{}", server.key()),
            role: role.to_string(),
            engine: if server == Server::Maria {
                Engine::Mariadb
            } else {
                Engine::Postgres
            },
            host: "127.0.0.1".into(),
            port: self.port(server),
            initial_database: None,
            iam_auth_enabled: None,
        }
    }

    pub fn trust(&self) -> Trust {
        Trust::from_file(self.info["ca_bundle"].as_str().unwrap()).expect("the test CA")
    }

    pub fn wrong_trust(&self) -> Trust {
        Trust::from_file(self.info["wrong_ca_bundle"].as_str().unwrap()).expect("the other CA")
    }

    pub fn login(&self, server: Server, user: &str) -> Login {
        let u = &self.info[server.key()]["users"][user];
        Login {
            username: u["user"].as_str().unwrap().to_string(),
            password: Password::new(u["password"].as_str().unwrap()),
        }
    }

    pub fn session(&self, server: Server, user: &str, read_only: bool) -> Session {
        let mut s = Session::new(self.login(server, user), self.trust(), read_only);
        s.connect_timeout = Duration::from_secs(3);
        s
    }

    /// A superuser session on `db` of a PostgreSQL server, for seeding.
    pub async fn admin(&self, server: Server, db: &str) -> postgres::Pg {
        let ep = self.endpoint(server, "admin");
        let s = self.session(server, "bluegreen_admin", false);
        match postgres::connect(&ep, &s, db).await {
            Ok(pg) => pg,
            Err(e) => panic!("admin session on {db}: {e:?}"),
        }
    }

    pub async fn maria_admin(&self) -> mysql::My {
        let ep = self.endpoint(Server::Maria, "admin");
        let s = self.session(Server::Maria, "bluegreen_admin", false);
        match mysql::connect(&ep, &s).await {
            Ok(my) => my,
            Err(e) => panic!("admin session on MariaDB: {e:?}"),
        }
    }

    /// Back to the state servers.py left: no test database, slot, prepared transaction,
    /// subscription or extension of a test.
    pub async fn reset_pg(&self, server: Server) {
        let admin = self.admin(server, "postgres").await;
        for row in admin
            .rows("SELECT gid, database::text FROM pg_prepared_xacts")
            .await
            .unwrap()
        {
            let (gid, db): (String, String) = (row.get(0), row.get(1));
            let there = self.admin(server, &db).await;
            exec(&there, &format!("ROLLBACK PREPARED '{gid}'")).await;
        }
        exec(
            &admin,
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active",
        )
        .await;
        let dbs: Vec<String> = admin
            .rows("SELECT datname::text FROM pg_database WHERE datname LIKE 't\\_%'")
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for db in dbs {
            let ep = self.endpoint(server, "admin");
            let session = self.session(server, "bluegreen_admin", false);
            // An interrupted DROP DATABASE leaves it invalid: it can only be dropped.
            let Ok(there) = postgres::connect(&ep, &session, &db).await else {
                exec(&admin, &format!("DROP DATABASE {db} WITH (FORCE)")).await;
                continue;
            };
            for row in there
                .rows(
                    "SELECT subname::text FROM pg_subscription WHERE subdbid = \
                     (SELECT oid FROM pg_database WHERE datname = current_database())",
                )
                .await
                .unwrap()
            {
                let sub: String = row.get(0);
                exec(&there, &format!("ALTER SUBSCRIPTION {sub} DISABLE")).await;
                exec(
                    &there,
                    &format!("ALTER SUBSCRIPTION {sub} SET (slot_name = NONE)"),
                )
                .await;
                exec(&there, &format!("DROP SUBSCRIPTION {sub}")).await;
            }
            drop(there);
            exec(&admin, &format!("DROP DATABASE {db} WITH (FORCE)")).await;
        }
    }
}

/// A second MariaDB server, of the same make as `mariadb` (tests/db/servers.py's own
/// `Mariadb`: TLS from the same CA, the same users and passwords, `server_id` 1), started for
/// one test and stopped when dropped. About 3 s: what the shared one replicates to.
pub struct SecondMaria {
    pub port: u16,
    base: PathBuf,
}

/// The harness, imported as a module (it is one: `with Servers() as s`).
fn harness(script: &str, args: &[&Path]) -> std::io::Result<std::process::Output> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/db");
    Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sys, json, pathlib; sys.path.insert(0, sys.argv[1]); import servers\n{script}"
        ))
        .arg(dir)
        .args(args)
        .output()
}

impl Servers {
    /// Starts a second MariaDB server next to the others (in their directory, which
    /// `servers.py run` removes).
    pub fn second_maria(&self, name: &str) -> SecondMaria {
        let base = Path::new(self.info["dir"].as_str().unwrap())
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let ca = PathBuf::from(self.info["ca_bundle"].as_str().unwrap());
        let out = harness(
            "m = servers.Mariadb(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])).start()\n\
             print(json.dumps({'port': m.port}))",
            &[&base, ca.parent().unwrap()],
        )
        .expect("python3");
        assert!(
            out.status.success(),
            "the second MariaDB did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let info: Value = serde_json::from_slice(&out.stdout).expect("the second server's port");
        SecondMaria {
            port: info["port"].as_u64().unwrap() as u16,
            base,
        }
    }
}

impl SecondMaria {
    pub fn endpoint(&self, role: &str) -> Endpoint {
        Endpoint {
            identifier: "test-mariadb-second".into(),
            role: role.to_string(),
            engine: Engine::Mariadb,
            host: "127.0.0.1".into(),
            port: self.port,
            initial_database: None,
            iam_auth_enabled: None,
        }
    }

    /// An admin session (the users and passwords are the shared server's).
    pub async fn admin(&self, servers: &Servers) -> mysql::My {
        let session = servers.session(Server::Maria, "bluegreen_admin", false);
        match mysql::connect(&self.endpoint("admin"), &session).await {
            Ok(my) => my,
            Err(e) => panic!("admin session on the second MariaDB: {e:?}"),
        }
    }
}

impl Drop for SecondMaria {
    /// servers.py's own stop: SIGTERM to the pid in its pid file, SIGKILL after 10 s. Never
    /// panics (it may run while a failed test unwinds).
    fn drop(&mut self) {
        let _ = harness(
            "servers.Mariadb(pathlib.Path(sys.argv[2]), None).stop()",
            &[&self.base],
        );
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// Runs statements one by one (some, like CREATE DATABASE, refuse a transaction block).
pub async fn exec(pg: &postgres::Pg, sql: &str) {
    if let Err(e) = pg.client.batch_execute(sql).await {
        panic!(
            "{sql}: {e} ({:?})",
            e.as_db_error().map(|d| d.message().to_string())
        );
    }
}

/// Tests that change instance-wide state (databases, slots, extensions) take turns.
pub async fn turn() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
}
