//! The fleet's result table: one row per database, its outcome, and the summary.

use crate::model::milestone::Milestone;
use crate::model::report::Report;
use crate::model::request::Request;
use crate::model::route::Route;
use crate::model::source::SourceDb;
use crate::precheck::topology::replicas_of;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the fleet reads of a database's run document when its execution succeeded (built from
/// the run document by `run`: `ChildRun::from(&run)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChildRun {
    /// The database, as the run names it for logs (`Run::db_label`).
    pub db_label: String,
    pub request: Option<Request>,
    pub source: Option<SourceDb>,
    pub route: Option<Route>,
    pub note: Option<String>,
    pub report: Option<Report>,
    /// The last milestone it published, by name.
    pub last_milestone: Option<String>,
    /// The error the state machine's `Catch` recorded: its name, and its name and message.
    pub error_name: Option<String>,
    pub error_summary: Option<(String, String)>,
}

/// Where a database stands at the end of a fleet run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// Switched over and verified; the fleet soaks, then cleans up.
    SwitchedOver,
    Prepared,
    /// Green ready, but the switchover window closed first: left prepared.
    SwitchoverSkipped,
    /// An operator rejected the switchover: green left prepared (or aborted, as asked).
    Rejected,
    Planned,
    NothingToDo,
    AlreadyInProgress,
    Aborted,
    #[default]
    Failed,
    /// Selected but not run (a replica, no target): nothing changed.
    Skipped,
    /// Not started because too many databases had failed.
    NotStarted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::SwitchedOver => "switched_over",
            Self::Prepared => "prepared",
            Self::SwitchoverSkipped => "switchover_skipped",
            Self::Rejected => "rejected",
            Self::Planned => "planned",
            Self::NothingToDo => "nothing_to_do",
            Self::AlreadyInProgress => "already_in_progress",
            Self::Aborted => "aborted",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::NotStarted => "not_started",
        }
    }
}

/// A row's `detail` is at most this long: the whole story is in the database's own execution.
pub const MAX_DETAIL_CHARS: usize = 160;

/// One line of the fleet's result table: compact, so the fleet's state stays bounded for
/// any fleet size (see `select::MAX_FLEET_SIZE`); the database's own execution (`execution`)
/// holds its whole run document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub db_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_engine_version: Option<String>,
    pub outcome: Outcome,
    /// The error name, for a failed database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why: the error message, the skip reason or the note, cut to `MAX_DETAIL_CHARS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The name of the database's execution of the per-database state machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// The read replicas that moved with it (they are not fleet members of their own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<String>,
    /// From the plan: when the current major leaves standard support, and what Extended
    /// Support would cost this database a month (`precheck::lifecycle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_support_ends: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_support_monthly_usd: Option<f64>,
}

impl Row {
    /// The row for a database whose execution succeeded with this run document.
    pub fn from_run(run: &ChildRun) -> Self {
        use Milestone as M;
        let milestone = run.last_milestone.as_deref().and_then(M::from_name);
        let (outcome, detail) = if let Some((name, message)) = run.error_summary.clone() {
            (Outcome::Failed, Some(format!("{name}: {message}")))
        } else {
            let outcome = match (milestone, run.route) {
                (Some(M::Succeeded | M::CleanedUp), _) => Outcome::Succeeded,
                (Some(M::SwitchedOver), _) => Outcome::SwitchedOver,
                (Some(M::Prepared), _) => Outcome::Prepared,
                (Some(M::SwitchoverSkipped), _) => Outcome::SwitchoverSkipped,
                (Some(M::Rejected), _) => Outcome::Rejected,
                (Some(M::Aborted), _) => Outcome::Aborted,
                (Some(M::AlreadyInProgress), _) | (_, Some(Route::AlreadyInProgress)) => {
                    Outcome::AlreadyInProgress
                }
                (_, Some(Route::Plan)) => Outcome::Planned,
                (_, Some(Route::Noop)) => Outcome::NothingToDo,
                _ => Outcome::Failed,
            };
            let detail = match outcome {
                Outcome::Planned => run.report.as_ref().map(|r| {
                    let failed: Vec<&str> = r.failures().iter().map(|c| c.id.as_str()).collect();
                    if failed.is_empty() {
                        format!("prechecks {:?}", r.verdict).to_lowercase()
                    } else {
                        format!("failed prechecks: {}", failed.join(", "))
                    }
                }),
                Outcome::Failed => {
                    Some("the flow ended without a result: see the execution's history".into())
                }
                _ => run.note.clone(),
            };
            (outcome, detail)
        };
        Self {
            db_identifier: run
                .source
                .as_ref()
                .map(|s| s.identifier.clone())
                .unwrap_or_else(|| run.db_label.clone()),
            engine: run.source.as_ref().map(|s| s.engine.as_str().to_string()),
            version_before: run.source.as_ref().map(|s| s.engine_version.clone()),
            target_engine_version: run
                .request
                .as_ref()
                .map(|r| r.target_engine_version.clone()),
            outcome,
            error: run.error_name.clone(),
            detail: detail.map(|d| clip(&d, MAX_DETAIL_CHARS)),
            execution: None,
            replicas: run
                .source
                .as_ref()
                .map(|s| replicas_of(s).into_iter().map(|r| r.identifier).collect())
                .unwrap_or_default(),
            standard_support_ends: run
                .report
                .as_ref()
                .and_then(|r| r.cost_of_waiting.as_ref())
                .and_then(|c| c.standard_support_ends.clone()),
            extended_support_monthly_usd: run
                .report
                .as_ref()
                .and_then(|r| r.cost_of_waiting.as_ref())
                .and_then(|c| c.monthly_usd),
        }
    }

    /// The row for a database whose execution failed: the error name and, from its cause
    /// (the failing step's error payload), the message.
    pub fn failed(db: &str, error: &str, cause: &str) -> Self {
        let message = serde_json::from_str::<serde_json::Value>(cause)
            .ok()
            .and_then(|c| {
                c.get("errorMessage")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| cause.to_string());
        Self {
            db_identifier: db.to_string(),
            outcome: Outcome::Failed,
            error: Some(clip(error, 64)),
            detail: Some(clip(&format!("{error}: {message}"), MAX_DETAIL_CHARS)),
            ..Self::default()
        }
    }

    /// A database the fleet did not start: nothing was changed on it.
    pub fn not_started(db: &str, why: &str) -> Self {
        Self {
            db_identifier: db.to_string(),
            outcome: Outcome::NotStarted,
            detail: Some(clip(why, MAX_DETAIL_CHARS)),
            ..Self::default()
        }
    }
}

fn clip(text: &str, max: usize) -> String {
    crate::model::limits::clip(text, max)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub databases: u32,
    pub by_outcome: BTreeMap<String, u32>,
    /// True when new databases stopped starting because of failures.
    pub stopped_early: bool,
}

impl Summary {
    pub fn of(rows: &[Row], stopped_early: bool) -> Self {
        let mut by_outcome = BTreeMap::new();
        for row in rows {
            *by_outcome
                .entry(row.outcome.as_str().to_string())
                .or_insert(0) += 1;
        }
        Self {
            databases: rows.len() as u32,
            by_outcome,
            stopped_early,
        }
    }

    /// e.g. `20 databases: 18 succeeded, 1 failed, 1 not_started`
    pub fn headline(&self) -> String {
        let parts: Vec<String> = self
            .by_outcome
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        format!(
            "{} database{}: {}",
            self.databases,
            if self.databases == 1 { "" } else { "s" },
            if parts.is_empty() {
                "none selected".to_string()
            } else {
                parts.join(", ")
            }
        )
    }

    /// Whether any database failed or was not started.
    pub fn incomplete(&self) -> bool {
        ["failed", "not_started"]
            .iter()
            .any(|k| self.by_outcome.get(*k).is_some_and(|n| *n > 0))
    }
}
