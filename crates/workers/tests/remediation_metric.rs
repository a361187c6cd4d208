//! `remediation-metric`: the exact `Remediations` metric and durations at the end of a run,
//! one SNS notification per milestone; a failure to publish is recorded, never raised.

mod common;

use bluegreen_aws::ports::{Datum, Unit};
use bluegreen_domain::cleanup::abort::AbortState;
use bluegreen_domain::model::milestone::PublishRecord;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::run::Run;
use bluegreen_domain::verify::Verification;
use bluegreen_workers::remediation_metric::{handle, Milestone, MilestoneEvent};
use common::*;
use serde_json::{json, Value};

const NOW: u64 = 4300;

fn dim(name: &str, value: &str) -> (String, String) {
    (name.to_string(), value.to_string())
}

fn remediations(trigger: &str, outcome: &str) -> Datum {
    Datum::new(
        "Remediations",
        1.0,
        Unit::Count,
        &[
            ("DBIdentifier", DB),
            ("Trigger", trigger),
            ("Outcome", outcome),
        ],
        at(NOW),
    )
}

fn seconds(name: &str, value: f64) -> Datum {
    Datum::new(name, value, Unit::Seconds, &[("DBIdentifier", DB)], at(NOW))
}

fn put(data: Vec<Datum>) -> (String, Vec<Datum>) {
    ("RdsBlueGreen".to_string(), data)
}

fn attributes(milestone: &str, outcome: &str, db: &str) -> Vec<(String, String)> {
    vec![
        dim("milestone", milestone),
        dim("outcome", outcome),
        dim("db_identifier", db),
    ]
}

/// A verified upgrade: green requested at 60, ready at 1905, switchover requested at 4100
/// and completed at 4140, verified at 4200.
fn upgraded_run(extra: Value) -> Run {
    let mut run = run_with_deployment(Route::Upgrade, request_with(extra), "SWITCHOVER_COMPLETED");
    run.mark("green_ready", &rfc(1905));
    run.mark("switchover_requested", &rfc(4100));
    run.mark("switchover_completed", &rfc(4140));
    run.mark("verified", &rfc(4200));
    run.verify = Some(Verification {
        production_identifier: DB.into(),
        engine_version: "16.4".into(),
        status: "available".into(),
        endpoint: Some(ENDPOINT.into()),
        endpoint_kept: true,
        old_blue_identifier: OLD_BLUE.into(),
        old_blue_arn: OLD_BLUE_ARN.into(),
        deployment_status: "SWITCHOVER_COMPLETED".into(),
    });
    run
}

async fn publish(world: &World, milestone: Milestone, run: Run) -> Run {
    handle(
        world.deps(),
        MilestoneEvent {
            milestone,
            run,
            task_token: None,
        },
        inv_at(NOW),
    )
    .await
    .expect("publishing never fails the step")
}

fn only_publish(world: &World) -> Notification {
    let published = world.with(|s| s.published.clone());
    assert_eq!(published.len(), 1, "{published:?}");
    published.into_iter().next().unwrap()
}

fn body_of(p: &Notification) -> Value {
    serde_json::from_str(&p.body).expect("the body is JSON")
}

#[tokio::test]
async fn a_succeeded_upgrade_puts_the_exact_metric_data_and_notification() {
    let world = World::empty();
    let run = publish(&world, Milestone::Succeeded, upgraded_run(json!({}))).await;

    assert_eq!(
        world.with(|s| s.put.clone()),
        [put(vec![
            remediations("console", "succeeded"),
            seconds("GreenProvisioningSeconds", 1845.0),
            seconds("SwitchoverSeconds", 40.0),
            seconds("UpgradeSeconds", 4200.0),
        ])]
    );

    let p = only_publish(&world);
    assert_eq!(p.topic_arn, TOPIC_ARN);
    assert_eq!(
        p.subject,
        "[rds-bluegreen] orders-pg 13.15 -> 16.4: succeeded"
    );
    assert_eq!(p.attributes, attributes("succeeded", "succeeded", DB));
    let body = body_of(&p);
    assert_eq!(body["milestone"], "succeeded");
    assert_eq!(body["outcome"], "succeeded");
    assert_eq!(body["db_identifier"], DB);
    assert_eq!(body["engine_version_before"], "13.15");
    assert_eq!(body["target_engine_version"], "16.4");
    assert_eq!(body["action"], "upgrade");
    assert_eq!(body["trigger"], "console");
    assert_eq!(body["execution"], EXECUTION_ARN);
    assert_eq!(body["route"], "upgrade");
    assert_eq!(body["deployment"]["id"], DEPLOYMENT_ID);
    assert_eq!(body["deployment"]["name"], DEPLOYMENT_NAME);
    assert_eq!(body["timeline"]["verified"], rfc(4200));
    assert_eq!(body["verification"]["engine_version"], "16.4");
    assert_eq!(body["verification"]["old_blue_identifier"], OLD_BLUE);
    assert_eq!(body["error"], Value::Null);

    assert_eq!(
        run.published,
        [PublishRecord {
            milestone: "succeeded".into(),
            metric_published: true,
            notification_published: true,
            errors: vec![],
        }]
    );
}

#[tokio::test]
async fn cleaned_up_counts_as_succeeded() {
    let world = World::empty();
    publish(&world, Milestone::CleanedUp, upgraded_run(json!({}))).await;
    let put = world.with(|s| s.put.clone());
    assert_eq!(put[0].1[0], remediations("console", "succeeded"));
    let p = only_publish(&world);
    assert_eq!(
        p.subject,
        "[rds-bluegreen] orders-pg 13.15 -> 16.4: cleaned up"
    );
    assert_eq!(p.attributes, attributes("cleaned_up", "succeeded", DB));
}

#[tokio::test]
async fn a_failed_run_is_counted_failed_with_only_the_durations_it_reached() {
    let world = World::empty();
    let mut run = run_with_deployment(
        Route::Upgrade,
        request_with(json!({})),
        "INVALID_CONFIGURATION",
    );
    run.error = Some(json!({
        "Error": "GreenFailed",
        "Cause": "blue/green deployment rbg-orders-pg-to-16-4 failed"
    }));
    run.rollback = Some(AbortState {
        deleted_target: true,
        done: true,
        next_delay_seconds: 0,
        steps: vec!["deleting deployment with its green (DeleteTarget)".into()],
    });
    publish(&world, Milestone::Failed, run).await;

    assert_eq!(
        world.with(|s| s.put.clone()),
        [put(vec![remediations("console", "failed")])]
    );
    let p = only_publish(&world);
    assert_eq!(p.subject, "[rds-bluegreen] orders-pg 13.15 -> 16.4: FAILED");
    assert_eq!(p.attributes, attributes("failed", "failed", DB));
    let body = body_of(&p);
    assert_eq!(body["outcome"], "failed");
    assert_eq!(
        body["error"],
        json!({"name": "GreenFailed", "message": "blue/green deployment rbg-orders-pg-to-16-4 failed"})
    );
    assert_eq!(body["rollback"]["deleted_target"], true);
}

#[tokio::test]
async fn the_lambda_error_message_is_lifted_out_of_the_step_functions_cause() {
    let world = World::empty();
    let mut run = run_with_deployment(Route::Upgrade, request_with(json!({})), "PROVISIONING");
    run.error = Some(json!({
        "Error": "ProvisioningTimedOut",
        "Cause": "{\"errorType\":\"ProvisioningTimedOut\",\"errorMessage\":\"green for orders-pg has not been ready after 241 minutes\"}"
    }));
    publish(&world, Milestone::Failed, run).await;
    assert_eq!(
        body_of(&only_publish(&world))["error"],
        json!({
            "name": "ProvisioningTimedOut",
            "message": "green for orders-pg has not been ready after 241 minutes"
        })
    );
}

#[tokio::test]
async fn a_precheck_failure_lists_the_failed_checks_in_the_notification() {
    let world = World::orders_pg();
    let mut db = source_instance();
    db.backup_retention_days = 0;
    world.put_instance(db);
    let mut run = started_run(event("console-upgrade.json"));
    // What the precheck would have found, had it returned: rebuild the report the
    // precheck computes for a plan of the same request.
    let mut plan_input = event("console-upgrade.json");
    plan_input["action"] = json!("plan");
    let planned = bluegreen_workers::precheck::handle(world.deps(), started_run(plan_input), inv())
        .await
        .unwrap();
    run.report = planned.report;
    run.error = Some(json!({"Error": "PrecheckFailed", "Cause": "1 precheck(s) failed"}));
    publish(&world, Milestone::Failed, run).await;
    let body = body_of(&only_publish(&world));
    let failed = body["failed_checks"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["id"], "automated-backups");
}

#[tokio::test]
async fn an_aborted_run_is_counted_aborted() {
    let world = World::empty();
    let mut run = run_with_deployment(
        Route::Abort,
        request_with(json!({"action": "abort"})),
        "AVAILABLE",
    );
    run.abort = Some(AbortState {
        deleted_target: true,
        done: true,
        next_delay_seconds: 0,
        steps: vec!["deployment rbg-orders-pg-to-16-4 and its green are gone".into()],
    });
    run.mark("aborted", &rfc(NOW));
    publish(&world, Milestone::Aborted, run).await;

    assert_eq!(
        world.with(|s| s.put.clone()),
        [put(vec![remediations("console", "aborted")])]
    );
    let p = only_publish(&world);
    assert_eq!(
        p.subject,
        "[rds-bluegreen] orders-pg 13.15 -> 16.4: aborted"
    );
    assert_eq!(p.attributes, attributes("aborted", "aborted", DB));
    let body = body_of(&p);
    assert_eq!(body["action"], "abort");
    assert_eq!(body["abort"]["done"], true);
}

#[tokio::test]
async fn a_prepared_green_is_counted_prepared_with_its_provisioning_time() {
    let world = World::empty();
    let mut run = run_with_deployment(
        Route::Prepare,
        request_with(json!({"action": "prepare"})),
        "AVAILABLE",
    );
    run.mark("green_ready", &rfc(1905));
    publish(&world, Milestone::Prepared, run).await;

    assert_eq!(
        world.with(|s| s.put.clone()),
        [put(vec![
            remediations("console", "prepared"),
            seconds("GreenProvisioningSeconds", 1845.0),
        ])]
    );
    let p = only_publish(&world);
    assert_eq!(
        p.subject,
        "[rds-bluegreen] orders-pg 13.15 -> 16.4: green prepared, awaiting switchover"
    );
    assert_eq!(p.attributes, attributes("prepared", "prepared", DB));
}

#[tokio::test]
async fn the_trigger_dimension_follows_the_request() {
    for trigger in ["console", "schedule", "alarm"] {
        let world = World::empty();
        publish(
            &world,
            Milestone::Succeeded,
            upgraded_run(json!({ "trigger": trigger })),
        )
        .await;
        let put = world.with(|s| s.put.clone());
        assert_eq!(put[0].1[0], remediations(trigger, "succeeded"), "{trigger}");
        assert_eq!(body_of(&only_publish(&world))["trigger"], trigger);
    }
}

#[tokio::test]
async fn a_scheduler_run_that_failed_before_its_request_was_read_counts_under_schedule() {
    let world = World::empty();
    let mut run = started_run(event("scheduler-input.json"));
    run.error = Some(
        json!({"Error": "SourceNotFound", "Cause": "no DB instance or cluster named `billing-mysql`"}),
    );
    publish(&world, Milestone::Failed, run).await;
    let put = world.with(|s| s.put.clone());
    let datum = &put[0].1[0];
    assert_eq!(datum.dimensions[0], dim("DBIdentifier", "billing-mysql"));
    assert_eq!(datum.dimensions[1], dim("Trigger", "schedule"));
    assert_eq!(datum.dimensions[2], dim("Outcome", "failed"));
}

#[tokio::test]
async fn an_alarm_run_that_failed_before_its_request_was_built_counts_under_alarm() {
    let world = World::empty();
    let mut run = started_run(event("alarm-state-change.json"));
    run.error = Some(json!({
        "Error": "InvalidRequest",
        "Cause": "alarm `orders-pg-needs-upgrade` names orders-pg, which has no `bluegreen:target-engine-version` tag"
    }));
    publish(&world, Milestone::Failed, run).await;

    assert_eq!(
        world.with(|s| s.put.clone()),
        [put(vec![remediations("alarm", "failed")])]
    );
    let p = only_publish(&world);
    assert_eq!(p.attributes, attributes("failed", "failed", DB));
    assert_eq!(p.subject, "[rds-bluegreen] orders-pg ? -> ?: FAILED");
}

#[tokio::test]
async fn a_refused_eventbridge_scheduled_event_counts_under_schedule() {
    let world = World::empty();
    let mut run = started_run(event("eventbridge-scheduled-event.json"));
    run.error = Some(
        json!({"Error": "InvalidRequest", "Cause": "an EventBridge \"Scheduled Event\" names no database"}),
    );
    publish(&world, Milestone::Failed, run).await;
    let put = world.with(|s| s.put.clone());
    let datum = &put[0].1[0];
    assert_eq!(datum.dimensions[0], dim("DBIdentifier", "unknown"));
    assert_eq!(datum.dimensions[1], dim("Trigger", "schedule"));
}

#[tokio::test]
async fn a_plan_run_publishes_nothing() {
    for milestone in [Milestone::Started, Milestone::Succeeded] {
        let mut run = prechecked_run(Route::Plan, request_with(json!({"action": "plan"})));
        run.request.as_mut().unwrap().notification_topic_arn = Some(TOPIC_ARN.into());
        let run = handle(
            no_aws(),
            MilestoneEvent {
                milestone,
                run,
                task_token: None,
            },
            inv_at(NOW),
        )
        .await
        .unwrap();
        assert_eq!(run.published.len(), 1);
        let record = &run.published[0];
        assert!(!record.metric_published && !record.notification_published);
        assert!(record.errors.is_empty(), "{record:?}");
    }
}

#[tokio::test]
async fn an_ignored_alarm_publishes_nothing() {
    let mut input = event("alarm-state-change.json");
    input["detail"]["state"]["value"] = json!("OK");
    let mut run = started_run(input);
    run.route = Some(Route::Noop);
    let run = handle(
        no_aws(),
        MilestoneEvent {
            milestone: Milestone::Succeeded,
            run,
            task_token: None,
        },
        inv_at(NOW),
    )
    .await
    .unwrap();
    assert!(!run.published[0].metric_published && !run.published[0].notification_published);
}

#[tokio::test]
async fn a_milestone_that_ends_nothing_notifies_without_a_metric() {
    let world = World::empty();
    let run = prechecked_run(Route::Upgrade, request_with(json!({})));
    let run = publish(&world, Milestone::Started, run).await;
    assert!(world.with(|s| s.put.is_empty()));
    let p = only_publish(&world);
    assert_eq!(
        p.subject,
        "[rds-bluegreen] orders-pg 13.15 -> 16.4: upgrade started"
    );
    assert_eq!(p.attributes, attributes("started", "started", DB));
    assert_eq!(body_of(&p)["outcome"], Value::Null);
    assert!(!run.published[0].metric_published);
    assert!(run.published[0].notification_published);
}

#[tokio::test]
async fn already_in_progress_is_notified_but_not_counted() {
    let world = World::empty();
    let mut run = prechecked_run(
        Route::AlreadyInProgress,
        request_with(json!({"trigger": "alarm"})),
    );
    run.plan = None;
    publish(&world, Milestone::AlreadyInProgress, run).await;
    assert!(world.with(|s| s.put.is_empty()));
    let p = only_publish(&world);
    assert_eq!(
        p.attributes,
        attributes("already_in_progress", "already_in_progress", DB)
    );
    assert_mentions(&p.subject, &["already in progress, nothing done"]);
}

#[tokio::test]
async fn a_put_metric_data_failure_is_recorded_and_the_step_still_succeeds() {
    let world = World::empty();
    world.refuse(
        "put",
        "cloudwatch:PutMetricData",
        "AccessDenied",
        "User is not authorized to perform: cloudwatch:PutMetricData",
    );
    let run = publish(&world, Milestone::Succeeded, upgraded_run(json!({}))).await;
    assert_eq!(world.calls("put").len(), 1);
    assert!(world.with(|s| s.put.is_empty()));
    let record = &run.published[0];
    assert!(!record.metric_published);
    assert!(
        record.notification_published,
        "the notification still goes out"
    );
    assert_eq!(record.errors.len(), 1);
    assert_mentions(
        &record.errors[0],
        &["cloudwatch:PutMetricData was denied", "not authorized"],
    );
}

#[tokio::test]
async fn a_publish_failure_is_recorded_and_the_step_still_succeeds() {
    let world = World::empty();
    world.refuse("publish", "sns:Publish", "NotFound", "Topic does not exist");
    let run = publish(&world, Milestone::Failed, upgraded_run(json!({}))).await;
    let record = &run.published[0];
    assert!(record.metric_published);
    assert!(!record.notification_published);
    assert_mentions(&record.errors[0], &["sns:Publish", "Topic does not exist"]);
}

#[tokio::test]
async fn the_requests_topic_overrides_the_default() {
    let world = World::empty();
    let topic = "arn:aws:sns:us-east-1:123456789012:payments-dba";
    publish(
        &world,
        Milestone::Succeeded,
        upgraded_run(json!({ "notification_topic_arn": topic })),
    )
    .await;
    assert_eq!(only_publish(&world).topic_arn, topic);
}

#[tokio::test]
async fn a_requests_topic_the_stack_may_not_publish_to_goes_to_the_stacks_topic_saying_why() {
    let world = World::empty();
    let dba = "arn:aws:sns:us-east-1:123456789012:payments-dba";
    let elsewhere = "arn:aws:sns:us-east-1:123456789012:elsewhere";
    // NOTIFICATION_TOPIC_ARNS: the stack's topic and the one extra topic it was given.
    let stack = StackGrants {
        topics: vec![TOPIC_ARN.into(), dba.into()],
        ..StackGrants::default()
    };
    let run = handle(
        world.deps_with(stack.clone()),
        MilestoneEvent {
            milestone: Milestone::Succeeded,
            run: upgraded_run(json!({ "notification_topic_arn": elsewhere })),
            task_token: None,
        },
        inv_at(NOW),
    )
    .await
    .unwrap();
    assert_eq!(only_publish(&world).topic_arn, TOPIC_ARN);
    let record = &run.published[0];
    assert!(record.notification_published);
    assert_eq!(
        record.errors,
        [format!(
            "notification_topic_arn {elsewhere} is not one this stack may publish to (template \
             parameter NotificationTopicArns): published to the stack's topic"
        )]
    );

    let world = World::empty();
    let run = handle(
        world.deps_with(stack),
        MilestoneEvent {
            milestone: Milestone::Succeeded,
            run: upgraded_run(json!({ "notification_topic_arn": dba })),
            task_token: None,
        },
        inv_at(NOW),
    )
    .await
    .unwrap();
    assert_eq!(only_publish(&world).topic_arn, dba);
    assert!(run.published[0].errors.is_empty());
}

#[tokio::test]
async fn without_any_topic_the_missing_topic_is_recorded() {
    let world = World::empty();
    let mut deps = world.deps();
    deps.default_topic_arn = None;
    let run = handle(
        deps,
        MilestoneEvent {
            milestone: Milestone::Succeeded,
            run: upgraded_run(json!({})),
            task_token: None,
        },
        inv_at(NOW),
    )
    .await
    .unwrap();
    assert!(world.with(|s| s.published.is_empty()));
    let record = &run.published[0];
    assert!(record.metric_published);
    assert_mentions(&record.errors[0], &["NOTIFICATION_TOPIC_ARN"]);
}

#[tokio::test]
async fn a_long_subject_is_cut_to_the_sns_limit() {
    let world = World::empty();
    let long = format!("o{}", "r".repeat(62));
    let mut run = upgraded_run(json!({ "db_identifier": long }));
    run.source.as_mut().unwrap().identifier = long.clone();
    publish(&world, Milestone::Prepared, run).await;
    let subject = only_publish(&world).subject;
    // SNS: "less than 100 characters long".
    assert_eq!(subject.chars().count(), 99, "{subject}");
    assert!(
        subject.starts_with(&format!("[rds-bluegreen] {long}")),
        "{subject}"
    );
    assert!(subject.ends_with('…'), "{subject}");
}

#[tokio::test]
async fn publications_accumulate_across_milestones() {
    let world = World::empty();
    let run = prechecked_run(Route::Upgrade, request_with(json!({})));
    let run = publish(&world, Milestone::Started, run).await;
    let run = publish(&world, Milestone::GreenReady, run).await;
    assert_eq!(
        run.published
            .iter()
            .map(|p| p.milestone.as_str())
            .collect::<Vec<_>>(),
        ["started", "green_ready"]
    );
    assert_eq!(world.with(|s| s.published.len()), 2);
}

#[tokio::test]
async fn an_approval_request_says_what_will_happen_and_how_to_answer() {
    let world = World::empty();
    let mut run = prechecked_run(
        Route::Upgrade,
        request_with(json!({"require_approval": true, "approval_timeout_hours": 8})),
    );
    run.execution.id = EXECUTION_ARN.into();
    handle(
        world.deps(),
        MilestoneEvent {
            milestone: Milestone::ApprovalRequested,
            run,
            task_token: Some("AAAAKgAAAAIAAAAA-token".into()),
        },
        inv_at(NOW),
    )
    .await
    .unwrap();
    let p = only_publish(&world);
    let body: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    assert_eq!(body["milestone"], "approval_requested");
    let a = &body["approval"];
    assert_eq!(a["approve"], format!("rbg approve {EXECUTION_ARN}"));
    assert!(a["approve_with_aws_cli"]
        .as_str()
        .unwrap()
        .contains("send-task-success --task-token 'AAAAKgAAAAIAAAAA-token'"));
    assert!(a["reject_with_aws_cli"]
        .as_str()
        .unwrap()
        .contains("--error Rejected"));
    assert_eq!(a["timeout_hours"], 8);
    assert!(a["what_happens"].as_str().unwrap().contains("keeps green"));
    assert!(p.subject.contains("approve or reject"));
    // Not a remediation's end: no metric.
    assert!(world.with(|s| s.put.is_empty()));
}

/// `ledger`'s source as the precheck recorded it: one Auto Scaling target with a policy.
fn ledger_with_auto_scaling(
    targets: Option<Vec<bluegreen_domain::model::scaling::ScalableTarget>>,
) -> Run {
    let mut run = upgraded_run(json!({}));
    let mut source = aurora_cluster(CLUSTER, "13.15", &["ledger-1", "ledger-2"]);
    source.topology.auto_scaling = targets;
    run.source = Some(source);
    run
}

#[tokio::test]
async fn the_switched_over_notification_reminds_to_register_aurora_auto_scaling_again() {
    use bluegreen_domain::model::scaling::{ScalableTarget, ScalingPolicy, READ_REPLICA_COUNT};
    let world = World::empty();
    let target = ScalableTarget {
        resource_id: "cluster:ledger".into(),
        dimension: READ_REPLICA_COUNT.into(),
        min_capacity: 2,
        max_capacity: 8,
        policies: vec![ScalingPolicy {
            name: "ledger-reader-cpu".into(),
            policy_type: "TargetTrackingScaling".into(),
            tracking: Some("RDSReaderAverageCPUUtilization at 55".into()),
        }],
    };
    let run = ledger_with_auto_scaling(Some(vec![target]));
    publish(&world, Milestone::SwitchedOver, run.clone()).await;
    let body = body_of(&only_publish(&world));
    assert_eq!(body["milestone"], "switched_over");
    let warnings = body["warnings"].as_array().expect("a reminder");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let reminder = warnings[0].as_str().unwrap();
    assert_mentions(
        reminder,
        &[
            "Aurora Auto Scaling is not copied to green",
            "register-scalable-target --service-namespace rds --resource-id cluster:ledger \
             --scalable-dimension rds:cluster:ReadReplicaCount --min-capacity 2 --max-capacity 8",
            "put each scaling policy again",
            "ledger-reader-cpu (TargetTrackingScaling, RDSReaderAverageCPUUtilization at 55)",
        ],
    );

    // Only at the switchover: the green-ready notification says nothing of it.
    let world = World::empty();
    publish(&world, Milestone::GreenReady, run).await;
    assert_eq!(body_of(&only_publish(&world))["warnings"], Value::Null);

    // Nothing recorded (an instance, a read that was refused) or none registered: no reminder.
    for recorded in [None, Some(vec![])] {
        let world = World::empty();
        publish(
            &world,
            Milestone::SwitchedOver,
            ledger_with_auto_scaling(recorded.clone()),
        )
        .await;
        let body = body_of(&only_publish(&world));
        assert_eq!(body["warnings"], Value::Null, "{recorded:?}");
    }
}
