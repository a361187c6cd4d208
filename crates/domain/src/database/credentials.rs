//! The ways into the database, per request (or `bluegreen:` tag): exactly one of
//! - `database_secret_arn`: a Secrets Manager secret in the RDS shape
//!   (`{"username": ..., "password": ..., ...}`); the worker's role may read that secret only;
//! - `database_iam_user`: a database user that logs in with IAM database authentication
//!   (a token signed for `rds-db:connect` on that user, valid 15 minutes, never stored).
//!
//! or none, and then nothing here runs. Only the ARN or the user name is recorded anywhere
//! (run document, logs, notifications); the password and the token live in memory for one
//! invocation, behind a type whose `Debug` does not show them.

use crate::model::db::DbRef;
use crate::model::error::WorkerError;
use crate::model::request::Request;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the worker gets in, as the request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseAccess {
    Secret(SecretArn),
    Iam { user: String },
}

impl DatabaseAccess {
    /// The request's way in, or `None` (the product then behaves as without the worker).
    /// The request was validated: the ARN parses and at most one way is given.
    pub fn from_request(request: &Request) -> Option<Self> {
        if let Some(arn) = &request.database_secret_arn {
            return SecretArn::parse(arn).ok().map(Self::Secret);
        }
        request
            .database_iam_user
            .as_ref()
            .map(|user| Self::Iam { user: user.clone() })
    }

    pub fn record(&self) -> AccessRecord {
        match self {
            Self::Secret(arn) => AccessRecord {
                method: AccessMethod::Secret,
                secret_arn: Some(arn.arn.clone()),
                iam_user: None,
            },
            Self::Iam { user } => AccessRecord {
                method: AccessMethod::Iam,
                secret_arn: None,
                iam_user: Some(user.clone()),
            },
        }
    }

    /// "the secret arn:..." / "IAM user app_check": for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Secret(arn) => format!("the secret {}", arn.arn),
            Self::Iam { user } => format!("IAM database authentication as {user}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessMethod {
    Secret,
    Iam,
}

/// What the run document records of the way in: its kind and name, nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    pub method: AccessMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_user: Option<String>,
}

/// `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretArn {
    pub arn: String,
    pub partition: String,
    pub region: String,
    pub account_id: String,
    pub name: String,
}

impl SecretArn {
    pub fn parse(value: &str) -> Result<Self, WorkerError> {
        let bad = || {
            WorkerError::invalid(format!(
                "database_secret_arn `{}` is not a Secrets Manager secret ARN: expected \
                 arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME (the full ARN, as the console \
                 shows it)",
                printable(value)
            ))
        };
        let parts: Vec<&str> = value.splitn(7, ':').collect();
        if parts.len() != 7
            || parts[0] != "arn"
            || !parts[1].starts_with("aws")
            || parts[2] != "secretsmanager"
            || parts[5] != "secret"
        {
            return Err(bad());
        }
        let region_ok = !parts[3].is_empty()
            && parts[3]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let account_ok = parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit());
        // Secret names: 1-512 of letters, digits and /_+=.@- (the ARN adds -XXXXXX).
        let name = parts[6];
        let name_ok = !name.is_empty()
            && name.len() <= 512
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
        if !(region_ok && account_ok && name_ok) || value.len() > 2048 {
            return Err(bad());
        }
        Ok(Self {
            arn: value.to_string(),
            partition: parts[1].to_string(),
            region: parts[3].to_string(),
            account_id: parts[4].to_string(),
            name: name.to_string(),
        })
    }

    /// The secret must live where the worker runs (and where the database is): a secret of
    /// another account or Region is refused, as a database ARN of another account is.
    pub fn check_local(
        &self,
        account_id: Option<&str>,
        region: Option<&str>,
    ) -> Result<(), WorkerError> {
        if let Some(ours) = account_id {
            if ours != self.account_id {
                return Err(WorkerError::invalid(format!(
                    "database_secret_arn names account {}, but this state machine runs in account \
                     {ours}: use a secret of the database's own account",
                    self.account_id
                )));
            }
        }
        if let Some(ours) = region {
            if ours != self.region {
                return Err(WorkerError::invalid(format!(
                    "database_secret_arn names Region {}, but this state machine runs in {ours}: \
                     use a secret in the database's Region (or a replica of it there)",
                    self.region
                )));
            }
        }
        Ok(())
    }
}

/// A database user name: what PostgreSQL and MySQL accept unquoted, and what an
/// `rds-db:connect` resource (`dbuser:RESOURCE_ID/USER`) can name.
pub fn validate_user(user: &str) -> Result<(), WorkerError> {
    let ok = !user.is_empty()
        && user.len() <= 63
        && user.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(WorkerError::invalid(format!(
            "database_iam_user `{}` is not a database user name: use 1-63 letters, digits, \
             underscores, hyphens or dots, starting with a letter or underscore",
            printable(user)
        )))
    }
}

/// The request's database fields, on top of `Request::validate`: exactly one way in or
/// none; the options that need a way in only with one; a local secret ARN.
pub fn validate_request(request: &Request) -> Result<(), WorkerError> {
    let secret = request
        .database_secret_arn
        .as_deref()
        .map(SecretArn::parse)
        .transpose()?;
    if let Some(user) = &request.database_iam_user {
        validate_user(user)?;
    }
    if secret.is_some() && request.database_iam_user.is_some() {
        return Err(WorkerError::invalid(
            "give one way into the database, not both: database_secret_arn (a Secrets Manager \
             secret with username and password) or database_iam_user (IAM database authentication)",
        ));
    }
    let has_access = secret.is_some() || request.database_iam_user.is_some();
    if !has_access {
        for (field, given) in [
            ("update_extensions", request.update_extensions),
            ("smoke_query", request.smoke_query.is_some()),
        ] {
            if given {
                return Err(WorkerError::invalid(format!(
                    "{field} needs a way into the database: add database_secret_arn or \
                     database_iam_user (or drop {field})"
                )));
            }
        }
    }
    if let Some(query) = &request.smoke_query {
        super::smoke::validate(query)?;
    }
    if let (Some(secret), Ok(db)) = (&secret, DbRef::parse(&request.db_identifier)) {
        secret.check_local(db.account_id.as_deref(), db.region.as_deref())?;
    }
    Ok(())
}

/// A password or an IAM token: shown as `***` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself, for the database driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A user and its password (or token), for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: Password,
}

/// Why a secret's value is not a login. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretShapeError {
    NotJson,
    Missing(&'static str),
}

impl fmt::Display for SecretShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson => f.write_str("the secret's value is not a JSON object"),
            Self::Missing(field) => write!(f, "the secret's JSON has no string `{field}`"),
        }
    }
}

/// The RDS secret shape: `{"username": "...", "password": "...", "engine", "host", ...}`
/// (what RDS and the Secrets Manager rotation templates write). Only `username` and
/// `password` are read; `host`/`port` are ignored: the endpoint comes from RDS itself.
pub fn login_from_secret(secret_string: &str) -> Result<Login, SecretShapeError> {
    let value: serde_json::Value =
        serde_json::from_str(secret_string).map_err(|_| SecretShapeError::NotJson)?;
    let object = value.as_object().ok_or(SecretShapeError::NotJson)?;
    let field = |name: &'static str| {
        object
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .ok_or(SecretShapeError::Missing(name))
    };
    Ok(Login {
        username: field("username")?.to_string(),
        password: Password::new(field("password")?),
    })
}

fn printable(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    let mut out = cut.escape_debug().to_string();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}
