//! ANALYZE on green before the switchover. AWS lists it among the switchover best practices
//! of a logical deployment (RDS User Guide, "Best practices for blue/green deployments":
//! run ANALYZE on green before switching over, so the new major's planner has statistics
//! from the first query). Green's sessions default to `default_transaction_read_only = on`:
//! the worker turns it off for its own session only, and runs nothing but ANALYZE there.
//!
//! The same pass as the finish's (`finish::AnalyzeProgress`: table by table in name order,
//! `ANALYZE_BUDGET_SECONDS` per invocation, the state machine invoking the step again while
//! `done` is false). The finish's ANALYZE after the switchover stays, as a top-up: rows
//! replicated since change the statistics, and it costs little on analyzed tables.
//!
//! Statistics are a best practice, not a guardrail: a green the worker cannot reach, or
//! tables it may not analyze, are a warning and the switchover goes on.

use super::finish::AnalyzeProgress;
use super::list_some;
use crate::model::check::{id, Check, Verdict};
use serde::{Deserialize, Serialize};

/// `run.database.analyze`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GreenAnalyze {
    /// `green NAME` once known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub of: String,
    pub progress: AnalyzeProgress,
    pub done: bool,
    /// 0: invoke again at once (tables remain).
    pub next_delay_seconds: u32,
    /// `analyze-on-green`, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
}

impl GreenAnalyze {
    /// To do: what the watch records when the deployment replicates logically.
    pub fn pending() -> Self {
        Self::default()
    }

    /// Done, with the check that says how it went.
    pub fn finish(&mut self, check: Check) {
        self.check = Some(check);
        self.done = true;
        self.next_delay_seconds = 0;
    }

    pub fn summary(&self) -> String {
        match &self.check {
            Some(c) => format!("{}: {:?}: {}", c.id, c.verdict, c.observed).to_lowercase(),
            None => format!(
                "analyze-on-green: {} table(s) so far in {} invocation(s)",
                self.progress.tables_analyzed, self.progress.invocations
            ),
        }
    }
}

/// The check once every database of green is done.
pub fn analyze_on_green_check(p: &AnalyzeProgress, of: &str) -> Check {
    let base = format!(
        "ANALYZE ran on {of} before the switchover: {} database(s) ({}), {} table(s), in {} \
         invocation(s)",
        p.done.len(),
        list_some(&p.done, 10),
        p.tables_analyzed,
        p.invocations
    );
    if p.skipped.is_empty() {
        Check::new(id::ANALYZE_ON_GREEN, Verdict::Pass, base, "")
    } else {
        Check::new(
            id::ANALYZE_ON_GREEN,
            Verdict::Warn,
            format!("{base}; not analyzed: {}", list_some(&p.skipped, 10)),
            "the finish analyzes the new production again right after the switchover; for \
             statistics from the first query, use a login that owns those tables (or has \
             rds_superuser) next time",
        )
    }
}

/// The check when green could not be reached: the switchover goes on, the finish analyzes.
pub fn unavailable(of: &str, observed: &str, fix: &str) -> Check {
    Check::new(
        id::ANALYZE_ON_GREEN,
        Verdict::Warn,
        format!("no ANALYZE on {of} before the switchover: {observed}"),
        format!(
            "{fix}; until then, the finish analyzes the new production right after the switchover"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_names_green_and_what_was_left() {
        let mut p = AnalyzeProgress::default();
        p.list(vec!["app".into()]);
        p.table_done("app", "public.orders");
        p.database_done("app");
        p.invocations = 2;
        let c = analyze_on_green_check(&p, "green orders-pg-green-abc");
        assert_eq!(c.verdict, Verdict::Pass);
        assert!(
            c.observed.starts_with(
                "ANALYZE ran on green orders-pg-green-abc before the switchover: 1 database(s) (app), 1 table(s)"
            ),
            "{}",
            c.observed
        );
        p.table_skipped(
            "app",
            "public.theirs",
            "not the owner (grant rds_superuser)",
        );
        let c = analyze_on_green_check(&p, "green x");
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c.observed.contains("app.public.theirs: not the owner"));
        let mut state = GreenAnalyze::pending();
        assert!(!state.done);
        state.finish(c);
        assert!(state.done && state.summary().starts_with("analyze-on-green: warn"));
    }
}
