//! `tally`: after each batch of a fleet run, folds the databases' run documents into the
//! result table, stops starting new databases once failures exceed `tolerated_failures`,
//! and picks the next batch. When the fleet is done it sends one closing notification with
//! the whole table (each database has already sent its own and published its metric).

use crate::runtime::{notification_subject, Deps, Invocation, Labelled};
use bluegreen_domain::fleet::{FleetRun, Mode, Next, Row};
use bluegreen_domain::run::{PublishRecord, Run};
use bluegreen_domain::WorkerError;
use serde_json::{json, Value};

impl Labelled for FleetRun {
    fn execution(&self) -> String {
        self.execution.id.clone()
    }
    fn db(&self) -> String {
        "fleet".into()
    }
}

pub async fn handle(
    deps: Deps,
    mut fleet: FleetRun,
    _inv: Invocation,
) -> Result<FleetRun, WorkerError> {
    if fleet.mode != Mode::Fleet {
        return Err(WorkerError::MalformedRun(
            "the tally step runs only for fleet requests: deploy the state machine and the \
             functions from the same release"
                .into(),
        ));
    }
    let finished: Vec<Run> = std::mem::take(&mut fleet.batch_results)
        .into_iter()
        .map(|value| {
            serde_json::from_value(value).unwrap_or_else(|e| Run {
                error: Some(json!({
                    "Error": "MalformedRun",
                    "Cause": format!("a database's run document could not be read ({e})"),
                })),
                ..Run::default()
            })
        })
        .collect();
    fleet.tally(&finished);
    tracing::info!(
        batch = fleet.batches_run,
        failures = fleet.failures,
        next = ?fleet.next,
        "batch tallied"
    );
    if matches!(fleet.next, Next::Done | Next::Incomplete) {
        let record = notify(&deps, &fleet).await;
        fleet.published.push(record);
    }
    Ok(fleet)
}

/// The closing notification: a subject with the counts, the table as the JSON body.
async fn notify(deps: &Deps, fleet: &FleetRun) -> PublishRecord {
    let mut record = PublishRecord {
        milestone: "fleet_completed".into(),
        ..PublishRecord::default()
    };
    let topic = fleet
        .request
        .as_ref()
        .and_then(|r| r.request.get("notification_topic_arn"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let (subject, body) = notification(fleet);
    let attributes = [
        ("milestone", "fleet_completed"),
        ("outcome", body["outcome"].as_str().unwrap_or_default()),
        ("db_identifier", "fleet"),
    ];
    deps.notify(topic, &subject, &body, &attributes, &mut record)
        .await;
    record
}

pub fn notification(fleet: &FleetRun) -> (String, Value) {
    let trigger = fleet.trigger();
    let subject = notification_subject(&format!(
        "[rds-bluegreen] fleet ({}): {}",
        trigger.as_str(),
        fleet.headline()
    ));
    let body = json!({
        "milestone": "fleet_completed",
        "outcome": if fleet.next == Next::Done { "complete" } else { "incomplete" },
        "execution": fleet.execution.id,
        "trigger": trigger,
        "selector": fleet.request.as_ref().map(|r| &r.selector),
        "summary": fleet.summary,
        "results": fleet.results.iter().collect::<Vec<&Row>>(),
    });
    (subject, body)
}
