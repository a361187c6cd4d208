//! The `sql` worker: the only one that talks SQL (and runs in the VPC). It reaches blue,
//! green, the new production and the old blue through the endpoints RDS reports, with the
//! login the request names (a Secrets Manager secret or an IAM auth token), over TLS verified
//! against `DATABASE_CA_BUNDLE`, with connect and statement timeouts, in READ ONLY
//! transactions everywhere but the finish on the new production. The rules are in
//! `bluegreen_domain::database`; this crate gathers facts and runs statements.
//!
//! - `session`: where to connect and how (login, TLS, timeouts, read-only).
//! - `tls`: the CA bundle and the rustls client for both drivers.
//! - `failure`: driver, I/O and TLS errors to `AccessFailure` (one clear check) or a
//!   retryable `WorkerError`.
//! - `postgres`, `mysql`: one connection per database visited; the catalog queries.
//! - `aws`: the endpoints (DescribeDBInstances / DescribeDBClusters), the secret
//!   (GetSecretValue), the IAM auth token.
//! - `handler`: the four ops over the run document.
//! - `runtime`: the Lambda loop (JSON logs as every worker's).

pub mod aws;
pub mod failure;
pub mod handler;
pub mod mysql;
pub mod postgres;
pub mod runtime;
pub mod session;
pub mod tls;

pub use failure::Failure;
pub use session::{Endpoint, Session};
