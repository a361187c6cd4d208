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
//! - `watch`: before switchover, DDL and DCL since create (hold, then fail), what RDS's own
//!   switchover guardrails refuse (self-managed publications and subscriptions, an external
//!   binlog source) and the blue-side slot lag.
//! - `analyze`: before switchover, ANALYZE on green (AWS's best practice for a logical
//!   deployment), in the same time budget as the finish's.
//! - `finish`: after switchover, ANALYZE in a time budget (a top-up), extension versions,
//!   sequences.
//! - `smoke`: the validation of a user-supplied smoke query (read-only, one statement).
//!
//! Without a way in (no `database_secret_arn`, no `database_iam_user`) none of this runs and
//! the run document has no `database` field: the product behaves exactly as without it.

pub mod access;
pub mod admission;
pub mod analyze;
pub mod credentials;
pub mod facts;
pub mod fingerprint;
pub mod finish;
pub mod prechecks;
pub mod smoke;
pub mod watch;

use crate::model::engine::{major_version, Engine};
use serde::{Deserialize, Serialize};

pub use credentials::{AccessRecord, DatabaseAccess};

/// Whether the blue/green deployment replicates logically. RDS for PostgreSQL "replicates
/// physically by default and logically only when the deployment requests a major version
/// upgrade" (RDS User Guide, replication type): `is_major` is the plan's, else the majors of
/// the two versions are compared. Aurora PostgreSQL: logically for every deployment (every
/// one needs `rds.logical_replication = 1`, Aurora User Guide); were AWS to replicate some
/// physically, the logical rules would only add caution. MySQL-family engines replicate the
/// binlog: never "logical" in this sense.
pub fn replicates_logically(
    engine: &Engine,
    source_version: &str,
    target_version: &str,
    is_major: Option<bool>,
) -> bool {
    match engine {
        Engine::AuroraPostgresql => true,
        Engine::Postgres => is_major.unwrap_or_else(|| {
            target_version.is_empty()
                || major_version(engine, source_version) != major_version(engine, target_version)
        }),
        _ => false,
    }
}

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
    /// After the watch says go, before `Switchover` (PostgreSQL, logical deployments):
    /// ANALYZE on green, in a time budget, again until `done`.
    Analyze,
    /// After `Verify`: ANALYZE, extensions, sequences, smoke query on the new production.
    Finish,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Precheck => "precheck",
            Self::Fingerprint => "fingerprint",
            Self::Watch => "watch",
            Self::Analyze => "analyze",
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
    /// ANALYZE on green before the switchover (set by the watch when it applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyze: Option<analyze::GreenAnalyze>,
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
            analyze: None,
            finish: None,
        }
    }

    /// A short account for a notification body: one line per step that ran.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.precheck {
            match &p.skipped {
                Some(why) => out.push(format!("precheck: skipped: {why}")),
                None => out.push(format!(
                    "precheck: {} database(s) ({}), {} check(s) failed{}, {} warned",
                    p.databases.len(),
                    list_some(&p.databases, 10),
                    p.failed(),
                    {
                        let failed: Vec<String> = p
                            .checks
                            .iter()
                            .filter(|c| c.verdict == crate::model::check::Verdict::Fail)
                            .map(|c| c.id.clone())
                            .collect();
                        if failed.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", failed.join(", "))
                        }
                    },
                    p.warned()
                )),
            }
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
        if let Some(a) = &self.analyze {
            out.push(a.summary());
        }
        if let Some(f) = &self.finish {
            for c in &f.checks {
                out.push(format!("{}: {:?}: {}", c.id, c.verdict, c.observed).to_lowercase());
            }
        }
        out
    }

    /// What a green-ready (or prepared) notification must warn about, from what the precheck
    /// found: on Aurora PostgreSQL, refreshing a materialized view on blue breaks replication
    /// (Aurora User Guide, blue/green limitations), so refreshes must pause until the
    /// switchover.
    pub fn green_ready_warnings(&self, engine: &Engine) -> Vec<String> {
        let mut out = Vec::new();
        let views = self
            .precheck
            .as_ref()
            .map(|p| p.materialized_views.as_slice())
            .unwrap_or_default();
        if *engine == Engine::AuroraPostgresql && !views.is_empty() {
            out.push(format!(
                "materialized views on blue: {}. On Aurora PostgreSQL refreshing one on blue \
                 breaks replication to green: pause every REFRESH MATERIALIZED VIEW (pg_cron \
                 jobs, scripts) until the switchover, then refresh them on the new production",
                list_some(views, 10)
            ));
        }
        // A fingerprint is taken only for a logical deployment, which carries no DCL.
        if engine.is_postgres_family() && self.fingerprint.is_some() {
            out.push(
                "GRANT, REVOKE and role changes made on blue from now on are not replicated to \
                 green (logical replication carries no DCL) and are lost at the switchover: \
                 freeze them with schema changes until the switchover, or repeat them on the \
                 new production after it"
                    .to_string(),
            );
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
        // The secret way in is recorded by its ARN alone: the record has no field a value
        // read from the secret could go into.
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/check-AbCdEf";
        let secret =
            credentials::DatabaseAccess::Secret(credentials::SecretArn::parse(arn).unwrap());
        let state = DatabaseState::new(secret.record());
        assert_eq!(
            serde_json::to_value(&state).unwrap(),
            json!({"access": {"method": "secret", "secret_arn": arn}})
        );
    }

    #[test]
    fn green_ready_warns_of_view_refreshes_on_aurora_and_of_dcl_on_a_logical_deployment() {
        let access = credentials::DatabaseAccess::Iam {
            user: "bluegreen_check".into(),
        };
        let mut state = DatabaseState::new(access.record());
        assert!(state
            .green_ready_warnings(&Engine::AuroraPostgresql)
            .is_empty());
        state.precheck = Some(prechecks::PrecheckRecord {
            checked_at: "2026-12-07T00:00:00Z".into(),
            databases: vec!["app".into()],
            checks: vec![],
            replaced_manual_checks: vec![],
            skipped: None,
            materialized_views: vec!["app.public.daily_totals".into()],
        });
        let w = state.green_ready_warnings(&Engine::AuroraPostgresql);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("app.public.daily_totals") && w[0].contains("REFRESH MATERIALIZED VIEW")
        );
        // RDS for PostgreSQL does not document the breakage.
        assert!(state.green_ready_warnings(&Engine::Postgres).is_empty());
        // A fingerprint means a logical deployment: DCL on blue is lost.
        state.fingerprint = Some(fingerprint::FingerprintRecord {
            taken_at: "2026-12-07T00:00:00Z".into(),
            of: "blue orders-pg".into(),
            databases: vec![],
            unavailable: None,
        });
        let w = state.green_ready_warnings(&Engine::Postgres);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("GRANT, REVOKE and role changes"), "{w:?}");
        assert!(state.green_ready_warnings(&Engine::Mysql).is_empty());
    }
}
