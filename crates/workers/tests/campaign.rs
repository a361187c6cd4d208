//! `campaign`: one step of a fleet reads each running child execution (DescribeExecution),
//! starts the next ones (StartExecution, idempotent by name and input), and at the end sends
//! the closing notification. Step Functions and SNS answer from a small fake.

use aws_sdk_sfn::operation::describe_execution::{DescribeExecutionError, DescribeExecutionOutput};
use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::DateTime;
use bluegreen_aws::{Executions, Notifier};
use bluegreen_domain::fleet::{fleet_request, select, Campaign, Candidate, Next, Outcome};
use bluegreen_domain::request::DbKind;
use bluegreen_domain::run::ExecutionInfo;
use bluegreen_workers::campaign::{handle, CampaignDeps, CampaignInput};
use bluegreen_workers::runtime::Invocation;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:rds-bluegreen-upgrade";
const FLEET: &str = "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen-fleet:wave-1";

#[derive(Default)]
struct Sfn {
    /// Execution name -> (input, status, output or (error, cause)).
    executions: BTreeMap<String, (String, ExecutionStatus, String)>,
    starts: Vec<String>,
    published: Vec<String>,
}

type Shared = Arc<Mutex<Sfn>>;

fn deps(s: &Shared) -> CampaignDeps {
    let (a, b) = (s.clone(), s.clone());
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_compute_response(move |req| {
        let mut st = a.lock().unwrap();
        let name = req.name().unwrap().to_string();
        let input = req.input().unwrap().to_string();
        st.starts.push(name.clone());
        let arn = format!(
            "{}:{name}",
            MACHINE.replace(":stateMachine:", ":execution:")
        );
        match st.executions.get(&name) {
            // As Step Functions: the same name and input of a running execution is that
            // execution; anything else under the same name is refused.
            Some((i, ExecutionStatus::Running, _)) if *i == input => {}
            Some(_) => {
                return MockResponse::Error(StartExecutionError::generic(
                    ErrorMetadata::builder()
                        .code("ExecutionAlreadyExists")
                        .message("Execution Already Exists")
                        .build(),
                ))
            }
            None => {
                st.executions
                    .insert(name, (input, ExecutionStatus::Running, String::new()));
            }
        }
        MockResponse::Output(
            StartExecutionOutput::builder()
                .execution_arn(arn)
                .start_date(DateTime::from_secs(0))
                .build()
                .unwrap(),
        )
    });
    let describe =
        mock!(aws_sdk_sfn::Client::describe_execution).then_compute_response(move |req| {
            let st = b.lock().unwrap();
            let arn = req.execution_arn().unwrap();
            let name = arn.rsplit(':').next().unwrap();
            let Some((input, status, out)) = st.executions.get(name) else {
                return MockResponse::Error(DescribeExecutionError::generic(
                    ErrorMetadata::builder()
                        .code("ExecutionDoesNotExist")
                        .build(),
                ));
            };
            let mut o = DescribeExecutionOutput::builder()
                .execution_arn(arn)
                .state_machine_arn(MACHINE)
                .status(status.clone())
                .start_date(DateTime::from_secs(0))
                .input(input);
            o = match status {
                ExecutionStatus::Succeeded => o.output(out),
                ExecutionStatus::Failed => {
                    let (e, c) = out.split_once('|').unwrap();
                    o.error(e).cause(c)
                }
                _ => o,
            };
            MockResponse::Output(o.build().unwrap())
        });
    let c = s.clone();
    let publish = mock!(aws_sdk_sns::Client::publish).then_compute_response(move |req| {
        c.lock()
            .unwrap()
            .published
            .push(req.message().unwrap().to_string());
        MockResponse::Output(PublishOutput::builder().message_id("m-1").build())
    });
    CampaignDeps {
        executions: Executions::new(mock_client!(
            aws_sdk_sfn,
            RuleMode::MatchAny,
            [&start, &describe]
        )),
        notifier: Notifier::new(mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish])),
        default_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:rds-bluegreen".into()),
    }
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

fn finish(s: &Shared, name: &str, milestone: &str) {
    let out = json!({"route": "prepare", "published": [{"milestone": milestone,
        "metric_published": true, "notification_published": true}],
        "request": {"db_identifier": "x", "target_engine_version": "16.4"}})
    .to_string();
    let mut st = s.lock().unwrap();
    let e = st.executions.get_mut(name).unwrap();
    e.1 = ExecutionStatus::Succeeded;
    e.2 = out;
}

#[tokio::test]
async fn a_step_starts_the_window_and_then_replaces_each_child_that_ended() {
    let s = Shared::default();
    let c = handle(deps(&s), CampaignInput::Step(begin(3, 2)), inv(0))
        .await
        .unwrap();
    assert_eq!(s.lock().unwrap().starts, ["wave-1-u0001", "wave-1-u0002"]);
    let input: serde_json::Value =
        serde_json::from_str(&s.lock().unwrap().executions["wave-1-u0001"].0).unwrap();
    assert_eq!(input["fleet_member"]["db_identifier"], "db-0");
    assert_eq!(c.next, Next::Wait);

    finish(&s, "wave-1-u0002", "prepared");
    let c = handle(deps(&s), CampaignInput::Step(c), inv(60))
        .await
        .unwrap();
    assert_eq!(
        s.lock().unwrap().starts.last().map(String::as_str),
        Some("wave-1-u0003")
    );
    assert_eq!(c.rows.len(), 1);
    assert_eq!(c.rows[0].outcome, Outcome::Prepared);
    assert_eq!(c.rows[0].db_identifier, "db-1");

    // A failed child: its error and message are the row.
    {
        let mut st = s.lock().unwrap();
        let e = st.executions.get_mut("wave-1-u0001").unwrap();
        e.1 = ExecutionStatus::Failed;
        e.2 = format!(
            "PrecheckFailed|{}",
            json!({"errorType": "PrecheckFailed", "errorMessage": "1 precheck(s) failed for db-0"})
        );
    }
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
    let s = Shared::default();
    let first = begin(2, 2);
    handle(deps(&s), CampaignInput::Step(first.clone()), inv(0))
        .await
        .unwrap();
    // The state machine retries the step with the same input (the first answer was lost).
    let again = handle(deps(&s), CampaignInput::Step(first), inv(5))
        .await
        .unwrap();
    assert_eq!(
        s.lock().unwrap().executions.len(),
        2,
        "one execution per database"
    );
    assert_eq!(again.running.len(), 2);
    // One that has already ended since: ExecutionAlreadyExists is taken as started.
    finish(&s, "wave-1-u0001", "prepared");
    let replay = begin(2, 2);
    let c = handle(deps(&s), CampaignInput::Step(replay), inv(10))
        .await
        .unwrap();
    assert_eq!(c.running.len(), 2);
}

#[tokio::test]
async fn the_report_sends_one_notification_with_the_table() {
    let s = Shared::default();
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
    let published = s.lock().unwrap().published.clone();
    assert_eq!(published.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&published[0]).unwrap();
    assert_eq!(body["milestone"], "fleet_completed");
    assert_eq!(body["outcome"], "complete");
    assert!(c.published[0].notification_published);
}
