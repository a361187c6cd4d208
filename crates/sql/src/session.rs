//! Where the worker connects and how: the endpoint RDS reports (never a stored address: after
//! the switchover the same name answers with the former green), the login, the trust store,
//! the timeouts, and whether every transaction is READ ONLY.

use crate::tls::Trust;
use bluegreen_domain::database::access::{
    Target, CONNECT_TIMEOUT_SECONDS, STATEMENT_TIMEOUT_SECONDS,
};
use bluegreen_domain::database::credentials::Login;
use bluegreen_domain::model::engine::Engine;
use std::time::Duration;

/// An instance's (or a cluster writer's) endpoint, as DescribeDBInstances/Clusters report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The RDS identifier, e.g. `orders-pg` or `orders-pg-old1`.
    pub identifier: String,
    /// What it is to this run: "blue", "green", "the new production", "the old blue".
    pub role: String,
    pub engine: Engine,
    pub host: String,
    pub port: u16,
    /// The database created with the instance (`DBName`); PostgreSQL's first connection goes
    /// there (`postgres` when none).
    pub initial_database: Option<String>,
    pub iam_auth_enabled: Option<bool>,
}

impl Endpoint {
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn label(&self) -> String {
        format!("{} {}", self.role, self.identifier)
    }

    pub fn target(&self) -> Target<'_> {
        Target {
            engine: &self.engine,
            role: self.label(),
            endpoint: self.address(),
            iam_auth_enabled: self.iam_auth_enabled,
        }
    }
}

/// How to open sessions on one endpoint.
#[derive(Debug, Clone)]
pub struct Session {
    pub login: Login,
    pub trust: Trust,
    /// Every transaction READ ONLY (blue, green, the old blue); off only for ANALYZE on green
    /// before the switchover and for the finish on the new production (ANALYZE, ALTER
    /// EXTENSION), where `default_transaction_read_only` is set off for the session.
    pub read_only: bool,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    /// MySQL IAM logins send the token with the cleartext plugin (over TLS only).
    pub cleartext_auth: bool,
}

impl Session {
    pub fn new(login: Login, trust: Trust, read_only: bool) -> Self {
        Self {
            login,
            trust,
            read_only,
            connect_timeout: Duration::from_secs(CONNECT_TIMEOUT_SECONDS),
            statement_timeout: Duration::from_secs(STATEMENT_TIMEOUT_SECONDS),
            cleartext_auth: false,
        }
    }

    /// A little more than the server-side statement timeout: the client's own bound, in case
    /// the network, not the server, is what hangs.
    pub fn client_timeout(&self) -> Duration {
        self.statement_timeout + Duration::from_secs(2)
    }
}
