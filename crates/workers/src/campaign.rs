//! `campaign`: one step of a fleet. Reads how each running child execution stands
//! (DescribeExecution), lets `Campaign::step` fold in the ended ones and pick what starts
//! next, and starts those (StartExecution, idempotent by name and input). With
//! `{"report": true, "campaign": ...}` it sends the fleet's closing notification instead.

use crate::runtime::{
    notification_subject, notify, now_epoch, publish_topic, Invocation, Labelled,
};
use bluegreen_aws::sfn::execution_arn;
use bluegreen_aws::{Executions, ExecutionsApi, Notifier, NotifyApi};
use bluegreen_domain::fleet::{Campaign, ChildStatus, Next};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::execution::ExecutionInfo;
use bluegreen_domain::model::grants::StackGrants;
use bluegreen_domain::model::milestone::PublishRecord;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The clients the campaign uses: Step Functions and SNS, nothing else (the SDK adapters in
/// the function, an in-memory account in tests).
#[derive(Clone, Debug)]
pub struct CampaignDeps<E: ExecutionsApi = Executions, N: NotifyApi = Notifier> {
    pub executions: E,
    pub notifier: N,
    pub default_topic_arn: Option<String>,
    /// `topics`: where the stack may publish (`NOTIFICATION_TOPIC_ARNS`; empty: any).
    pub grants: StackGrants,
}

impl CampaignDeps {
    pub fn from_conf(
        conf: &bluegreen_aws::SdkConfig,
        default_topic_arn: Option<String>,
        grants: StackGrants,
    ) -> Self {
        Self {
            executions: Executions::from_conf(conf),
            notifier: Notifier::from_conf(conf),
            default_topic_arn,
            grants,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CampaignInput {
    /// The closing notification.
    Report {
        report: bool,
        campaign: Campaign,
    },
    /// A campaign continued from an earlier fleet execution, in `execution`.
    Continue {
        continued: Campaign,
        execution: ExecutionInfo,
    },
    Step(Campaign),
}

impl Labelled for CampaignInput {
    fn execution(&self) -> String {
        match self {
            Self::Report { campaign, .. } | Self::Step(campaign) => campaign.execution.id.clone(),
            Self::Continue { execution, .. } => execution.id.clone(),
        }
    }
    fn db(&self) -> String {
        "fleet".into()
    }
}

pub async fn handle<E: ExecutionsApi, N: NotifyApi>(
    deps: CampaignDeps<E, N>,
    input: CampaignInput,
    inv: Invocation,
) -> Result<Campaign, WorkerError> {
    let campaign = match input {
        CampaignInput::Report { campaign, .. } => return Ok(report(&deps, campaign).await),
        CampaignInput::Continue {
            continued,
            execution,
        } => continued.continued(execution),
        CampaignInput::Step(campaign) => campaign,
    };
    if campaign.upgrade_state_machine.is_empty() {
        return Err(WorkerError::MalformedRun(
            "the fleet's state names no per-database state machine: deploy the state machines \
             and the functions from the same release"
                .into(),
        ));
    }
    let mut statuses = Vec::new();
    for child in &campaign.running {
        let arn = execution_arn(&campaign.upgrade_state_machine, &child.name);
        statuses.push((child.name.clone(), deps.executions.status(&arn).await?));
    }
    let machine = campaign.upgrade_state_machine.clone();
    let (campaign, starts) = campaign.step(&statuses, now_epoch(&inv));
    for start in &starts {
        let arn = deps
            .executions
            .start(&machine, &start.name, &start.input.to_string())
            .await?;
        tracing::info!(child = %arn, "database execution started");
    }
    let ended = statuses
        .iter()
        .filter(|(_, s)| !matches!(s, ChildStatus::Running))
        .count();
    tracing::info!(
        phase = ?campaign.phase,
        next = ?campaign.next,
        running = campaign.running.len(),
        pending = campaign.pending.len(),
        ended,
        started = starts.len(),
        "campaign step"
    );
    Ok(campaign)
}

/// The closing notification: the counts in the subject, the table as the JSON body.
async fn report<E: ExecutionsApi, N: NotifyApi>(
    deps: &CampaignDeps<E, N>,
    mut campaign: Campaign,
) -> Campaign {
    let mut record = PublishRecord {
        milestone: "fleet_completed".into(),
        ..PublishRecord::default()
    };
    let requested = campaign
        .request
        .as_ref()
        .and_then(|r| r.request.get("notification_topic_arn"))
        .and_then(Value::as_str);
    let topic = publish_topic(
        requested,
        &deps.grants,
        deps.default_topic_arn.as_deref(),
        &mut record,
    );
    let (subject, body) = notification(&campaign);
    let attributes = [
        ("milestone", "fleet_completed"),
        ("outcome", body["outcome"].as_str().unwrap_or_default()),
        ("db_identifier", "fleet"),
    ];
    notify(
        &deps.notifier,
        topic,
        &subject,
        &body,
        &attributes,
        &mut record,
    )
    .await;
    campaign.published.push(record);
    campaign
}

pub fn notification(campaign: &Campaign) -> (String, Value) {
    let trigger = campaign.trigger();
    let subject = notification_subject(&format!(
        "[rds-bluegreen] fleet ({}): {}",
        trigger.as_str(),
        campaign.headline()
    ));
    let complete = campaign.next == Next::Report && campaign.error.is_none();
    let body = json!({
        "milestone": "fleet_completed",
        "outcome": if complete { "complete" } else { "incomplete" },
        "execution": campaign.execution.id,
        "trigger": trigger,
        "selector": campaign.request.as_ref().map(|r| &r.selector),
        "summary": campaign.summary,
        "results": campaign.rows,
    });
    (subject, body)
}
