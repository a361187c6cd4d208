//! The AWS calls the way in needs: where the database answers (DescribeDBInstances /
//! DescribeDBClusters, every time: after the switchover the same name answers with the former
//! green), the login (GetSecretValue of the request's secret only, or an IAM auth token signed
//! locally for `rds-db:connect`). Secrets stay in memory; the run document gets names only.

use crate::failure::{from_secret_error, Failure};
use crate::session::Endpoint;
use aws_sdk_rds::auth_token::{AuthTokenGenerator, Config as TokenConfig};
use bluegreen_aws::errors::Classify;
use bluegreen_domain::database::access::AccessFailure;
use bluegreen_domain::database::credentials::{login_from_secret, DatabaseAccess, Login, Password};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::error::WorkerError;

/// The AWS clients of the `sql` worker, built once per process.
#[derive(Clone, Debug)]
pub struct Aws {
    pub conf: aws_config::SdkConfig,
    pub rds: aws_sdk_rds::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Aws {
    pub fn new(conf: aws_config::SdkConfig) -> Self {
        Self {
            rds: aws_sdk_rds::Client::new(&conf),
            secrets: aws_sdk_secretsmanager::Client::new(&conf),
            conf,
        }
    }

    /// The endpoint of an instance or of a cluster's writer, or `None` when there is no such
    /// database.
    pub async fn endpoint(
        &self,
        kind: DbKind,
        identifier: &str,
        role: &str,
    ) -> Result<Option<Endpoint>, WorkerError> {
        match kind {
            DbKind::Instance => {
                let out = self
                    .rds
                    .describe_db_instances()
                    .db_instance_identifier(identifier)
                    .send()
                    .await;
                let out = match out {
                    Err(e)
                        if bluegreen_aws::errors::code_of(&e) == Some("DBInstanceNotFound")
                            || bluegreen_aws::errors::code_of(&e)
                                == Some("DBInstanceNotFoundFault") =>
                    {
                        return Ok(None)
                    }
                    other => other.or_classify("rds:DescribeDBInstances")?,
                };
                let Some(db) = out.db_instances().first() else {
                    return Ok(None);
                };
                let Some(ep) = db.endpoint() else {
                    return Ok(None);
                };
                Ok(Some(Endpoint {
                    identifier: identifier.to_string(),
                    role: role.to_string(),
                    engine: Engine::parse(db.engine().unwrap_or_default()),
                    host: ep.address().unwrap_or_default().to_string(),
                    port: ep.port().unwrap_or_default().clamp(0, 65535) as u16,
                    initial_database: db.db_name().map(str::to_string),
                    iam_auth_enabled: db.iam_database_authentication_enabled(),
                }))
            }
            DbKind::Cluster => {
                let out = self
                    .rds
                    .describe_db_clusters()
                    .db_cluster_identifier(identifier)
                    .send()
                    .await;
                let out = match out {
                    Err(e)
                        if bluegreen_aws::errors::code_of(&e) == Some("DBClusterNotFoundFault") =>
                    {
                        return Ok(None)
                    }
                    other => other.or_classify("rds:DescribeDBClusters")?,
                };
                let Some(c) = out.db_clusters().first() else {
                    return Ok(None);
                };
                Ok(Some(Endpoint {
                    identifier: identifier.to_string(),
                    role: role.to_string(),
                    engine: Engine::parse(c.engine().unwrap_or_default()),
                    host: c.endpoint().unwrap_or_default().to_string(),
                    port: c.port().unwrap_or_default().clamp(0, 65535) as u16,
                    initial_database: c.database_name().map(str::to_string),
                    iam_auth_enabled: c.iam_database_authentication_enabled(),
                }))
            }
        }
    }

    /// The secret's login (one GetSecretValue: call once per invocation and reuse).
    pub async fn secret_login(&self, arn: &str) -> Result<Login, Failure> {
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| from_secret_error("secretsmanager:GetSecretValue", &e))?;
        let Some(value) = out.secret_string() else {
            return Err(Failure::Access(AccessFailure::Secret {
                code: "SecretShape".into(),
                detail: "the secret holds binary data, not a JSON string".into(),
            }));
        };
        login_from_secret(value).map_err(|e| {
            Failure::Access(AccessFailure::Secret {
                code: "SecretShape".into(),
                detail: e.to_string(),
            })
        })
    }

    /// An IAM auth token for `user` at `ep` (signed locally with the function's credentials,
    /// valid 15 minutes; used at once as the password).
    pub async fn iam_login(&self, user: &str, ep: &Endpoint) -> Result<Login, Failure> {
        let mut config = TokenConfig::builder()
            .hostname(ep.host.clone())
            .port(u64::from(ep.port))
            .username(user);
        if let Some(region) = self.conf.region() {
            config = config.region(region.clone());
        }
        let config = config.build().map_err(|e| {
            Failure::Access(AccessFailure::Token {
                detail: e.to_string(),
            })
        })?;
        let token = AuthTokenGenerator::new(config)
            .auth_token(&self.conf)
            .await
            .map_err(|e| {
                Failure::Access(AccessFailure::Token {
                    detail: e.to_string(),
                })
            })?;
        Ok(Login {
            username: user.to_string(),
            password: Password::new(token.as_str()),
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
