//! The fleet's campaign: one child execution of the per-database state machine per database,
//! at most `max_concurrency` running at once, a new one started as soon as one ends (a
//! sliding window, no barrier between batches). Failures count against
//! `tolerated_failures`: beyond them nothing new starts (running ones finish). When every
//! upgrade has ended the fleet soaks once (the longest `soak_hours`), then cleans up each
//! database it switched over, in the same window, and reports the table.
//!
//! The fleet's own state holds ids and outcomes, never the children's run documents, so it
//! stays bounded for any fleet size (`select::MAX_FLEET_SIZE`); each child has its own
//! execution history. The fleet's history grows with its polls, not its databases: past
//! `MAX_POLLS_PER_EXECUTION` the campaign continues in a new execution of the fleet machine.

use super::select::MemberRef;
use super::table::{ChildRun, Outcome, Row, Summary};
use super::{FleetRequest, Selection};
use crate::model::execution::ExecutionInfo;
use crate::model::milestone::PublishRecord;
use crate::model::request::{FleetMember, FleetPosition, FLEET_MEMBER_KEY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The `Error` a fleet run ends with when a database failed or was not started.
pub const FLEET_INCOMPLETE: &str = "FleetIncomplete";

/// Poll every minute while a child started in the last `EARLY_SECONDS` (a refused precheck,
/// a plan, an adopted deployment end fast), else every five minutes: green builds take 20–90
/// minutes, so a finished child waits at most five minutes for its successor.
pub const EARLY_POLL_SECONDS: u32 = 60;
pub const POLL_SECONDS: u32 = 300;
const EARLY_SECONDS: i64 = 15 * 60;

/// Each poll adds about eight events to the fleet's history (Task scheduled, started,
/// succeeded, two state entries and exits, a Choice): 2,000 polls stay far below Step
/// Functions' 25,000 events. Then the campaign continues in a new execution.
pub const MAX_POLLS_PER_EXECUTION: u32 = 2_000;

/// What the fleet's state may take of Step Functions' 256 KiB per state: the rest is room for
/// the fields Step Functions and the definition add around it.
pub const STATE_BUDGET_BYTES: usize = crate::model::limits::MAX_STATE_BYTES - 24 * 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Upgrading (or preparing, planning) each database.
    #[default]
    Upgrade,
    /// Every upgrade has ended: the old blues are kept untouched for the longest soak.
    Soak,
    /// Cleaning up each database that was switched over.
    Cleanup,
    Done,
}

/// What the state machine does after this step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    /// Wait `delay_seconds`, then poll again.
    #[default]
    Wait,
    /// Wait `delay_seconds` (the soak), then poll again.
    Soak,
    /// Continue the campaign in a new execution of the fleet machine (history bound).
    Continue,
    /// Every database has ended: notify and finish (`error` set when incomplete).
    Report,
}

/// A child execution this fleet started and has not seen end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Child {
    pub member: MemberRef,
    /// Its execution name (unique per state machine; the ARN follows from it).
    pub name: String,
    pub started_at: i64,
}

/// How a child stands, from DescribeExecution.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildStatus {
    Running,
    /// Its output: the database's run document, as the fleet reads it.
    Succeeded(Box<ChildRun>),
    /// `FAILED`: the error and cause the per-database machine failed with.
    Failed {
        error: String,
        cause: String,
    },
    /// `TIMED_OUT`, `ABORTED`: the status.
    Ended(String),
    /// The output could not be read as a run document.
    Unreadable(String),
}

/// A child to start now: StartExecution with this name and input (idempotent: the same name
/// and input again is the same execution).
#[derive(Debug, Clone, PartialEq)]
pub struct StartChild {
    pub name: String,
    pub input: Value,
}

/// The fleet's state: what the campaign step reads and returns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub execution: ExecutionInfo,
    pub request: Option<FleetRequest>,
    /// The per-database state machine's ARN (the fleet definition names it).
    #[serde(default)]
    pub upgrade_state_machine: String,
    pub phase: Phase,
    pub size: u32,
    /// Not started yet, in this phase.
    #[serde(default)]
    pub pending: Vec<MemberRef>,
    #[serde(default)]
    pub running: Vec<Child>,
    /// Databases switched over, cleaned up after the soak.
    #[serde(default)]
    pub switched: Vec<MemberRef>,
    /// One row per database, in the order they ended (plus those the selection reported).
    #[serde(default)]
    pub rows: Vec<Row>,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub stopped_early: bool,
    /// The longest `soak_hours` of the databases switched over, in seconds.
    #[serde(default)]
    pub soak_seconds: u64,
    /// Polls in this execution, and in the executions it continues.
    #[serde(default)]
    pub polls: u32,
    #[serde(default)]
    pub continued: u32,
    pub next: Next,
    #[serde(default)]
    pub delay_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// For the closing `Fail` state: `{"Error": "FleetIncomplete", "Cause": ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<PublishRecord>,
}

/// A Step Functions execution name: 1–80 characters of letters, digits, `-` and `_`.
pub fn child_name(fleet_execution_id: &str, phase: Phase, position: u32) -> String {
    let parent = fleet_execution_id.rsplit(':').next().unwrap_or("fleet");
    let clean: String = parent
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let tag = if phase == Phase::Cleanup { "c" } else { "u" };
    let suffix = format!("-{tag}{position:04}");
    let keep = 80 - suffix.len();
    let cut: String = clean.chars().take(keep).collect();
    format!("{cut}{suffix}")
}

impl Campaign {
    /// A new campaign over the selection (nothing started yet).
    pub fn begin(
        request: FleetRequest,
        selection: Selection,
        execution: ExecutionInfo,
        upgrade_state_machine: String,
    ) -> Self {
        let mut campaign = Self {
            execution,
            size: selection.members.len() as u32,
            request: Some(request),
            upgrade_state_machine,
            pending: selection.members,
            rows: selection.skipped,
            next: Next::Wait,
            ..Self::default()
        };
        campaign.fit();
        campaign
    }

    fn max_concurrency(&self) -> usize {
        self.request
            .as_ref()
            .map_or(1, |r| r.max_concurrency.max(1) as usize)
    }

    fn tolerated(&self) -> u32 {
        self.request.as_ref().map_or(0, |r| r.tolerated_failures)
    }

    /// The input of a member's execution: its fleet member, with the fleet's fields (and,
    /// for a cleanup, action `cleanup` and the target its upgrade used).
    fn child_input(&self, member: &MemberRef) -> Value {
        let mut fields = self
            .request
            .as_ref()
            .map(|r| r.request.clone())
            .unwrap_or_default();
        if self.phase == Phase::Cleanup {
            fields.insert("action".into(), json!("cleanup"));
            if let Some(target) = &member.target {
                fields.insert("target_engine_version".into(), json!(target));
            }
        }
        let member = FleetMember {
            db_identifier: member.db.clone(),
            kind: member.kind,
            request: fields,
            fleet: Some(FleetPosition {
                position: member.position,
                size: self.size,
                execution: self.execution.id.clone(),
            }),
        };
        json!({ FLEET_MEMBER_KEY: member })
    }

    /// One step: folds in the children that ended (`statuses`, by execution name), starts
    /// new ones up to the window, and says what to do next. The state it returns stays within
    /// `STATE_BUDGET_BYTES` whatever the fleet (`fit`).
    pub fn step(self, statuses: &[(String, ChildStatus)], now: i64) -> (Self, Vec<StartChild>) {
        let (mut campaign, starts) = self.step_unbounded(statuses, now);
        campaign.fit();
        (campaign, starts)
    }

    fn state_bytes(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |v| v.len())
    }

    /// Keeps the fleet's state (which is this step's output, and the fleet's final output)
    /// within `STATE_BUDGET_BYTES`: past it Step Functions fails the execution with
    /// `States.DataLimitExceeded`, which nothing catches. What goes first is what each row's
    /// own execution (`execution`) still holds in full: the detail of rows that did not
    /// fail, the replica lists, the support dates and estimates, the versions and engine,
    /// then the detail of failed rows (their error name stays).
    pub fn fit(&mut self) {
        type Shed = fn(&mut Row);
        let steps: [(bool, Shed); 5] = [
            (false, |r| r.detail = None),
            (true, |r| r.replicas.clear()),
            (true, |r| {
                r.standard_support_ends = None;
                r.extended_support_monthly_usd = None;
            }),
            (true, |r| {
                r.engine = None;
                r.version_before = None;
            }),
            (true, |r| r.detail = None),
        ];
        for (failed_too, shed) in steps {
            if self.state_bytes() <= STATE_BUDGET_BYTES {
                return;
            }
            for row in self
                .rows
                .iter_mut()
                .filter(|r| failed_too || r.outcome != Outcome::Failed)
            {
                shed(row);
            }
        }
    }

    fn step_unbounded(
        mut self,
        statuses: &[(String, ChildStatus)],
        now: i64,
    ) -> (Self, Vec<StartChild>) {
        let running = std::mem::take(&mut self.running);
        for child in running {
            let status = statuses
                .iter()
                .find(|(name, _)| *name == child.name)
                .map(|(_, s)| s.clone())
                .unwrap_or(ChildStatus::Running);
            match status {
                ChildStatus::Running => self.running.push(child),
                ended => self.ended(child, ended),
            }
        }
        if self.phase == Phase::Upgrade
            && self.failures > self.tolerated()
            && !self.pending.is_empty()
        {
            let why = format!(
                "not started: {} database(s) failed, more than tolerated_failures ({}); nothing \
                 was changed on this one",
                self.failures,
                self.tolerated()
            );
            for m in std::mem::take(&mut self.pending) {
                self.rows.push(Row::not_started(&m.db, &why));
            }
            self.stopped_early = true;
        }
        if self.phase == Phase::Soak {
            // Back from the soak: clean up what was switched over.
            self.phase = Phase::Cleanup;
            self.pending = std::mem::take(&mut self.switched);
        }
        let mut starts = Vec::new();
        while self.running.len() < self.max_concurrency() && !self.pending.is_empty() {
            let member = self.pending.remove(0);
            let name = child_name(&self.execution.id, self.phase, member.position);
            starts.push(StartChild {
                name: name.clone(),
                input: self.child_input(&member),
            });
            self.running.push(Child {
                member,
                name,
                started_at: now,
            });
        }
        self.polls += 1;
        if !self.running.is_empty() {
            let early = self
                .running
                .iter()
                .any(|c| now - c.started_at < EARLY_SECONDS);
            self.delay_seconds = if early {
                EARLY_POLL_SECONDS
            } else {
                POLL_SECONDS
            };
            self.next = if self.polls >= MAX_POLLS_PER_EXECUTION {
                Next::Continue
            } else {
                Next::Wait
            };
            return (self, starts);
        }
        if self.phase == Phase::Upgrade && !self.switched.is_empty() {
            self.phase = Phase::Soak;
            self.next = Next::Soak;
            self.delay_seconds = self.soak_seconds.min(u64::from(u32::MAX)) as u32;
            return (self, starts);
        }
        self.finish();
        (self, starts)
    }

    /// The campaign continued in a new execution: its polls start afresh (a history of its
    /// own), new children are named after it, running ones keep their names.
    pub fn continued(mut self, execution: ExecutionInfo) -> Self {
        self.polls = 0;
        self.continued += 1;
        self.execution = execution;
        self.next = Next::Wait;
        self
    }

    fn ended(&mut self, child: Child, status: ChildStatus) {
        let mut row = match &status {
            ChildStatus::Succeeded(run) => {
                let mut row = Row::from_run(run);
                row.db_identifier = child.member.db.clone();
                if self.phase == Phase::Upgrade && row.outcome == Outcome::SwitchedOver {
                    let mut m = child.member.clone();
                    m.target = row.target_engine_version.clone();
                    self.switched.push(m);
                    let soak = run.request.as_ref().map_or(0, |r| u64::from(r.soak_hours));
                    self.soak_seconds = self.soak_seconds.max(soak * 3600);
                }
                row
            }
            ChildStatus::Failed { error, cause } => Row::failed(&child.member.db, error, cause),
            ChildStatus::Ended(status) => Row::failed(
                &child.member.db,
                &format!("States.{status}"),
                &format!(
                    "the database's execution ended {status}: see its history; green is kept \
                     unless its build failed"
                ),
            ),
            ChildStatus::Unreadable(why) => Row::failed(&child.member.db, "MalformedRun", why),
            ChildStatus::Running => return,
        };
        row.execution = Some(child.name.clone());
        if self.phase == Phase::Cleanup {
            // The cleanup's result is the database's final outcome; its upgrade row keeps
            // the versions.
            if let Some(upgrade) = self
                .rows
                .iter_mut()
                .find(|r| r.db_identifier == row.db_identifier)
            {
                upgrade.outcome = row.outcome;
                upgrade.error = row.error;
                upgrade.execution = row.execution;
                if upgrade.outcome == Outcome::Failed {
                    upgrade.detail = row.detail.map(|d| format!("cleanup: {d}"));
                }
                return;
            }
        } else if row.outcome == Outcome::Failed {
            self.failures += 1;
        }
        self.rows.push(row);
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.next = Next::Report;
        self.delay_seconds = 0;
        let summary = Summary::of(&self.rows, self.stopped_early);
        self.error = summary.incomplete().then(|| {
            json!({
                "Error": FLEET_INCOMPLETE,
                "Cause": incomplete_cause(&summary, &self.rows),
            })
        });
        self.summary = Some(summary);
    }

    /// e.g. `20 databases: 18 succeeded, 1 failed, 1 not_started`
    pub fn headline(&self) -> String {
        match &self.summary {
            Some(s) => s.headline(),
            None => format!(
                "{} databases: {} running, {} pending",
                self.size,
                self.running.len(),
                self.pending.len()
            ),
        }
    }

    /// The trigger of the fleet's runs, for the closing notification.
    pub fn trigger(&self) -> crate::model::request::Trigger {
        self.request
            .as_ref()
            .and_then(|r| r.request.get("trigger"))
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default()
    }
}

/// The cause of `FleetIncomplete`: the headline, the summary, and the rows that failed or
/// did not start, as many as fit Step Functions' 32,768-character cause.
pub fn incomplete_cause(summary: &Summary, rows: &[Row]) -> String {
    let bad: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::NotStarted))
        .collect();
    let mut shown = bad.len();
    loop {
        let text = json!({
            "message": format!("{}; the whole table is the fleet execution's last state", summary.headline()),
            "summary": summary,
            "failed": bad[..shown],
            "failed_not_shown": bad.len() - shown,
        })
        .to_string();
        if text.chars().count() <= crate::model::limits::MAX_CAUSE_CHARS - 1024 || shown == 0 {
            return text;
        }
        shown = shown * 3 / 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest fleet, every identifier and message as long as AWS and the request allow,
    /// every database failed with a 15-replica topology, the cleanup list full and the
    /// closing cause at its 32,768 characters: still within the budget.
    #[test]
    fn the_largest_fleet_in_the_worst_case_fits_one_state() {
        use super::super::select::MAX_FLEET_SIZE;
        use super::super::table::MAX_DETAIL_CHARS;
        let n = MAX_FLEET_SIZE as u32;
        let name = |i: u32| format!("{}{i:05}", "d".repeat(58));
        let row = |i: u32| Row {
            db_identifier: name(i),
            engine: Some("aurora-postgresql".into()),
            version_before: Some("8.0.mysql_aurora.3.05.2".into()),
            target_engine_version: Some("8.0.mysql_aurora.3.08.0".into()),
            outcome: Outcome::Failed,
            error: Some("ProvisioningTimedOut".into()),
            detail: Some("\"é\"".repeat(MAX_DETAIL_CHARS / 3)),
            execution: Some(format!("{}-u{i:04}", "e".repeat(74))),
            replicas: (0..15).map(|r| format!("{}-r{r:02}", name(i))).collect(),
            standard_support_ends: Some("2026-02-28".into()),
            extended_support_monthly_usd: Some(123_456.78),
        };
        let member = |i: u32| MemberRef {
            db: name(i),
            kind: crate::model::db::DbKind::Cluster,
            position: i,
            target: Some("8.0.mysql_aurora.3.08.0".into()),
        };
        let base = Campaign {
            execution: ExecutionInfo {
                id: format!(
                    "arn:aws:states:us-east-1:123456789012:execution:{}:{}",
                    "m".repeat(80),
                    "e".repeat(80)
                ),
                started_at: Some("2026-12-02T03:00:00.000Z".into()),
            },
            size: n,
            rows: (1..=n).map(row).collect(),
            ..Campaign::default()
        };
        // Mid-cleanup: every database still to clean up; at the end: the closing cause.
        let cleaning = Campaign {
            pending: (1..=n).map(member).collect(),
            ..base.clone()
        };
        let ended = Campaign {
            error: Some(json!({"Error": FLEET_INCOMPLETE, "Cause": "c".repeat(32_768)})),
            ..base
        };
        for mut c in [cleaning, ended] {
            assert!(
                c.state_bytes() > STATE_BUDGET_BYTES,
                "the case must need shedding"
            );
            c.fit();
            assert!(
                c.state_bytes() <= STATE_BUDGET_BYTES,
                "{} bytes",
                c.state_bytes()
            );
            // What each row keeps: which database, how it ended, and where to read the rest.
            assert!(c
                .rows
                .iter()
                .all(|r| r.error.is_some() && r.execution.is_some()));
        }
    }

    #[test]
    fn a_fleet_within_the_budget_keeps_every_detail() {
        let mut c = Campaign {
            rows: vec![Row {
                db_identifier: "orders-pg".into(),
                outcome: Outcome::Planned,
                detail: Some("prechecks warn".into()),
                replicas: vec!["orders-pg-r1".into()],
                ..Row::default()
            }],
            ..Campaign::default()
        };
        let before = c.clone();
        c.fit();
        assert_eq!(c, before);
    }

    #[test]
    fn child_names_are_valid_execution_names() {
        let id = "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen-fleet:2f1e-ab";
        assert_eq!(child_name(id, Phase::Upgrade, 7), "2f1e-ab-u0007");
        assert_eq!(child_name(id, Phase::Cleanup, 12), "2f1e-ab-c0012");
        let long = format!("arn:aws:states:r:1:execution:m:{}", "x".repeat(200));
        let n = child_name(&long, Phase::Upgrade, 500);
        assert!(n.len() <= 80 && n.ends_with("-u0500"), "{n}");
        let odd = child_name("arn:aws:states:r:1:execution:m:a b.c", Phase::Upgrade, 1);
        assert!(
            odd.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{odd}"
        );
    }
}
