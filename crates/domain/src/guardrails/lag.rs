//! Replication lag before switchover, per engine: which signal AWS publishes, where, in which
//! unit, and what its absence means. The table below is checked against
//! `shared/reference/bluegreen-facts.md` ("Lag signals are per engine"); a guardrail that
//! waited for a metric an engine never publishes would wait forever.
//!
//! | engine | replication green ← blue | signal | on | unit |
//! | --- | --- | --- | --- | --- |
//! | RDS MySQL, MariaDB | binlog | `ReplicaLag` (-1 = replication not active) | each green instance | seconds |
//! | RDS PostgreSQL, minor version | physical | `ReplicaLag` | each green instance | seconds |
//! | RDS PostgreSQL, major version | logical | `OldestLogicalReplicationSlotLag`, else `OldestReplicationSlotLag` | blue instance | bytes |
//! | Aurora MySQL | binlog | `AuroraBinlogReplicaLag`, `Role=WRITER` | green cluster | seconds |
//! | Aurora PostgreSQL | logical (inferred for minor versions too) | `OldestLogicalReplicationSlotLag`, else `OldestReplicationSlotLag` | blue writer | bytes |
//!
//! PostgreSQL's slot metrics: `OldestReplicationSlotLag` counts every slot on blue, each of
//! blue's read replicas' physical slots too; `OldestLogicalReplicationSlotLag` counts logical
//! slots only (RDS User Guide, CloudWatch metrics for RDS). Green replicates through a logical
//! slot, so the logical one is preferred whenever it has a datapoint (a read replica of blue
//! lagging is no reason to hold the switchover); without one the run falls back to
//! `OldestReplicationSlotLag`, and `decided_by` says which decided.
//!
//! Aurora instances publish no `ReplicaLag`; `AuroraReplicaLag` measures readers against
//! their own writer, not green against blue, and is never used. When a documented signal has
//! no datapoint after `MAX_ABSENT_CHECKS` checks, the run relies on RDS's own switchover
//! guardrails (replication health, lag within what the timeout allows) and says so.

use crate::model::db::DbKind;
use crate::model::deployment::DeploymentView;
use crate::model::engine::Engine;
use crate::model::names::parse_rds_arn;
use crate::model::source::SourceDb;
use serde::{Deserialize, Serialize};

/// How green receives blue's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replication {
    /// MySQL binary log replication.
    Binlog,
    /// PostgreSQL physical (WAL replay) replication: minor-version deployments.
    Physical,
    /// PostgreSQL logical replication: every major-version deployment.
    Logical,
}

/// Where a lag metric is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LagSource {
    /// Each green instance, `DBInstanceIdentifier`.
    GreenInstances,
    /// The green cluster, `DBClusterIdentifier` and `Role=WRITER`.
    GreenClusterWriter,
    /// Blue's instance (RDS) or its writer instance (Aurora), `DBInstanceIdentifier`.
    BlueWriter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LagUnit {
    Seconds,
    Bytes,
}

/// One engine's documented lag signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LagSignal {
    /// The metric read, or the fallback of `preferred`.
    pub metric: &'static str,
    /// A metric read first, at the same place and in the same unit; `metric` decides only
    /// when it has no datapoint.
    pub preferred: Option<&'static str>,
    pub source: LagSource,
    pub unit: LagUnit,
    /// `ReplicaLag` reports -1 when replication is not active: a hold, never "no lag".
    pub negative_means_inactive: bool,
}

const REPLICA_LAG: LagSignal = LagSignal {
    metric: "ReplicaLag",
    preferred: None,
    source: LagSource::GreenInstances,
    unit: LagUnit::Seconds,
    negative_means_inactive: true,
};
const AURORA_BINLOG_REPLICA_LAG: LagSignal = LagSignal {
    metric: "AuroraBinlogReplicaLag",
    preferred: None,
    source: LagSource::GreenClusterWriter,
    unit: LagUnit::Seconds,
    negative_means_inactive: true,
};
/// Logical slots only: the deployment's own replication (RDS metrics page).
pub const OLDEST_LOGICAL_REPLICATION_SLOT_LAG: &str = "OldestLogicalReplicationSlotLag";

const OLDEST_REPLICATION_SLOT_LAG: LagSignal = LagSignal {
    metric: "OldestReplicationSlotLag",
    preferred: Some(OLDEST_LOGICAL_REPLICATION_SLOT_LAG),
    source: LagSource::BlueWriter,
    unit: LagUnit::Bytes,
    negative_means_inactive: false,
};

/// The replication a deployment uses and the signal that measures it: the table above.
pub fn signal_for(engine: &Engine, is_major_upgrade: bool) -> (Replication, Option<LagSignal>) {
    match engine {
        Engine::Mysql | Engine::Mariadb => (Replication::Binlog, Some(REPLICA_LAG)),
        Engine::AuroraMysql => (Replication::Binlog, Some(AURORA_BINLOG_REPLICA_LAG)),
        Engine::Postgres if !is_major_upgrade => (Replication::Physical, Some(REPLICA_LAG)),
        Engine::Postgres | Engine::AuroraPostgresql => {
            (Replication::Logical, Some(OLDEST_REPLICATION_SLOT_LAG))
        }
        Engine::Other(_) => (Replication::Logical, None),
    }
}

/// One CloudWatch query the guardrail makes: an AWS/RDS metric with exact dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LagQuery {
    pub member: String,
    pub metric: String,
    pub unit: LagUnit,
    pub dimensions: Vec<(String, String)>,
}

/// The queries for a signal: green's instances or cluster writer (from the deployment's
/// switchover details), or blue's writer. With logical replication, green's read replicas
/// (physical replicas of green's primary, RDS only) are measured by their own `ReplicaLag`
/// too: the guardrail covers every green member that has a signal.
pub fn queries(signal: &LagSignal, source: &SourceDb, view: &DeploymentView) -> Vec<LagQuery> {
    let query = |member: &str, metric: &str, unit: LagUnit, dims: Vec<(&str, &str)>| LagQuery {
        member: member.to_string(),
        metric: metric.to_string(),
        unit,
        dimensions: dims
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    match signal.source {
        LagSource::BlueWriter => {
            let writer = match source.kind {
                DbKind::Instance => Some(source.identifier.as_str()),
                DbKind::Cluster => source.members.first().map(String::as_str),
            };
            let mut out: Vec<LagQuery> = writer
                .map(|w| {
                    signal
                        .preferred
                        .into_iter()
                        .chain(std::iter::once(signal.metric))
                        .map(|metric| {
                            query(w, metric, signal.unit, vec![("DBInstanceIdentifier", w)])
                        })
                        .collect()
                })
                .unwrap_or_default();
            if source.kind == DbKind::Instance {
                let primary = parse_rds_arn(&view.target_arn).map(|(_, n)| n.to_string());
                for arn in view.green_member_arns() {
                    if let Some((DbKind::Instance, name)) = parse_rds_arn(&arn) {
                        if Some(name.to_string()) != primary
                            && !out.iter().any(|q| q.member == name)
                        {
                            out.push(query(
                                name,
                                REPLICA_LAG.metric,
                                LagUnit::Seconds,
                                vec![("DBInstanceIdentifier", name)],
                            ));
                        }
                    }
                }
            }
            out
        }
        LagSource::GreenInstances | LagSource::GreenClusterWriter => {
            let want = if signal.source == LagSource::GreenInstances {
                DbKind::Instance
            } else {
                DbKind::Cluster
            };
            let mut out: Vec<LagQuery> = Vec::new();
            for arn in view.green_member_arns() {
                let Some((kind, name)) = parse_rds_arn(&arn) else {
                    continue;
                };
                if kind != want || out.iter().any(|q| q.member == name) {
                    continue;
                }
                out.push(if want == DbKind::Instance {
                    query(
                        name,
                        signal.metric,
                        signal.unit,
                        vec![("DBInstanceIdentifier", name)],
                    )
                } else {
                    query(
                        name,
                        signal.metric,
                        signal.unit,
                        vec![("DBClusterIdentifier", name), ("Role", "WRITER")],
                    )
                });
            }
            out
        }
    }
}

/// What one query returned: the worst (maximum) datapoint of the lookback window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagReading {
    pub member: String,
    pub metric: String,
    pub unit: LagUnit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// The request's bounds, one per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LagBounds {
    pub seconds: u32,
    pub bytes: u64,
}

/// Checks without a datapoint before the run relies on RDS's own guardrails: CloudWatch
/// publishes RDS metrics every minute, a few minutes late at worst.
pub const MAX_ABSENT_CHECKS: u32 = 4;

/// What decided a go, for the run document and the notification.
pub const RDS_GUARDRAILS: &str = "rds-switchover-guardrails";

#[derive(Debug, Clone, PartialEq)]
pub enum LagVerdict {
    /// Within bounds (or nothing to measure): `decided_by` names the signal, or
    /// `RDS_GUARDRAILS`.
    Go { decided_by: String, reason: String },
    /// Over a bound, or replication not active: hold, counted towards `GuardrailViolated`.
    Hold { reason: String },
    /// A documented signal without a datapoint yet: wait, up to `MAX_ABSENT_CHECKS`.
    Absent { reason: String },
}

fn show(value: f64, unit: LagUnit) -> String {
    match unit {
        LagUnit::Seconds => format!("{value:.1}s"),
        LagUnit::Bytes => bytes(value),
    }
}

fn bytes(value: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if value >= MIB {
        format!("{:.1} MiB", value / MIB)
    } else {
        format!("{value:.0} bytes")
    }
}

/// The readings that decide, and the signal's metric that decides among them: per member, the
/// `preferred` metric's reading when it has a datapoint, else the fallback's; every other
/// reading (green replicas' `ReplicaLag`) as it is.
pub fn deciding<'a>(
    signal: &LagSignal,
    readings: &'a [LagReading],
) -> (Vec<&'a LagReading>, &'static str) {
    let Some(preferred) = signal.preferred else {
        return (readings.iter().collect(), signal.metric);
    };
    let has_preferred = |member: &str| {
        readings
            .iter()
            .any(|r| r.member == member && r.metric == preferred && r.value.is_some())
    };
    let mut used_preferred = false;
    let kept = readings
        .iter()
        .filter(|r| {
            if r.metric == preferred {
                let keep = r.value.is_some();
                used_preferred |= keep;
                keep
            } else if r.metric == signal.metric {
                !has_preferred(&r.member)
            } else {
                true
            }
        })
        .collect();
    (
        kept,
        if used_preferred {
            preferred
        } else {
            signal.metric
        },
    )
}

/// Decides on the readings of `signal` (`None`: the engine offers nothing measurable).
/// `absent_checks` counts earlier checks that found no datapoint.
pub fn evaluate(
    signal: Option<&LagSignal>,
    readings: &[LagReading],
    bounds: LagBounds,
    absent_checks: u32,
) -> LagVerdict {
    let Some(signal) = signal else {
        return LagVerdict::Go {
            decided_by: RDS_GUARDRAILS.into(),
            reason: "this engine publishes no blue/green lag metric: relying on RDS's own \
                     switchover guardrails (replication health, lag within the switchover timeout)"
                .into(),
        };
    };
    let bound = |unit: LagUnit| match unit {
        LagUnit::Seconds => f64::from(bounds.seconds),
        LagUnit::Bytes => bounds.bytes as f64,
    };
    let bound_text = |unit: LagUnit| match unit {
        LagUnit::Seconds => format!("max {}s", bounds.seconds),
        LagUnit::Bytes => format!("max {}", bytes(bounds.bytes as f64)),
    };
    // ReplicaLag and AuroraBinlogReplicaLag report -1 when replication is not active.
    let inactive_when_negative = |metric: &str| {
        metric == REPLICA_LAG.metric || (metric == signal.metric && signal.negative_means_inactive)
    };
    let (readings, decided_by) = deciding(signal, readings);
    let asked = match signal.preferred {
        Some(p) => format!("{p} (or {})", signal.metric),
        None => signal.metric.to_string(),
    };
    let mut problems = Vec::new();
    let mut absent = Vec::new();
    let mut seen = Vec::new();
    for r in readings.iter().copied() {
        match r.value {
            None => absent.push(r.member.clone()),
            Some(v) if v < 0.0 && inactive_when_negative(&r.metric) => problems.push(format!(
                "{} {} is {v}: replication to green is not active",
                r.member, r.metric
            )),
            Some(v) if v > bound(r.unit) => problems.push(format!(
                "{} {} is {} ({})",
                r.member,
                r.metric,
                show(v, r.unit),
                bound_text(r.unit)
            )),
            Some(v) => seen.push(format!("{} {}", r.member, show(v, r.unit))),
        }
    }
    if !problems.is_empty() {
        return LagVerdict::Hold {
            reason: problems.join("; "),
        };
    }
    if readings.is_empty() || !absent.is_empty() {
        let whom = if absent.is_empty() {
            "any member".to_string()
        } else {
            absent.join(", ")
        };
        if absent_checks + 1 < MAX_ABSENT_CHECKS {
            return LagVerdict::Absent {
                reason: format!(
                    "no {asked} datapoint yet for {whom} (check {} of {MAX_ABSENT_CHECKS})",
                    absent_checks + 1
                ),
            };
        }
        return LagVerdict::Go {
            decided_by: RDS_GUARDRAILS.into(),
            reason: format!(
                "no {asked} datapoint for {whom} after {MAX_ABSENT_CHECKS} checks: relying on \
                 RDS's own switchover guardrails (replication health, lag within the switchover \
                 timeout){}",
                if seen.is_empty() {
                    String::new()
                } else {
                    format!("; measured: {}", seen.join(", "))
                }
            ),
        };
    }
    LagVerdict::Go {
        decided_by: decided_by.to_string(),
        reason: format!(
            "{decided_by} within bound ({}): {}{}",
            bound_text(signal.unit),
            seen.join(", "),
            if signal.preferred.is_some_and(|p| p != decided_by) {
                format!(
                    " ({} had no datapoint)",
                    signal.preferred.unwrap_or_default()
                )
            } else {
                String::new()
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(metric: &str, unit: LagUnit, value: Option<f64>) -> LagReading {
        LagReading {
            member: "m".into(),
            metric: metric.into(),
            unit,
            value,
        }
    }

    const BOUNDS: LagBounds = LagBounds {
        seconds: 5,
        bytes: 64 * 1024 * 1024,
    };

    #[test]
    fn the_table_matches_the_facts_file() {
        let (r, s) = signal_for(&Engine::Mysql, true);
        assert_eq!((r, s.unwrap().metric), (Replication::Binlog, "ReplicaLag"));
        let (r, s) = signal_for(&Engine::Mariadb, true);
        assert_eq!((r, s.unwrap().metric), (Replication::Binlog, "ReplicaLag"));
        let (r, s) = signal_for(&Engine::AuroraMysql, true);
        let s = s.unwrap();
        assert_eq!(
            (r, s.metric, s.source),
            (
                Replication::Binlog,
                "AuroraBinlogReplicaLag",
                LagSource::GreenClusterWriter
            )
        );
        let (r, s) = signal_for(&Engine::Postgres, true);
        let s = s.unwrap();
        assert_eq!(
            (r, s.metric, s.source, s.unit),
            (
                Replication::Logical,
                "OldestReplicationSlotLag",
                LagSource::BlueWriter,
                LagUnit::Bytes
            )
        );
        let (r, s) = signal_for(&Engine::Postgres, false);
        assert_eq!(
            (r, s.unwrap().metric),
            (Replication::Physical, "ReplicaLag")
        );
        // Aurora instances publish no ReplicaLag, whatever the version change.
        for major in [true, false] {
            let (r, s) = signal_for(&Engine::AuroraPostgresql, major);
            assert_eq!(r, Replication::Logical);
            assert_ne!(s.unwrap().metric, "ReplicaLag");
        }
    }

    #[test]
    fn within_bounds_is_go_decided_by_the_metric() {
        let s = signal_for(&Engine::Mysql, true).1.unwrap();
        let v = evaluate(
            Some(&s),
            &[reading("ReplicaLag", LagUnit::Seconds, Some(1.2))],
            BOUNDS,
            0,
        );
        assert!(
            matches!(&v, LagVerdict::Go { decided_by, .. } if decided_by == "ReplicaLag"),
            "{v:?}"
        );
    }

    #[test]
    fn minus_one_means_replication_is_not_active_and_holds() {
        let s = signal_for(&Engine::Mysql, true).1.unwrap();
        let v = evaluate(
            Some(&s),
            &[reading("ReplicaLag", LagUnit::Seconds, Some(-1.0))],
            BOUNDS,
            0,
        );
        assert!(
            matches!(&v, LagVerdict::Hold { reason } if reason.contains("not active")),
            "{v:?}"
        );
    }

    #[test]
    fn bytes_are_bounded_by_the_byte_bound() {
        let s = signal_for(&Engine::Postgres, true).1.unwrap();
        let over = evaluate(
            Some(&s),
            &[reading(
                "OldestReplicationSlotLag",
                LagUnit::Bytes,
                Some(200.0 * 1024.0 * 1024.0),
            )],
            BOUNDS,
            0,
        );
        assert!(
            matches!(&over, LagVerdict::Hold { reason } if reason.contains("200.0 MiB") && reason.contains("max 64.0 MiB")),
            "{over:?}"
        );
        let ok = evaluate(
            Some(&s),
            &[reading(
                "OldestReplicationSlotLag",
                LagUnit::Bytes,
                Some(0.0),
            )],
            BOUNDS,
            0,
        );
        assert!(matches!(ok, LagVerdict::Go { .. }), "{ok:?}");
    }

    #[test]
    fn a_missing_datapoint_waits_a_bounded_number_of_checks_then_relies_on_rds() {
        let s = signal_for(&Engine::AuroraMysql, true).1.unwrap();
        let none = [reading("AuroraBinlogReplicaLag", LagUnit::Seconds, None)];
        for earlier in 0..MAX_ABSENT_CHECKS - 1 {
            assert!(matches!(
                evaluate(Some(&s), &none, BOUNDS, earlier),
                LagVerdict::Absent { .. }
            ));
        }
        let v = evaluate(Some(&s), &none, BOUNDS, MAX_ABSENT_CHECKS - 1);
        assert!(
            matches!(&v, LagVerdict::Go { decided_by, reason } if decided_by == RDS_GUARDRAILS && reason.contains("AuroraBinlogReplicaLag")),
            "{v:?}"
        );
        // No queries at all (no member found) is the same as no datapoint.
        assert!(matches!(
            evaluate(Some(&s), &[], BOUNDS, 0),
            LagVerdict::Absent { .. }
        ));
    }

    #[test]
    fn over_bound_keeps_holding_whatever_the_absent_count() {
        let s = signal_for(&Engine::Mysql, true).1.unwrap();
        let v = evaluate(
            Some(&s),
            &[
                reading("ReplicaLag", LagUnit::Seconds, Some(30.0)),
                reading("ReplicaLag", LagUnit::Seconds, None),
            ],
            BOUNDS,
            MAX_ABSENT_CHECKS,
        );
        assert!(matches!(v, LagVerdict::Hold { .. }), "{v:?}");
    }

    #[test]
    fn a_logical_green_with_read_replicas_measures_blue_slots_and_each_green_replica() {
        use crate::model::deployment::{DeploymentView, SwitchoverDetail};
        let arn = |n: &str| format!("arn:aws:rds:us-east-1:123456789012:db:{n}");
        let view = DeploymentView {
            target_arn: arn("orders-green-a"),
            switchover_details: [
                ("orders", "orders-green-a"),
                ("orders-r1", "orders-r1-green-b"),
            ]
            .iter()
            .map(|(s, t)| SwitchoverDetail {
                source_member: arn(s),
                target_member: arn(t),
                status: "AVAILABLE".into(),
            })
            .collect(),
            ..DeploymentView::default()
        };
        let source = SourceDb {
            identifier: "orders".into(),
            ..SourceDb::default()
        };
        let s = signal_for(&Engine::Postgres, true).1.unwrap();
        let q = queries(&s, &source, &view);
        assert_eq!(
            q.iter()
                .map(|q| (q.member.as_str(), q.metric.as_str(), q.unit))
                .collect::<Vec<_>>(),
            [
                ("orders", "OldestLogicalReplicationSlotLag", LagUnit::Bytes),
                ("orders", "OldestReplicationSlotLag", LagUnit::Bytes),
                ("orders-r1-green-b", "ReplicaLag", LagUnit::Seconds)
            ]
        );
        // Each reading against the bound of its unit.
        let v = evaluate(
            Some(&s),
            &[
                reading("OldestReplicationSlotLag", LagUnit::Bytes, Some(1024.0)),
                reading("ReplicaLag", LagUnit::Seconds, Some(30.0)),
            ],
            BOUNDS,
            0,
        );
        assert!(
            matches!(&v, LagVerdict::Hold { reason } if reason.contains("30.0s (max 5s)")),
            "{v:?}"
        );
    }

    #[test]
    fn an_engine_without_a_signal_relies_on_rds() {
        let v = evaluate(None, &[], BOUNDS, 0);
        assert!(
            matches!(&v, LagVerdict::Go { decided_by, .. } if decided_by == RDS_GUARDRAILS),
            "{v:?}"
        );
    }

    fn slot(metric: &str, value: Option<f64>) -> LagReading {
        LagReading {
            member: "orders".into(),
            metric: metric.into(),
            unit: LagUnit::Bytes,
            value,
        }
    }

    #[test]
    fn the_logical_slot_metric_decides_when_it_has_a_datapoint() {
        // A read replica of blue lags (its physical slot counts in OldestReplicationSlotLag);
        // the deployment's logical slot is caught up: go, decided by the logical metric.
        let s = signal_for(&Engine::Postgres, true).1.unwrap();
        let v = evaluate(
            Some(&s),
            &[
                slot("OldestLogicalReplicationSlotLag", Some(0.0)),
                slot("OldestReplicationSlotLag", Some(900.0 * 1024.0 * 1024.0)),
            ],
            BOUNDS,
            0,
        );
        assert!(
            matches!(&v, LagVerdict::Go { decided_by, reason }
                if decided_by == "OldestLogicalReplicationSlotLag" && !reason.contains("900")),
            "{v:?}"
        );
        // The logical slot lagging holds, whatever the other metric says.
        let v = evaluate(
            Some(&s),
            &[
                slot(
                    "OldestLogicalReplicationSlotLag",
                    Some(200.0 * 1024.0 * 1024.0),
                ),
                slot("OldestReplicationSlotLag", Some(0.0)),
            ],
            BOUNDS,
            0,
        );
        assert!(
            matches!(&v, LagVerdict::Hold { reason } if reason.contains("OldestLogicalReplicationSlotLag is 200.0 MiB")),
            "{v:?}"
        );
    }

    #[test]
    fn without_the_logical_metric_the_every_slot_metric_decides_as_before() {
        for engine in [Engine::Postgres, Engine::AuroraPostgresql] {
            let s = signal_for(&engine, true).1.unwrap();
            let v = evaluate(
                Some(&s),
                &[
                    slot("OldestLogicalReplicationSlotLag", None),
                    slot("OldestReplicationSlotLag", Some(1024.0)),
                ],
                BOUNDS,
                0,
            );
            assert!(
                matches!(&v, LagVerdict::Go { decided_by, reason }
                    if decided_by == "OldestReplicationSlotLag"
                        && reason.contains("OldestLogicalReplicationSlotLag had no datapoint")),
                "{v:?}"
            );
            let v = evaluate(
                Some(&s),
                &[
                    slot("OldestLogicalReplicationSlotLag", None),
                    slot("OldestReplicationSlotLag", Some(900.0 * 1024.0 * 1024.0)),
                ],
                BOUNDS,
                0,
            );
            assert!(matches!(v, LagVerdict::Hold { .. }), "{v:?}");
            let v = evaluate(
                Some(&s),
                &[
                    slot("OldestLogicalReplicationSlotLag", None),
                    slot("OldestReplicationSlotLag", None),
                ],
                BOUNDS,
                0,
            );
            assert!(
                matches!(&v, LagVerdict::Absent { reason }
                    if reason.contains("OldestLogicalReplicationSlotLag (or OldestReplicationSlotLag)")),
                "{v:?}"
            );
        }
    }
}
