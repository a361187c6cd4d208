//! The replication watch, right before the switchover: has the schema of any database
//! changed since create (DDL on blue degrades a logical replica: hold once to be sure, then
//! fail, and the failure path deletes green), or its privileges (GRANT, REVOKE and role
//! changes are not replicated: green would lack them; same path), does blue now have what
//! RDS's own switchover guardrails refuse (a self-managed logical publication or
//! subscription; an external binlog source replicating into blue: hold, then fail keeping
//! green), and how far behind are the logical slots on blue (bytes of WAL green has not
//! confirmed, from `pg_replication_slots`)? That byte lag is the precise PostgreSQL lag
//! signal: AWS publishes no blue-versus-green lag metric for logical replication, so when
//! credentials exist the guardrail should use it (`slot_lag_verdict`).

use super::facts::Slot;
use super::fingerprint::PRIVILEGES_CHANGED;
use super::list_some;
use crate::guardrails::GuardrailVerdict;
use crate::model::error::WorkerError;
use crate::model::schedule::{HOLD_DELAY_SECONDS, MAX_HOLDS};
use serde::{Deserialize, Serialize};

/// The message the failure carries when blue's schema changed after create.
pub const DEGRADED: &str = "green's replication is likely degraded: abort and recreate";
/// The message the failure carries when only blue's privileges changed after create.
pub const NO_LONGER_MATCHES: &str = "green no longer matches blue: abort and recreate";
/// The freeze advice of both failures.
pub const FREEZE: &str = "Freeze schema changes (migrations, pg_partman, ORMs) and privilege \
    changes (GRANT, REVOKE, CREATE/ALTER/DROP ROLE: DCL is not replicated either) from the \
    deployment's creation until the switchover";
/// A schema change must be seen by this many consecutive watches before the run fails.
pub const DRIFT_CONFIRMATIONS: u32 = 2;
/// Hold while an active logical slot on blue is further behind than this: green catches up
/// tens of MiB of WAL in seconds, and RDS's own switchover guardrail wants it caught up.
pub const MAX_SLOT_LAG_BYTES: i64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchVerdict {
    /// Nothing in the database stands in the way of the switchover.
    Go,
    /// Not yet: wait `next_delay_seconds` and watch again.
    Hold,
}

/// `run.database.watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchState {
    pub verdict: WatchVerdict,
    pub checked_at: String,
    /// What blue's schema was compared with: the fingerprint at create, or green's schema.
    pub compared_with: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// What RDS's switchover guardrails would refuse on blue, with what to do (self-managed
    /// publications or subscriptions, an external binlog source replicating into blue).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<String>,
    /// Consecutive watches that saw a schema change.
    pub drift_seen: u32,
    /// Holds so far for slot lag.
    pub holds: u32,
    pub reason: String,
    pub next_delay_seconds: u32,
    /// Logical slots on blue and their lag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<Slot>,
}

impl WatchState {
    /// The largest lag of an active logical slot, in bytes.
    pub fn max_slot_lag_bytes(&self) -> Option<i64> {
        active_logical(&self.slots)
            .filter_map(|s| s.lag_bytes)
            .max()
    }
}

fn active_logical(slots: &[Slot]) -> impl Iterator<Item = &Slot> {
    slots
        .iter()
        .filter(|s| s.slot_type == "logical" && s.active)
}

fn mib(bytes: i64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The slot lag as a guardrail verdict, for the guardrails worker on PostgreSQL: `None`
/// without an active logical slot (no signal: keep CloudWatch's), `Go` when every active
/// logical slot is within `max_bytes`, `Hold` otherwise. Same shape as `guardrails::lag::evaluate`.
pub fn slot_lag_verdict(slots: &[Slot], max_bytes: i64) -> Option<(GuardrailVerdict, String)> {
    let active: Vec<&Slot> = active_logical(slots).collect();
    if active.is_empty() {
        return None;
    }
    let behind: Vec<String> = active
        .iter()
        .filter(|s| s.lag_bytes.is_none_or(|b| b > max_bytes))
        .map(|s| {
            format!(
                "slot {} is {} behind",
                s.name,
                s.lag_bytes.map_or("an unknown amount".into(), mib)
            )
        })
        .collect();
    if behind.is_empty() {
        let worst = active.iter().filter_map(|s| s.lag_bytes).max().unwrap_or(0);
        Some((
            GuardrailVerdict::Go,
            format!(
                "{} logical slot(s) on blue within {} (worst {})",
                active.len(),
                mib(max_bytes),
                mib(worst)
            ),
        ))
    } else {
        Some((
            GuardrailVerdict::Hold,
            format!("{} (max {})", behind.join("; "), mib(max_bytes)),
        ))
    }
}

/// What RDS's switchover guardrail would refuse on a PostgreSQL blue: its subscriptions
/// (`database`, `name`), and its publications (`database`, `name`) other than those green's
/// subscriptions name (`green`: the deployment's own, whoever owns them). Without `green`
/// (it could not be read) publications are not counted: RDS's own would be among them, and
/// the precheck before create refused the user's. One sentence with what to do, or none.
pub fn cdc_blockers(
    publications: &[(String, String)],
    subscriptions: &[(String, String)],
    green: Option<&[(String, String)]>,
) -> Vec<String> {
    let mut found: Vec<String> = subscriptions
        .iter()
        .map(|(db, s)| format!("subscription {s} in {db}"))
        .collect();
    if let Some(green) = green {
        found.extend(
            publications
                .iter()
                .filter(|p| !green.contains(p))
                .map(|(db, p)| format!("publication {p} in {db}")),
        );
    }
    if found.is_empty() {
        return vec![];
    }
    vec![format!(
        "blue is a self-managed logical publisher or subscriber ({}): {}",
        list_some(&found, 10),
        super::prechecks::CDC_FIX
    )]
}

/// The watch's decision from what it saw now and what the previous watch saw.
/// - A schema change: hold (`drift_seen` 1), and once seen `DRIFT_CONFIRMATIONS` times in a
///   row fail with `GreenFailed` ("green's replication is likely degraded: abort and
///   recreate"), which the failure path answers by deleting green (prepare/upgrade).
/// - Something RDS's switchover guardrails refuse (`blockers`, each saying what to do): hold,
///   at most `MAX_HOLDS` times, then `GuardrailViolated` with the same words (green is kept).
/// - Slot lag above `max_slot_lag_bytes` (the request's `max_replication_slot_lag_bytes`,
///   `MAX_SLOT_LAG_BYTES` by default): hold, at most `MAX_HOLDS` times, then
///   `GuardrailViolated` (green is kept: switch over later or abort).
/// - Otherwise go.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    previous: Option<&WatchState>,
    db: &str,
    compared_with: String,
    changes: Vec<String>,
    blockers: Vec<String>,
    slots: Vec<Slot>,
    max_slot_lag_bytes: u64,
    now: &str,
) -> Result<WatchState, WorkerError> {
    let max_slot_lag_bytes = i64::try_from(max_slot_lag_bytes).unwrap_or(i64::MAX);
    let drift_before = previous.map_or(0, |p| p.drift_seen);
    let holds_before = previous.map_or(0, |p| p.holds);
    let state = |verdict, drift_seen, holds, reason: String, changes: Vec<String>| WatchState {
        verdict,
        checked_at: now.to_string(),
        compared_with: compared_with.clone(),
        changes,
        blockers: blockers.clone(),
        drift_seen,
        holds,
        reason,
        next_delay_seconds: if verdict == WatchVerdict::Hold {
            HOLD_DELAY_SECONDS
        } else {
            0
        },
        slots: slots.clone(),
    };
    if !changes.is_empty() {
        let drift_seen = drift_before + 1;
        let what = list_some(&changes, 10);
        let only_privileges = changes.iter().all(|c| c.starts_with(PRIVILEGES_CHANGED));
        if drift_seen >= DRIFT_CONFIRMATIONS {
            return Err(WorkerError::GreenFailed(if only_privileges {
                format!(
                    "{NO_LONGER_MATCHES}. Blue's privileges changed since the deployment was \
                     created ({what}; compared with {compared_with}): GRANT, REVOKE and role \
                     changes are not replicated, so green lacks them. Not switching over {db}. \
                     {FREEZE}, then create the deployment again"
                )
            } else {
                format!(
                    "{DEGRADED}. Blue's schema changed since the deployment was created ({what}; \
                     compared with {compared_with}): DDL is not replicated logically, so green no \
                     longer matches. Not switching over {db}. {FREEZE}, then create the \
                     deployment again"
                )
            }));
        }
        return Ok(state(
            WatchVerdict::Hold,
            drift_seen,
            holds_before,
            format!(
                "blue's {} changed since create ({what}): watching once more before failing",
                if only_privileges {
                    "privileges"
                } else {
                    "schema"
                }
            ),
            changes,
        ));
    }
    if !blockers.is_empty() {
        let holds = holds_before + 1;
        let why = blockers.join("; ");
        if holds > MAX_HOLDS {
            return Err(WorkerError::GuardrailViolated(format!(
                "not switching over {db}: {why}. Still so after {holds} checks over {} minutes; \
                 green is kept and blue is untouched: fix it, then run action `switchover`, or \
                 `abort` to delete green",
                holds * HOLD_DELAY_SECONDS / 60
            )));
        }
        return Ok(state(
            WatchVerdict::Hold,
            0,
            holds,
            format!("RDS would refuse the switchover: {why}"),
            Vec::new(),
        ));
    }
    if let Some((GuardrailVerdict::Hold, why)) = slot_lag_verdict(&slots, max_slot_lag_bytes) {
        let holds = holds_before + 1;
        if holds > MAX_HOLDS {
            return Err(WorkerError::GuardrailViolated(format!(
                "not switching over {db}: {why}, still after {holds} checks over {} minutes. Green \
                 is kept and blue is untouched: find the cause (write load, a long transaction), \
                 then run action `switchover`, or `abort` to delete green",
                holds * HOLD_DELAY_SECONDS / 60
            )));
        }
        return Ok(state(WatchVerdict::Hold, 0, holds, why, Vec::new()));
    }
    let lag = slot_lag_verdict(&slots, max_slot_lag_bytes)
        .map(|(_, why)| format!("; {why}"))
        .unwrap_or_else(|| "; no active logical slot on blue to measure".to_string());
    Ok(state(
        WatchVerdict::Go,
        0,
        holds_before,
        format!("no schema change since create (compared with {compared_with}){lag}"),
        Vec::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(active: bool, lag: Option<i64>) -> Slot {
        Slot {
            name: "rds_bg_app".into(),
            slot_type: "logical".into(),
            database: Some("app".into()),
            plugin: Some("pgoutput".into()),
            active,
            lag_bytes: lag,
        }
    }

    fn watch(
        previous: Option<&WatchState>,
        changes: &[&str],
        slots: Vec<Slot>,
    ) -> Result<WatchState, WorkerError> {
        decide(
            previous,
            "orders-pg",
            "the fingerprint at create".into(),
            changes.iter().map(|s| s.to_string()).collect(),
            vec![],
            slots,
            MAX_SLOT_LAG_BYTES as u64,
            "2026-12-06T03:00:00Z",
        )
    }

    #[test]
    fn the_request_bound_decides_the_slot_hold() {
        let slots = vec![slot(true, Some(2 * 1024 * 1024))];
        let tight = decide(
            None,
            "orders-pg",
            "x".into(),
            vec![],
            vec![],
            slots.clone(),
            1024 * 1024,
            "t",
        )
        .unwrap();
        assert_eq!(tight.verdict, WatchVerdict::Hold, "{}", tight.reason);
        assert!(tight.reason.contains("max 1.0 MiB"), "{}", tight.reason);
        let loose = decide(
            None,
            "orders-pg",
            "x".into(),
            vec![],
            vec![],
            slots,
            4 * 1024 * 1024,
            "t",
        )
        .unwrap();
        assert_eq!(loose.verdict, WatchVerdict::Go, "{}", loose.reason);
    }

    #[test]
    fn no_change_and_no_lag_is_go() {
        let w = watch(None, &[], vec![slot(true, Some(1024))]).unwrap();
        assert_eq!(w.verdict, WatchVerdict::Go);
        assert!(w.reason.contains("within 64.0 MiB"), "{}", w.reason);
        assert_eq!(w.max_slot_lag_bytes(), Some(1024));
        let w = watch(None, &[], vec![]).unwrap();
        assert_eq!(w.verdict, WatchVerdict::Go);
        assert!(w.reason.contains("no active logical slot"));
    }

    #[test]
    fn ddl_since_create_holds_then_fails_as_degraded() {
        let first = watch(
            None,
            &["the schema of app changed (3 objects, now 4)"],
            vec![],
        )
        .unwrap();
        assert_eq!(first.verdict, WatchVerdict::Hold);
        assert_eq!(first.drift_seen, 1);
        assert_eq!(first.next_delay_seconds, HOLD_DELAY_SECONDS);
        let e = watch(
            Some(&first),
            &["the schema of app changed (3 objects, now 4)"],
            vec![],
        )
        .unwrap_err();
        assert_eq!(e.name(), "GreenFailed", "the failure path deletes green");
        assert!(e.to_string().starts_with(DEGRADED), "{e}");
        assert!(e.to_string().contains("the schema of app changed"), "{e}");
        // A change that is gone on the next look (a watch raced a rollback) starts over.
        let again = watch(Some(&first), &[], vec![]).unwrap();
        assert_eq!((again.verdict, again.drift_seen), (WatchVerdict::Go, 0));
    }

    #[test]
    fn a_privilege_change_holds_then_fails_saying_so() {
        let change = "the privileges of app changed (GRANT, REVOKE or a role: 2 entries, now 3)";
        let first = watch(None, &[change], vec![]).unwrap();
        assert_eq!(first.verdict, WatchVerdict::Hold);
        assert!(
            first.reason.starts_with("blue's privileges changed"),
            "{}",
            first.reason
        );
        let e = watch(Some(&first), &[change], vec![]).unwrap_err();
        assert_eq!(e.name(), "GreenFailed");
        let msg = e.to_string();
        assert!(msg.starts_with(NO_LONGER_MATCHES), "{msg}");
        assert!(
            msg.contains("GRANT, REVOKE and role changes are not replicated"),
            "{msg}"
        );
        assert!(
            msg.contains("DCL is not replicated either"),
            "the freeze advice: {msg}"
        );
    }

    #[test]
    fn a_guardrail_blocker_holds_then_fails_with_the_same_words_keeping_green() {
        let blocker = "publication dbz in app: blue can be neither a logical publisher nor a \
                       subscriber of its own";
        let decide_with = |previous: Option<&WatchState>| {
            decide(
                previous,
                "orders-pg",
                "x".into(),
                vec![],
                vec![blocker.to_string()],
                vec![],
                MAX_SLOT_LAG_BYTES as u64,
                "t",
            )
        };
        let mut w = decide_with(None).unwrap();
        assert_eq!(w.verdict, WatchVerdict::Hold);
        assert!(w.reason.contains("publication dbz in app"), "{}", w.reason);
        assert_eq!(w.blockers, [blocker]);
        for _ in 1..MAX_HOLDS {
            w = decide_with(Some(&w)).unwrap();
        }
        let e = decide_with(Some(&w)).unwrap_err();
        assert_eq!(e.name(), "GuardrailViolated", "green is kept");
        assert!(e.to_string().contains(blocker), "{e}");
    }

    #[test]
    fn the_deployments_own_publications_are_not_blockers() {
        let pair = |d: &str, n: &str| (d.to_string(), n.to_string());
        let pubs = vec![pair("app", "rds_bg_pub"), pair("app", "dbz_publication")];
        let green = vec![pair("app", "rds_bg_pub")];
        let b = cdc_blockers(&pubs, &[], Some(&green));
        assert_eq!(b.len(), 1);
        assert!(
            b[0].contains("(publication dbz_publication in app)"),
            "{}",
            b[0]
        );
        assert!(b[0].contains("DROP PUBLICATION"), "what to do: {}", b[0]);
        assert!(cdc_blockers(&pubs[..1], &[], Some(&green)).is_empty());
        assert!(
            cdc_blockers(&pubs, &[], None).is_empty(),
            "green unreadable: publications are not counted"
        );
        let b = cdc_blockers(&[], &[pair("app", "from_legacy")], None);
        assert!(b[0].contains("subscription from_legacy in app"), "{b:?}");
    }

    #[test]
    fn slot_lag_holds_then_fails_keeping_green() {
        let behind = vec![slot(true, Some(MAX_SLOT_LAG_BYTES + 1))];
        let mut w = watch(None, &[], behind.clone()).unwrap();
        assert_eq!(w.verdict, WatchVerdict::Hold);
        assert!(
            w.reason.contains("rds_bg_app is 64.0 MiB behind"),
            "{}",
            w.reason
        );
        for _ in 1..MAX_HOLDS {
            w = watch(Some(&w), &[], behind.clone()).unwrap();
        }
        assert_eq!(w.holds, MAX_HOLDS);
        let e = watch(Some(&w), &[], behind).unwrap_err();
        assert_eq!(e.name(), "GuardrailViolated", "green is kept");
    }

    #[test]
    fn the_guardrail_signal_is_absent_without_an_active_logical_slot() {
        assert_eq!(slot_lag_verdict(&[], MAX_SLOT_LAG_BYTES), None);
        assert_eq!(
            slot_lag_verdict(&[slot(false, Some(1 << 40))], MAX_SLOT_LAG_BYTES),
            None
        );
        let (v, _) = slot_lag_verdict(&[slot(true, None)], MAX_SLOT_LAG_BYTES).unwrap();
        assert_eq!(v, GuardrailVerdict::Hold, "an unknown lag is not zero");
        let (v, _) = slot_lag_verdict(&[slot(true, Some(0))], MAX_SLOT_LAG_BYTES).unwrap();
        assert_eq!(v, GuardrailVerdict::Go);
    }
}
