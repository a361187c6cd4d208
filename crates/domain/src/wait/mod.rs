//! The wait for green: what one poll of the deployment means for the run, and when the next
//! one comes (`next_delay`). "Ready to switch" is the deployment AVAILABLE, every task
//! COMPLETED, every switchover detail AVAILABLE and every green member `available`
//! (`DeploymentView::phase`), seen on `READY_POLLS_REQUIRED` polls in a row (RDS is eventually
//! consistent), and, when the request names an instance class, every green instance running
//! it (Aurora: AWS refuses the class at create; RDS: it sizes only green's primary, "you must
//! manually modify the DB instance class of the read replicas in the green environment").
//! Green must be ready within `max_provisioning_minutes`, not counting the time its members
//! spend loading their data while their percentage rises (`loading`).
//!
//! # Loading (storage initialization)
//!
//! After create, green "and its read replicas continue to load data in the background … the
//! overall instance status changes to Storage-initialization … PercentProgress"; "Make sure
//! data loading is complete before switching over" (RDS User Guide, Creating a blue/green
//! deployment, "Lazy loading and storage initialization"). A loading member is not
//! `available`, so green is not ready and the switchover is not requested: the wait holds it
//! (not the guardrails, whose holds are minutes: loading takes hours, and `green_ready` must
//! not be announced before it is true). Each loading member's percentage **rises** when a poll
//! sees it higher than any earlier poll did (its first percentage counts as a rise; so does the
//! poll where loading begins). While some member loads and every loading member rose within the
//! last `max_provisioning_minutes`, that time is not counted against the bound; a member whose
//! percentage has not risen for `max_provisioning_minutes` (or that reports none for that long)
//! has **stalled**: the run fails with `GuardrailViolated` naming it and its percentage, and green
//! is kept (a green that may still be loading is never deleted). So is a load that outlasts what
//! the run can wait (`PollFacts::loading_budget_seconds`, the state machine's timeout; and
//! `MAX_LOADING_POLLS`, its history).

use crate::model::db::DbKind;
use crate::model::deployment::{DeploymentView, MemberStatus, Phase};
use crate::model::error::WorkerError;
use crate::model::limits::MAX_POLLS_FOR_SWITCHOVER_TO_START;
use crate::model::names::parse_rds_arn;
use crate::model::schedule::{BUILD_DELAY, SHORT_DELAY, SWITCHOVER_DELAY};
use serde::{Deserialize, Serialize};

/// The number of "ready" observations in a row before green counts as ready.
pub const READY_POLLS_REQUIRED: u32 = 2;

/// Between polls while a green member loads its data (hours, typically): each poll costs about
/// nine history events, so a slow pace keeps a long load inside the 25,000 of an execution.
pub const LOADING_DELAY: u32 = 300;

/// Polls of the wait after which a load is no longer waited for: about 13,500 history events,
/// well inside the execution's 25,000 with everything else a run does.
pub const MAX_LOADING_POLLS: u32 = 1_500;

/// Polls after a switchover request during which an earlier failure RDS still shows
/// (SWITCHOVER_FAILED, eventually consistent) is taken for "not started yet".
pub const STALE_FAILURE_POLLS: u32 = 3;

/// Where the wait stands after each poll (`Run::wait`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitState {
    pub phase: Phase,
    pub polls: u32,
    pub consecutive_ready: u32,
    pub next_delay_seconds: u32,
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_tasks: Vec<String>,
    /// Green members loading their data, with their progress (see the module's "Loading").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loading: Vec<Loading>,
    /// Seconds of the build spent loading while every loading member progressed: not counted
    /// against `max_provisioning_minutes`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub loading_seconds: u64,
    /// When this poll ran, in seconds since green was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_seconds: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl WaitState {
    /// The state a step that starts (or restarts) the polling leaves: no poll yet.
    pub fn start(phase: Phase, next_delay_seconds: u32, status: &str) -> Self {
        Self {
            phase,
            next_delay_seconds,
            status: status.to_string(),
            ..Self::default()
        }
    }
}

/// One green member loading its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loading {
    pub member: String,
    /// `storage-initialization`, `storage-config-upgrade`, or the storage operation.
    pub status: String,
    /// The highest percentage seen so far, when RDS reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// When (seconds since green was requested) its percentage last rose, or loading began.
    pub progressed_at_seconds: u64,
}

impl Loading {
    /// `orders-pg-green-abc storage-initialization 42%`
    pub fn describe(&self) -> String {
        match self.percent {
            Some(p) => format!("{} {} {}%", self.member, self.status, trim_percent(p)),
            None => format!("{} {} (no percentage reported)", self.member, self.status),
        }
    }
}

fn trim_percent(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    }
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
    /// The class every green instance must run before the switchover (the request's
    /// `target_db_instance_class`): Aurora's instances, RDS's read replicas.
    pub green_instance_class: Option<&'a str>,
    /// The longest (seconds since green was requested) this run can wait for a load: what the
    /// state machine's timeout leaves over the longest run the request accepts, plus
    /// `max_provisioning_minutes`.
    pub loading_budget_seconds: u64,
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

fn minutes(seconds: u64) -> u64 {
    seconds / 60
}

pub fn observe(f: PollFacts<'_>) -> Result<PollOutcome, WorkerError> {
    let previous = f.previous;
    let polls = previous.map_or(0, |w| w.polls) + 1;
    let at = f.seconds_since_create;
    let bound = u64::from(f.max_provisioning_minutes) * 60;
    let mut observed = if f.switchover_requested {
        observe_after_request(&f, polls)?
    } else {
        // A deployment an earlier switchover left SWITCHOVER_FAILED was rolled back: green is
        // intact, and judged as AVAILABLE.
        f.view.phase_to_switch(f.members)?
    };
    let loading = loading_members(f.members, previous, at);
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
    // Loading members are not `available`: green is not ready. (A member reporting only the
    // newer StorageOperationStatus `Initializing` may say `available`: not ready either.)
    if observed == Phase::Ready && !f.switchover_requested && !loading.is_empty() {
        observed = Phase::Provisioning;
    }
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
                 is still production and green is kept; check the deployment's events, then run \
                 action `switchover` again",
                f.view.name, f.view.status
            )));
        }
        phase = Phase::Switching;
    }
    // Time spent loading while it progressed is not the build's: it does not count.
    let mut loading_seconds = previous.map_or(0, |w| w.loading_seconds);
    if let Some(p) = previous.filter(|w| !w.loading.is_empty()) {
        if let Some(before) = p.at_seconds {
            loading_seconds += at.saturating_sub(before);
        }
    }
    if phase == Phase::Provisioning && !loading.is_empty() {
        check_loading(&f, &loading, polls, bound)?;
    }
    // A green seen ready on this poll only awaits its confirming poll: not a timeout.
    if phase == Phase::Provisioning
        && observed != Phase::Ready
        && loading.is_empty()
        && at.saturating_sub(loading_seconds) > bound
    {
        return Err(WorkerError::ProvisioningTimedOut(format!(
            "green for {} has not been ready after {} minutes (max_provisioning_minutes = {}; \
             status {}{}{}). The failure path deletes this unswitched green; raise \
             max_provisioning_minutes for a large database and run again",
            f.db,
            minutes(at),
            f.max_provisioning_minutes,
            f.view.status,
            if waiting_for.is_empty() {
                String::new()
            } else {
                format!("; waiting for {}", waiting_for.join(", "))
            },
            if loading_seconds > 0 {
                format!(
                    "; {} minutes of loading data not counted",
                    minutes(loading_seconds)
                )
            } else {
                String::new()
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
    } else if phase == Phase::Provisioning && !loading.is_empty() {
        LOADING_DELAY
    } else {
        next_delay(phase, Some(f.view), at)
    };
    let mut pending_tasks: Vec<String> = f
        .view
        .tasks
        .iter()
        .filter(|t| !t.status.eq_ignore_ascii_case("COMPLETED"))
        .map(|t| format!("{} {}", t.name, t.status))
        .collect();
    pending_tasks.extend(waiting_for.iter().map(|w| format!("resizing {w}")));
    pending_tasks.extend(
        loading
            .iter()
            .map(|l| format!("loading data: {}", l.describe())),
    );
    Ok(PollOutcome {
        state: WaitState {
            phase,
            polls,
            consecutive_ready,
            next_delay_seconds: delay,
            status: f.view.status.clone(),
            pending_tasks,
            loading,
            loading_seconds,
            at_seconds: Some(at),
        },
        resize,
        marks,
    })
}

/// How long (seconds since green was requested) a run can wait for green's data to load:
/// the build's bound, plus what the state machine's timeout (which cannot be caught) leaves
/// over the longest run the request accepts.
pub fn loading_budget_seconds(request: &crate::model::request::Request) -> u64 {
    let build = u64::from(request.max_provisioning_minutes) * 60;
    crate::model::limits::UPGRADE_MACHINE_TIMEOUT_SECONDS
        .saturating_sub(crate::model::limits::longest_run_seconds(request))
        + build
}

/// The phase after this run requested a switchover. SWITCHOVER_FAILED right after a request
/// made of a deployment an earlier switchover left SWITCHOVER_FAILED may be that earlier
/// failure still shown (eventual consistency): "not started yet" for `STALE_FAILURE_POLLS`.
/// A deployment back to AVAILABLE after it was seen SWITCHOVER_IN_PROGRESS was rolled back
/// (whether RDS shows SWITCHOVER_FAILED in between is not documented).
fn observe_after_request(f: &PollFacts<'_>, polls: u32) -> Result<Phase, WorkerError> {
    let previous_status = f.previous.map(|w| w.status.as_str()).unwrap_or_default();
    let status = &f.view.status;
    if f.view.is_switchover_failed()
        && previous_status.eq_ignore_ascii_case("SWITCHOVER_FAILED")
        && polls <= STALE_FAILURE_POLLS
    {
        return Ok(Phase::Switching);
    }
    if status.eq_ignore_ascii_case("AVAILABLE")
        && previous_status.eq_ignore_ascii_case("SWITCHOVER_IN_PROGRESS")
    {
        return Err(WorkerError::SwitchoverFailed(format!(
            "blue/green deployment {} ({}) went from SWITCHOVER_IN_PROGRESS back to AVAILABLE: \
             RDS rolled the switchover back{}. Blue is still production and green is intact \
             and kept. Check the deployment's events for the cause, fix it, then run action \
             `switchover` again (it switches over this same deployment), or `abort` to delete \
             green",
            f.view.name,
            f.view.id,
            f.view
                .status_details
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )));
    }
    f.view.phase(f.members)
}

/// The members loading this poll, each with its progress carried over from the last poll.
fn loading_members(
    members: &[MemberStatus],
    previous: Option<&WaitState>,
    at: u64,
) -> Vec<Loading> {
    let before: &[Loading] = previous.map_or(&[], |w| &w.loading);
    members
        .iter()
        .filter(|m| m.is_loading())
        .map(|m| {
            let name = m.name().to_string();
            let earlier = before.iter().find(|l| l.member == name);
            let best = earlier.and_then(|l| l.percent);
            let rose = match (best, m.percent_progress) {
                (Some(b), Some(p)) => p > b,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let status = if crate::model::deployment::LOADING_STATUSES
                .iter()
                .any(|s| m.status.eq_ignore_ascii_case(s))
            {
                m.status.clone()
            } else {
                format!(
                    "storage {}",
                    m.storage_operation
                        .as_deref()
                        .unwrap_or("initializing")
                        .to_ascii_lowercase()
                )
            };
            Loading {
                member: name,
                status,
                percent: match (best, m.percent_progress) {
                    (Some(b), Some(p)) => Some(b.max(p)),
                    (b, p) => p.or(b),
                },
                progressed_at_seconds: match earlier {
                    Some(l) if !rose => l.progressed_at_seconds,
                    _ => at,
                },
            }
        })
        .collect()
}

/// A load that stalled, or that outlasts what this run can wait: `GuardrailViolated`, green
/// kept (it may still be loading).
fn check_loading(
    f: &PollFacts<'_>,
    loading: &[Loading],
    polls: u32,
    bound: u64,
) -> Result<(), WorkerError> {
    let at = f.seconds_since_create;
    let keep = "Green is kept (it may still be loading) and blue is untouched: check the \
                instance's events in the RDS console; once it is `available`, run action \
                `switchover` (or `prepare` to only wait for it), or `abort` to delete green";
    if let Some(stalled) = loading
        .iter()
        .find(|l| at.saturating_sub(l.progressed_at_seconds) > bound)
    {
        let since = minutes(at.saturating_sub(stalled.progressed_at_seconds));
        return Err(WorkerError::GuardrailViolated(format!(
            "not switching over {}: green member {} has been loading its data ({}) {} for {since} \
             minutes (max_provisioning_minutes = {}): its loading stalled. RDS says to make sure \
             data loading is complete before switching over. {keep}",
            f.db,
            stalled.member,
            stalled.status,
            match stalled.percent {
                Some(p) => format!("at {}% with no progress", trim_percent(p)),
                None => "without reporting a percentage".to_string(),
            },
            f.max_provisioning_minutes
        )));
    }
    if at > f.loading_budget_seconds || polls >= MAX_LOADING_POLLS {
        return Err(WorkerError::GuardrailViolated(format!(
            "not switching over {}: green is still loading its data after {} minutes and {polls} \
             polls ({}), longer than one run can wait (its state machine's timeout and history). \
             RDS says to make sure data loading is complete before switching over. {keep}",
            f.db,
            minutes(at),
            loading
                .iter()
                .map(Loading::describe)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
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
            ..MemberStatus::default()
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
            loading_budget_seconds: 30 * 24 * 3600,
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

    // ------------------------------------------------------------ loading (storage initialization)

    fn loading(arn: &str, percent: Option<f64>) -> MemberStatus {
        MemberStatus {
            arn: arn.into(),
            status: "storage-initialization".into(),
            percent_progress: percent,
            ..MemberStatus::default()
        }
    }

    /// Polls of a green whose writer loads at the given percentages, `every` seconds apart
    /// from t = 600, with a bound of 60 minutes: the outcome of each.
    fn poll_loading(percents: &[Option<f64>], every: u64) -> Vec<Result<PollOutcome, WorkerError>> {
        let v = view();
        let mut previous: Option<WaitState> = None;
        let mut out = Vec::new();
        for (i, p) in percents.iter().enumerate() {
            let m = [member(CLUSTER, "available", None, None), loading(W, *p)];
            let mut f = facts(&v, &m, previous.as_ref(), None);
            f.max_provisioning_minutes = 60;
            f.seconds_since_create = 600 + i as u64 * every;
            let o = observe(f);
            previous = o.as_ref().ok().map(|o| o.state.clone());
            out.push(o);
            if previous.is_none() {
                break;
            }
        }
        out
    }

    #[test]
    fn a_member_loading_its_data_is_not_ready_and_shows_its_percentage() {
        let outcomes = poll_loading(&[Some(10.0), Some(42.5)], 300);
        let last = outcomes.last().unwrap().as_ref().unwrap();
        assert_eq!(last.state.phase, Phase::Provisioning);
        assert_eq!(last.state.consecutive_ready, 0);
        assert_eq!(last.state.next_delay_seconds, LOADING_DELAY);
        assert!(last.marks.is_empty());
        assert_eq!(
            last.state.pending_tasks,
            ["loading data: ledger-1-green-abc storage-initialization 42.5%"]
        );
        assert_eq!(
            last.state.loading,
            [Loading {
                member: "ledger-1-green-abc".into(),
                status: "storage-initialization".into(),
                percent: Some(42.5),
                progressed_at_seconds: 900,
            }]
        );
    }

    #[test]
    fn loading_that_rises_is_not_counted_against_max_provisioning_minutes() {
        // Ten hours of loading (60-minute bound), rising 1% per 5-minute poll, then available.
        let percents: Vec<Option<f64>> = (0..120).map(|i| Some(f64::from(i))).collect();
        let outcomes = poll_loading(&percents, 300);
        assert_eq!(outcomes.len(), 120);
        let last = outcomes.last().unwrap().as_ref().unwrap().state.clone();
        assert!(last.loading_seconds >= 119 * 300, "{last:?}");
        // Loading done: ready on the confirming poll, no timeout although 10 hours passed.
        let v = view();
        let m = [
            member(CLUSTER, "available", None, None),
            member(W, "available", None, None),
        ];
        let mut f = facts(&v, &m, Some(&last), None);
        f.max_provisioning_minutes = 60;
        f.seconds_since_create = 600 + 120 * 300;
        let a = observe(f).unwrap();
        assert!(a.state.loading.is_empty() && a.state.pending_tasks.is_empty());
        let mut f = facts(&v, &m, Some(&a.state), None);
        f.max_provisioning_minutes = 60;
        f.seconds_since_create = 600 + 120 * 300 + 15;
        assert_eq!(observe(f).unwrap().state.phase, Phase::Ready);
    }

    #[test]
    fn loading_that_stops_rising_for_the_bound_stalls_keeping_green() {
        let mut percents = vec![Some(5.0), Some(63.0)];
        percents.extend(std::iter::repeat_n(Some(63.0), 14));
        let outcomes = poll_loading(&percents, 300);
        // 63% seen at t = 900; 60 minutes later without a rise (t = 4500 + 300): stalled.
        let err = outcomes.last().unwrap().clone().unwrap_err();
        assert_eq!(err.name(), "GuardrailViolated", "{err}");
        let msg = err.to_string();
        for part in [
            "ledger-1-green-abc",
            "storage-initialization",
            "at 63% with no progress",
            "max_provisioning_minutes = 60",
            "Green is kept",
            "`switchover`",
        ] {
            assert!(msg.contains(part), "`{part}` in {msg}");
        }
        assert!(outcomes[..outcomes.len() - 1].iter().all(Result::is_ok));
    }

    #[test]
    fn loading_without_a_percentage_gets_the_bound_from_when_it_began() {
        let outcomes = poll_loading(&[None; 14], 300);
        assert!(outcomes[..13].iter().all(Result::is_ok));
        let err = outcomes[13].clone().unwrap_err();
        assert!(
            err.to_string().contains("without reporting a percentage"),
            "{err}"
        );
    }

    #[test]
    fn a_load_longer_than_the_run_can_wait_ends_keeping_green() {
        let v = view();
        let m = [
            member(CLUSTER, "available", None, None),
            loading(W, Some(1.0)),
        ];
        let mut f = facts(&v, &m, None, None);
        f.seconds_since_create = 31 * 24 * 3600;
        let err = observe(f).unwrap_err();
        assert_eq!(err.name(), "GuardrailViolated");
        assert!(
            err.to_string().contains("longer than one run can wait"),
            "{err}"
        );
    }

    #[test]
    fn the_newer_storage_operation_initializing_also_holds_an_available_member() {
        let v = view();
        let mut w = member(W, "available", None, None);
        w.storage_operation = Some("Initializing".into());
        w.percent_progress = Some(80.0);
        let m = [member(CLUSTER, "available", None, None), w];
        let first = observe(facts(&v, &m, None, None)).unwrap();
        let second = observe(facts(&v, &m, Some(&first.state), None)).unwrap();
        assert_eq!(second.state.phase, Phase::Provisioning);
        assert_eq!(
            second.state.pending_tasks,
            ["loading data: ledger-1-green-abc storage initializing 80%"]
        );
    }

    #[test]
    fn the_build_bound_still_applies_to_the_time_not_spent_loading() {
        let mut v = view();
        v.status = "PROVISIONING".into();
        let before = WaitState {
            loading_seconds: 3_600,
            at_seconds: Some(600),
            ..WaitState::default()
        };
        let mut f = facts(&v, &[], Some(&before), None);
        f.max_provisioning_minutes = 60;
        f.seconds_since_create = 7_100;
        assert!(observe(f).is_ok(), "an hour of loading is not the build's");
        let mut f = facts(&v, &[], Some(&before), None);
        f.max_provisioning_minutes = 60;
        f.seconds_since_create = 7_300;
        let err = observe(f).unwrap_err();
        assert_eq!(err.name(), "ProvisioningTimedOut");
        assert!(
            err.to_string()
                .contains("60 minutes of loading data not counted"),
            "{err}"
        );
    }

    // ------------------------------------------------------------ a failed switchover, again

    fn failed_view() -> DeploymentView {
        let mut v = view();
        v.status = "SWITCHOVER_FAILED".into();
        v.status_details = Some("Switchover failed: ... All changes were rolled back.".into());
        for s in &mut v.switchover_details {
            s.status = "SWITCHOVER_FAILED".into();
        }
        v
    }

    #[test]
    fn before_its_own_request_a_run_takes_a_rolled_back_deployment_for_available() {
        let v = failed_view();
        let m = [
            member(CLUSTER, "available", None, None),
            member(W, "available", None, None),
        ];
        let a = observe(facts(&v, &m, None, None)).unwrap();
        let b = observe(facts(&v, &m, Some(&a.state), None)).unwrap();
        assert_eq!(b.state.phase, Phase::Ready);
        // After this run's own request, SWITCHOVER_FAILED is a failure again...
        let mut f = facts(&v, &m, None, None);
        f.switchover_requested = true;
        let err = observe(f).unwrap_err();
        assert_eq!(err.name(), "SwitchoverFailed");
        assert!(
            err.to_string().contains("run action `switchover` again"),
            "{err}"
        );
        assert!(
            err.to_string().contains("green is intact and kept"),
            "{err}"
        );
        // ...unless it is the earlier failure still shown right after the request.
        let requested = WaitState::start(Phase::Switching, 20, "SWITCHOVER_FAILED");
        let mut f = facts(&v, &m, Some(&requested), None);
        f.switchover_requested = true;
        assert_eq!(observe(f).unwrap().state.phase, Phase::Switching);
    }

    #[test]
    fn back_to_available_after_switchover_in_progress_is_a_rolled_back_switchover() {
        let v = view();
        let m = [member(CLUSTER, "available", None, None)];
        let switching = WaitState {
            polls: 2,
            ..WaitState::start(Phase::Switching, 20, "SWITCHOVER_IN_PROGRESS")
        };
        let mut f = facts(&v, &m, Some(&switching), None);
        f.switchover_requested = true;
        let err = observe(f).unwrap_err();
        assert_eq!(err.name(), "SwitchoverFailed");
        let msg = err.to_string();
        assert!(
            msg.contains("back to AVAILABLE") && msg.contains("`switchover` again"),
            "{msg}"
        );
    }
}
