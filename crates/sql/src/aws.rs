//! The AWS calls the way in needs, all through `bluegreen_aws`: where the database answers
//! (`Rds::describe_with_connection`, every time: after the switchover the same name answers
//! with the former green), the login (`Secrets::secret_string` of the request's secret only,
//! or an IAM auth token signed locally for `rds-db:connect`: `bluegreen_aws::rds::auth_token`).
//! Secrets stay in memory; the run document gets names only.

use crate::failure::{from_secret_error, Failure};
use crate::session::Endpoint;
use bluegreen_aws::{Rds, SdkConfig, Secrets};
use bluegreen_domain::database::access::AccessFailure;
use bluegreen_domain::database::credentials::{login_from_secret, DatabaseAccess, Login, Password};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::error::WorkerError;

/// The AWS adapters of the `sql` worker, built once per process.
#[derive(Clone, Debug)]
pub struct Aws {
    /// The credentials and Region IAM auth tokens are signed with.
    pub conf: SdkConfig,
    pub rds: Rds,
    pub secrets: Secrets,
}

impl Aws {
    pub fn new(conf: SdkConfig) -> Self {
        Self {
            rds: Rds::from_conf(&conf),
            secrets: Secrets::from_conf(&conf),
            conf,
        }
    }

    /// The endpoint of an instance or of a cluster's writer, or `None` when there is no such
    /// database (or an instance without an endpoint yet).
    pub async fn endpoint(
        &self,
        kind: DbKind,
        identifier: &str,
        role: &str,
    ) -> Result<Option<Endpoint>, WorkerError> {
        let Some((db, connection)) = self.rds.describe_with_connection(kind, identifier).await?
        else {
            return Ok(None);
        };
        let host = match (kind, db.endpoint) {
            (DbKind::Instance, None) => return Ok(None),
            (_, host) => host.unwrap_or_default(),
        };
        Ok(Some(Endpoint {
            identifier: identifier.to_string(),
            role: role.to_string(),
            engine: db.engine,
            host,
            port: db.port.unwrap_or_default().clamp(0, 65535) as u16,
            initial_database: connection.database_name,
            iam_auth_enabled: connection.iam_auth_enabled,
        }))
    }

    /// The secret's login (one GetSecretValue: call once per invocation and reuse).
    pub async fn secret_login(&self, arn: &str) -> Result<Login, Failure> {
        let value = self
            .secrets
            .secret_string(arn)
            .await
            .map_err(|e| from_secret_error(&e))?;
        let Some(value) = value else {
            return Err(Failure::Access(AccessFailure::Secret {
                code: "SecretShape".into(),
                detail: "the secret holds binary data, not a JSON string".into(),
            }));
        };
        login_from_secret(&value).map_err(|e| {
            Failure::Access(AccessFailure::Secret {
                code: "SecretShape".into(),
                detail: e.to_string(),
            })
        })
    }

    /// An IAM auth token for `user` at `ep` (signed locally with the function's credentials,
    /// valid 15 minutes; used at once as the password).
    pub async fn iam_login(&self, user: &str, ep: &Endpoint) -> Result<Login, Failure> {
        let token = bluegreen_aws::rds::auth_token(&self.conf, &ep.host, ep.port, user)
            .await
            .map_err(|detail| Failure::Access(AccessFailure::Token { detail }))?;
        Ok(Login {
            username: user.to_string(),
            password: Password::new(token),
        })
    }
}

/// Logins for one invocation: the secret is read once, a token is signed per endpoint.
pub struct Logins<'a> {
    aws: &'a Aws,
    access: &'a DatabaseAccess,
    secret: Option<Result<Login, Failure>>,
}

impl<'a> Logins<'a> {
    pub fn new(aws: &'a Aws, access: &'a DatabaseAccess) -> Self {
        Self {
            aws,
            access,
            secret: None,
        }
    }

    pub async fn for_endpoint(&mut self, ep: &Endpoint) -> Result<Login, Failure> {
        match self.access {
            DatabaseAccess::Iam { user } => self.aws.iam_login(user, ep).await,
            DatabaseAccess::Secret(arn) => {
                if self.secret.is_none() {
                    self.secret = Some(self.aws.secret_login(&arn.arn).await);
                }
                self.secret.clone().expect("just read")
            }
        }
    }
}
