//! A way in that does not work ends in ONE failing check, `database-access`, that says what
//! is wrong and what to fix, never in a hang or a crash. The adapter sorts each failure into
//! an `AccessFailure` (from SQLSTATEs, MySQL error codes, I/O error kinds, TLS errors,
//! Secrets Manager error codes); the wording of the fix lives here.

use super::credentials::DatabaseAccess;
use crate::model::check::{id, Check, Verdict};
use crate::model::engine::Engine;
use serde::{Deserialize, Serialize};

/// Seconds to open a connection (TCP, TLS, authentication), and per statement. A database
/// that does not answer within them is reported, not waited for.
pub const CONNECT_TIMEOUT_SECONDS: u64 = 5;
pub const STATEMENT_TIMEOUT_SECONDS: u64 = 10;

/// What went wrong on the way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccessFailure {
    /// `DATABASE_CA_BUNDLE` is unset or unreadable: the worker does not connect unverified.
    CaBundle {
        detail: String,
    },
    /// GetSecretValue was refused, or the secret does not hold a login.
    Secret {
        code: String,
        detail: String,
    },
    /// The IAM auth token could not be signed (no credentials in the function's environment).
    Token {
        detail: String,
    },
    /// No TCP connection: refused, unreachable, DNS, or no answer within the connect timeout.
    Unreachable {
        detail: String,
        timed_out: bool,
    },
    /// TLS failed: the server's certificate does not verify against the CA bundle.
    Tls {
        detail: String,
    },
    /// The server does not offer TLS at all.
    TlsUnsupported,
    /// The server rejected the user or password / token.
    Auth {
        detail: String,
    },
    /// Connected, but the user may not do what the step needs (connect to a database, read
    /// statistics, analyze): `missing` lists the grants to give.
    Permission {
        detail: String,
        missing: Vec<String>,
    },
    /// The database has no room for another connection, or is starting up.
    Busy {
        detail: String,
    },
    Other {
        detail: String,
    },
}

/// Where the worker tried to go, for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    pub engine: &'a Engine,
    /// "blue orders-pg" / "the new production orders-pg" / "green orders-pg-green-abc"
    pub role: String,
    /// `host:port` as RDS reports the endpoint.
    pub endpoint: String,
    /// `IAMDatabaseAuthenticationEnabled` of the instance or cluster, when known.
    pub iam_auth_enabled: Option<bool>,
}

/// What a step needs a user to be granted, per engine (the least-privilege setup).
pub fn required_grants(engine: &Engine, user: &str) -> Vec<String> {
    if engine.is_postgres_family() {
        vec![
            format!("GRANT CONNECT ON DATABASE <each database> TO {user}"),
            format!("GRANT pg_monitor TO {user}"),
            format!(
                "for the finish after switchover (ANALYZE, ALTER EXTENSION UPDATE, sequence \
                 values): GRANT rds_superuser TO {user} (PostgreSQL 17: pg_maintain and \
                 pg_read_all_data suffice for ANALYZE and sequences)"
            ),
        ]
    } else {
        vec![format!(
            "GRANT SELECT, PROCESS, REPLICATION CLIENT ON *.* TO {user}"
        )]
    }
}

fn user_of(access: &DatabaseAccess, login_user: Option<&str>) -> String {
    match (access, login_user) {
        (_, Some(u)) => u.to_string(),
        (DatabaseAccess::Iam { user }, None) => user.clone(),
        (DatabaseAccess::Secret(_), None) => "the secret's user".into(),
    }
}

/// The one failing check for a failure on the way in.
pub fn access_check(
    failure: &AccessFailure,
    access: &DatabaseAccess,
    target: &Target<'_>,
    login_user: Option<&str>,
) -> Check {
    let user = user_of(access, login_user);
    let at = format!("{} at {}", target.role, target.endpoint);
    let (observed, fix) = match failure {
        AccessFailure::CaBundle { detail } => (
            format!("no CA bundle to verify {at}: {detail}"),
            "set DATABASE_CA_BUNDLE on the sql function to the path of the RDS CA bundle \
             (global-bundle.pem from https://truststore.pki.rds.amazonaws.com, shipped with the \
             function); the worker never connects without verifying the server"
                .to_string(),
        ),
        AccessFailure::Secret { code, detail } => {
            let arn = match access {
                DatabaseAccess::Secret(a) => a.arn.clone(),
                DatabaseAccess::Iam { .. } => "the secret".into(),
            };
            let fix = match code.as_str() {
                "AccessDeniedException" | "AccessDenied" => format!(
                    "let the sql function's role call secretsmanager:GetSecretValue on {arn} \
                     (stack parameter DatabaseSecretArns) and, for a customer-managed key, \
                     kms:Decrypt on that key"
                ),
                "ResourceNotFoundException" => format!(
                    "{arn} does not exist in this account and Region (or is scheduled for \
                     deletion): give the ARN of an existing secret in database_secret_arn"
                ),
                "DecryptionFailure" => format!(
                    "the secret's KMS key refuses the sql function's role: allow kms:Decrypt \
                     for it in the key policy of {arn}'s key"
                ),
                "SecretShape" => format!(
                    "store the login in {arn} as JSON in the RDS shape: \
                     {{\"username\": \"...\", \"password\": \"...\"}}"
                ),
                _ => format!("check {arn} and the sql function's permission to read it"),
            };
            (
                format!("could not read the login for {at} from {arn}: {detail}"),
                fix,
            )
        }
        AccessFailure::Token { detail } => (
            format!("could not sign an IAM auth token for {user} at {at}: {detail}"),
            "the sql function needs AWS credentials (its execution role) to sign the token; \
             check the function's role and Region"
                .to_string(),
        ),
        AccessFailure::Unreachable { detail, timed_out } => (
            format!(
                "cannot reach {at}{}: {detail}",
                if *timed_out {
                    format!(" within {CONNECT_TIMEOUT_SECONDS} s")
                } else {
                    String::new()
                }
            ),
            format!(
                "let the sql function reach the database: its subnets (stack parameter \
                 DatabaseSubnetIds) must route to the database's VPC, and the database's security \
                 group must allow inbound TCP {} from the function's security group (stack \
                 parameter DatabaseSecurityGroupId)",
                target.endpoint.rsplit(':').next().unwrap_or("port")
            ),
        ),
        AccessFailure::Tls { detail } => (
            format!("TLS to {at} failed: {detail}"),
            "the server's certificate does not verify against DATABASE_CA_BUNDLE: ship the \
             current RDS CA bundle (global-bundle.pem, which holds every RDS CA: rds-ca-rsa2048-g1, \
             rds-ca-ecc384-g1, ...) or the bundle of the database's certificate authority"
                .to_string(),
        ),
        AccessFailure::TlsUnsupported => (
            format!("{at} does not offer TLS"),
            "turn TLS on for the database (RDS always offers it; for a self-managed server set \
             ssl = on / require_secure_transport): the worker never sends credentials in clear"
                .to_string(),
        ),
        AccessFailure::Auth { detail } => {
            let fix = match access {
                DatabaseAccess::Iam { user } => {
                    let enabled = match target.iam_auth_enabled {
                        Some(false) => "IAM database authentication is OFF on the database: \
                                        turn it on (modify-db-instance \
                                        --enable-iam-database-authentication); "
                            .to_string(),
                        _ => String::new(),
                    };
                    let grant = if target.engine.is_postgres_family() {
                        format!("GRANT rds_iam TO {user}")
                    } else {
                        format!(
                            "CREATE USER {user} IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'"
                        )
                    };
                    format!(
                        "{enabled}the user must log in with IAM ({grant}) and the sql function's \
                         role needs rds-db:connect on dbuser:<resource id>/{user} (stack parameter \
                         DatabaseIamUser)"
                    )
                }
                DatabaseAccess::Secret(arn) => format!(
                    "the username/password in {} do not match the database: update the secret \
                     (or, after a rotation, check that the rotation reached this database)",
                    arn.arn
                ),
            };
            (format!("{at} refused the login of {user}: {detail}"), fix)
        }
        AccessFailure::Permission { detail, missing } => {
            let missing = if missing.is_empty() {
                required_grants(target.engine, &user)
            } else {
                missing.clone()
            };
            (
                format!("{user} lacks privileges on {at}: {detail}"),
                format!("grant what the checks need: {}", missing.join("; ")),
            )
        }
        AccessFailure::Busy { detail } => (
            format!("{at} accepts no connection now: {detail}"),
            "free a connection slot (max_connections) or wait until the database is available, \
             then run again"
                .to_string(),
        ),
        AccessFailure::Other { detail } => (
            format!("could not open a session on {at}: {detail}"),
            format!(
                "check the database's logs for this session of {user}; the grants the worker \
                 needs: {}",
                required_grants(target.engine, &user).join("; ")
            ),
        ),
    };
    Check::new(id::DATABASE_ACCESS, Verdict::Fail, observed, fix)
}

/// The passing check once every database was visited.
pub fn access_ok(access: &DatabaseAccess, target: &Target<'_>, databases: usize) -> Check {
    Check::new(
        id::DATABASE_ACCESS,
        Verdict::Pass,
        format!(
            "connected to {} at {} with {} (TLS verified), {databases} database(s) visited",
            target.role,
            target.endpoint,
            access.describe()
        ),
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::credentials::SecretArn;

    fn secret() -> DatabaseAccess {
        DatabaseAccess::Secret(
            SecretArn::parse("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf")
                .unwrap(),
        )
    }

    fn target(engine: &Engine, iam: Option<bool>) -> Target<'_> {
        Target {
            engine,
            role: "blue orders-pg".into(),
            endpoint: "orders-pg.x.us-east-1.rds.amazonaws.com:5432".into(),
            iam_auth_enabled: iam,
        }
    }

    #[test]
    fn every_failure_is_one_failing_check_with_a_fix() {
        let pg = Engine::Postgres;
        for failure in [
            AccessFailure::CaBundle {
                detail: "unset".into(),
            },
            AccessFailure::Secret {
                code: "AccessDeniedException".into(),
                detail: "denied".into(),
            },
            AccessFailure::Token {
                detail: "no creds".into(),
            },
            AccessFailure::Unreachable {
                detail: "refused".into(),
                timed_out: false,
            },
            AccessFailure::Tls {
                detail: "UnknownIssuer".into(),
            },
            AccessFailure::TlsUnsupported,
            AccessFailure::Auth {
                detail: "bad password".into(),
            },
            AccessFailure::Permission {
                detail: "no CONNECT".into(),
                missing: vec![],
            },
            AccessFailure::Busy {
                detail: "too many".into(),
            },
            AccessFailure::Other { detail: "?".into() },
        ] {
            let c = access_check(&failure, &secret(), &target(&pg, None), Some("app"));
            assert_eq!(c.id, id::DATABASE_ACCESS);
            assert_eq!(c.verdict, Verdict::Fail);
            assert!(!c.fix.is_empty(), "{failure:?}");
            assert!(c.observed.contains("orders-pg"), "{}", c.observed);
        }
    }

    #[test]
    fn unreachable_names_the_security_group_and_subnets() {
        let pg = Engine::Postgres;
        let c = access_check(
            &AccessFailure::Unreachable {
                detail: "no answer".into(),
                timed_out: true,
            },
            &secret(),
            &target(&pg, None),
            None,
        );
        assert!(c.observed.contains("within 5 s"), "{}", c.observed);
        assert!(
            c.fix.contains("security group") && c.fix.contains("TCP 5432"),
            "{}",
            c.fix
        );
        assert!(c.fix.contains("subnets"), "{}", c.fix);
    }

    #[test]
    fn iam_auth_failures_name_the_switch_the_grant_and_the_policy() {
        let pg = Engine::Postgres;
        let iam = DatabaseAccess::Iam {
            user: "bluegreen_check".into(),
        };
        let failure = AccessFailure::Auth {
            detail: "PAM authentication failed".into(),
        };
        let c = access_check(&failure, &iam, &target(&pg, Some(false)), None);
        assert!(
            c.fix.contains("IAM database authentication is OFF"),
            "{}",
            c.fix
        );
        assert!(
            c.fix.contains("GRANT rds_iam TO bluegreen_check"),
            "{}",
            c.fix
        );
        assert!(c.fix.contains("rds-db:connect"), "{}", c.fix);
        let c = access_check(&failure, &iam, &target(&pg, Some(true)), None);
        assert!(!c.fix.contains("OFF"), "{}", c.fix);
        let my = Engine::Mysql;
        let c = access_check(&failure, &iam, &target(&my, Some(true)), None);
        assert!(c.fix.contains("AWSAuthenticationPlugin"), "{}", c.fix);
    }

    #[test]
    fn a_wrong_password_points_at_the_secret_and_a_denied_secret_at_the_role() {
        let pg = Engine::Postgres;
        let c = access_check(
            &AccessFailure::Auth {
                detail: "password authentication failed for user \"app\"".into(),
            },
            &secret(),
            &target(&pg, None),
            Some("app"),
        );
        assert!(c.fix.contains("update the secret"), "{}", c.fix);
        let c = access_check(
            &AccessFailure::Secret {
                code: "AccessDeniedException".into(),
                detail: "not authorized".into(),
            },
            &secret(),
            &target(&pg, None),
            None,
        );
        assert!(c.fix.contains("secretsmanager:GetSecretValue"), "{}", c.fix);
    }

    #[test]
    fn missing_grants_are_listed() {
        let pg = Engine::Postgres;
        let c = access_check(
            &AccessFailure::Permission {
                detail: "permission denied for database orders".into(),
                missing: vec![],
            },
            &secret(),
            &target(&pg, None),
            Some("nogrants"),
        );
        assert!(
            c.fix.contains("GRANT CONNECT ON DATABASE") && c.fix.contains("pg_monitor TO nogrants"),
            "{}",
            c.fix
        );
        let my = Engine::Mariadb;
        assert!(required_grants(&my, "u")[0].contains("PROCESS"));
    }
}
