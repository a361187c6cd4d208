//! `campaign`: one step of a fleet reads each running child execution (DescribeExecution),
//! starts the next ones (StartExecution, idempotent by name and input), and at the end sends
//! the closing notification. Step Functions and SNS answer from the in-memory account.

use bluegreen_domain::fleet::{
    fleet_request, select, Campaign, Candidate, ChildRun, ChildStatus, Next, Outcome,
};
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::execution::ExecutionInfo;
use bluegreen_domain::run::Run;
use bluegreen_memory::Memory;
use bluegreen_workers::campaign::{handle, CampaignDeps, CampaignInput};
use bluegreen_workers::runtime::Invocation;
use serde_json::json;
use std::time::{Duration, UNIX_EPOCH};

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:rds-bluegreen-upgrade";
const STACK_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rds-bluegreen";
const FLEET: &str = "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen-fleet:wave-1";

fn deps(s: &Memory) -> CampaignDeps<Memory, Memory> {
    CampaignDeps {
        executions: s.clone(),
        notifier: s.clone(),
        default_topic_arn: Some(STACK_TOPIC.into()),
        grants: Default::default(),
    }
}

fn arn(name: &str) -> String {
    bluegreen_aws::sfn::execution_arn(MACHINE, name)
}

/// The execution names StartExecution was called with, in order (a retry included).
fn starts(s: &Memory) -> Vec<String> {
    s.with(|a| {
        a.log
            .iter()
            .filter(|c| c.op == "start")
            .map(|c| c.arg.clone())
            .collect()
    })
}

fn set_status(s: &Memory, name: &str, status: ChildStatus) {
    s.with(|a| a.executions.get_mut(&arn(name)).unwrap().status = status);
}

fn inv(t: u64) -> Invocation {
    Invocation::new(
        "arn:aws:lambda:us-east-1:123456789012:function:campaign",
        UNIX_EPOCH + Duration::from_secs(1_795_539_900 + t),
    )
}

fn begin(n: usize, concurrency: u32) -> Campaign {
    let r = fleet_request(
        &json!({"selector": {"tags": {"w": "1"}}, "action": "prepare",
                                  "target_engine_version": "16.4", "max_concurrency": concurrency}),
    )
    .unwrap()
    .unwrap();
    let candidates: Vec<Candidate> = (0..n)
        .map(|i| Candidate {
            identifier: format!("db-{i}"),
            kind: DbKind::Instance,
            engine: "postgres".into(),
            engine_version: "13.15".into(),
            tags: [("w".to_string(), "1".to_string())].into(),
            replica_of: None,
            cluster: None,
        })
        .collect();
    Campaign::begin(
        r.clone(),
        select(&r, &candidates, &Default::default()).unwrap(),
        ExecutionInfo {
            id: FLEET.into(),
            started_at: None,
        },
        MACHINE.into(),
    )
}

fn finish(s: &Memory, name: &str, milestone: &str) {
    let out: Run = serde_json::from_value(
        json!({"route": "prepare", "published": [{"milestone": milestone,
        "metric_published": true, "notification_published": true}],
        "request": {"db_identifier": "x", "target_engine_version": "16.4"}}),
    )
    .unwrap();
    set_status(
        s,
        name,
        ChildStatus::Succeeded(Box::new(ChildRun::from(&out))),
    );
}

#[tokio::test]
async fn a_step_starts_the_window_and_then_replaces_each_child_that_ended() {
    let s = Memory::new();
    let c = handle(deps(&s), CampaignInput::Step(begin(3, 2)), inv(0))
        .await
        .unwrap();
    assert_eq!(starts(&s), ["wave-1-u0001", "wave-1-u0002"]);
    let input: serde_json::Value =
        serde_json::from_str(&s.with(|a| a.executions[&arn("wave-1-u0001")].input.clone()))
            .unwrap();
    assert_eq!(input["fleet_member"]["db_identifier"], "db-0");
    assert_eq!(c.next, Next::Wait);

    finish(&s, "wave-1-u0002", "prepared");
    let c = handle(deps(&s), CampaignInput::Step(c), inv(60))
        .await
        .unwrap();
    assert_eq!(starts(&s).last().map(String::as_str), Some("wave-1-u0003"));
    assert_eq!(c.rows.len(), 1);
    assert_eq!(c.rows[0].outcome, Outcome::Prepared);
    assert_eq!(c.rows[0].db_identifier, "db-1");

    // A failed child: its error and message are the row.
    set_status(
        &s,
        "wave-1-u0001",
        ChildStatus::Failed {
            error: "PrecheckFailed".into(),
            cause: json!({"errorType": "PrecheckFailed", "errorMessage": "1 precheck(s) failed for db-0"})
                .to_string(),
        },
    );
    let c = handle(deps(&s), CampaignInput::Step(c), inv(120))
        .await
        .unwrap();
    let failed = c.rows.iter().find(|r| r.db_identifier == "db-0").unwrap();
    assert_eq!(failed.error.as_deref(), Some("PrecheckFailed"));
    assert!(failed
        .detail
        .as_deref()
        .unwrap()
        .contains("1 precheck(s) failed"));
}

#[tokio::test]
async fn a_retried_step_after_a_lost_answer_starts_nothing_twice() {
    let s = Memory::new();
    let first = begin(2, 2);
    handle(deps(&s), CampaignInput::Step(first.clone()), inv(0))
        .await
        .unwrap();
    // The state machine retries the step with the same input (the first answer was lost).
    let again = handle(deps(&s), CampaignInput::Step(first), inv(5))
        .await
        .unwrap();
    assert_eq!(
        s.with(|a| a.executions.len()),
        2,
        "one execution per database"
    );
    assert_eq!(
        starts(&s).len(),
        4,
        "the retry asked again, by the same names"
    );
    assert_eq!(again.running.len(), 2);
    // One that has already ended since: the same name is taken as started (the adapter maps
    // ExecutionAlreadyExists so: crates/aws).
    finish(&s, "wave-1-u0001", "prepared");
    let replay = begin(2, 2);
    let c = handle(deps(&s), CampaignInput::Step(replay), inv(10))
        .await
        .unwrap();
    assert_eq!(c.running.len(), 2);
}

#[tokio::test]
async fn the_report_sends_one_notification_with_the_table() {
    let s = Memory::new();
    let (c, _) = begin(0, 1).step(&[], 0);
    assert_eq!(c.next, Next::Report);
    let c = handle(
        deps(&s),
        CampaignInput::Report {
            report: true,
            campaign: c,
        },
        inv(1),
    )
    .await
    .unwrap();
    let published = s.with(|a| a.published.clone());
    assert_eq!(published.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&published[0].body).unwrap();
    assert_eq!(body["milestone"], "fleet_completed");
    assert_eq!(body["outcome"], "complete");
    assert!(c.published[0].notification_published);
}

#[tokio::test]
async fn the_report_goes_to_the_requests_topic_only_when_the_stack_may_publish_there() {
    let elsewhere = "arn:aws:sns:us-east-1:123456789012:elsewhere";
    let report = |s: &Memory, topics: Vec<String>| {
        let (mut c, _) = begin(0, 1).step(&[], 0);
        c.request
            .as_mut()
            .unwrap()
            .request
            .insert("notification_topic_arn".into(), json!(elsewhere));
        let mut d = deps(s);
        d.grants.topics = topics;
        handle(
            d,
            CampaignInput::Report {
                report: true,
                campaign: c,
            },
            inv(1),
        )
    };
    let s = Memory::new();
    let c = report(&s, vec![STACK_TOPIC.into()]).await.unwrap();
    assert_eq!(s.with(|a| a.published[0].topic_arn.clone()), STACK_TOPIC);
    assert_eq!(
        c.published[0].errors,
        [format!(
            "notification_topic_arn {elsewhere} is not one this stack may publish to (template \
             parameter NotificationTopicArns): published to the stack's topic"
        )]
    );
    // NOTIFICATION_TOPIC_ARNS unset: the request's topic, as before.
    let s = Memory::new();
    let c = report(&s, vec![]).await.unwrap();
    assert_eq!(s.with(|a| a.published[0].topic_arn.clone()), elsewhere);
    assert!(c.published[0].errors.is_empty());
}
