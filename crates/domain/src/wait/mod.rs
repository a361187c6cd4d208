//! The wait for green: what one poll of the deployment means for the run, and when the next
//! one comes (`next_delay`). "Ready to switch" is the deployment AVAILABLE, every task
//! COMPLETED, every switchover detail AVAILABLE and every green member `available`
//! (`DeploymentView::phase`), seen on `READY_POLLS_REQUIRED` polls in a row (RDS is eventually
//! consistent), and, when the request names an instance class for an Aurora green, every green
//! instance running it. Green must be ready within `max_provisioning_minutes`.

use crate::model::db::DbKind;
use crate::model::deployment::{DeploymentView, MemberStatus, Phase};
use crate::model::error::WorkerError;
use crate::model::limits::MAX_POLLS_FOR_SWITCHOVER_TO_START;
use crate::model::names::parse_rds_arn;
use crate::model::schedule::{BUILD_DELAY, SHORT_DELAY, SWITCHOVER_DELAY};
use serde::{Deserialize, Serialize};

/// The number of "ready" observations in a row before green counts as ready.
pub const READY_POLLS_REQUIRED: u32 = 2;

/// Where the wait stands after each poll (`Run::wait`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitState {
    pub phase: Phase,
    pub polls: u32,
    pub consecutive_ready: u32,
    pub next_delay_seconds: u32,
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_tasks: Vec<String>,
}

pub struct PollFacts<'a> {
    pub db: &'a str,
    pub view: &'a DeploymentView,
    /// Green's members as DescribeDBInstances / DescribeDBClusters report them.
    pub members: &'a [MemberStatus],
    pub previous: Option<&'a WaitState>,
    /// A switchover has been requested by this run.
    pub switchover_requested: bool,
    pub seconds_since_create: u64,
    pub max_provisioning_minutes: u32,
    /// Aurora: the class green's instances must run before the switchover.
    pub green_instance_class: Option<&'a str>,
}

/// What the poll means.
#[derive(Debug, Clone, PartialEq)]
pub struct PollOutcome {
    pub state: WaitState,
    /// Green instances to modify to `green_instance_class` now (ApplyImmediately).
    pub resize: Vec<String>,
    /// Timeline marks this poll reached (`green_ready`, `switchover_completed`).
    pub marks: Vec<&'static str>,
}

pub fn observe(f: PollFacts<'_>) -> Result<PollOutcome, WorkerError> {
    let mut observed = f.view.phase(f.members)?;
    let mut resize = Vec::new();
    let mut waiting_for = Vec::new();
    if observed == Phase::Ready && !f.switchover_requested {
        if let Some(class) = f.green_instance_class {
            for m in f.members {
                let Some((DbKind::Instance, name)) = parse_rds_arn(&m.arn) else {
                    continue;
                };
                if m.instance_class.as_deref() == Some(class) {
                    continue;
                }
                if m.pending_instance_class.as_deref() != Some(class)
                    && m.status.eq_ignore_ascii_case("available")
                {
                    resize.push(name.to_string());
                }
                waiting_for.push(format!("{name} to run {class}"));
            }
            if !waiting_for.is_empty() {
                observed = Phase::Provisioning;
            }
        }
    }
    let previous = f.previous;
    let polls = previous.map_or(0, |w| w.polls) + 1;
    let consecutive_ready = if observed == Phase::Ready {
        previous.map_or(0, |w| w.consecutive_ready) + 1
    } else {
        0
    };
    let mut phase = if observed == Phase::Ready && consecutive_ready < READY_POLLS_REQUIRED {
        Phase::Provisioning
    } else {
        observed
    };
    // Right after a switchover request RDS may still say AVAILABLE: that is "switching",
    // never "ready" again (which would ask for a second switchover).
    if f.switchover_requested && matches!(phase, Phase::Ready | Phase::Provisioning) {
        if polls > MAX_POLLS_FOR_SWITCHOVER_TO_START {
            return Err(WorkerError::SwitchoverFailed(format!(
                "RDS has not started the switchover of {} after {polls} polls (status {}): blue \
                 is still production; check the deployment's events, then run action \
                 `switchover` again",
                f.view.name, f.view.status
            )));
        }
        phase = Phase::Switching;
    }
    // A green seen ready on this poll only awaits its confirming poll: not a timeout.
    if phase == Phase::Provisioning
        && observed != Phase::Ready
        && f.seconds_since_create > u64::from(f.max_provisioning_minutes) * 60
    {
        return Err(WorkerError::ProvisioningTimedOut(format!(
            "green for {} has not been ready after {} minutes (max_provisioning_minutes = {}; \
             status {}{}). The failure path deletes this unswitched green; raise \
             max_provisioning_minutes for a large database and run again",
            f.db,
            f.seconds_since_create / 60,
            f.max_provisioning_minutes,
            f.view.status,
            if waiting_for.is_empty() {
                String::new()
            } else {
                format!("; waiting for {}", waiting_for.join(", "))
            }
        )));
    }
    let mut marks = Vec::new();
    match phase {
        Phase::Ready => marks.push("green_ready"),
        Phase::Switched => marks.push("switchover_completed"),
        _ => {}
    }
    let delay = if observed == Phase::Ready && phase == Phase::Provisioning {
        SHORT_DELAY
    } else if !waiting_for.is_empty() {
        // An instance class change takes minutes: poll at the near-ready pace.
        30
    } else {
        next_delay(phase, Some(f.view), f.seconds_since_create)
    };
    let mut pending_tasks: Vec<String> = f
        .view
        .tasks
        .iter()
        .filter(|t| !t.status.eq_ignore_ascii_case("COMPLETED"))
        .map(|t| format!("{} {}", t.name, t.status))
        .collect();
    pending_tasks.extend(waiting_for.iter().map(|w| format!("resizing {w}")));
    Ok(PollOutcome {
        state: WaitState {
            phase,
            polls,
            consecutive_ready,
            next_delay_seconds: delay,
            status: f.view.status.clone(),
            pending_tasks,
        },
        resize,
        marks,
    })
}

/// The delay before the next poll, given what this poll saw.
pub fn next_delay(phase: Phase, view: Option<&DeploymentView>, seconds_since_create: u64) -> u32 {
    match phase {
        Phase::Ready => SHORT_DELAY,
        Phase::Switching => SWITCHOVER_DELAY,
        Phase::Switched | Phase::Failed => 0,
        Phase::Provisioning => {
            // Right after create: RDS may not list the deployment yet, and a failed create
            // (INVALID_CONFIGURATION) often shows within seconds.
            if seconds_since_create < 30 {
                return SHORT_DELAY;
            }
            // Once AVAILABLE with only the last tasks left, ready is near: poll faster so
            // the switchover starts soon after green is ready.
            let nearly = view.is_some_and(|v| v.status.eq_ignore_ascii_case("AVAILABLE"));
            if nearly {
                30
            } else {
                BUILD_DELAY
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::deployment::{DeploymentTask, SwitchoverDetail};

    const CLUSTER: &str = "arn:aws:rds:us-east-1:123456789012:cluster:ledger-green-abc";
    const W: &str = "arn:aws:rds:us-east-1:123456789012:db:ledger-1-green-abc";
    const R: &str = "arn:aws:rds:us-east-1:123456789012:db:ledger-2-green-abc";

    fn view() -> DeploymentView {
        DeploymentView {
            id: "bgd-1".into(),
            name: "rbg-ledger-to-16-4".into(),
            source_arn: "arn:aws:rds:us-east-1:123456789012:cluster:ledger".into(),
            target_arn: CLUSTER.into(),
            status: "AVAILABLE".into(),
            status_details: None,
            tasks: vec![DeploymentTask {
                name: "DB_ENGINE_VERSION_UPGRADE".into(),
                status: "COMPLETED".into(),
            }],
            switchover_details: [CLUSTER, W, R]
                .iter()
                .map(|t| SwitchoverDetail {
                    source_member: "x".into(),
                    target_member: t.to_string(),
                    status: "AVAILABLE".into(),
                })
                .collect(),
            tags: Default::default(),
        }
    }

    fn member(arn: &str, status: &str, class: Option<&str>, pending: Option<&str>) -> MemberStatus {
        MemberStatus {
            arn: arn.into(),
            status: status.into(),
            instance_class: class.map(str::to_string),
            pending_instance_class: pending.map(str::to_string),
        }
    }

    fn facts<'a>(
        v: &'a DeploymentView,
        members: &'a [MemberStatus],
        previous: Option<&'a WaitState>,
        class: Option<&'a str>,
    ) -> PollFacts<'a> {
        PollFacts {
            db: "ledger",
            view: v,
            members,
            previous,
            switchover_requested: false,
            seconds_since_create: 600,
            max_provisioning_minutes: 240,
            green_instance_class: class,
        }
    }

    #[test]
    fn ready_counts_only_on_the_second_poll_in_a_row() {
        let v = view();
        let m = [
            member(CLUSTER, "available", None, None),
            member(W, "available", Some("db.r6g.large"), None),
        ];
        let first = observe(facts(&v, &m, None, None)).unwrap();
        assert_eq!(first.state.phase, Phase::Provisioning);
        assert_eq!(first.state.next_delay_seconds, SHORT_DELAY);
        let second = observe(facts(&v, &m, Some(&first.state), None)).unwrap();
        assert_eq!(second.state.phase, Phase::Ready);
        assert_eq!(second.marks, vec!["green_ready"]);
    }

    #[test]
    fn an_aurora_green_is_resized_once_then_waited_for() {
        let v = view();
        let class = Some("db.r6g.2xlarge");
        let m = [
            member(CLUSTER, "available", None, None),
            member(W, "available", Some("db.r6g.large"), None),
            member(R, "available", Some("db.r6g.large"), None),
        ];
        let o = observe(facts(&v, &m, None, class)).unwrap();
        assert_eq!(o.resize, vec!["ledger-1-green-abc", "ledger-2-green-abc"]);
        assert_eq!(o.state.phase, Phase::Provisioning);
        assert!(o.state.pending_tasks.iter().any(|t| t.contains("resizing")));
        // While they modify: nothing is modified twice, and green is not ready.
        let m = [
            member(CLUSTER, "available", None, None),
            member(W, "modifying", Some("db.r6g.large"), Some("db.r6g.2xlarge")),
            member(R, "available", Some("db.r6g.large"), Some("db.r6g.2xlarge")),
        ];
        let o = observe(facts(&v, &m, Some(&o.state), class)).unwrap();
        assert!(o.resize.is_empty());
        assert_eq!(o.state.phase, Phase::Provisioning);
        // Both run the class: ready after the confirming poll.
        let m = [
            member(CLUSTER, "available", None, None),
            member(W, "available", Some("db.r6g.2xlarge"), None),
            member(R, "available", Some("db.r6g.2xlarge"), None),
        ];
        let a = observe(facts(&v, &m, Some(&o.state), class)).unwrap();
        let b = observe(facts(&v, &m, Some(&a.state), class)).unwrap();
        assert_eq!(b.state.phase, Phase::Ready);
    }

    #[test]
    fn provisioning_past_the_bound_times_out() {
        let mut v = view();
        v.status = "PROVISIONING".into();
        let mut f = facts(&v, &[], None, None);
        f.seconds_since_create = 241 * 60;
        assert_eq!(observe(f).unwrap_err().name(), "ProvisioningTimedOut");
    }

    #[test]
    fn after_a_switchover_request_available_means_switching() {
        let v = view();
        let m = [member(CLUSTER, "available", None, None)];
        let mut f = facts(&v, &m, None, None);
        f.switchover_requested = true;
        assert_eq!(observe(f).unwrap().state.phase, Phase::Switching);
    }
}
