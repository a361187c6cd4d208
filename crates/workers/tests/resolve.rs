//! `resolve`: a fleet request becomes its databases (the campaign's first state), found with
//! paginated describes whatever the account's size; a single database is refused here (it
//! runs in the upgrade state machine).

mod common;

use bluegreen_domain::fleet::{Next, Outcome, Phase};
use bluegreen_domain::model::execution::ExecutionInfo;
use bluegreen_workers::resolve::{self, Received};
use common::*;
use serde_json::{json, Value};

const UPGRADE_MACHINE: &str =
    "arn:aws:states:us-east-1:123456789012:stateMachine:rds-bluegreen-upgrade";

fn received(input: Value) -> Received {
    Received {
        input,
        execution: ExecutionInfo {
            id: EXECUTION_ARN.into(),
            started_at: Some(rfc(0)),
        },
        upgrade_state_machine: UPGRADE_MACHINE.into(),
    }
}

fn tagged(id: &str, pairs: &[(&str, &str)]) -> bluegreen_domain::model::source::SourceDb {
    let mut db = instance(id, "13.15");
    db.tags.extend(tags(pairs));
    db
}

const WAVE: (&str, &str) = ("bluegreen:wave", "1");
const TARGET: (&str, &str) = ("bluegreen:target-engine-version", "16.4");

/// Five instances in wave 1 (one of them green of a deployment), one in wave 2, one Aurora
/// cluster in wave 1 with its two member instances.
fn fleet_account() -> World {
    let world = World::empty();
    for id in ["a-pg", "b-pg", "c-pg", "d-pg"] {
        world.put_instance(tagged(id, &[WAVE, TARGET]));
    }
    world.put_instance(tagged("z-pg", &[("bluegreen:wave", "2"), TARGET]));
    world.put_instance(tagged(GREEN, &[WAVE, TARGET]));
    world.set_deployment(deployment("AVAILABLE"));
    let mut cluster = aurora_cluster("ledger", "13.12", &["ledger-1", "ledger-2"]);
    cluster.tags.extend(tags(&[WAVE, TARGET]));
    world.put_db(cluster);
    for m in ["ledger-1", "ledger-2"] {
        let mut db = aurora_instance(m, "13.12");
        db.tags.extend(tags(&[WAVE]));
        world.put_instance(db);
    }
    world
}

#[tokio::test]
async fn a_single_database_request_is_refused_without_an_aws_call() {
    let world = fleet_account();
    let input = json!({"db_identifier": DB, "target_engine_version": "16.4", "action": "upgrade"});
    let (name, msg) = err_of(resolve::handle(world.deps(), received(input), inv()).await);
    assert_eq!(name, "InvalidRequest");
    assert_mentions(&msg, &["fleet state machine", "upgrade state machine"]);
    assert!(world.log().is_empty(), "{:?}", world.log());
}

#[tokio::test]
async fn a_fleet_request_selects_by_tag_following_every_page() {
    let world = fleet_account();
    let input = json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "prepare", "max_concurrency": 2});
    let c = resolve::handle(world.deps(), received(input), inv())
        .await
        .unwrap();
    assert_eq!((c.phase, c.next, c.size), (Phase::Upgrade, Next::Wait, 5));
    assert_eq!(c.upgrade_state_machine, UPGRADE_MACHINE);
    let ids: Vec<&str> = c.pending.iter().map(|m| m.db.as_str()).collect();
    assert_eq!(
        ids,
        ["a-pg", "b-pg", "c-pg", "d-pg", "ledger"],
        "no green, no cluster member, no other wave"
    );
    assert!(c.running.is_empty(), "nothing started yet");
    assert_eq!(
        c.pending[4].kind,
        bluegreen_domain::model::db::DbKind::Cluster
    );
    assert_eq!(c.pending[4].position, 5);
    assert!(c.rows.is_empty());
    // One listing of the databases, one of the deployments, whatever the fleet's size (the
    // adapter follows every page: crates/aws); read-only, nothing else.
    assert_eq!(world.log(), ["fleet_candidates", "all_deployments"]);
}

#[tokio::test]
async fn old_blues_are_never_selected_whatever_their_number() {
    // orders-pg was upgraded twice: orders-pg-old1 is tagged as its fallback by verify,
    // orders-pg-old2 is what a switched-over deployment reports; both carry its tags.
    let world = World::empty();
    world.put_instance(tagged(DB, &[WAVE, TARGET]));
    world.put_instance(tagged(
        "orders-pg-old1",
        &[WAVE, TARGET, ("bluegreen:old-blue-of", DB)],
    ));
    world.put_instance(tagged("orders-pg-old2", &[WAVE, TARGET]));
    let mut d = deployment("SWITCHOVER_COMPLETED");
    d.source_arn = arn_of("orders-pg-old2");
    d.switchover_details = vec![detail(
        &arn_of("orders-pg-old2"),
        SOURCE_ARN,
        "SWITCHOVER_COMPLETED",
    )];
    world.set_deployment(d);
    let input = json!({"selector": {"tags": {"bluegreen:wave": "1"}}});
    let c = resolve::handle(world.deps(), received(input), inv())
        .await
        .unwrap();
    let ids: Vec<&str> = c.pending.iter().map(|m| m.db.as_str()).collect();
    assert_eq!(ids, [DB]);
}

#[tokio::test]
async fn a_scheduled_event_takes_only_databases_that_opted_in() {
    let world = World::empty();
    world.put_instance(tagged("a-pg", &[TARGET])); // instance() carries bluegreen:managed=true
    world.put_instance(tagged("b-pg", &[]));
    let mut unmanaged = tagged("c-pg", &[TARGET]);
    unmanaged.tags = tags(&[TARGET]);
    world.put_instance(unmanaged);
    let out = resolve::handle(
        world.deps(),
        received(event("eventbridge-scheduled-event.json")),
        inv(),
    )
    .await
    .unwrap();
    let ids: Vec<&str> = out.pending.iter().map(|m| m.db.as_str()).collect();
    assert_eq!(ids, ["a-pg"]);
    assert_eq!(
        out.request.as_ref().unwrap().request["trigger"],
        json!("schedule")
    );
    assert!(
        out.rows.is_empty(),
        "databases that did not opt in are not reported"
    );
}

#[tokio::test]
async fn a_database_with_a_bad_tag_is_a_failed_row_and_the_rest_go_on() {
    let world = World::empty();
    world.put_instance(tagged(
        "a-pg",
        &[WAVE, TARGET, ("bluegreen:soak-hours", "a day")],
    ));
    world.put_instance(tagged("b-pg", &[WAVE, TARGET]));
    let input = json!({"selector": {"tags": {"bluegreen:wave": "1"}}});
    let out = resolve::handle(world.deps(), received(input), inv())
        .await
        .unwrap();
    assert_eq!(out.pending.len(), 1);
    assert_eq!(out.rows.len(), 1);
    assert_eq!(out.rows[0].outcome, Outcome::Failed);
    assert!(out.rows[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("bluegreen:soak-hours"));
}

#[tokio::test]
async fn throttling_while_listing_is_retryable_and_a_bad_request_is_not() {
    let world = fleet_account();
    world.refuse(
        "fleet_candidates",
        "rds:DescribeDBInstances",
        "Throttling",
        "Rate exceeded",
    );
    let input = json!({"selector": {"tags": {"bluegreen:wave": "1"}}});
    let (name, message) = err_of(resolve::handle(world.deps(), received(input), inv()).await);
    assert_eq!(name, "Throttled", "{message}");
    let (name, message) = err_of(
        resolve::handle(
            world.deps(),
            received(json!({"selector": {"tags": {}}})),
            inv(),
        )
        .await,
    );
    assert_eq!(name, "InvalidRequest");
    assert!(message.contains("at least one tag"), "{message}");
}

#[tokio::test]
async fn a_scheduled_event_from_another_account_is_refused_before_any_read() {
    let world = fleet_account();
    let mut e = event("eventbridge-scheduled-event.json");
    e["account"] = json!("210987654321");
    let (name, msg) = err_of(resolve::handle(world.deps(), received(e), inv()).await);
    assert_eq!(name, "InvalidRequest");
    assert_mentions(&msg, &["210987654321", ACCOUNT]);
    assert!(world.log().is_empty());
}
