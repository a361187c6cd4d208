//! The run's logic around green on the in-memory account: green's read replicas brought to
//! the requested class before the switchover (AWS sizes only green's primary), a green loading
//! its data (storage initialization) waited for without counting it against
//! `max_provisioning_minutes`, and a deployment whose switchover RDS rolled back switched over
//! again by a later run.

mod common;

use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::deployment::Phase;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::source::{Replica, SourceDb};
use bluegreen_domain::run::Run;
use bluegreen_domain::switchover::SwitchoverRecord;
use bluegreen_domain::wait::WaitState;
use bluegreen_workers::{create, switchover, verify, wait};
use common::*;
use serde_json::json;

const GREEN_REPLICA: &str = "orders-pg-r1-green-q7w8e9";
const CLASS: &str = "db.r6g.xlarge";

fn green_replica_arn() -> String {
    arn_of(GREEN_REPLICA)
}

/// Green built with one read replica: the primary on the requested class (AWS applied
/// `TargetDBInstanceClass`), the replica on blue's replica's class.
fn green_with_a_replica() -> World {
    let world = World::orders_pg();
    let mut d = deployment("AVAILABLE");
    d.switchover_details.push(detail(
        &arn_of("orders-pg-r1"),
        &green_replica_arn(),
        "AVAILABLE",
    ));
    world.set_deployment(d);
    let mut green = green_instance("available");
    green.instance_class = Some(CLASS.into());
    world.put_instance(green);
    let mut r = instance(GREEN_REPLICA, "16.4");
    r.replica_source = Some(GREEN.into());
    world.put_instance(r);
    world
}

fn upgrade_with_class() -> Run {
    let mut run = run_with_deployment(
        Route::Upgrade,
        request_with(json!({"target_db_instance_class": CLASS})),
        "AVAILABLE",
    );
    run.plan.as_mut().unwrap().target_db_instance_class = Some(CLASS.into());
    run
}

// ---------------------------------------------------------------- 2. green's read replicas

#[tokio::test]
async fn green_read_replicas_are_resized_to_the_requested_class_before_green_counts_as_ready() {
    let world = green_with_a_replica();
    let run = wait::handle(world.deps(), upgrade_with_class(), inv_at(600))
        .await
        .unwrap();
    assert_eq!(
        world.with(|s| s.modified.clone()),
        [Modification::InstanceClass {
            instance: GREEN_REPLICA.into(),
            class: CLASS.into()
        }],
        "the replica only: the primary already runs the class"
    );
    let w = run.wait.clone().unwrap();
    assert_eq!(w.phase, Phase::Provisioning);
    assert_eq!(
        w.pending_tasks,
        [format!("resizing {GREEN_REPLICA} to run {CLASS}")]
    );

    // Modifying: not modified twice, not ready.
    let run = wait::handle(world.deps(), run, inv_at(630)).await.unwrap();
    assert_eq!(world.with(|s| s.modified.len()), 1);
    assert_eq!(run.wait.as_ref().unwrap().phase, Phase::Provisioning);

    // The class applied and `available`: ready on the confirming poll.
    world.with(|a| {
        let r = a.db_mut(DbKind::Instance, GREEN_REPLICA).unwrap();
        r.instance_class = Some(CLASS.into());
        r.status = "available".into();
        a.pending_class.clear();
    });
    let run = wait::handle(world.deps(), run, inv_at(660)).await.unwrap();
    let run = wait::handle(world.deps(), run, inv_at(675)).await.unwrap();
    assert_eq!(run.wait.unwrap().phase, Phase::Ready);
    assert_eq!(world.with(|s| s.modified.len()), 1);
}

#[tokio::test]
async fn without_a_requested_class_green_replicas_are_left_alone() {
    let world = green_with_a_replica();
    let mut run = run_with_deployment(Route::Upgrade, request_with(json!({})), "AVAILABLE");
    run.wait = Some(WaitState {
        consecutive_ready: 1,
        ..WaitState::default()
    });
    let run = wait::handle(world.deps(), run, inv_at(600)).await.unwrap();
    assert_eq!(run.wait.unwrap().phase, Phase::Ready);
    assert!(world.mutations().is_empty());
}

/// After the switchover: production's replicas must run the class the request named.
fn switched_with_a_replica(replica_class: &str) -> (World, Run) {
    let world = World::switched_over();
    world.with(|a| {
        a.db_mut(DbKind::Instance, DB).unwrap().read_replicas = vec!["orders-pg-r1".into()];
        a.db_mut(DbKind::Instance, DB).unwrap().instance_class = Some(CLASS.into());
        a.db_mut(DbKind::Instance, OLD_BLUE).unwrap().read_replicas =
            vec!["orders-pg-r1-old1".into()];
    });
    let mut new = instance("orders-pg-r1", "16.4");
    new.replica_source = Some(DB.into());
    new.instance_class = Some(replica_class.into());
    new.resource_id = Some("db-GREENR1".into());
    world.put_db(new);
    let mut old = instance("orders-pg-r1-old1", "13.15");
    old.replica_source = Some(OLD_BLUE.into());
    old.resource_id = Some("db-BLUER1".into());
    world.put_db(old);
    let mut run = run_with_deployment(
        Route::Upgrade,
        request_with(json!({"target_db_instance_class": CLASS})),
        "SWITCHOVER_IN_PROGRESS",
    );
    run.switchover = Some(SwitchoverRecord {
        requested_at: rfc(4100),
        timeout_seconds: 300,
        already_started: false,
    });
    let source = run.source.as_mut().unwrap();
    source.read_replicas = vec!["orders-pg-r1".into()];
    let mut blue_replica: SourceDb = instance("orders-pg-r1", "13.15");
    blue_replica.replica_source = Some(DB.into());
    blue_replica.resource_id = Some("db-BLUER1".into());
    source
        .topology
        .replicas
        .push(Replica::from_db(&blue_replica, Some("us-east-1")));
    (world, run)
}

#[tokio::test]
async fn verify_requires_production_replicas_on_the_requested_class() {
    let (world, run) = switched_with_a_replica("db.r6g.large");
    let (name, msg) = err_of(verify::handle(world.deps(), run, inv_at(4200)).await);
    assert_eq!(name, "VerificationFailed");
    assert_mentions(
        &msg,
        &[
            "replica orders-pg-r1 runs db.r6g.large, not the requested db.r6g.xlarge",
            "aws rds modify-db-instance --db-instance-identifier orders-pg-r1",
        ],
    );
    let (world, run) = switched_with_a_replica(CLASS);
    verify::handle(world.deps(), run, inv_at(4200))
        .await
        .unwrap();
}

// ---------------------------------------------------------------- 4. loading its data

fn loading_green(percent: Option<f64>) -> World {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    world.put_instance(green_instance("storage-initialization"));
    world.with(|a| match percent {
        Some(p) => {
            a.percent_progress.insert(GREEN.into(), p);
        }
        None => {
            a.percent_progress.remove(GREEN);
        }
    });
    world
}

fn set_percent(world: &World, percent: f64) {
    world.with(|a| a.percent_progress.insert(GREEN.into(), percent));
}

/// Green requested at t = 60, bound 10 minutes; loading from t = 600 for four hours.
#[tokio::test]
async fn a_green_loading_for_longer_than_max_provisioning_minutes_is_waited_for_while_it_rises() {
    let world = loading_green(Some(1.0));
    let mut run = run_with_deployment(
        Route::Upgrade,
        request_with(json!({"max_provisioning_minutes": 10})),
        "AVAILABLE",
    );
    let mut t = 600;
    for step in 0..48u32 {
        set_percent(&world, f64::from(step * 2 + 1));
        run = wait::handle(world.deps(), run, inv_at(t))
            .await
            .unwrap_or_else(|e| panic!("poll at {t}: {e}"));
        let w = run.wait.as_ref().unwrap();
        assert_eq!(w.phase, Phase::Provisioning);
        assert_eq!(w.next_delay_seconds, 300);
        assert_eq!(
            w.pending_tasks,
            [format!(
                "loading data: {GREEN} storage-initialization {}%",
                step * 2 + 1
            )]
        );
        t += 300;
    }
    assert!(!run.timeline.contains_key("green_ready"));
    assert!(
        world.mutations().is_empty(),
        "never deleted, never switched"
    );
    // Loaded: ready on the confirming poll, four hours after a 10-minute bound.
    world.put_instance(green_instance("available"));
    world.with(|a| a.percent_progress.clear());
    let run = wait::handle(world.deps(), run, inv_at(t)).await.unwrap();
    let run = wait::handle(world.deps(), run, inv_at(t + 15))
        .await
        .unwrap();
    let w = run.wait.unwrap();
    assert_eq!(w.phase, Phase::Ready);
    assert!(w.loading.is_empty());
    assert!(w.loading_seconds >= 47 * 300, "{w:?}");
}

#[tokio::test]
async fn a_load_whose_percentage_stops_rising_for_the_bound_fails_keeping_green() {
    let world = loading_green(Some(37.0));
    let mut run = run_with_deployment(
        Route::Upgrade,
        request_with(json!({"max_provisioning_minutes": 10})),
        "AVAILABLE",
    );
    for t in [600, 900] {
        run = wait::handle(world.deps(), run, inv_at(t)).await.unwrap();
    }
    let (name, msg) = err_of(wait::handle(world.deps(), run, inv_at(1250)).await);
    assert_eq!(
        name, "GuardrailViolated",
        "not a build failure: green is kept"
    );
    assert_mentions(
        &msg,
        &[
            GREEN,
            "storage-initialization",
            "at 37% with no progress for 10 minutes",
            "Green is kept",
            "`switchover`",
            "`abort`",
        ],
    );
    assert!(world.mutations().is_empty());
}

// ---------------------------------------------------------------- 11. SWITCHOVER_FAILED

fn rolled_back() -> World {
    let world = World::orders_pg();
    let mut d = deployment("SWITCHOVER_FAILED");
    d.status_details = Some("Switchover failed: ... All changes were rolled back.".into());
    world.set_deployment(d);
    world.put_instance(green_instance("available"));
    world
}

#[tokio::test]
async fn a_rolled_back_deployment_is_adopted_waited_for_and_switched_over_again() {
    let world = rolled_back();
    // A new `switchover` (or `upgrade`) run: create adopts it...
    let run = prechecked_run(
        Route::Switchover,
        request_with(json!({"action": "switchover"})),
    );
    let run = create::handle(world.deps(), run, inv_at(60)).await.unwrap();
    assert!(world.with(|s| s.created.is_empty()));
    assert_eq!(run.deployment.as_ref().unwrap().status, "SWITCHOVER_FAILED");
    // ...the wait finds green ready...
    let run = wait::handle(world.deps(), run, inv_at(75)).await.unwrap();
    let run = wait::handle(world.deps(), run, inv_at(90)).await.unwrap();
    assert_eq!(run.wait.as_ref().unwrap().phase, Phase::Ready);
    // ...and the switchover is requested again.
    let run = switchover::handle(world.deps(), run, inv_at(100))
        .await
        .unwrap();
    assert_eq!(
        world.with(|s| s.switchovers.clone()),
        [(DEPLOYMENT_ID.to_string(), 300)]
    );
    let w = run.wait.as_ref().unwrap();
    assert_eq!(
        (w.phase, w.status.as_str()),
        (Phase::Switching, "SWITCHOVER_FAILED")
    );
    let run = wait::handle(world.deps(), run, inv_at(120)).await.unwrap();
    assert_eq!(run.wait.as_ref().unwrap().phase, Phase::Switching);
}

#[tokio::test]
async fn a_switchover_that_fails_in_this_run_names_the_action_that_works() {
    let world = rolled_back();
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
    run.wait = Some(WaitState {
        polls: 1,
        ..WaitState::start(Phase::Switching, 20, "SWITCHOVER_IN_PROGRESS")
    });
    let (name, msg) = err_of(wait::handle(world.deps(), run, inv_at(4140)).await);
    assert_eq!(name, "SwitchoverFailed");
    assert_mentions(
        &msg,
        &[
            "rolled the switchover back",
            "green is intact and kept",
            "run action `switchover` again (it switches over this same deployment)",
        ],
    );
}
