//! The finish on the new production (PostgreSQL), after `Verify` and before the soak:
//! 1. ANALYZE every database (pg_upgrade leaves no planner statistics), table by table in
//!    name order, within `ANALYZE_BUDGET_SECONDS` per invocation; the state machine invokes
//!    the step again until `done`, and each invocation resumes after the last table done, so
//!    a large database never needs one long Lambda. A logical deployment was analyzed on
//!    green before the switchover already (`analyze`): this is the top-up;
//! 2. extensions whose installed version is older than the new major's default: reported,
//!    and updated (`ALTER EXTENSION ... UPDATE`) only when the request says
//!    `update_extensions`;
//! 3. every sequence on the new production at or past the old blue's value: logical
//!    replication itself does not carry sequence values, and RDS sets green's sequences to
//!    blue's during the switchover ("During switchover, Amazon RDS increments sequence values
//!    in the green environment to match those in the blue environment", RDS User Guide);
//!    this verifies that it did, and names the `setval` to run for any that is behind;
//! 4. the smoke query (the request's, read-only, or `SELECT 1`).
//!
//! Each result is a check in `run.database.finish.checks`; a failed sequence check, smoke
//! query or way in ends the step with `VerificationFailed` (the old blue is kept).

use super::list_some;
use crate::model::check::{id, Check, Verdict};
use crate::model::engine::compare_versions;
use crate::model::error::WorkerError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// ANALYZE time per invocation (the function's timeout is 60 s: connect, the other steps
/// and the answer fit in the rest).
pub const ANALYZE_BUDGET_SECONDS: u64 = 30;

/// Where the ANALYZE pass stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzeProgress {
    /// Every database to analyze, listed by the first invocation.
    pub databases: Vec<String>,
    pub listed: bool,
    pub done: Vec<String>,
    /// The database being analyzed and the last table done in it (`schema.table`, in the
    /// order `after_table` compares: by bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_table: Option<String>,
    pub tables_analyzed: u64,
    /// Tables whose ANALYZE failed (statement timeout, privilege), with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    pub invocations: u32,
}

/// What the next ANALYZE invocation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextAnalyze {
    /// List the databases first.
    List,
    /// Analyze this database's tables after `after` (all of them when `None`).
    Database { name: String, after: Option<String> },
    /// Every database is done.
    Complete,
}

impl AnalyzeProgress {
    pub fn next(&self) -> NextAnalyze {
        if !self.listed {
            return NextAnalyze::List;
        }
        if let Some(current) = &self.current {
            return NextAnalyze::Database {
                name: current.clone(),
                after: self.after_table.clone(),
            };
        }
        match self.databases.iter().find(|d| !self.done.contains(d)) {
            Some(d) => NextAnalyze::Database {
                name: d.clone(),
                after: None,
            },
            None => NextAnalyze::Complete,
        }
    }

    pub fn list(&mut self, databases: Vec<String>) {
        self.databases = databases;
        self.listed = true;
    }

    pub fn table_done(&mut self, database: &str, table: &str) {
        self.current = Some(database.to_string());
        self.after_table = Some(table.to_string());
        self.tables_analyzed += 1;
    }

    pub fn table_skipped(&mut self, database: &str, table: &str, why: &str) {
        self.current = Some(database.to_string());
        self.after_table = Some(table.to_string());
        if self.skipped.len() < 50 {
            self.skipped.push(format!("{database}.{table}: {why}"));
        }
    }

    pub fn database_done(&mut self, database: &str) {
        if !self.done.iter().any(|d| d == database) {
            self.done.push(database.to_string());
        }
        self.current = None;
        self.after_table = None;
    }

    pub fn is_complete(&self) -> bool {
        self.next() == NextAnalyze::Complete
    }
}

/// Which of a database's tables (in the order the adapter lists them) remain after `after`.
pub fn remaining_tables<'a>(tables: &'a [String], after: Option<&str>) -> Vec<&'a String> {
    let mut sorted: Vec<&String> = tables.iter().collect();
    sorted.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    sorted
        .into_iter()
        .filter(|t| after.is_none_or(|a| t.as_bytes() > a.as_bytes()))
        .collect()
}

pub fn analyze_check(p: &AnalyzeProgress) -> Check {
    analyze_check_after(p, None)
}

/// `analyze_check`, saying what green's ANALYZE before the switchover did (`before`), of
/// which this one is the top-up.
pub fn analyze_check_after(p: &AnalyzeProgress, before: Option<&AnalyzeProgress>) -> Check {
    let earlier = before
        .map(|b| {
            format!(
                " (a top-up: green was analyzed before the switchover, {} table(s) in {} \
                 database(s))",
                b.tables_analyzed,
                b.done.len()
            )
        })
        .unwrap_or_default();
    let base = format!(
        "ANALYZE ran on {} database(s) ({}), {} table(s), in {} invocation(s){earlier}",
        p.done.len(),
        list_some(&p.done, 10),
        p.tables_analyzed,
        p.invocations
    );
    if p.skipped.is_empty() {
        Check::new(id::ANALYZE, Verdict::Pass, base, "")
    } else {
        Check::new(
            id::ANALYZE,
            Verdict::Warn,
            format!("{base}; not analyzed: {}", list_some(&p.skipped, 10)),
            "ANALYZE those tables by hand (as their owner or rds_superuser); until then their \
             plans use no statistics",
        )
    }
}

/// An installed extension and the new major's default version of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionVersion {
    pub database: String,
    pub name: String,
    pub installed: String,
    pub default: String,
    #[serde(default, skip_serializing_if = "crate::model::request::is_false")]
    pub updated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The extensions whose installed version is older than the default
/// (`pg_available_extensions`), in database and name order.
pub fn outdated_extensions(all: Vec<ExtensionVersion>) -> Vec<ExtensionVersion> {
    let mut out: Vec<ExtensionVersion> = all
        .into_iter()
        .filter(|e| compare_versions(&e.installed, &e.default) == Ordering::Less)
        .collect();
    out.sort_by(|a, b| (&a.database, &a.name).cmp(&(&b.database, &b.name)));
    out
}

/// The `ALTER EXTENSION` statement that updates one (identifiers quoted).
pub fn update_statement(e: &ExtensionVersion) -> String {
    format!("ALTER EXTENSION \"{}\" UPDATE", e.name.replace('"', "\"\""))
}

pub fn extensions_check(outdated: &[ExtensionVersion], update_requested: bool) -> Check {
    if outdated.is_empty() {
        return Check::new(
            id::EXTENSION_VERSIONS,
            Verdict::Pass,
            "every extension is at the new major's default version",
            "",
        );
    }
    let describe = |e: &ExtensionVersion| {
        format!(
            "{} {} -> {} in {}{}",
            e.name,
            e.installed,
            e.default,
            e.database,
            match (&e.error, e.updated) {
                (Some(err), _) => format!(" (update failed: {err})"),
                (None, true) => " (updated)".to_string(),
                (None, false) => String::new(),
            }
        )
    };
    let list: Vec<String> = outdated.iter().map(describe).collect();
    let failed = outdated.iter().any(|e| e.error.is_some());
    let all_updated = outdated.iter().all(|e| e.updated && e.error.is_none());
    if update_requested && all_updated {
        return Check::new(
            id::EXTENSION_VERSIONS,
            Verdict::Pass,
            format!("updated: {}", list_some(&list, 10)),
            "",
        );
    }
    Check::new(
        id::EXTENSION_VERSIONS,
        Verdict::Warn,
        format!(
            "older than the new major's default: {}",
            list_some(&list, 10)
        ),
        if failed {
            "update them by hand (ALTER EXTENSION name UPDATE) as their owner; see each error"
        } else {
            "ALTER EXTENSION name UPDATE in each database (or run again with update_extensions: \
             true), after checking each extension's upgrade notes"
        },
    )
}

/// A sequence's `last_value` (`pg_sequences`; `None` when never used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceValue {
    pub database: String,
    /// `schema.sequence`
    pub name: String,
    pub last_value: Option<i64>,
}

/// Every sequence the old blue used must be at or past the old blue's value on the new
/// production; one behind would hand out keys that already exist.
pub fn compare_sequences(production: &[SequenceValue], old_blue: &[SequenceValue]) -> Check {
    let prod: BTreeMap<(&str, &str), Option<i64>> = production
        .iter()
        .map(|s| ((s.database.as_str(), s.name.as_str()), s.last_value))
        .collect();
    let mut behind = Vec::new();
    let mut fixes = Vec::new();
    let mut compared = 0;
    for s in old_blue {
        let Some(old) = s.last_value else { continue };
        compared += 1;
        match prod.get(&(s.database.as_str(), s.name.as_str())) {
            None => behind.push(format!(
                "{}.{} is missing (old blue at {old})",
                s.database, s.name
            )),
            Some(Some(new)) if *new >= old => continue,
            Some(now) => {
                behind.push(format!(
                    "{}.{} is at {} (old blue at {old})",
                    s.database,
                    s.name,
                    now.map_or("its start".to_string(), |v| v.to_string())
                ));
                if fixes.len() < 5 {
                    fixes.push(format!(
                        "in {}: SELECT setval('{}', {old})",
                        s.database, s.name
                    ));
                }
            }
        }
    }
    if behind.is_empty() {
        return Check::new(
            id::SEQUENCES,
            Verdict::Pass,
            format!("{compared} sequence(s) at or past the old blue's values"),
            "",
        );
    }
    Check::new(
        id::SEQUENCES,
        Verdict::Fail,
        format!(
            "{} of {compared} sequence(s) behind the old blue: {}",
            behind.len(),
            list_some(&behind, 10)
        ),
        format!(
            "set each to at least the old blue's value before inserts collide: {}",
            fixes.join("; ")
        ),
    )
}

/// `run.database.finish`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FinishState {
    pub analyze: AnalyzeProgress,
    /// The outdated extensions found (and what became of each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<ExtensionVersion>,
    /// One check per step, once it ran: analyze, extension-versions, sequences, smoke-query.
    #[serde(default)]
    pub checks: Vec<Check>,
    pub done: bool,
    /// 0: invoke again at once (ANALYZE continues).
    pub next_delay_seconds: u32,
    #[serde(default)]
    pub steps: Vec<String>,
}

impl FinishState {
    pub fn set_check(&mut self, check: Check) {
        self.checks.retain(|c| c.id != check.id);
        self.checks.push(check);
    }

    /// The error that ends the step once every check ran: a failed sequence check, smoke
    /// query or way in. Production is already switched over: nothing is rolled back, the old
    /// blue is kept, and the failure path notifies.
    pub fn failure(&self, db: &str) -> Option<WorkerError> {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .map(|c| format!("[{}] {}: {}", c.id, c.observed, c.fix))
            .collect();
        (!failed.is_empty()).then(|| {
            WorkerError::VerificationFailed(format!(
                "the finish on the new production {db} failed: {}. The switchover is done and \
                 the old blue is kept as the fallback",
                failed.join(" | ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn analyze_resumes_where_it_stopped_across_databases() {
        let mut p = AnalyzeProgress::default();
        assert_eq!(p.next(), NextAnalyze::List);
        p.list(vec!["app".into(), "reporting".into()]);
        assert_eq!(
            p.next(),
            NextAnalyze::Database {
                name: "app".into(),
                after: None
            }
        );
        let app = tables(&["public.b", "public.a", "public.c"]);
        assert_eq!(
            remaining_tables(&app, None),
            ["public.a", "public.b", "public.c"]
        );
        // First invocation: the budget ran out after public.b.
        p.table_done("app", "public.a");
        p.table_done("app", "public.b");
        assert_eq!(
            p.next(),
            NextAnalyze::Database {
                name: "app".into(),
                after: Some("public.b".into())
            }
        );
        assert_eq!(remaining_tables(&app, Some("public.b")), ["public.c"]);
        p.table_skipped("app", "public.c", "statement timeout");
        p.database_done("app");
        assert_eq!(
            p.next(),
            NextAnalyze::Database {
                name: "reporting".into(),
                after: None
            }
        );
        p.database_done("reporting");
        assert!(p.is_complete());
        p.invocations = 2;
        let c = analyze_check(&p);
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c
            .observed
            .contains("2 database(s) (app, reporting), 2 table(s)"));
        assert!(c.observed.contains("app.public.c: statement timeout"));
    }

    #[test]
    fn a_database_with_nothing_to_analyze_is_complete_at_once() {
        let mut p = AnalyzeProgress::default();
        p.list(vec![]);
        assert!(p.is_complete());
        assert_eq!(analyze_check(&p).verdict, Verdict::Pass);
    }

    fn ext(name: &str, installed: &str, default: &str) -> ExtensionVersion {
        ExtensionVersion {
            database: "app".into(),
            name: name.into(),
            installed: installed.into(),
            default: default.into(),
            updated: false,
            error: None,
        }
    }

    #[test]
    fn older_extensions_are_reported_and_updated_only_on_request() {
        let all = vec![
            ext("pg_stat_statements", "1.8", "1.10"),
            ext("plpgsql", "1.0", "1.0"),
            ext("postgis", "3.4.2", "3.4.0"),
        ];
        let outdated = outdated_extensions(all);
        assert_eq!(outdated.len(), 1, "1.8 < 1.10 numerically; newer is fine");
        let c = extensions_check(&outdated, false);
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c.observed.contains("pg_stat_statements 1.8 -> 1.10 in app"));
        let mut updated = outdated.clone();
        updated[0].updated = true;
        assert_eq!(extensions_check(&updated, true).verdict, Verdict::Pass);
        updated[0].error = Some("must be owner".into());
        assert_eq!(extensions_check(&updated, true).verdict, Verdict::Warn);
        assert_eq!(
            update_statement(&updated[0]),
            "ALTER EXTENSION \"pg_stat_statements\" UPDATE"
        );
        assert_eq!(extensions_check(&[], false).verdict, Verdict::Pass);
    }

    fn seq(name: &str, v: Option<i64>) -> SequenceValue {
        SequenceValue {
            database: "app".into(),
            name: name.into(),
            last_value: v,
        }
    }

    #[test]
    fn sequences_at_or_past_the_old_blue_pass() {
        let old = vec![
            seq("public.orders_id_seq", Some(100)),
            seq("public.unused", None),
        ];
        let prod = vec![
            seq("public.orders_id_seq", Some(100)),
            seq("public.unused", None),
        ];
        let c = compare_sequences(&prod, &old);
        assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
        assert!(c.observed.starts_with("1 sequence(s)"));
        let prod = vec![seq("public.orders_id_seq", Some(250))];
        assert_eq!(compare_sequences(&prod, &old).verdict, Verdict::Pass);
    }

    #[test]
    fn a_sequence_behind_or_missing_fails_with_the_setval_to_run() {
        let old = vec![
            seq("public.orders_id_seq", Some(100)),
            seq("public.items_id_seq", Some(7)),
        ];
        let prod = vec![
            seq("public.orders_id_seq", Some(3)),
            seq("public.items_id_seq", None),
        ];
        let c = compare_sequences(&prod, &old);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c
            .observed
            .contains("app.public.orders_id_seq is at 3 (old blue at 100)"));
        assert!(c.observed.contains("items_id_seq is at its start"));
        assert!(c.fix.contains("SELECT setval('public.orders_id_seq', 100)"));
        let c = compare_sequences(&[], &old);
        assert!(c.observed.contains("is missing"));
    }

    #[test]
    fn the_finish_fails_on_a_failed_check_only() {
        let mut f = FinishState::default();
        f.set_check(Check::new(
            id::EXTENSION_VERSIONS,
            Verdict::Warn,
            "old",
            "update",
        ));
        assert!(f.failure("orders-pg").is_none());
        f.set_check(Check::new(id::SEQUENCES, Verdict::Fail, "behind", "setval"));
        f.set_check(Check::new(id::SEQUENCES, Verdict::Fail, "behind", "setval"));
        assert_eq!(f.checks.len(), 2, "a check is replaced, not repeated");
        let e = f.failure("orders-pg").unwrap();
        assert_eq!(e.name(), "VerificationFailed");
        assert!(e.to_string().contains("[sequences] behind"), "{e}");
    }
}
