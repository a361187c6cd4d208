//! Aurora Auto Scaling, read by `precheck` (Application Auto Scaling, namespace `rds`,
//! dimension `rds:cluster:ReadReplicaCount`): blue/green does not copy its policies to green
//! (bluegreen-facts.md, "Aurora, any engine"), so the plan lists each target and policy and
//! the run records them for the switched-over notification (tests/remediation_metric.rs).

mod common;

use bluegreen_domain::model::check::{Check, Verdict};
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::scaling::{ScalableTarget, ScalingPolicy, READ_REPLICA_COUNT};
use bluegreen_domain::run::Run;
use bluegreen_workers::precheck;
use common::*;
use serde_json::json;

/// `ledger`, an Aurora PostgreSQL cluster of two instances.
fn ledger() -> World {
    let world = World::empty();
    world.put_db(aurora_cluster(CLUSTER, "13.15", &["ledger-1", "ledger-2"]));
    world.put_db(aurora_instance("ledger-1", "13.15"));
    world.put_db(aurora_instance("ledger-2", "13.15"));
    world
}

fn ledger_plan() -> Run {
    started_run(
        json!({"db_identifier": CLUSTER, "target_engine_version": "16.4",
        "target_db_cluster_parameter_group_name": "ledger-apg16", "action": "plan"}),
    )
}

fn reader_scaling() -> ScalableTarget {
    ScalableTarget {
        resource_id: "cluster:ledger".into(),
        dimension: READ_REPLICA_COUNT.into(),
        min_capacity: 1,
        max_capacity: 6,
        policies: vec![ScalingPolicy {
            name: "ledger-reader-cpu".into(),
            policy_type: "TargetTrackingScaling".into(),
            tracking: Some("RDSReaderAverageCPUUtilization at 55".into()),
        }],
    }
}

fn check<'a>(run: &'a Run, id: &str) -> Option<&'a Check> {
    run.report
        .as_ref()
        .expect("a report")
        .checks
        .iter()
        .find(|c| c.id == id)
}

#[tokio::test]
async fn the_plan_lists_each_auto_scaling_target_and_policy_of_an_aurora_cluster() {
    let world = ledger();
    world.with(|a| {
        a.auto_scaling
            .insert(CLUSTER.into(), vec![reader_scaling()])
    });
    let run = precheck::handle(world.deps(), ledger_plan(), inv())
        .await
        .unwrap();
    assert_eq!(run.route, Some(Route::Plan));
    assert_eq!(world.calls("cluster_targets"), ["cluster_targets ledger"]);
    let c = check(&run, "auto-scaling").expect("an auto-scaling check");
    assert_eq!(c.verdict, Verdict::Warn, "{c:?}");
    assert_mentions(
        &c.observed,
        &[
            "cluster:ledger (rds:cluster:ReadReplicaCount, min 1, max 6)",
            "ledger-reader-cpu (TargetTrackingScaling, RDSReaderAverageCPUUtilization at 55)",
            "does not copy Auto Scaling policies to green",
        ],
    );
    assert_mentions(
        &c.fix,
        &[
            "after the switchover",
            "--resource-id cluster:ledger",
            "--min-capacity 1 --max-capacity 6",
            "ledger-reader-cpu",
        ],
    );
    // Recorded with the source: the switched-over notification reminds from it.
    assert_eq!(
        run.source.unwrap().topology.auto_scaling,
        Some(vec![reader_scaling()])
    );
}

#[tokio::test]
async fn an_aurora_cluster_without_auto_scaling_passes_and_an_instance_is_not_asked() {
    let world = ledger();
    let run = precheck::handle(world.deps(), ledger_plan(), inv())
        .await
        .unwrap();
    let c = check(&run, "auto-scaling").expect("an auto-scaling check");
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert_eq!(run.source.unwrap().topology.auto_scaling, Some(vec![]));

    // Aurora Auto Scaling scales Aurora Replicas: an RDS instance has none to read.
    let world = World::orders_pg();
    let run = precheck::handle(world.deps(), started_run(event("console-plan.json")), inv())
        .await
        .unwrap();
    assert!(world.calls("cluster_targets").is_empty());
    assert!(check(&run, "auto-scaling").is_none());
    assert_eq!(run.source.unwrap().topology.auto_scaling, None);
}

#[tokio::test]
async fn a_denied_read_is_a_warning_naming_the_permissions_never_a_pass() {
    let world = ledger();
    world.with(|a| {
        a.auto_scaling
            .insert(CLUSTER.into(), vec![reader_scaling()])
    });
    world.refuse(
        "cluster_targets",
        "application-autoscaling:DescribeScalableTargets",
        "AccessDeniedException",
        "User is not authorized to perform: application-autoscaling:DescribeScalableTargets",
    );
    let run = precheck::handle(world.deps(), ledger_plan(), inv())
        .await
        .expect("a denied optional read does not fail the precheck");
    assert!(
        check(&run, "auto-scaling").is_none(),
        "not read: no pass that was not earned"
    );
    let c = check(&run, "topology-read").expect("the unread list");
    assert_eq!(c.verdict, Verdict::Warn);
    assert_mentions(
        &c.observed,
        &[
            "Aurora Auto Scaling",
            "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:DescribeScalingPolicies",
            "grant the function's role",
        ],
    );
    assert_eq!(run.source.unwrap().topology.auto_scaling, None);
}

#[tokio::test]
async fn throttling_is_retried_not_reported_as_unread() {
    let world = ledger();
    world.refuse(
        "cluster_targets",
        "application-autoscaling:DescribeScalableTargets",
        "ThrottlingException",
        "Rate exceeded",
    );
    let (name, msg) = err_of(precheck::handle(world.deps(), ledger_plan(), inv()).await);
    assert_eq!(name, "Throttled");
    assert_mentions(&msg, &["application-autoscaling:DescribeScalableTargets"]);
}
