//! What rbg prints: the check table, the cost of waiting, a run's outcome, the fleet's rows.

use bluegreen_domain::fleet::{ChildRun, Outcome, Row};
use bluegreen_domain::model::check::{Check, Verdict};
use bluegreen_domain::model::lifecycle::CostOfWaiting;
use bluegreen_domain::precheck::lifecycle::{
    DEFAULT_RATE_PER_VCPU_HOUR, HOURS_PER_MONTH, RATE_SOURCE,
};
use bluegreen_domain::run::Run;

/// The width text is wrapped to (`COLUMNS` when set, else 100).
pub fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|c| *c >= 40)
        .unwrap_or(100)
}

/// Words wrapped to `width` columns, each line after the first indented by `indent`.
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut line = 0usize;
    let room = width.saturating_sub(indent).max(20);
    for word in words(text) {
        let word = word.as_str();
        let n = word.chars().count();
        if line > 0 && line + 1 + n > room {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += n;
    }
    out
}

/// The words of `text`; a `quoted command` is one word (never broken across lines).
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for word in text.split_whitespace() {
        if open {
            let last = out.last_mut().expect("an open quote has a word");
            last.push(' ');
            last.push_str(word);
        } else {
            out.push(word.to_string());
        }
        let ticks = word.matches('`').count();
        if ticks % 2 == 1 {
            open = !open;
        }
    }
    out
}

fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Fail => 0,
        Verdict::Warn => 1,
        Verdict::Pass => 2,
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Fail => "FAIL",
        Verdict::Warn => "warn",
        Verdict::Pass => "pass",
    }
}

/// The checks, failing ones first (then warnings, then passes), each with what it saw and,
/// unless it passed, the fix.
pub fn check_table(checks: &[Check], width: usize) -> String {
    let mut sorted: Vec<&Check> = checks.iter().collect();
    sorted.sort_by_key(|c| verdict_rank(c.verdict));
    let id_width = sorted.iter().map(|c| c.id.len()).max().unwrap_or(5).max(5);
    let indent = 2 + 4 + 2 + id_width + 2;
    let mut out = format!("  {:4}  {:id_width$}  {}\n", "", "CHECK", "OBSERVED / FIX");
    for c in sorted {
        out.push_str(&format!(
            "  {:4}  {:id_width$}  {}\n",
            verdict_name(c.verdict),
            c.id,
            wrap(&c.observed, width, indent)
        ));
        if c.verdict != Verdict::Pass && !c.fix.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(&wrap(&format!("fix: {}", c.fix), width, indent + 5));
            out.push('\n');
        }
    }
    out
}

/// The estimate at `rate` (re-computed from the vCPUs billed), or as reported.
pub fn monthly_at(cost: &CostOfWaiting, rate: Option<f64>) -> Option<f64> {
    match rate {
        Some(r) => cost
            .vcpus_billed
            .map(|v| (f64::from(v) * r * HOURS_PER_MONTH * 100.0).round() / 100.0),
        None => cost.monthly_usd,
    }
}

/// Money as `$1,234.56`.
pub fn usd(amount: f64) -> String {
    let cents = (amount * 100.0).round() as i64;
    let (whole, frac) = (cents / 100, (cents % 100).abs());
    let digits = whole.abs().to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}${grouped}.{frac:02}", if cents < 0 { "-" } else { "" })
}

/// The cost-of-waiting section of a plan. `None` (an older precheck): "not reported".
pub fn cost_section(
    cost: Option<&CostOfWaiting>,
    engine: &str,
    rate: Option<f64>,
    width: usize,
) -> String {
    let Some(c) = cost else {
        return "cost of waiting: not reported (the precheck's report has no cost_of_waiting: \
                its Extended Support dates and estimate are unknown)\n"
            .to_string();
    };
    let rate_used = rate.unwrap_or(c.rate_per_vcpu_hour);
    let mut out = format!("cost of waiting ({engine} {}):\n", c.major);
    let date = |d: &Option<String>| d.clone().unwrap_or_else(|| "not published".into());
    out.push_str(&format!(
        "  end of standard support  {}{}\n",
        date(&c.standard_support_ends),
        if c.in_extended_support {
            " (passed: Extended Support is billed now)"
        } else {
            ""
        }
    ));
    out.push_str(&format!(
        "  Extended Support starts  {}\n",
        date(&c.extended_support_starts)
    ));
    if c.extended_support_ends.is_some() {
        out.push_str(&format!(
            "  Extended Support ends    {}\n",
            date(&c.extended_support_ends)
        ));
    }
    let estimate = match (monthly_at(c, rate), c.vcpus_billed) {
        (Some(m), Some(v)) => format!(
            "{} a month ({v} vCPUs billed × {} per vCPU-hour × {HOURS_PER_MONTH} hours)",
            usd(m),
            rate_text(rate_used)
        ),
        (Some(m), None) => format!(
            "{} a month at {} per vCPU-hour",
            usd(m),
            rate_text(rate_used)
        ),
        (None, _) => "cannot be estimated (the instance class is not billed per vCPU)".into(),
    };
    out.push_str(&format!(
        "  Extended Support charge  {}\n",
        wrap(&estimate, width, 27)
    ));
    let source = if rate.is_some() {
        "--rate".to_string()
    } else if (c.rate_per_vcpu_hour - DEFAULT_RATE_PER_VCPU_HOUR).abs() < 1e-9 {
        format!("default, {RATE_SOURCE}; --rate to change")
    } else {
        "as reported by the precheck; --rate to change".to_string()
    };
    out.push_str(&format!(
        "  rate                     {}\n",
        wrap(&source, width, 27)
    ));
    if !c.note.is_empty() && rate.is_none() {
        out.push_str(&format!("  {}\n", wrap(&c.note, width, 2)));
    }
    out
}

fn rate_text(rate: f64) -> String {
    format!("${rate:.3}")
}

/// The plan: what it would do, the checks, the manual checks, the cost of waiting.
pub fn plan(run: &Run, rate: Option<f64>, width: usize) -> String {
    let mut out = String::new();
    let db = run.db_label();
    let (engine, from) = run
        .source
        .as_ref()
        .map(|s| (s.engine.as_str().to_string(), s.engine_version.clone()))
        .unwrap_or_else(|| ("?".into(), "?".into()));
    let to = run
        .request
        .as_ref()
        .map(|r| r.target_engine_version.clone())
        .unwrap_or_else(|| "?".into());
    out.push_str(&format!("plan: {db} ({engine} {from}) -> {to}\n"));
    match &run.report {
        Some(report) => {
            let fails = report
                .checks
                .iter()
                .filter(|c| c.verdict == Verdict::Fail)
                .count();
            let warns = report
                .checks
                .iter()
                .filter(|c| c.verdict == Verdict::Warn)
                .count();
            out.push_str(&format!(
                "verdict: {} ({} checks: {fails} fail, {warns} warn, {} pass)\n\n",
                verdict_name(report.verdict),
                report.checks.len(),
                report.checks.len() - fails - warns
            ));
            out.push_str(&check_table(&report.checks, width));
            if !report.manual_checks.is_empty() {
                let ids: Vec<&str> = report.manual_checks.iter().map(|m| m.id.as_str()).collect();
                let line = format!(
                    "manual checks (need database access; SQL in --json .report.manual_checks): {}",
                    ids.join(", ")
                );
                out.push_str(&format!("\n{}\n", wrap(&line, width, 4)));
            }
            out.push('\n');
            out.push_str(&cost_section(
                report.cost_of_waiting.as_ref(),
                &engine,
                rate,
                width,
            ));
        }
        None => out.push_str("no report: the precheck did not run to the end\n"),
    }
    if let Some(p) = &run.plan {
        out.push_str(&format!(
            "\nwould create blue/green deployment {} (target {}{})\n",
            p.deployment_name,
            p.target_engine_version,
            p.target_db_parameter_group_name
                .as_deref()
                .or(p.target_db_cluster_parameter_group_name.as_deref())
                .map(|g| format!(", parameter group {g}"))
                .unwrap_or_default()
        ));
    }
    if let Some(note) = &run.note {
        out.push_str(&format!("note: {}\n", wrap(note, width, 6)));
    }
    out
}

/// Whether a plan's checks fail.
pub fn plan_fails(run: &Run) -> bool {
    run.report
        .as_ref()
        .is_some_and(|r| r.verdict == Verdict::Fail)
}

/// The outcome of a run document (as a fleet row would say it).
pub fn outcome(run: &Run) -> Outcome {
    Row::from_run(&ChildRun::from(run)).outcome
}

/// The closing line(s) for a run that ended, after `elapsed`.
pub fn summary(run: &Run, elapsed: &str, width: usize) -> String {
    let db = run.db_label();
    let to = run
        .request
        .as_ref()
        .map(|r| r.target_engine_version.clone())
        .unwrap_or_else(|| "?".into());
    // The command to finish or undo, as the operator would type it (the same target).
    let mut flags = String::new();
    if let Some(r) = &run.request {
        for (flag, value) in [
            ("--parameter-group", &r.target_db_parameter_group_name),
            (
                "--cluster-parameter-group",
                &r.target_db_cluster_parameter_group_name,
            ),
            ("--instance-class", &r.target_db_instance_class),
        ] {
            if let Some(v) = value {
                flags.push_str(&format!(" {flag} {v}"));
            }
        }
    }
    let again = |action: &str| format!("rbg {action} {db} --to {to}{flags}");
    let text = match outcome(run) {
        Outcome::Succeeded => {
            let mut t = match &run.verify {
                Some(v) => format!(
                    "succeeded in {elapsed}: {} runs {} ({}{}), old blue {} kept",
                    v.production_identifier,
                    v.engine_version,
                    v.status,
                    if v.endpoint_kept {
                        ", endpoint kept"
                    } else {
                        ""
                    },
                    v.old_blue_identifier
                ),
                None => format!("succeeded in {elapsed}: {db} cleaned up"),
            };
            if let Some(c) = &run.cleanup {
                if let Some(s) = &c.snapshot_identifier {
                    t.push_str(&format!(", final snapshot {s}"));
                }
                if c.old_blue_deleted {
                    t.push_str(", old blue deleted");
                }
            }
            t
        }
        Outcome::SwitchedOver => {
            format!("switched over in {elapsed}: {db} runs {to}; the fleet soaks, then cleans up")
        }
        Outcome::Prepared => format!(
            "green prepared in {elapsed}: {db} is untouched and still production; switch over with \
             `{}` or delete green with `{}`",
            again("switchover"),
            again("abort")
        ),
        Outcome::SwitchoverSkipped => format!(
            "switchover skipped after {elapsed}: {} Finish with `{}`, or `{}`",
            run.note
                .clone()
                .map(|n| format!("{}.", n.trim_end_matches('.')))
                .unwrap_or_else(|| "green is left prepared and blue untouched.".into()),
            again("switchover"),
            again("abort")
        ),
        Outcome::Rejected => {
            let why = run
                .approval
                .as_ref()
                .and_then(|a| a.rejection.as_ref())
                .and_then(|r| r.get("Cause"))
                .and_then(|c| c.as_str())
                .unwrap_or("no reason given")
                .to_string();
            format!(
                "rejected after {elapsed} ({why}): green is left prepared and blue untouched; `{}` \
                 to finish, or `{}`",
                again("switchover"),
                again("abort")
            )
        }
        Outcome::Aborted => {
            format!("aborted in {elapsed}: the deployment and green are deleted; {db} is untouched")
        }
        Outcome::AlreadyInProgress => format!(
            "already in progress: another execution is upgrading {db}; nothing was done ({})",
            run.note.clone().unwrap_or_default()
        ),
        Outcome::Planned => format!("planned in {elapsed}"),
        Outcome::NothingToDo => format!("nothing to do: {}", run.note.clone().unwrap_or_default()),
        other => format!("ended {} after {elapsed}", other.as_str()),
    };
    format!("{}\n", wrap(&text, width, 2))
}

/// The fleet's rows, sorted by the end of standard support (soonest first; unknown last),
/// with the Extended Support total. `rate`: re-computes each estimate at that rate (the rows
/// carry the estimate at the precheck's rate, `DEFAULT_RATE_PER_VCPU_HOUR`).
pub fn fleet_table(rows: &[Row], rate: Option<f64>) -> String {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |r: &Row| {
            (
                r.standard_support_ends.is_none(),
                r.standard_support_ends.clone(),
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.db_identifier.cmp(&b.db_identifier))
    });
    let scale = rate.map_or(1.0, |r| r / DEFAULT_RATE_PER_VCPU_HOUR);
    let money = |r: &Row| {
        r.extended_support_monthly_usd
            .map(|m| (m * scale * 100.0).round() / 100.0)
    };
    let cells: Vec<[String; 8]> = sorted
        .iter()
        .map(|r| {
            [
                r.db_identifier.clone(),
                r.engine.clone().unwrap_or_else(|| "-".into()),
                r.version_before.clone().unwrap_or_else(|| "-".into()),
                r.target_engine_version
                    .clone()
                    .unwrap_or_else(|| "-".into()),
                r.standard_support_ends
                    .clone()
                    .unwrap_or_else(|| "not reported".into()),
                money(r).map(usd).unwrap_or_else(|| "not reported".into()),
                r.outcome.as_str().to_string(),
                r.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "DATABASE",
        "ENGINE",
        "VERSION",
        "TARGET",
        "STANDARD SUPPORT ENDS",
        "EXTENDED SUPPORT/MONTH",
        "OUTCOME",
        "DETAIL",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (i, cell) in row.iter().enumerate().take(7) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            if i == 7 {
                s.push_str(&format!(" {cell}"));
            } else if i == 5 {
                s.push_str(&format!(" {:>w$} ", cell, w = widths[i]));
            } else {
                s.push_str(&format!(" {:w$} ", cell, w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    for row in &cells {
        out.push_str(&line(row));
    }
    let estimated: Vec<f64> = sorted.iter().filter_map(|r| money(r)).collect();
    let total: f64 = estimated.iter().sum();
    out.push_str(&format!(
        "\ntotal Extended Support: {} a month ({} of {} databases estimated{})\n",
        usd(total),
        estimated.len(),
        rows.len(),
        match rate {
            Some(r) => format!(", at ${r:.3} per vCPU-hour (--rate)"),
            None => format!(
                ", at ${DEFAULT_RATE_PER_VCPU_HOUR:.3} per vCPU-hour: {RATE_SOURCE}; --rate to change"
            ),
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluegreen_domain::model::check::Check;

    #[test]
    fn failing_checks_come_first_with_their_fixes() {
        let checks = vec![
            Check::pass("source-available", "orders-pg is available"),
            Check::warn("free-storage", "9 % free", "add storage"),
            Check::fail(
                "logical-replication",
                "rds.logical_replication is 0 in orders-pg-pg13",
                "set rds.logical_replication = 1 and reboot",
            ),
        ];
        let t = check_table(&checks, 100);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("  FAIL  logical-replication"), "{t}");
        assert!(
            lines[2]
                .trim_start()
                .starts_with("fix: set rds.logical_replication"),
            "{t}"
        );
        assert!(lines[3].starts_with("  warn  free-storage"), "{t}");
        assert!(lines[5].starts_with("  pass  source-available"), "{t}");
        assert_eq!(lines.len(), 6, "a pass has no fix line: {t}");
    }

    #[test]
    fn wrap_indents_continuations() {
        let w = wrap("one two three four five six", 24, 4);
        assert_eq!(w, "one two three four\n    five six");
        assert_eq!(wrap("a  b\n c", 100, 2), "a b c");
        assert_eq!(
            wrap("run `rbg switchover orders-pg --to 16.4` now", 24, 2),
            "run\n  `rbg switchover orders-pg --to 16.4`\n  now"
        );
    }

    #[test]
    fn money() {
        assert_eq!(usd(292.2), "$292.20");
        assert_eq!(usd(1_168_800.5), "$1,168,800.50");
        assert_eq!(usd(0.0), "$0.00");
    }

    fn cost() -> CostOfWaiting {
        CostOfWaiting {
            major: "13".into(),
            standard_support_ends: Some("2026-02-28".into()),
            extended_support_starts: Some("2026-03-01".into()),
            extended_support_ends: Some("2029-02-28".into()),
            in_extended_support: true,
            vcpus_billed: Some(4),
            rate_per_vcpu_hour: DEFAULT_RATE_PER_VCPU_HOUR,
            monthly_usd: Some(292.2),
            note: "postgres 13 left standard support on 2026-02-28".into(),
        }
    }

    #[test]
    fn the_cost_of_waiting_gives_dates_estimate_and_rate_source() {
        let s = cost_section(Some(&cost()), "postgres", None, 300);
        assert!(
            s.contains("end of standard support  2026-02-28 (passed"),
            "{s}"
        );
        assert!(s.contains("Extended Support starts  2026-03-01"), "{s}");
        assert!(
            s.contains("$292.20 a month (4 vCPUs billed × $0.100 per vCPU-hour"),
            "{s}"
        );
        assert!(s.contains(RATE_SOURCE), "{s}");
        let at = cost_section(Some(&cost()), "postgres", Some(0.2), 100);
        assert!(at.contains("$584.40 a month"), "{at}");
        let missing = cost_section(None, "postgres", None, 100);
        assert!(
            missing.starts_with("cost of waiting: not reported"),
            "{missing}"
        );
    }

    #[test]
    fn the_fleet_table_sorts_by_date_and_totals() {
        let row = |db: &str, ends: Option<&str>, usd: Option<f64>| Row {
            db_identifier: db.into(),
            engine: Some("postgres".into()),
            version_before: Some("13.15".into()),
            target_engine_version: Some("16.4".into()),
            outcome: Outcome::Planned,
            standard_support_ends: ends.map(str::to_string),
            extended_support_monthly_usd: usd,
            ..Row::default()
        };
        let rows = vec![
            row("b-late", Some("2028-02-29"), Some(100.0)),
            row("c-unknown", None, None),
            row("a-soon", Some("2026-02-28"), Some(292.2)),
        ];
        let t = fleet_table(&rows, None);
        let names: Vec<&str> = t
            .lines()
            .skip(1)
            .take(3)
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(names, ["a-soon", "b-late", "c-unknown"], "{t}");
        assert!(
            t.contains("total Extended Support: $392.20 a month (2 of 3 databases estimated"),
            "{t}"
        );
        let doubled = fleet_table(&rows, Some(0.2));
        assert!(doubled.contains("$784.40 a month"), "{doubled}");
    }
}
