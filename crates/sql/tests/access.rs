//! The ways in that do not work, against real servers: each ends in ONE `database-access`
//! check naming what is wrong and what to fix, within the connect timeout: never a hang,
//! never a panic.

mod common;

use bluegreen_domain::database::access::{access_check, AccessFailure};
use bluegreen_domain::database::credentials::{DatabaseAccess, Login, Password, SecretArn};
use bluegreen_domain::model::check::Verdict;
use bluegreen_sql::aws::Aws;
use bluegreen_sql::failure::Failure;
use bluegreen_sql::session::Endpoint;
use bluegreen_sql::{mysql, postgres};
use common::{servers, Server};
use std::time::{Duration, Instant};

fn secret() -> DatabaseAccess {
    DatabaseAccess::Secret(
        SecretArn::parse("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-check-AbCdEf")
            .unwrap(),
    )
}

/// Precheck-like: gather and turn the failure into its check, timing it.
async fn try_pg(ep: &Endpoint, session: bluegreen_sql::Session) -> (AccessFailure, Duration) {
    let t0 = Instant::now();
    match postgres::gather(ep, &session).await {
        Err(Failure::Access(a)) => (a, t0.elapsed()),
        other => panic!(
            "expected an access failure, got {:?}",
            other.map(|_| "facts")
        ),
    }
}

async fn try_my(ep: &Endpoint, session: bluegreen_sql::Session) -> AccessFailure {
    match mysql::gather(ep, &session).await {
        Err(Failure::Access(a)) => a,
        other => panic!(
            "expected an access failure, got {:?}",
            other.map(|_| "facts")
        ),
    }
}

fn check_of(failure: &AccessFailure, ep: &Endpoint) -> bluegreen_domain::model::check::Check {
    let c = access_check(failure, &secret(), &ep.target(), Some("bluegreen_check"));
    assert_eq!(
        (c.id.as_str(), c.verdict),
        ("database-access", Verdict::Fail)
    );
    c
}

/// A password no message would contain by chance: if it shows up, it leaked.
const CANARY: &str = "Zq7-canary-pw-4Kx";

#[tokio::test]
async fn a_wrong_password_names_the_secret() {
    let Some(s) = servers("a_wrong_password_names_the_secret") else {
        return;
    };
    for server in [Server::Blue, Server::Maria] {
        let ep = s.endpoint(server, "blue");
        let mut session = s.session(server, "bluegreen_check", true);
        session.login.password = Password::new(CANARY);
        let failure = if server == Server::Maria {
            try_my(&ep, session).await
        } else {
            try_pg(&ep, session).await.0
        };
        assert!(
            matches!(failure, AccessFailure::Auth { .. }),
            "{server:?}: {failure:?}"
        );
        let c = check_of(&failure, &ep);
        assert!(c.fix.contains("update the secret"), "{}", c.fix);
        for text in [&c.observed, &c.fix, &format!("{failure:?}")] {
            assert!(!text.contains(CANARY), "the password leaked: {text}");
        }
    }
}

#[tokio::test]
async fn a_closed_port_is_unreachable_at_once() {
    let Some(s) = servers("a_closed_port_is_unreachable_at_once") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for server in [Server::Blue, Server::Maria] {
        let mut ep = s.endpoint(server, "blue");
        ep.port = port; // the listener is gone: nothing listens there
        let session = s.session(server, "bluegreen_check", true);
        let t0 = Instant::now();
        let failure = if server == Server::Maria {
            try_my(&ep, session).await
        } else {
            try_pg(&ep, session).await.0
        };
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert!(
            matches!(&failure, AccessFailure::Unreachable { timed_out: false, detail } if detail.contains("refused")),
            "{server:?}: {failure:?}"
        );
        let c = check_of(&failure, &ep);
        assert!(
            c.fix.contains("security group") && c.fix.contains(&format!("TCP {port}")),
            "{}",
            c.fix
        );
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_connect_timeout() {
    let Some(s) = servers("a_server_that_never_answers_times_out_within_the_connect_timeout")
    else {
        return;
    };
    // Accepts TCP (the kernel completes the handshake) and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    for server in [Server::Blue, Server::Maria] {
        let mut ep = s.endpoint(server, "blue");
        ep.port = port;
        let mut session = s.session(server, "bluegreen_check", true);
        session.connect_timeout = Duration::from_secs(1);
        let t0 = Instant::now();
        let failure = if server == Server::Maria {
            try_my(&ep, session).await
        } else {
            try_pg(&ep, session).await.0
        };
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(3), "{server:?} took {took:?}");
        assert!(
            matches!(
                failure,
                AccessFailure::Unreachable {
                    timed_out: true,
                    ..
                }
            ),
            "{failure:?}"
        );
        let c = check_of(&failure, &ep);
        assert!(c.observed.contains("within 5 s"), "{}", c.observed);
    }
    drop(silent);
}

#[tokio::test]
async fn a_blackholed_address_ends_within_the_connect_timeout() {
    let Some(s) = servers("a_blackholed_address_ends_within_the_connect_timeout") else {
        return;
    };
    // TEST-NET-1 (RFC 5737): routed nowhere. Depending on the network it times out or is
    // unreachable at once; either way one clear finding, in bounded time.
    for server in [Server::Blue, Server::Maria] {
        let mut ep = s.endpoint(server, "blue");
        ep.host = "192.0.2.1".into();
        ep.port = 5432;
        let mut session = s.session(server, "bluegreen_check", true);
        session.connect_timeout = Duration::from_secs(2);
        let t0 = Instant::now();
        let failure = if server == Server::Maria {
            try_my(&ep, session).await
        } else {
            try_pg(&ep, session).await.0
        };
        assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
        assert!(
            matches!(failure, AccessFailure::Unreachable { .. }),
            "{failure:?}"
        );
        assert!(check_of(&failure, &ep).fix.contains("subnets"));
    }
}

#[tokio::test]
async fn a_user_without_grants_on_a_database_lists_the_grants() {
    let Some(s) = servers("a_user_without_grants_on_a_database_lists_the_grants") else {
        return;
    };
    let ep = s.endpoint(Server::Blue, "blue");
    let (failure, _) = try_pg(&ep, s.session(Server::Blue, "nogrants", true)).await;
    match &failure {
        AccessFailure::Permission { detail, .. } => {
            assert!(detail.contains("locked"), "names the database: {detail}")
        }
        other => panic!("{other:?}"),
    }
    let c = access_check(&failure, &secret(), &ep.target(), Some("nogrants"));
    assert!(
        c.fix.contains("GRANT CONNECT ON DATABASE")
            && c.fix.contains("GRANT pg_monitor TO nogrants"),
        "{}",
        c.fix
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_tls_and_names_the_bundle() {
    let Some(s) = servers("a_certificate_from_another_ca_fails_tls_and_names_the_bundle") else {
        return;
    };
    for server in [Server::Blue, Server::Maria] {
        let ep = s.endpoint(server, "blue");
        let mut session = s.session(server, "bluegreen_check", true);
        session.trust = s.wrong_trust();
        let failure = if server == Server::Maria {
            try_my(&ep, session).await
        } else {
            try_pg(&ep, session).await.0
        };
        assert!(
            matches!(&failure, AccessFailure::Tls { detail } if detail.contains("UnknownIssuer")),
            "{server:?}: {failure:?}"
        );
        assert!(check_of(&failure, &ep).fix.contains("DATABASE_CA_BUNDLE"));
    }
    // And a host name the certificate does not name (it names localhost and 127.0.0.1).
    let mut ep = s.endpoint(Server::Blue, "blue");
    ep.host = "127.0.0.2".into();
    let (failure, _) = try_pg(&ep, s.session(Server::Blue, "bluegreen_check", true)).await;
    assert!(
        matches!(
            &failure,
            AccessFailure::Tls { .. } | AccessFailure::Unreachable { .. }
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn an_iam_token_the_server_does_not_accept_points_at_iam_auth() {
    let Some(s) = servers("an_iam_token_the_server_does_not_accept_points_at_iam_auth") else {
        return;
    };
    // A real token, signed locally with (fake) credentials: the local server is not RDS and
    // refuses it, as RDS does when IAM auth is off or the user lacks rds_iam.
    let creds = aws_sdk_rds::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(creds)
        .region(aws_sdk_rds::config::Region::new("us-east-1"))
        .load()
        .await;
    let aws = Aws::new(conf);
    let mut ep = s.endpoint(Server::Blue, "blue");
    ep.iam_auth_enabled = Some(false);
    let login: Login = aws
        .iam_login("bluegreen_check", &ep)
        .await
        .expect("signed locally");
    assert!(
        login.password.expose().contains("Action=connect"),
        "a SigV4 presigned token"
    );
    assert!(
        !format!("{login:?}").contains("Action=connect"),
        "never printed"
    );
    let mut session = s.session(Server::Blue, "bluegreen_check", true);
    session.login = login;
    let (failure, _) = try_pg(&ep, session).await;
    assert!(matches!(failure, AccessFailure::Auth { .. }), "{failure:?}");
    let iam = DatabaseAccess::Iam {
        user: "bluegreen_check".into(),
    };
    let c = access_check(&failure, &iam, &ep.target(), None);
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
}
