//! Every way a database session can fail, sorted: what the operator must fix becomes an
//! `AccessFailure` (one `database-access` check, see `bluegreen_domain::database::access`);
//! what a retry may fix (Secrets Manager throttling, AWS 5xx) stays a `WorkerError` with its
//! stable name (`Throttled`, `AwsUnavailable`), which the state machine's `Retry` matches.

use bluegreen_domain::database::access::{AccessFailure, CONNECT_TIMEOUT_SECONDS};
use bluegreen_domain::model::error::WorkerError;
use std::error::Error as StdError;
use std::io;

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The way in does not work: report it, do not retry.
    Access(AccessFailure),
    /// An error with a stable name (transient ones are retried by the state machine).
    Worker(WorkerError),
}

impl From<WorkerError> for Failure {
    fn from(e: WorkerError) -> Self {
        Self::Worker(e)
    }
}

impl From<AccessFailure> for Failure {
    fn from(e: AccessFailure) -> Self {
        Self::Access(e)
    }
}

impl Failure {
    /// For the steps after the precheck (fingerprint, watch, finish), where a database that
    /// is busy or starting up is worth a retry.
    pub fn retry_if_busy(self) -> Self {
        match self {
            Self::Access(AccessFailure::Busy { detail }) => {
                Self::Worker(WorkerError::AwsUnavailable(format!(
                    "the database accepts no connection now ({detail}); the state machine retries"
                )))
            }
            other => other,
        }
    }
}

pub fn connect_timed_out(what: &str) -> AccessFailure {
    AccessFailure::Unreachable {
        detail: format!(
            "no answer from {what} (TCP, TLS and login) within {CONNECT_TIMEOUT_SECONDS} s"
        ),
        timed_out: true,
    }
}

/// A rustls error somewhere in `e`'s chain, as TLS sees it.
fn rustls_in(e: &(dyn StdError + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(describe_rustls(r));
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                    return Some(describe_rustls(r));
                }
            }
        }
        cur = err.source();
    }
    None
}

fn describe_rustls(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => format!(
            "the server's certificate is not trusted ({c:?}): it does not chain to a CA of the bundle, \
             or does not name this host"
        ),
        other => other.to_string(),
    }
}

fn io_in<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a io::Error> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// An I/O error on the way to the server.
pub fn from_io(e: &io::Error) -> AccessFailure {
    if let Some(tls) = rustls_in(e) {
        return AccessFailure::Tls { detail: tls };
    }
    let detail = match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            "connection refused (nothing listens on that port)".to_string()
        }
        io::ErrorKind::TimedOut => "connection timed out".to_string(),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            format!("no route to the host ({e})")
        }
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::UnexpectedEof => {
            format!("the connection was closed by the other side ({e})")
        }
        _ if e.to_string().contains("lookup") || e.to_string().contains("resolve") => {
            format!("the endpoint's name does not resolve ({e})")
        }
        _ => e.to_string(),
    };
    AccessFailure::Unreachable {
        timed_out: e.kind() == io::ErrorKind::TimedOut,
        detail,
    }
}

/// A tokio-postgres error: SQLSTATE first, then what lies under it.
pub fn from_pg(e: &tokio_postgres::Error) -> AccessFailure {
    use tokio_postgres::error::SqlState;
    if let Some(db) = e.as_db_error() {
        let detail = db.message().to_string();
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            AccessFailure::Auth { detail }
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            AccessFailure::Permission {
                detail,
                missing: vec![],
            }
        } else if *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::ADMIN_SHUTDOWN
        {
            AccessFailure::Busy { detail }
        } else if *code == SqlState::QUERY_CANCELED {
            AccessFailure::Other {
                detail: format!("{detail} (a catalog query ran past the statement timeout)"),
            }
        } else {
            AccessFailure::Other {
                detail: format!("{detail} (SQLSTATE {})", code.code()),
            }
        };
    }
    let text = e.to_string();
    if text.contains("does not support TLS") {
        return AccessFailure::TlsUnsupported;
    }
    if let Some(tls) = rustls_in(e) {
        return AccessFailure::Tls { detail: tls };
    }
    if let Some(io) = io_in(e) {
        return from_io(io);
    }
    if text.contains("timeout") || text.contains("timed out") {
        return AccessFailure::Unreachable {
            detail: text,
            timed_out: true,
        };
    }
    if text.contains("closed") {
        return AccessFailure::Unreachable {
            detail: format!("the server closed the connection ({text})"),
            timed_out: false,
        };
    }
    AccessFailure::Other { detail: text }
}

/// A mysql_async error.
pub fn from_mysql(e: &mysql_async::Error) -> AccessFailure {
    use mysql_async::{DriverError, Error, IoError};
    match e {
        Error::Server(s) => {
            let detail = format!("{} (error {})", s.message, s.code);
            match s.code {
                1045 | 1698 | 2061 => AccessFailure::Auth { detail },
                1044 | 1142 | 1143 | 1227 | 1370 => AccessFailure::Permission {
                    detail,
                    missing: vec![],
                },
                1040 | 1203 | 1053 => AccessFailure::Busy { detail },
                _ => AccessFailure::Other { detail },
            }
        }
        Error::Driver(DriverError::NoClientSslFlagFromServer) => AccessFailure::TlsUnsupported,
        Error::Driver(DriverError::CleartextPluginDisabled) => AccessFailure::Auth {
            detail: "the server asks for the cleartext plugin (IAM), which is only sent over TLS for IAM logins".into(),
        },
        Error::Driver(DriverError::UnknownAuthPlugin { name }) => AccessFailure::Auth {
            detail: format!("the server asks for the authentication plugin {name}, which the worker does not speak"),
        },
        Error::Io(IoError::Io(io)) => from_io(io),
        Error::Io(IoError::Tls(t)) => AccessFailure::Tls {
            detail: rustls_in(t).unwrap_or_else(|| t.to_string()),
        },
        Error::Driver(DriverError::ConnectionClosed) => AccessFailure::Unreachable {
            detail: "the server closed the connection".into(),
            timed_out: false,
        },
        other => AccessFailure::Other {
            detail: other.to_string(),
        },
    }
}

/// A GetSecretValue error: a transient one stays a retryable `WorkerError`; a refusal
/// becomes an `AccessFailure`.
pub fn from_secret_error(err: &bluegreen_aws::AwsError) -> Failure {
    let classified = err.worker_error();
    if classified.is_transient() {
        return Failure::Worker(classified);
    }
    Failure::Access(AccessFailure::Secret {
        code: err.code().unwrap_or("Unknown").to_string(),
        detail: classified.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_timed_out_connections_are_unreachable() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert!(
            matches!(from_io(&e), AccessFailure::Unreachable { timed_out: false, detail } if detail.contains("refused"))
        );
        let e = io::Error::from(io::ErrorKind::TimedOut);
        assert!(matches!(
            from_io(&e),
            AccessFailure::Unreachable {
                timed_out: true,
                ..
            }
        ));
    }

    #[test]
    fn a_certificate_error_inside_io_is_tls() {
        let e = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(
            matches!(from_io(&e), AccessFailure::Tls { detail } if detail.contains("UnknownIssuer"))
        );
    }

    #[test]
    fn busy_is_retried_after_the_precheck() {
        let f = Failure::Access(AccessFailure::Busy {
            detail: "too many clients".into(),
        })
        .retry_if_busy();
        assert!(matches!(f, Failure::Worker(WorkerError::AwsUnavailable(_))));
    }
}
