//! Every worker against AWS trouble below the API: HTTP 500/503, a proxy's 502, a reset
//! connection, a connect timeout, no answer at all. For each call a step makes (found by
//! running it on a healthy account) and each fault, the step must end with the retryable
//! `AwsUnavailable` naming the call, change nothing after the failure, and succeed when the
//! state machine retries it, with exactly the changes of one healthy run (see
//! `common::sweep_wire_faults`). Mutating calls are also failed after AWS carried them out
//! (the answer lost), the case where a careless retry does things twice.

mod common;

use bluegreen_domain::deployment::Phase;
use bluegreen_domain::request::DbKind;
use bluegreen_domain::run::{CleanupState, Route, Run, SwitchoverRecord, WaitState};
use bluegreen_workers::remediation_metric::{Milestone, MilestoneEvent};
use bluegreen_workers::{
    abort, cleanup, create, guardrails, precheck, remediation_metric, switchover, verify, wait,
};
use common::*;
use serde_json::json;

/// Every case the sweep ran ends `AwsUnavailable`; the count keeps the table from shrinking
/// unnoticed (a step that stops making a call, or a fault kind dropped).
fn assert_swept(cases: &[FaultCase], ops: &[&str]) {
    for op in ops {
        for fault in WireFault::ALL {
            assert!(
                cases.iter().any(|c| c.op == *op && c.fault == fault),
                "{op} {fault:?} was not swept: {cases:#?}"
            );
        }
    }
    assert!(cases.iter().all(|c| c.outcome == "AwsUnavailable"));
    for c in cases {
        eprintln!(
            "{:<34} {:<16} {:<8} {}",
            c.op,
            format!("{:?}", c.fault),
            format!("{:?}", c.lost),
            c.outcome
        );
    }
}

fn green_built() -> World {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world.put_instance(green_instance("available"));
    world
}

#[tokio::test]
async fn precheck_faults_are_retryable_and_change_nothing() {
    let cases = sweep_wire_faults(World::orders_pg, |deps| {
        precheck::handle(deps, started_run(event("console-upgrade.json")), inv())
    })
    .await;
    assert_swept(
        &cases,
        &[
            "DescribeDBInstances",
            "DescribeDBParameters",
            "DescribeDBEngineVersions",
            "DescribeDBParameterGroups",
            "DescribeBlueGreenDeployments",
            "DescribePendingMaintenanceActions",
            "GetMetricStatistics",
        ],
    );
}

#[tokio::test]
async fn create_faults_never_create_twice() {
    let cases = sweep_wire_faults(World::orders_pg, |deps| {
        create::handle(
            deps,
            prechecked_run(Route::Upgrade, request_with(json!({}))),
            inv_at(60),
        )
    })
    .await;
    assert_swept(
        &cases,
        &["DescribeBlueGreenDeployments", "CreateBlueGreenDeployment"],
    );
    assert!(cases
        .iter()
        .any(|c| c.op == "CreateBlueGreenDeployment" && c.lost == Lost::Answer));
}

#[tokio::test]
async fn wait_faults_are_retryable() {
    let cases = sweep_wire_faults(green_built, |deps| {
        wait::handle(
            deps,
            run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE"),
            inv_at(1800),
        )
    })
    .await;
    assert_swept(
        &cases,
        &["DescribeBlueGreenDeployments", "DescribeDBInstances"],
    );
}

#[tokio::test]
async fn guardrail_faults_are_retryable_and_never_a_go() {
    let world = || {
        let w = green_built();
        w.set_metric("ReplicaLag", GREEN, &[0.4, 1.2]);
        w
    };
    let cases = sweep_wire_faults(world, |deps| {
        let mut run = run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE");
        run.wait = Some(WaitState {
            phase: Phase::Ready,
            polls: 30,
            consecutive_ready: 2,
            next_delay_seconds: 15,
            status: "AVAILABLE".into(),
            pending_tasks: vec![],
        });
        guardrails::handle(deps, run, inv_at(4000))
    })
    .await;
    assert_swept(
        &cases,
        &[
            "DescribeBlueGreenDeployments",
            "DescribeDBInstances",
            "GetMetricStatistics",
        ],
    );
}

#[tokio::test]
async fn switchover_faults_never_switch_over_twice() {
    let world = || {
        let w = World::orders_pg();
        w.set_deployment(deployment("AVAILABLE"));
        w
    };
    let cases = sweep_wire_faults(world, |deps| {
        switchover::handle(
            deps,
            run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE"),
            inv_at(4100),
        )
    })
    .await;
    assert_swept(
        &cases,
        &[
            "DescribeBlueGreenDeployments",
            "SwitchoverBlueGreenDeployment",
        ],
    );
}

#[tokio::test]
async fn verify_faults_are_retryable_not_a_failed_verification() {
    let cases = sweep_wire_faults(World::switched_over, |deps| {
        let mut run = run_with_deployment(
            Route::Upgrade,
            request_with(json!({})),
            "SWITCHOVER_IN_PROGRESS",
        );
        run.switchover = Some(SwitchoverRecord {
            requested_at: rfc(4100),
            timeout_seconds: 300,
            already_started: false,
        });
        verify::handle(deps, run, inv_at(4200))
    })
    .await;
    assert_swept(
        &cases,
        &["DescribeBlueGreenDeployments", "DescribeDBInstances"],
    );
}

fn soaked_run(extra: serde_json::Value, snapshot_available: bool) -> Run {
    let mut run = run_with_deployment(Route::Upgrade, request_with(extra), "SWITCHOVER_COMPLETED");
    run.mark("verified", &rfc(4200));
    run.old_blue = Some(old_blue_record());
    if snapshot_available {
        run.cleanup = Some(CleanupState {
            snapshot_identifier: Some(SNAPSHOT_ID.into()),
            snapshot_status: Some("available".into()),
            steps: vec![format!("snapshot {SNAPSHOT_ID} available")],
            next_delay_seconds: 60,
            ..CleanupState::default()
        });
    }
    run
}

const SOAKED: u64 = 4200 + 24 * 3600;

#[tokio::test]
async fn cleanup_snapshot_faults_never_snapshot_twice() {
    let cases = sweep_wire_faults(World::switched_over, |deps| {
        cleanup::handle(deps, soaked_run(json!({}), false), inv_at(SOAKED))
    })
    .await;
    assert_swept(
        &cases,
        &[
            "DescribeBlueGreenDeployments",
            "DescribeDBInstances",
            "DescribeDBSnapshots",
            "CreateDBSnapshot",
        ],
    );
}

#[tokio::test]
async fn cleanup_deletion_faults_never_delete_twice() {
    let cases = sweep_wire_faults(World::switched_over, |deps| {
        cleanup::handle(
            deps,
            soaked_run(json!({"delete_old_blue": true}), true),
            inv_at(SOAKED),
        )
    })
    .await;
    assert_swept(
        &cases,
        &[
            "DescribeBlueGreenDeployments",
            "DescribeDBInstances",
            "DeleteBlueGreenDeployment",
            "ModifyDBInstance",
            "DeleteDBInstance",
        ],
    );
}

#[tokio::test]
async fn abort_faults_never_touch_blue_and_never_delete_twice() {
    let cases = sweep_wire_faults(green_built, |deps| {
        abort::handle(
            deps,
            run_with_deployment(
                Route::Abort,
                request_with(json!({"action": "abort"})),
                "AVAILABLE",
            ),
            inv_at(3000),
        )
    })
    .await;
    assert_swept(
        &cases,
        &[
            "DescribeBlueGreenDeployments",
            "DescribeDBInstances",
            "ModifyDBInstance",
            "DeleteBlueGreenDeployment",
        ],
    );
}

/// `remediation-metric` never raises (documented: a failure to publish must not hide the
/// run's outcome, and raising would make the state machine publish the other one twice).
/// Each fault is recorded in the run's `published`, naming the call, and the other channel
/// is still published, once.
#[tokio::test]
async fn remediation_metric_faults_are_recorded_and_the_other_channel_still_published() {
    let failed_run = || {
        let mut run = run_with_deployment(Route::Upgrade, request_with(json!({})), "PROVISIONING");
        run.error = Some(
            json!({"Error": "GreenFailed", "Cause": "{\"errorMessage\": \"incompatible parameters\"}"}),
        );
        run
    };
    let mut rows = 0;
    for (op, other) in [("PutMetricData", "Publish"), ("Publish", "PutMetricData")] {
        for lost in [Lost::Request, Lost::Answer] {
            for fault in WireFault::ALL {
                let case = format!("{op} {fault:?} ({lost:?} lost)");
                let world = World::empty();
                world.fault(op, fault, lost);
                let run = remediation_metric::handle(
                    world.faulty_deps(),
                    MilestoneEvent {
                        milestone: Milestone::Failed,
                        run: failed_run(),
                        task_token: None,
                    },
                    inv_at(3000),
                )
                .await
                .unwrap_or_else(|e| panic!("{case}: publishing raised {e}"));
                let record = run.published.last().expect("a publish record");
                assert_eq!(record.errors.len(), 1, "{case}: {record:?}");
                assert_mentions(&record.errors[0], &[op]);
                assert_eq!(
                    (record.metric_published, record.notification_published),
                    (op == "Publish", op == "PutMetricData"),
                    "{case}"
                );
                assert_eq!(
                    world.calls(op).len(),
                    if lost == Lost::Answer { 2 } else { 1 },
                    "{case}: {:?}",
                    world.log()
                );
                assert_eq!(world.calls(other).len(), 1, "{case}: {:?}", world.log());
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 2 * 2 * WireFault::ALL.len());
}

/// The SDK retries a delete whose answer was lost; RDS, which started it, refuses the second
/// with `InvalidDBInstanceState`. That is the delete we asked for, not a refusal.
#[tokio::test]
async fn deleting_a_database_already_being_deleted_is_done_not_refused() {
    let world = World::switched_over();
    let mut old = old_blue_instance();
    old.db_instance_status = Some("deleting".into());
    world.put_instance(old);
    let deleted = world
        .deps()
        .rds
        .delete_db(DbKind::Instance, OLD_BLUE)
        .await
        .expect("already being deleted is done");
    assert!(!deleted, "this call did not start the delete");

    // The same refusal for a database that is not being deleted stays an error.
    let world = World::switched_over();
    world.fail(
        "DeleteDBInstance",
        "InvalidDBInstanceState",
        "Instance orders-pg-old1 is not in available state.",
    );
    let (name, msg) = err_of(world.deps().rds.delete_db(DbKind::Instance, OLD_BLUE).await);
    assert_eq!(name, "AwsRequestFailed");
    assert_mentions(&msg, &["InvalidDBInstanceState"]);
}
