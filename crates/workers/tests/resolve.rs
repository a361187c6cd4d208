//! `resolve`: one database passes through untouched (no AWS call); a fleet request becomes
//! its databases, found with paginated describes whatever the account's size.

mod common;

use bluegreen_domain::fleet::{Mode, Next, Outcome};
use bluegreen_domain::run::ExecutionInfo;
use bluegreen_workers::resolve::{self, Received};
use common::*;
use serde_json::{json, Value};

fn received(input: Value) -> Received {
    Received {
        input,
        execution: ExecutionInfo {
            id: EXECUTION_ARN.into(),
            started_at: Some(rfc(0)),
        },
    }
}

fn tagged(id: &str, tags: &[(&str, &str)]) -> aws_sdk_rds::types::DbInstance {
    let mut db = instance(id, "13.15");
    for (k, v) in tags {
        db.tag_list.get_or_insert_with(Vec::new).push(tag(k, v));
    }
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
    cluster
        .tag_list
        .get_or_insert_with(Vec::new)
        .extend([tag(WAVE.0, WAVE.1), tag(TARGET.0, TARGET.1)]);
    world.with(|s| s.clusters.insert("ledger".into(), cluster));
    for m in ["ledger-1", "ledger-2"] {
        let mut db = aurora_instance(m, "ledger", "13.12");
        db.tag_list
            .get_or_insert_with(Vec::new)
            .push(tag(WAVE.0, WAVE.1));
        world.put_instance(db);
    }
    world
}

#[tokio::test]
async fn a_single_database_request_passes_through_without_an_aws_call() {
    let world = fleet_account();
    let input = json!({"db_identifier": DB, "target_engine_version": "16.4", "action": "upgrade"});
    let out = resolve::handle(world.deps(), received(input.clone()), inv())
        .await
        .unwrap();
    assert_eq!(out.mode, Mode::Single);
    assert_eq!(out.batch.len(), 1);
    assert_eq!(out.batch[0]["input"], input);
    assert_eq!(out.batch[0]["execution"]["id"], json!(EXECUTION_ARN));
    assert!(world.log().is_empty(), "{:?}", world.log());
    // Garbage is the precheck's to refuse, with the failure path: passed on as well.
    let out = resolve::handle(world.deps(), received(json!([1, 2])), inv())
        .await
        .unwrap();
    assert_eq!(out.mode, Mode::Single);
}

#[tokio::test]
async fn a_fleet_request_selects_by_tag_following_every_page() {
    let world = fleet_account();
    let input = json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "prepare", "max_concurrency": 2});
    let out = resolve::handle(world.deps(), received(input), inv())
        .await
        .unwrap();
    assert_eq!(
        (out.mode, out.next, out.max_concurrency),
        (Mode::Fleet, Next::Batch, 2)
    );
    let ids: Vec<&str> = out
        .batch
        .iter()
        .chain(&out.pending)
        .map(|i| {
            i["input"]["fleet_member"]["db_identifier"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        ["a-pg", "b-pg", "c-pg", "d-pg", "ledger"],
        "no green, no cluster member, no other wave"
    );
    assert_eq!(out.batch.len(), 2);
    assert_eq!(
        out.batch[0]["input"]["fleet_member"]["request"]["action"],
        json!("prepare")
    );
    assert_eq!(
        out.pending[2]["input"]["fleet_member"]["kind"],
        json!("cluster")
    );
    assert_eq!(out.pending[2]["fleet"], json!({"position": 5, "size": 5}));
    assert!(out.results.is_empty());
    // 8 instances in pages of two: 4 calls; 1 cluster: 1 call; every deployment: 1 call.
    assert_eq!(world.calls("DescribeDBInstances").len(), 4);
    assert_eq!(world.calls("DescribeDBClusters").len(), 1);
    assert_eq!(world.calls("DescribeBlueGreenDeployments").len(), 1);
    assert_eq!(
        world.log().len(),
        6,
        "read-only, nothing else: {:?}",
        world.log()
    );
}

#[tokio::test]
async fn a_scheduled_event_takes_only_databases_that_opted_in() {
    let world = World::empty();
    world.put_instance(tagged("a-pg", &[TARGET])); // instance() carries bluegreen:managed=true
    world.put_instance(tagged("b-pg", &[]));
    let mut unmanaged = tagged("c-pg", &[TARGET]);
    unmanaged.tag_list = Some(vec![tag(TARGET.0, TARGET.1)]);
    world.put_instance(unmanaged);
    let out = resolve::handle(
        world.deps(),
        received(event("eventbridge-scheduled-event.json")),
        inv(),
    )
    .await
    .unwrap();
    let ids: Vec<&str> = out
        .batch
        .iter()
        .map(|i| {
            i["input"]["fleet_member"]["db_identifier"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, ["a-pg"]);
    assert_eq!(
        out.batch[0]["input"]["fleet_member"]["request"]["trigger"],
        json!("schedule")
    );
    assert!(
        out.results.is_empty(),
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
    assert_eq!(out.batch.len(), 1);
    assert_eq!(out.results.len(), 1);
    assert_eq!(out.results[0].outcome, Outcome::Failed);
    assert!(out.results[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("bluegreen:soak-hours"));
}

#[tokio::test]
async fn throttling_while_listing_is_retryable_and_a_bad_request_is_not() {
    let world = fleet_account();
    world.fail("DescribeDBInstances", "Throttling", "Rate exceeded");
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
