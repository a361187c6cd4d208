//! The database a request or an alarm names: an instance or a cluster, by name or ARN.

use crate::model::error::{printable, WorkerError};
use serde::{Deserialize, Serialize};

/// The instance or cluster a request or alarm names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbKind {
    #[default]
    Instance,
    Cluster,
}

/// An identifier as the user gave it, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbRef {
    pub name: String,
    /// Known when the user gave an ARN or the alarm named the dimension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<DbKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl DbRef {
    /// Parses an RDS DB identifier or an instance/cluster ARN.
    pub fn parse(value: &str) -> Result<Self, WorkerError> {
        if let Some(rest) = value.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(6, ':').collect();
            let malformed = || {
                WorkerError::invalid(format!(
                    "db_identifier `{value}` is not an RDS DB instance or cluster ARN: expected \
                     arn:aws:rds:REGION:ACCOUNT:db:NAME or arn:aws:rds:REGION:ACCOUNT:cluster:NAME"
                ))
            };
            if parts.len() != 6 || !parts[0].starts_with("aws") || parts[1] != "rds" {
                return Err(malformed());
            }
            let kind = match parts[4] {
                "db" => DbKind::Instance,
                "cluster" => DbKind::Cluster,
                _ => return Err(malformed()),
            };
            if parts[3].len() != 12 || !parts[3].bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            validate_db_name(parts[5])?;
            return Ok(Self {
                name: parts[5].to_string(),
                kind: Some(kind),
                region: Some(parts[2].to_string()),
                account_id: Some(parts[3].to_string()),
            });
        }
        validate_db_name(value)?;
        Ok(Self {
            name: value.to_string(),
            kind: None,
            region: None,
            account_id: None,
        })
    }
}

/// RDS identifier rules: 1–63 letters, digits or hyphens; starts with a letter; no two
/// consecutive hyphens; does not end with a hyphen.
pub fn validate_db_name(name: &str) -> Result<(), WorkerError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.contains("--")
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(WorkerError::invalid(format!(
            "db_identifier `{}` is not a valid RDS identifier: use 1-63 letters, digits or \
             hyphens, starting with a letter, without two hyphens in a row or a trailing hyphen \
             (or give the instance or cluster ARN)",
            printable(name)
        )))
    }
}
