//! `tally`: folds a fleet batch into the table and, only when the fleet is done, sends the
//! one closing notification with every row.

mod common;

use bluegreen_domain::fleet::{fleet_request, select, Candidate, FleetRun, Next, Outcome};
use bluegreen_domain::request::DbKind;
use bluegreen_domain::run::{ExecutionInfo, PublishRecord, Route, Run};
use bluegreen_workers::tally;
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A fleet of `n` PostgreSQL databases, two at a time, as Resolve returns it.
fn fleet(n: usize, extra: Value) -> FleetRun {
    let mut input = json!({"selector": {"tags": {"bluegreen:wave": "1"}}, "target_engine_version": "16.4",
                           "action": "prepare", "max_concurrency": 2});
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let request = fleet_request(&input).unwrap().unwrap();
    let candidates: Vec<Candidate> = (0..n)
        .map(|i| Candidate {
            identifier: format!("db-{i}"),
            kind: DbKind::Instance,
            engine: "postgres".into(),
            engine_version: "13.15".into(),
            tags: BTreeMap::from([("bluegreen:wave".to_string(), "1".to_string())]),
            replica_of: None,
            cluster: None,
        })
        .collect();
    let selection = select(&request, &candidates, &BTreeSet::new()).unwrap();
    let execution = ExecutionInfo {
        id: EXECUTION_ARN.into(),
        started_at: Some(rfc(0)),
    };
    FleetRun::fleet(request, selection, execution)
}

/// What the Map state hands back for the current batch: each database prepared.
fn prepared_batch(f: &mut FleetRun) {
    f.batch_results = f
        .batch
        .iter()
        .map(|item| {
            let id = item["input"]["fleet_member"]["db_identifier"]
                .as_str()
                .unwrap();
            let mut run =
                prechecked_run(Route::Prepare, request_with(json!({"action": "prepare"})));
            run.request.as_mut().unwrap().db_identifier = id.into();
            run.source.as_mut().unwrap().identifier = id.into();
            run.published.push(PublishRecord {
                milestone: "prepared".into(),
                ..PublishRecord::default()
            });
            serde_json::to_value(Run {
                fleet: serde_json::from_value(item["fleet"].clone()).ok(),
                ..run
            })
            .unwrap()
        })
        .collect();
}

#[tokio::test]
async fn a_batch_in_the_middle_is_tallied_without_a_notification() {
    let world = World::empty();
    let mut f = fleet(3, json!({}));
    prepared_batch(&mut f);
    let out = tally::handle(world.deps(), f, inv()).await.unwrap();
    assert_eq!(out.next, Next::Batch);
    assert_eq!(out.results.len(), 2);
    assert!(
        out.batch_results.is_empty(),
        "the run documents are folded into rows and dropped"
    );
    assert_eq!(out.batch.len(), 1);
    assert!(world.log().is_empty(), "{:?}", world.log());
}

#[tokio::test]
async fn the_last_batch_sends_one_notification_with_the_whole_table() {
    let world = World::empty();
    let mut f = fleet(3, json!({}));
    prepared_batch(&mut f);
    f = tally::handle(world.deps(), f, inv()).await.unwrap();
    prepared_batch(&mut f);
    let out = tally::handle(world.deps(), f, inv()).await.unwrap();
    assert_eq!(out.next, Next::Done);
    assert!(out.results.iter().all(|r| r.outcome == Outcome::Prepared));
    let sent = world.with(|s| s.published.clone());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic_arn(), Some(TOPIC_ARN));
    assert_eq!(
        sent[0].subject(),
        Some("[rds-bluegreen] fleet (console): 3 databases: 3 prepared")
    );
    let body: Value = serde_json::from_str(sent[0].message().unwrap()).unwrap();
    assert_eq!(body["milestone"], json!("fleet_completed"));
    assert_eq!(body["outcome"], json!("complete"));
    assert_eq!(body["results"].as_array().unwrap().len(), 3);
    assert_eq!(body["results"][0]["version_before"], json!("13.15"));
    assert_eq!(body["selector"]["tags"]["bluegreen:wave"], json!("1"));
    let attrs = sent[0].message_attributes().unwrap();
    assert_eq!(attrs["outcome"].string_value(), Some("complete"));
    assert!(out.published[0].notification_published);
}

#[tokio::test]
async fn a_notification_that_cannot_be_sent_is_recorded_not_raised() {
    let world = World::empty();
    world.fail("Publish", "NotFound", "Topic does not exist");
    let mut f = fleet(1, json!({}));
    prepared_batch(&mut f);
    let out = tally::handle(world.deps(), f, inv()).await.unwrap();
    assert_eq!(out.next, Next::Done);
    assert!(!out.published[0].notification_published);
    assert_mentions(
        &out.published[0].errors[0],
        &["sns:Publish", "Topic does not exist"],
    );
}

#[tokio::test]
async fn a_single_database_run_never_reaches_the_tally() {
    let world = World::empty();
    let single = FleetRun::single(json!({}), ExecutionInfo::default());
    let (name, _) = err_of(tally::handle(world.deps(), single, inv()).await);
    assert_eq!(name, "MalformedRun");
}
