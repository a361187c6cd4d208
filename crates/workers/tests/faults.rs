//! Every worker against AWS trouble, at the ports. For each call a step makes (found by
//! running it on a healthy account) and each transient error (`AwsUnavailable`, `Throttled`,
//! `DeploymentStateTransient`), the step must end with that error (the state machine retries
//! it), change nothing after the failed call, and, retried with the same input as the state
//! machine would, change exactly what one healthy run does. Mutating calls also fail after
//! AWS carried them out (the answer lost), the case where a careless retry does things twice.
//! How the SDK's wire failures (HTTP 5xx, resets, timeouts) become these errors is
//! crates/aws/tests/wire_faults.rs.

mod common;

use bluegreen_domain::cleanup::CleanupState;
use bluegreen_domain::fleet::{fleet_request, select, Campaign, Candidate};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::deployment::Phase;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::execution::ExecutionInfo;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::run::Run;
use bluegreen_domain::switchover::SwitchoverRecord;
use bluegreen_domain::wait::WaitState;
use bluegreen_workers::campaign::{CampaignDeps, CampaignInput};
use bluegreen_workers::remediation_metric::{Milestone, MilestoneEvent};
use bluegreen_workers::{
    abort, campaign, cleanup, create, guardrails, precheck, remediation_metric, switchover, verify,
    wait,
};
use common::*;
use serde_json::json;
use std::fmt::Debug;
use std::future::Future;

/// The errors the state machine retries, as the adapters name them.
fn transient(op: &str) -> [WorkerError; 3] {
    [
        WorkerError::AwsUnavailable(format!("{op} failed on the AWS side (injected)")),
        WorkerError::Throttled(format!("{op} was throttled by AWS (injected)")),
        WorkerError::DeploymentStateTransient(format!(
            "{op}: not in a state for this call yet (injected)"
        )),
    ]
}

/// One row of a sweep: which call failed, with what, and when.
#[derive(Debug, Clone)]
struct FaultCase {
    op: String,
    error: &'static str,
    lost: Lost,
}

/// The operations a step calls on a healthy account, in first-call order.
fn operations(world: &World) -> Vec<&'static str> {
    let mut ops: Vec<&'static str> = Vec::new();
    for call in world.with(|a| a.log.clone()) {
        if !ops.contains(&call.op) {
            ops.push(call.op);
        }
    }
    ops
}

/// The sweep itself (see the module's documentation).
async fn sweep<T, F, Fut>(make_world: impl Fn() -> World, step: F) -> Vec<FaultCase>
where
    T: Debug,
    F: Fn(World) -> Fut,
    Fut: Future<Output = Result<T, WorkerError>>,
{
    let healthy = make_world();
    step(healthy.clone())
        .await
        .unwrap_or_else(|e| panic!("the step must succeed on a healthy account: {e}"));
    let expected = healthy.changes();
    let ops = operations(&healthy);
    assert!(!ops.is_empty(), "the step makes no AWS call");
    let mut cases = Vec::new();
    for op in ops {
        let losts: &[Lost] = if MUTATIONS.contains(&op) {
            &[Lost::Request, Lost::Answer]
        } else {
            &[Lost::Request]
        };
        for &lost in losts {
            for error in transient(op) {
                let case = format!("{op} {} ({lost:?} lost)", error.name());
                let world = make_world();
                world.fail(op, error.clone(), lost);
                let err = match step(world.clone()).await {
                    Ok(out) => panic!("{case}: the step succeeded: {out:?}"),
                    Err(e) => e,
                };
                assert_eq!(err, error, "{case}: the step ended with another error");
                assert!(err.is_transient(), "{case}");
                let log = world.with(|a| a.log.clone());
                let at = log
                    .iter()
                    .position(|c| c.op == op && c.failed == Some(lost))
                    .unwrap_or_else(|| panic!("{case}: the failure was not hit: {log:?}"));
                let after: Vec<String> = log[at + 1..]
                    .iter()
                    .filter(|c| c.is_mutation())
                    .map(Call::to_string)
                    .collect();
                assert!(
                    after.is_empty(),
                    "{case}: mutating calls after the failure: {after:?}"
                );
                // The state machine retries the step with the same input.
                world.clear_faults();
                step(world.clone()).await.unwrap_or_else(|e| {
                    panic!("{case}: the retried step failed: {} {e}", e.name())
                });
                assert_eq!(
                    world.changes(),
                    expected,
                    "{case}: the failure and its retry changed something other than one healthy run does"
                );
                cases.push(FaultCase {
                    op: op.to_string(),
                    error: err.name(),
                    lost,
                });
            }
        }
    }
    cases
}

/// Every call the step makes was swept with every error (and a mutation with its answer
/// lost too): the table cannot shrink unnoticed.
fn assert_swept(cases: &[FaultCase], ops: &[&str]) {
    let swept: Vec<&str> = {
        let mut v: Vec<&str> = cases.iter().map(|c| c.op.as_str()).collect();
        v.dedup();
        v
    };
    assert_eq!(swept, ops, "the step's calls changed");
    for op in ops {
        let losts = if MUTATIONS.contains(op) { 2 } else { 1 };
        assert_eq!(
            cases.iter().filter(|c| c.op == *op).count(),
            3 * losts,
            "{op}: {cases:#?}"
        );
    }
    for c in cases {
        eprintln!("{:<28} {:<26} {:?}", c.op, c.error, c.lost);
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
    let cases = sweep(World::orders_pg, |w| {
        precheck::handle(w.deps(), started_run(event("console-upgrade.json")), inv())
    })
    .await;
    assert_swept(
        &cases,
        &[
            "find_source",
            "proxy_targets",
            "integrations",
            "dms_endpoints",
            "key_manager",
            "engine_version",
            "parameter_group",
            "parameters",
            "deployments_for_source",
            "deployment_by_name",
            "pending_maintenance",
            "rds_statistic",
            "major_lifecycle",
        ],
    );
}

/// `ledger`, an Aurora cluster of two members with the custom endpoint `reporting`: the
/// precheck also describes each member and lists the endpoint's tags.
fn ledger_with_an_endpoint() -> World {
    let world = World::empty();
    world.put_db(aurora_cluster(CLUSTER, "13.15", &["ledger-1", "ledger-2"]));
    world.put_db(aurora_instance("ledger-1", "13.15"));
    world.put_db(aurora_instance("ledger-2", "13.15"));
    world.with(|a| {
        a.custom_endpoints.insert(
            CLUSTER.into(),
            vec![bluegreen_domain::model::source::CustomEndpoint {
                identifier: "reporting".into(),
                arn: "arn:aws:rds:us-east-1:123456789012:cluster-endpoint:reporting".into(),
                tags: tags(&[("bluegreen:managed", "true")]),
                ..Default::default()
            }],
        );
    });
    world
}

#[tokio::test]
async fn precheck_of_an_aurora_cluster_retries_its_member_and_endpoint_tag_reads() {
    let input =
        json!({"db_identifier": CLUSTER, "target_engine_version": "16.4", "action": "plan"});
    let cases = sweep(ledger_with_an_endpoint, |w| {
        precheck::handle(w.deps(), started_run(input.clone()), inv())
    })
    .await;
    for op in ["describe", "custom_endpoints", "tags_of", "key_manager"] {
        assert_eq!(
            cases.iter().filter(|c| c.op == op).count(),
            3,
            "{op}: {cases:#?}"
        );
    }
}

#[tokio::test]
async fn precheck_after_the_switchover_faults_are_retryable() {
    let cases = sweep(World::switched_over, |w| {
        precheck::handle(w.deps(), started_run(event("console-upgrade.json")), inv())
    })
    .await;
    assert!(cases.iter().any(|c| c.op == "describe_by_resource_id"));
}

#[tokio::test]
async fn create_faults_never_create_twice() {
    let cases = sweep(World::orders_pg, |w| {
        create::handle(
            w.deps(),
            prechecked_run(Route::Upgrade, request_with(json!({}))),
            inv_at(60),
        )
    })
    .await;
    assert_swept(&cases, &["deployment_by_name", "create_deployment"]);
}

#[tokio::test]
async fn wait_faults_are_retryable() {
    let cases = sweep(green_built, |w| {
        wait::handle(
            w.deps(),
            run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE"),
            inv_at(1800),
        )
    })
    .await;
    assert_swept(&cases, &["deployment_by_name", "member_statuses"]);
}

#[tokio::test]
async fn wait_resize_faults_never_resize_twice() {
    let world = || {
        let w = World::orders_pg();
        let mut d = deployment("AVAILABLE");
        d.source_arn = cluster_arn_of("ledger");
        d.target_arn = cluster_arn_of("ledger-green-abc");
        d.switchover_details = vec![detail(
            &arn_of("ledger-1"),
            &arn_of("ledger-1-green-abc"),
            "AVAILABLE",
        )];
        w.set_deployment(d);
        w.put_instance(aurora_instance("ledger-1-green-abc", "16.4"));
        w
    };
    let cases = sweep(world, |w| {
        let mut run = run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE");
        run.plan.as_mut().unwrap().green_instance_class = Some("db.r6g.2xlarge".into());
        wait::handle(w.deps(), run, inv_at(600))
    })
    .await;
    assert_swept(
        &cases,
        &[
            "deployment_by_name",
            "member_statuses",
            "modify_instance_class",
        ],
    );
}

#[tokio::test]
async fn guardrail_faults_are_retryable_and_never_a_go() {
    let world = || {
        let w = green_built();
        w.set_instance_metric("OldestReplicationSlotLag", DB, &[0.0, 1024.0]);
        w
    };
    let cases = sweep(world, |w| {
        let mut run = run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE");
        run.wait = Some(WaitState {
            phase: Phase::Ready,
            polls: 30,
            consecutive_ready: 2,
            next_delay_seconds: 15,
            status: "AVAILABLE".into(),
            pending_tasks: vec![],
            ..WaitState::default()
        });
        guardrails::handle(w.deps(), run, inv_at(4000))
    })
    .await;
    assert_swept(
        &cases,
        &[
            "deployment_by_name",
            "member_statuses",
            "integrations",
            "rds_statistic",
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
    let cases = sweep(world, |w| {
        switchover::handle(
            w.deps(),
            run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE"),
            inv_at(4100),
        )
    })
    .await;
    assert_swept(&cases, &["deployment_by_name", "switchover"]);
}

#[tokio::test]
async fn verify_faults_are_retryable_not_a_failed_verification() {
    let cases = sweep(World::switched_over, |w| {
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
        verify::handle(w.deps(), run, inv_at(4200))
    })
    .await;
    assert_swept(
        &cases,
        &[
            "deployment_by_name",
            "describe",
            "describe_by_resource_id",
            "add_tags",
        ],
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
    let cases = sweep(World::switched_over, |w| {
        cleanup::handle(w.deps(), soaked_run(json!({}), false), inv_at(SOAKED))
    })
    .await;
    assert_swept(
        &cases,
        &[
            "deployment_by_name",
            "describe",
            "snapshot_status",
            "create_snapshot",
        ],
    );
}

#[tokio::test]
async fn cleanup_deletion_faults_never_delete_twice() {
    let cases = sweep(World::switched_over, |w| {
        cleanup::handle(
            w.deps(),
            soaked_run(json!({"delete_old_blue": true}), true),
            inv_at(SOAKED),
        )
    })
    .await;
    assert_swept(
        &cases,
        &[
            "deployment_by_name",
            "describe",
            "delete_deployment",
            "disable_deletion_protection",
            "delete_db",
        ],
    );
}

#[tokio::test]
async fn abort_faults_never_touch_blue_and_never_delete_twice() {
    let cases = sweep(green_built, |w| {
        abort::handle(
            w.deps(),
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
            "deployment_by_name",
            "describe",
            "disable_deletion_protection",
            "delete_deployment",
        ],
    );
}

#[tokio::test]
async fn campaign_faults_never_start_a_database_twice() {
    const MACHINE: &str =
        "arn:aws:states:us-east-1:123456789012:stateMachine:rds-bluegreen-upgrade";
    let request = fleet_request(
        &json!({"selector": {"tags": {"w": "1"}}, "action": "prepare",
        "target_engine_version": "16.4", "max_concurrency": 2}),
    )
    .unwrap()
    .unwrap();
    let candidates: Vec<Candidate> = (0..3)
        .map(|i| Candidate {
            identifier: format!("db-{i}"),
            kind: DbKind::Instance,
            engine: "postgres".into(),
            engine_version: "13.15".into(),
            tags: tags(&[("w", "1")]),
            replica_of: None,
            cluster: None,
        })
        .collect();
    let begun = Campaign::begin(
        request.clone(),
        select(&request, &candidates, &Default::default()).unwrap(),
        ExecutionInfo {
            id: "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen-fleet:wave-1".into(),
            started_at: None,
        },
        MACHINE.into(),
    );
    // The first step started two; the second reads them and starts none (both running).
    let s = World::empty();
    let first = campaign::handle(
        CampaignDeps {
            executions: s.0.clone(),
            notifier: s.0.clone(),
            default_topic_arn: None,
            grants: Default::default(),
        },
        CampaignInput::Step(begun.clone()),
        inv(),
    )
    .await
    .unwrap();
    let account = s.with(|a| a.executions.clone());
    let cases = sweep(
        || {
            let w = World::empty();
            w.with(|a| a.executions = account.clone());
            w
        },
        |w| {
            campaign::handle(
                CampaignDeps {
                    executions: w.0.clone(),
                    notifier: w.0.clone(),
                    default_topic_arn: None,
                    grants: Default::default(),
                },
                CampaignInput::Step(first.clone()),
                inv_at(60),
            )
        },
    )
    .await;
    assert_swept(&cases, &["status"]);
    let cases = sweep(World::empty, |w| {
        campaign::handle(
            CampaignDeps {
                executions: w.0.clone(),
                notifier: w.0.clone(),
                default_topic_arn: None,
                grants: Default::default(),
            },
            CampaignInput::Step(begun.clone()),
            inv(),
        )
    })
    .await;
    assert_swept(&cases, &["start"]);
}

/// `remediation-metric` never raises (documented: a failure to publish must not hide the
/// run's outcome, and raising would make the state machine publish the other one twice).
/// Each failure is recorded in the run's `published`, and the other channel is still
/// published, once.
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
    for (op, other) in [("put", "publish"), ("publish", "put")] {
        for lost in [Lost::Request, Lost::Answer] {
            for error in transient(op) {
                let case = format!("{op} {} ({lost:?} lost)", error.name());
                let world = World::empty();
                world.fail(op, error.clone(), lost);
                let run = remediation_metric::handle(
                    world.deps(),
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
                assert_eq!(record.errors, [error.to_string()], "{case}: {record:?}");
                assert_eq!(
                    (record.metric_published, record.notification_published),
                    (op == "publish", op == "put"),
                    "{case}"
                );
                assert_eq!(world.calls(op).len(), 1, "{case}: {:?}", world.log());
                assert_eq!(world.calls(other).len(), 1, "{case}: {:?}", world.log());
                let changes = world.changes();
                let (done, carried) = match op {
                    "put" => (changes.published.len(), changes.put.len()),
                    _ => (changes.put.len(), changes.published.len()),
                };
                assert_eq!(done, 1, "{case}: the other channel, once");
                assert_eq!(carried, usize::from(lost == Lost::Answer), "{case}");
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 2 * 2 * 3);
}
