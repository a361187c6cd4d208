//! Inside the database: what fails real blue/green major upgrades and cannot be seen through
//! the AWS APIs (tables without a primary key, large objects, slots, DDL on blue, stale
//! statistics, ...). The `sql` worker (crates/sql) gathers facts over a database connection;
//! the rules live here, one file each:
//!
//! - `credentials`: the two ways in (a Secrets Manager secret or IAM database authentication),
//!   their validation, and the secret's JSON shape. Secrets never reach the run document.
//! - `access`: a connection that fails becomes ONE failing check saying what is wrong and
//!   what to fix (security group, IAM auth off, secret, the user's grants).
//! - `facts`: what the adapter gathers, per engine and per database.
//! - `prechecks`: those facts to `Check`s (same id / verdict / observed / fix shape as the
//!   AWS-level prechecks), merged into the run's report.
//! - `fingerprint`: the schema fingerprint of every database and how two are compared.
//! - `watch`: before switchover, DDL since create (hold, then fail) and the blue-side slot lag.
//! - `finish`: after switchover, ANALYZE in a time budget, extension versions, sequences.
//! - `smoke`: the validation of a user-supplied smoke query (read-only, one statement).
//!
//! Without a way in (no `database_secret_arn`, no `database_iam_user`) none of this runs and
//! the run document has no `database` field: the product behaves exactly as without it.

pub mod access;
pub mod admission;
pub mod credentials;
pub mod facts;
pub mod fingerprint;
pub mod finish;
pub mod prechecks;
pub mod smoke;
pub mod watch;

use serde::{Deserialize, Serialize};

pub use credentials::{AccessRecord, DatabaseAccess};

/// What the `sql` worker is asked to do; see crates/sql/README.md for where each runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// After `Precheck`: the in-database prechecks of blue, merged into `run.report`.
    Precheck,
    /// Right after `Create`: the schema fingerprint of every database of blue.
    Fingerprint,
    /// Before `Switchover`: DDL since the fingerprint, and the slot lag on blue.
    Watch,
    /// After `Verify`: ANALYZE, extensions, sequences, smoke query on the new production.
    Finish,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Precheck => "precheck",
            Self::Fingerprint => "fingerprint",
            Self::Watch => "watch",
            Self::Finish => "finish",
        }
    }
}

/// The run document's `database` field: what the `sql` worker saw and did. Holds the way in
/// by name only (a secret ARN or a user name), never a password or token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseState {
    pub access: AccessRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precheck: Option<prechecks::PrecheckRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<fingerprint::FingerprintRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<watch::WatchState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<finish::FinishState>,
}

impl DatabaseState {
    pub fn new(access: AccessRecord) -> Self {
        Self {
            access,
            precheck: None,
            fingerprint: None,
            watch: None,
            finish: None,
        }
    }

    /// A short account for a notification body: one line per step that ran.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.precheck {
            out.push(format!(
                "precheck: {} database(s), {} check(s) failed, {} warned",
                p.databases.len(),
                p.failed(),
                p.warned()
            ));
        }
        if let Some(f) = &self.fingerprint {
            out.push(format!(
                "fingerprint: {} database(s) at {}",
                f.databases.len(),
                f.taken_at
            ));
        }
        if let Some(w) = &self.watch {
            out.push(format!("watch: {:?}: {}", w.verdict, w.reason).to_lowercase());
        }
        if let Some(f) = &self.finish {
            for c in &f.checks {
                out.push(format!("{}: {:?}: {}", c.id, c.verdict, c.observed).to_lowercase());
            }
        }
        out
    }
}

/// Caps a list of names for a check's `observed`: the first `max`, then how many more.
/// The run document is limited to 256 KiB; a database with 5,000 problem tables must fit.
pub fn list_some(names: &[String], max: usize) -> String {
    if names.len() <= max {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..max].join(", "), names.len() - max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::check::id;
    use serde_json::json;

    #[test]
    fn lists_are_capped() {
        let names: Vec<String> = (0..15).map(|i| format!("t{i}")).collect();
        assert_eq!(list_some(&names[..2], 10), "t0, t1");
        assert_eq!(
            list_some(&names, 3),
            "t0, t1, t2 and 12 more",
            "the run document stays small"
        );
    }

    #[test]
    fn the_summary_has_a_line_per_step_and_no_secret() {
        let access = credentials::DatabaseAccess::Iam {
            user: "bluegreen_check".into(),
        };
        let mut state = DatabaseState::new(access.record());
        assert!(state.summary().is_empty());
        let mut finish = finish::FinishState::default();
        finish.set_check(crate::model::check::Check::new(
            id::SEQUENCES,
            crate::model::check::Verdict::Pass,
            "3 sequence(s) at or past the old blue's values",
            "",
        ));
        state.finish = Some(finish);
        assert_eq!(
            state.summary(),
            ["sequences: pass: 3 sequence(s) at or past the old blue's values"]
        );
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(
            json["access"],
            json!({"method": "iam", "iam_user": "bluegreen_check"})
        );
    }
}
