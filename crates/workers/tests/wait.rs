//! `wait`: one poll of the deployment. Ready only when RDS says AVAILABLE, every task is
//! done, every green member is `available`, and that was seen on two polls in a row.

mod common;

use bluegreen_domain::model::deployment::Phase;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::schedule::{BUILD_DELAY, SWITCHOVER_DELAY};
use bluegreen_domain::run::Run;
use bluegreen_domain::wait::WaitState;
use bluegreen_workers::wait;
use common::*;
use serde_json::json;

/// Green requested at t=60 (see `run_with_deployment`).
const REQUESTED: u64 = 60;

fn provisioning_run() -> Run {
    run_with_deployment(Route::Upgrade, request_with(json!({})), "PROVISIONING")
}

fn available_with(tasks: &[(&str, &str)]) -> bluegreen_domain::model::deployment::DeploymentView {
    let mut d = deployment("AVAILABLE");
    d.tasks = tasks.iter().map(|(n, s)| task(n, s)).collect();
    d
}

#[tokio::test]
async fn green_becomes_ready_only_after_two_ready_polls_in_a_row() {
    let world = World::orders_pg();
    let deps = world.deps();

    // 1. Building: no member lookup yet, short delay right after create.
    world.set_deployment(deployment("PROVISIONING"));
    let run = wait::handle(deps.clone(), provisioning_run(), inv_at(REQUESTED + 10))
        .await
        .unwrap();
    assert_eq!(
        run.wait,
        Some(WaitState {
            phase: Phase::Provisioning,
            polls: 1,
            consecutive_ready: 0,
            next_delay_seconds: 15,
            status: "PROVISIONING".into(),
            pending_tasks: vec![
                "CREATING_READ_REPLICA_OF_SOURCE IN_PROGRESS".into(),
                "DB_ENGINE_VERSION_UPGRADE PENDING".into(),
                "CONFIGURE_BACKUPS PENDING".into(),
            ],
            at_seconds: Some(10),
            ..WaitState::default()
        })
    );
    assert!(world.calls("member_statuses").is_empty());

    // 2. AVAILABLE, but the engine upgrade task still runs: not ready, poll faster.
    world.put_instance(green_instance("available"));
    world.set_deployment(available_with(&[
        ("CREATING_READ_REPLICA_OF_SOURCE", "COMPLETED"),
        ("DB_ENGINE_VERSION_UPGRADE", "IN_PROGRESS"),
        ("CONFIGURE_BACKUPS", "COMPLETED"),
    ]));
    let run = wait::handle(deps.clone(), run, inv_at(REQUESTED + 1800))
        .await
        .unwrap();
    let w = run.wait.clone().unwrap();
    assert_eq!(w.phase, Phase::Provisioning);
    assert_eq!(w.polls, 2);
    assert_eq!(w.consecutive_ready, 0);
    assert_eq!(w.next_delay_seconds, 30);
    assert_eq!(w.pending_tasks, ["DB_ENGINE_VERSION_UPGRADE IN_PROGRESS"]);
    assert_eq!(
        world.calls("member_statuses"),
        [format!("member_statuses {GREEN_ARN}")]
    );

    // 3. Everything done: the first ready observation is still reported as provisioning.
    world.set_deployment(deployment("AVAILABLE"));
    let run = wait::handle(deps.clone(), run, inv_at(REQUESTED + 1830))
        .await
        .unwrap();
    let w = run.wait.clone().unwrap();
    assert_eq!(w.phase, Phase::Provisioning);
    assert_eq!(w.consecutive_ready, 1);
    assert_eq!(w.next_delay_seconds, 15);
    assert!(w.pending_tasks.is_empty());
    assert!(!run.timeline.contains_key("green_ready"));

    // 4. Ready again: now green is ready.
    let run = wait::handle(deps, run, inv_at(REQUESTED + 1845))
        .await
        .unwrap();
    let w = run.wait.clone().unwrap();
    assert_eq!(w.phase, Phase::Ready);
    assert_eq!(w.polls, 4);
    assert_eq!(w.consecutive_ready, 2);
    assert_eq!(w.status, "AVAILABLE");
    assert_eq!(
        run.timeline.get("green_ready"),
        Some(&rfc(REQUESTED + 1845))
    );
    assert_eq!(run.deployment.unwrap().status, "AVAILABLE");
}

#[tokio::test]
async fn a_long_build_is_polled_at_the_build_delay() {
    let world = World::orders_pg();
    world.set_deployment(deployment("PROVISIONING"));
    let run = wait::handle(world.deps(), provisioning_run(), inv_at(REQUESTED + 600))
        .await
        .unwrap();
    assert_eq!(run.wait.unwrap().next_delay_seconds, BUILD_DELAY);
}

#[tokio::test]
async fn green_in_storage_optimization_is_not_ready_and_breaks_the_streak() {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world.put_instance(green_instance("storage-optimization"));
    let mut run = provisioning_run();
    run.wait = Some(WaitState {
        phase: Phase::Provisioning,
        polls: 7,
        consecutive_ready: 1,
        next_delay_seconds: 15,
        status: "AVAILABLE".into(),
        pending_tasks: vec![],
        ..WaitState::default()
    });
    let run = wait::handle(world.deps(), run, inv_at(REQUESTED + 2000))
        .await
        .unwrap();
    let w = run.wait.unwrap();
    assert_eq!(w.phase, Phase::Provisioning);
    assert_eq!(w.consecutive_ready, 0);
    assert_eq!(w.polls, 8);
    assert!(!run.timeline.contains_key("green_ready"));
}

#[tokio::test]
async fn a_green_member_that_is_gone_is_not_ready() {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    let run = wait::handle(world.deps(), provisioning_run(), inv_at(REQUESTED + 2000))
        .await
        .unwrap();
    assert_eq!(run.wait.unwrap().consecutive_ready, 0);
}

#[tokio::test]
async fn invalid_configuration_fails_green_with_the_status_details() {
    let world = World::orders_pg();
    let mut d = deployment("INVALID_CONFIGURATION");
    d.status_details = Some(
        "Creation of blue/green deployment failed due to incompatible parameter(s): max_replication_slots"
            .into(),
    );
    world.set_deployment(d);
    let (name, msg) =
        err_of(wait::handle(world.deps(), provisioning_run(), inv_at(REQUESTED + 900)).await);
    assert_eq!(name, "GreenFailed");
    assert_mentions(
        &msg,
        &[
            DEPLOYMENT_NAME,
            "status INVALID_CONFIGURATION",
            "incompatible parameter(s): max_replication_slots",
            "abort",
        ],
    );
}

#[tokio::test]
async fn a_switchover_failure_shown_only_in_the_details_is_switchover_failed() {
    let world = World::orders_pg();
    let mut d = deployment("AVAILABLE");
    d.switchover_details = vec![detail(SOURCE_ARN, GREEN_ARN, "SWITCHOVER_FAILED")];
    world.set_deployment(d);
    world.put_instance(green_instance("available"));
    let (name, msg) =
        err_of(wait::handle(world.deps(), provisioning_run(), inv_at(REQUESTED + 900)).await);
    assert_eq!(name, "SwitchoverFailed");
    assert_mentions(
        &msg,
        &[
            &format!("member {SOURCE_ARN} reports SWITCHOVER_FAILED"),
            "rolled the switchover back",
        ],
    );
}

#[tokio::test]
async fn a_failed_task_fails_green_naming_the_task() {
    let world = World::orders_pg();
    let mut d = deployment("PROVISIONING");
    d.tasks = vec![task("DB_ENGINE_VERSION_UPGRADE", "FAILED")];
    world.set_deployment(d);
    let (name, msg) =
        err_of(wait::handle(world.deps(), provisioning_run(), inv_at(REQUESTED + 900)).await);
    assert_eq!(name, "GreenFailed");
    assert_mentions(&msg, &["task DB_ENGINE_VERSION_UPGRADE FAILED"]);
}

#[tokio::test]
async fn provisioning_past_max_provisioning_minutes_times_out() {
    let world = World::orders_pg();
    world.set_deployment(deployment("PROVISIONING"));
    // Exactly 240 minutes after green was requested is still within the bound...
    let run = wait::handle(
        world.deps(),
        provisioning_run(),
        inv_at(REQUESTED + 240 * 60),
    )
    .await
    .unwrap();
    assert_eq!(run.wait.unwrap().phase, Phase::Provisioning);
    // ...241 minutes is not.
    let (name, msg) = err_of(
        wait::handle(
            world.deps(),
            provisioning_run(),
            inv_at(REQUESTED + 241 * 60),
        )
        .await,
    );
    assert_eq!(name, "ProvisioningTimedOut");
    assert_mentions(
        &msg,
        &[
            "orders-pg",
            "after 241 minutes",
            "max_provisioning_minutes = 240",
            "status PROVISIONING",
        ],
    );
}

#[tokio::test]
async fn a_green_first_seen_ready_past_the_bound_gets_its_confirming_poll() {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world.put_instance(green_instance("available"));
    let run = wait::handle(
        world.deps(),
        provisioning_run(),
        inv_at(REQUESTED + 241 * 60),
    )
    .await
    .unwrap();
    let w = run.wait.unwrap();
    assert_eq!((w.phase, w.consecutive_ready), (Phase::Provisioning, 1));
}

#[tokio::test]
async fn the_request_can_shorten_the_provisioning_bound() {
    let world = World::orders_pg();
    world.set_deployment(deployment("PROVISIONING"));
    let run = run_with_deployment(
        Route::Upgrade,
        request_with(json!({"max_provisioning_minutes": 30})),
        "PROVISIONING",
    );
    let (name, _) = err_of(wait::handle(world.deps(), run, inv_at(REQUESTED + 31 * 60)).await);
    assert_eq!(name, "ProvisioningTimedOut");
}

#[tokio::test]
async fn a_deployment_deleted_outside_the_run_fails_green() {
    let world = World::orders_pg();
    let (name, msg) =
        err_of(wait::handle(world.deps(), provisioning_run(), inv_at(REQUESTED + 900)).await);
    assert_eq!(name, "GreenFailed");
    assert_mentions(&msg, &["no longer exists", DEPLOYMENT_NAME]);
}

#[tokio::test]
async fn a_switchover_in_progress_is_polled_at_the_switchover_delay() {
    let world = World::orders_pg();
    world.set_deployment(deployment("SWITCHOVER_IN_PROGRESS"));
    let run = wait::handle(world.deps(), provisioning_run(), inv_at(REQUESTED + 3000))
        .await
        .unwrap();
    let w = run.wait.unwrap();
    assert_eq!(w.phase, Phase::Switching);
    assert_eq!(w.next_delay_seconds, SWITCHOVER_DELAY);
}

#[tokio::test]
async fn a_completed_switchover_is_switched_and_timestamped() {
    let world = World::switched_over();
    let run = wait::handle(world.deps(), provisioning_run(), inv_at(REQUESTED + 3040))
        .await
        .unwrap();
    let w = run.wait.unwrap();
    assert_eq!(w.phase, Phase::Switched);
    assert_eq!(w.next_delay_seconds, 0);
    assert_eq!(
        run.timeline.get("switchover_completed"),
        Some(&rfc(REQUESTED + 3040))
    );
}

fn switchover_requested_run(polls: u32) -> Run {
    let mut run = provisioning_run();
    run.switchover = Some(bluegreen_domain::switchover::SwitchoverRecord {
        requested_at: rfc(REQUESTED + 3000),
        timeout_seconds: 300,
        already_started: false,
    });
    run.wait = Some(WaitState {
        phase: Phase::Switching,
        polls,
        consecutive_ready: 0,
        next_delay_seconds: 10,
        status: "AVAILABLE".into(),
        pending_tasks: vec![],
        ..WaitState::default()
    });
    run
}

#[tokio::test]
async fn right_after_a_switchover_request_available_is_switching_never_ready_again() {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world.put_instance(green_instance("available"));
    let mut run = switchover_requested_run(0);
    run.wait.as_mut().unwrap().consecutive_ready = 1;
    let run = wait::handle(world.deps(), run, inv_at(REQUESTED + 3010))
        .await
        .unwrap();
    let w = run.wait.unwrap();
    assert_eq!(w.phase, Phase::Switching);
    assert_eq!(w.next_delay_seconds, SWITCHOVER_DELAY);
    assert!(!run.timeline.contains_key("green_ready"));
}

#[tokio::test]
async fn a_switchover_rds_never_starts_fails_after_thirty_polls() {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world.put_instance(green_instance("available"));
    let run = wait::handle(
        world.deps(),
        switchover_requested_run(29),
        inv_at(REQUESTED + 3300),
    )
    .await
    .unwrap();
    assert_eq!(run.wait.as_ref().unwrap().polls, 30);
    let (name, msg) = err_of(wait::handle(world.deps(), run, inv_at(REQUESTED + 3310)).await);
    assert_eq!(name, "SwitchoverFailed");
    assert_mentions(
        &msg,
        &[
            DEPLOYMENT_NAME,
            "after 31 polls",
            "blue is still production",
        ],
    );
}

#[tokio::test]
async fn a_run_without_a_deployment_is_malformed() {
    let run = prechecked_run(Route::Upgrade, request_with(json!({})));
    let (name, msg) = err_of(wait::handle(no_aws(), run, inv()).await);
    assert_eq!(name, "MalformedRun");
    assert_mentions(&msg, &["`deployment`"]);
}

// ---------------------------------------------------------------- Aurora instance class

const GREEN_CLUSTER: &str = "ledger-green-abc";
const GREEN_WRITER: &str = "ledger-1-green-abc";

/// An Aurora deployment whose green is built on the source's class, and a request for
/// another class (which AWS refuses at create for a cluster).
fn aurora_green() -> (World, Run) {
    let world = World::orders_pg();
    let mut d = deployment("AVAILABLE");
    d.source_arn = cluster_arn_of("ledger");
    d.target_arn = cluster_arn_of(GREEN_CLUSTER);
    d.switchover_details = vec![
        detail(
            &cluster_arn_of("ledger"),
            &cluster_arn_of(GREEN_CLUSTER),
            "AVAILABLE",
        ),
        detail(&arn_of("ledger-1"), &arn_of(GREEN_WRITER), "AVAILABLE"),
    ];
    world.set_deployment(d);
    world.put_db(aurora_cluster(GREEN_CLUSTER, "16.4", &[GREEN_WRITER]));
    world.put_instance(aurora_instance(GREEN_WRITER, "16.4"));
    let mut run = run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE");
    run.plan.as_mut().unwrap().green_instance_class = Some("db.r6g.2xlarge".into());
    (world, run)
}

#[tokio::test]
async fn an_aurora_green_is_resized_before_it_counts_as_ready() {
    let (world, run) = aurora_green();
    let run = wait::handle(world.deps(), run, inv_at(600)).await.unwrap();
    assert_eq!(
        world.with(|s| s.modified.clone()),
        [Modification::InstanceClass {
            instance: GREEN_WRITER.into(),
            class: "db.r6g.2xlarge".into()
        }]
    );
    assert_eq!(world.instance(GREEN_WRITER).status, "modifying");
    let w = run.wait.clone().unwrap();
    assert_eq!(w.phase, Phase::Provisioning);
    assert!(
        w.pending_tasks.iter().any(|t| t.contains("db.r6g.2xlarge")),
        "{w:?}"
    );

    // Modifying: polled, never modified twice, not ready.
    let run = wait::handle(world.deps(), run, inv_at(630)).await.unwrap();
    assert_eq!(world.with(|s| s.modified.len()), 1);
    assert_eq!(run.wait.as_ref().unwrap().phase, Phase::Provisioning);

    // Done: the class applied, ready on the confirming poll.
    let mut done = aurora_instance(GREEN_WRITER, "16.4");
    done.instance_class = Some("db.r6g.2xlarge".into());
    world.put_instance(done);
    let run = wait::handle(world.deps(), run, inv_at(660)).await.unwrap();
    let run = wait::handle(world.deps(), run, inv_at(675)).await.unwrap();
    assert_eq!(run.wait.unwrap().phase, Phase::Ready);
    assert_eq!(world.with(|s| s.modified.len()), 1);
}
