//! Aurora Auto Scaling: the replica-count targets and policies of an Aurora cluster are not
//! copied to green (`model::scaling`). The plan lists each one with what to do after the
//! switchover; the switched-over notification repeats it.

use crate::model::check::{id, Check};
use crate::model::db::DbKind;
use crate::model::scaling::after_switchover;
use crate::model::source::SourceDb;

/// `auto-scaling`, for an Aurora cluster whose targets were read: a warning naming each target
/// (its capacity) and policy, a pass when there is none. No check when they were not read (an
/// instance; a refusal is the `topology-read` warning, which names the permission).
pub(super) fn check_auto_scaling(src: &SourceDb) -> Option<Check> {
    const ID: &str = id::AUTO_SCALING;
    if src.kind != DbKind::Cluster {
        return None;
    }
    let targets = src.topology.auto_scaling.as_ref()?;
    let Some(advice) = after_switchover(&src.identifier, targets) else {
        return Some(Check::pass(
            ID,
            format!(
                "no Aurora Auto Scaling target is registered on {}",
                src.identifier
            ),
        ));
    };
    let listed: Vec<String> = targets.iter().map(|t| t.summary()).collect();
    Some(Check::warn(
        ID,
        format!(
            "Aurora Auto Scaling on {}: {}; blue/green does not copy Auto Scaling policies to green",
            src.identifier,
            listed.join("; ")
        ),
        advice,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::check::Verdict;
    use crate::model::engine::Engine;
    use crate::model::scaling::{ScalableTarget, ScalingPolicy, READ_REPLICA_COUNT};

    fn cluster() -> SourceDb {
        SourceDb {
            kind: DbKind::Cluster,
            identifier: "ledger".into(),
            engine: Engine::AuroraPostgresql,
            engine_version: "13.15".into(),
            status: "available".into(),
            ..SourceDb::default()
        }
    }

    fn target() -> ScalableTarget {
        ScalableTarget {
            resource_id: "cluster:ledger".into(),
            dimension: READ_REPLICA_COUNT.into(),
            min_capacity: 1,
            max_capacity: 5,
            policies: vec![
                ScalingPolicy {
                    name: "reader-cpu".into(),
                    policy_type: "TargetTrackingScaling".into(),
                    tracking: Some("RDSReaderAverageCPUUtilization at 60".into()),
                },
                ScalingPolicy {
                    name: "reader-connections".into(),
                    policy_type: "TargetTrackingScaling".into(),
                    tracking: Some("RDSReaderAverageDatabaseConnections at 200".into()),
                },
            ],
        }
    }

    #[test]
    fn each_target_and_policy_is_listed_with_what_to_do_after_the_switchover() {
        let mut s = cluster();
        s.topology.auto_scaling = Some(vec![target()]);
        let c = check_auto_scaling(&s).expect("a cluster whose targets were read");
        assert_eq!(c.id, "auto-scaling");
        assert_eq!(c.verdict, Verdict::Warn);
        for part in [
            "cluster:ledger (rds:cluster:ReadReplicaCount, min 1, max 5)",
            "reader-cpu (TargetTrackingScaling, RDSReaderAverageCPUUtilization at 60)",
            "reader-connections (TargetTrackingScaling, RDSReaderAverageDatabaseConnections at 200)",
            "does not copy Auto Scaling policies to green",
        ] {
            assert!(c.observed.contains(part), "{part}: {}", c.observed);
        }
        for part in [
            "after the switchover",
            "takes the name ledger",
            "--resource-id cluster:ledger",
            "--min-capacity 1 --max-capacity 5",
            "reader-cpu, reader-connections",
        ] {
            assert!(c.fix.contains(part), "{part}: {}", c.fix);
        }
    }

    #[test]
    fn a_target_without_policies_still_warns_its_capacity_is_lost() {
        let mut s = cluster();
        s.topology.auto_scaling = Some(vec![ScalableTarget {
            policies: vec![],
            ..target()
        }]);
        let c = check_auto_scaling(&s).unwrap();
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(
            c.observed.contains("with no scaling policy"),
            "{}",
            c.observed
        );
        assert!(c.fix.contains("register-scalable-target"), "{}", c.fix);
    }

    #[test]
    fn a_cluster_without_targets_passes() {
        let mut s = cluster();
        s.topology.auto_scaling = Some(vec![]);
        let c = check_auto_scaling(&s).unwrap();
        assert_eq!(c.verdict, Verdict::Pass);
        assert!(c.fix.is_empty());
        assert!(c.observed.contains("ledger"), "{}", c.observed);
    }

    #[test]
    fn no_check_when_not_read_or_not_a_cluster() {
        // Not read (a refusal is named by `topology-read`): no pass that was not earned.
        assert_eq!(check_auto_scaling(&cluster()), None);
        let mut instance = cluster();
        instance.kind = DbKind::Instance;
        instance.topology.auto_scaling = Some(vec![target()]);
        assert_eq!(check_auto_scaling(&instance), None);
    }
}
