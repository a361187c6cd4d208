//! `create`: creates the deployment exactly as planned, or adopts ours; idempotent by name.

mod common;

use bluegreen_domain::model::deployment::DeploymentRecord;
use bluegreen_domain::model::deployment::Phase;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::run::Run;
use bluegreen_domain::wait::WaitState;
use bluegreen_workers::create;
use common::*;
use serde_json::json;

fn upgrade_run() -> Run {
    prechecked_run(Route::Upgrade, request_with(json!({})))
}

#[tokio::test]
async fn a_new_deployment_is_created_with_exactly_the_planned_parameters() {
    let world = World::orders_pg();
    let run = create::handle(world.deps(), upgrade_run(), inv_at(60))
        .await
        .unwrap();

    // Exactly the plan (what the adapter sends for it: crates/aws).
    assert_eq!(world.with(|s| s.created.clone()), [create_plan()]);
    let d = world.with(|s| s.deployments.clone());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].source_arn, SOURCE_ARN);
    assert_eq!(
        d[0].tags.get("bluegreen:execution").map(String::as_str),
        Some(EXECUTION_ARN)
    );

    assert_eq!(
        run.deployment,
        Some(DeploymentRecord {
            id: DEPLOYMENT_ID.into(),
            name: DEPLOYMENT_NAME.into(),
            created_by_this_run: true,
            status: "PROVISIONING".into(),
            target_arn: Some(GREEN_ARN.into()),
        })
    );
    assert_eq!(
        run.wait,
        Some(WaitState {
            phase: Phase::Provisioning,
            polls: 0,
            consecutive_ready: 0,
            next_delay_seconds: 15,
            status: "PROVISIONING".into(),
            pending_tasks: vec![],
            ..WaitState::default()
        })
    );
    assert_eq!(run.timeline.get("green_requested"), Some(&rfc(60)));
}

#[tokio::test]
async fn the_instance_class_and_cluster_group_of_the_plan_are_passed_on() {
    let world = World::orders_pg();
    let mut run = upgrade_run();
    let plan = run.plan.as_mut().unwrap();
    plan.target_db_instance_class = Some("db.r7g.xlarge".into());
    create::handle(world.deps(), run, inv_at(60)).await.unwrap();
    let created = world.with(|s| s.created.clone());
    assert_eq!(
        created[0].target_db_instance_class.as_deref(),
        Some("db.r7g.xlarge")
    );
    assert_eq!(created[0].target_db_cluster_parameter_group_name, None);
}

#[tokio::test]
async fn our_existing_deployment_is_adopted_without_a_create_call() {
    let world = World::orders_pg();
    world.set_deployment(deployment("PROVISIONING"));
    let run = create::handle(world.deps(), upgrade_run(), inv_at(60))
        .await
        .unwrap();
    assert!(world.with(|s| s.created.is_empty()));
    assert!(world.calls("create_deployment").is_empty());
    let d = run.deployment.unwrap();
    assert_eq!(d.id, DEPLOYMENT_ID);
    assert!(!d.created_by_this_run);
    assert_eq!(d.status, "PROVISIONING");
    assert_eq!(run.wait.unwrap().phase, Phase::Provisioning);
}

#[tokio::test]
async fn a_retried_create_step_remembers_that_this_run_created_the_deployment() {
    let world = World::orders_pg();
    world.set_deployment(deployment("PROVISIONING"));
    let mut run = upgrade_run();
    run.deployment = Some(DeploymentRecord {
        id: DEPLOYMENT_ID.into(),
        name: DEPLOYMENT_NAME.into(),
        created_by_this_run: true,
        status: "PROVISIONING".into(),
        target_arn: None,
    });
    let run = create::handle(world.deps(), run, inv_at(90)).await.unwrap();
    assert!(run.deployment.unwrap().created_by_this_run);
    assert!(world.with(|s| s.created.is_empty()));
}

#[tokio::test]
async fn our_deployment_in_invalid_configuration_is_a_conflict() {
    let world = World::orders_pg();
    world.set_deployment(deployment("INVALID_CONFIGURATION"));
    let (name, msg) = err_of(create::handle(world.deps(), upgrade_run(), inv_at(60)).await);
    assert_eq!(name, "DeploymentConflict");
    assert_mentions(
        &msg,
        &[
            DEPLOYMENT_NAME,
            DEPLOYMENT_ID,
            "INVALID_CONFIGURATION",
            "abort",
        ],
    );
    assert!(world.with(|s| s.created.is_empty()));
}

#[tokio::test]
async fn a_deployment_of_our_name_for_another_source_is_a_conflict() {
    let world = World::orders_pg();
    let mut d = deployment("AVAILABLE");
    d.source_arn = "arn:aws:rds:us-east-1:123456789012:db:orders-pg-copy".into();
    world.set_deployment(d);
    let (name, msg) = err_of(create::handle(world.deps(), upgrade_run(), inv_at(60)).await);
    assert_eq!(name, "DeploymentConflict");
    assert_mentions(&msg, &["another source", "orders-pg-copy"]);
    assert!(world.with(|s| s.created.is_empty()));
}

#[tokio::test]
async fn a_switched_over_deployment_is_adopted_for_a_restarted_run() {
    let world = World::switched_over();
    let run = create::handle(world.deps(), upgrade_run(), inv_at(60))
        .await
        .unwrap();
    assert_eq!(run.deployment.unwrap().status, "SWITCHOVER_COMPLETED");
    assert!(world.with(|s| s.created.is_empty()));
}

/// Our first lookup sees nothing; by the time we create, the deployment exists, created by
/// the execution named in its `bluegreen:execution` tag.
async fn create_after_a_race(creator: &str) -> (World, bluegreen_domain::run::Run) {
    let world = World::orders_pg();
    let mut d = deployment("PROVISIONING");
    d.tags = tags(&[("bluegreen:execution", creator)]);
    world.before("create_deployment", move |a| a.deployments.push(d));
    let run = create::handle(world.deps(), upgrade_run(), inv_at(60))
        .await
        .unwrap();
    (world, run)
}

#[tokio::test]
async fn a_lost_answer_to_our_own_create_adopts_the_deployment() {
    let (_, run) = create_after_a_race(EXECUTION_ARN).await;
    assert_eq!(run.route, Some(Route::Upgrade));
    assert_eq!(run.deployment.unwrap().id, DEPLOYMENT_ID);
}

#[tokio::test]
async fn losing_a_create_race_to_another_execution_stands_down() {
    let other = "arn:aws:states:us-east-1:123456789012:execution:upgrade:other";
    let (world, run) = create_after_a_race(other).await;
    assert_eq!(run.route, Some(Route::AlreadyInProgress));
    assert!(run.deployment.is_none(), "this run owns nothing");
    assert!(run.note.unwrap().contains(other));
    assert!(run.wait.is_none());
    // One create was attempted (answered "already exists"), and nothing changed.
    assert_eq!(world.calls("create_deployment").len(), 1);
    assert!(world.changes().is_empty(), "{:?}", world.changes());
}

#[tokio::test]
async fn losing_a_create_race_adopts_the_deployment_that_won() {
    let world = World::orders_pg();
    // Our first lookup sees nothing; by the time we create, another run has created it
    // (without an execution tag).
    world.before("create_deployment", |a| {
        a.deployments.push(deployment("PROVISIONING"))
    });
    let run = create::handle(world.deps(), upgrade_run(), inv_at(60))
        .await
        .unwrap();
    assert_eq!(world.calls("create_deployment").len(), 1);
    assert!(world.with(|s| s.created.is_empty()));
    let d = run.deployment.unwrap();
    assert_eq!(d.id, DEPLOYMENT_ID);
    assert!(!d.created_by_this_run);
}

#[tokio::test]
async fn a_create_refused_by_aws_is_not_retried_and_names_the_operation() {
    let world = World::orders_pg();
    world.refuse(
        "create_deployment",
        "rds:CreateBlueGreenDeployment",
        "SourceDatabaseNotSupportedFault",
        "The source DB instance isn't supported for a blue/green deployment.",
    );
    let (name, msg) = err_of(create::handle(world.deps(), upgrade_run(), inv_at(60)).await);
    assert_eq!(name, "AwsRequestFailed");
    assert_mentions(
        &msg,
        &[
            "rds:CreateBlueGreenDeployment",
            "SourceDatabaseNotSupportedFault",
        ],
    );
}

#[tokio::test]
async fn a_run_without_a_plan_is_malformed() {
    let mut run = upgrade_run();
    run.plan = None;
    let (name, msg) = err_of(create::handle(no_aws(), run, inv_at(60)).await);
    assert_eq!(name, "MalformedRun");
    assert_mentions(&msg, &["`plan`"]);
}
