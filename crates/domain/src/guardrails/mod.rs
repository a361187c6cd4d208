//! Guardrails before switchover: never switch over blind. Right before the switchover, green
//! must still be ready (every member `available`: none loading its data), the switchover
//! window (if any) open, no zero-ETL integration on blue or green, and replication lag within
//! the request's bounds by the engine's own signal (see `lag`). Otherwise hold (the state
//! machine waits and asks again) and, past a bound, fail with `GuardrailViolated`, keeping
//! green. A zero-ETL integration fails at once: "During switchover, the blue and green
//! environments can't have zero-ETL integrations … You must delete the integration first and
//! switch over, then recreate the integration" (RDS and Aurora User Guides, blue/green
//! limitations): only its owner can delete it, and waiting would not.

pub mod lag;

use crate::model::deployment::Phase;
use crate::model::error::WorkerError;
use crate::model::schedule::{HOLD_DELAY_SECONDS, MAX_HOLDS};
use crate::model::source::Integration;
use crate::model::window::WindowState;
use lag::{LagBounds, LagReading, LagSignal, LagVerdict, Replication};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailVerdict {
    /// Safe to switch over now.
    Go,
    /// Not yet: wait and check again.
    Hold,
    /// The switchover window has not opened: wait until it does (not counted as a hold).
    Wait,
    /// The switchover window closed before the switchover could start: leave green prepared.
    Skip,
}

/// The signal the run measured, as recorded in the run document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalRecord {
    pub replication: Replication,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<lag::LagSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<lag::LagUnit>,
    /// The bound applied, in the signal's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardrailState {
    pub verdict: GuardrailVerdict,
    pub holds: u32,
    pub reason: String,
    pub next_delay_seconds: u32,
    pub readings: Vec<LagReading>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<SignalRecord>,
    /// On `go`: the metric whose readings decided, or `lag::RDS_GUARDRAILS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// Checks so far that found no datapoint of a documented signal.
    #[serde(default)]
    pub absent_checks: u32,
}

/// What the guardrails step observed.
pub struct GuardrailFacts<'a> {
    pub db: &'a str,
    /// The deployment's phase this poll (`Deployment::phase`), and its status for messages.
    pub phase: Phase,
    pub deployment_status: &'a str,
    /// The request's window, as text, and where this moment falls in it.
    pub window: Option<(&'a str, WindowState)>,
    pub now: i64,
    pub replication: Replication,
    pub signal: Option<LagSignal>,
    /// The signal's readings; read only while green is ready.
    pub readings: Vec<LagReading>,
    pub bounds: LagBounds,
    pub previous: Option<&'a GuardrailState>,
    /// Green's members that are not `available`, described (`orders-pg-green-abc
    /// storage-initialization 42%`): why green is not ready, for the hold's reason.
    pub not_ready: Vec<String>,
    /// The zero-ETL integrations whose source is blue or green: (the database, `blue` or
    /// `green`, the integration). Read only while green is ready and the window open.
    pub integrations: Vec<(String, &'static str, Integration)>,
}

/// The zero-ETL integrations on blue or green stop the switchover: what they are and what to do.
fn zero_etl_refusal(db: &str, found: &[(String, &'static str, Integration)]) -> WorkerError {
    let listed: Vec<String> = found
        .iter()
        .map(|(on, side, i)| {
            let mut what = format!("`{}` on {side} {on}", i.name);
            let detail: Vec<&str> = [i.target.as_str(), i.status.as_str()]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect();
            if !detail.is_empty() {
                what.push_str(&format!(" ({})", detail.join(", ")));
            }
            what
        })
        .collect();
    let names: Vec<&str> = found.iter().map(|(_, _, i)| i.name.as_str()).collect();
    WorkerError::GuardrailViolated(format!(
        "not switching over {db}: zero-ETL integration{} {}: during a switchover the blue and \
         green environments can't have zero-ETL integrations. Green is kept ready and blue is \
         untouched: delete {} (aws rds delete-integration --integration-identifier NAME), run \
         action `switchover`, then recreate {} with the new production {db} as its source",
        if found.len() == 1 { "" } else { "s" },
        listed.join(", "),
        if names.len() == 1 { "it" } else { "them" },
        if names.len() == 1 { "it" } else { "them" },
    ))
}

/// The decision, or `GuardrailViolated` once holds pass `MAX_HOLDS`. `note` is set when the
/// run ends without a switchover (the window closed).
pub struct GuardrailDecision {
    pub state: GuardrailState,
    pub note: Option<String>,
}

pub fn decide(f: GuardrailFacts<'_>) -> Result<GuardrailDecision, WorkerError> {
    let holds_so_far = f.previous.map_or(0, |g| g.holds);
    let absent_so_far = f.previous.map_or(0, |g| g.absent_checks);
    let signal = SignalRecord {
        replication: f.replication,
        metric: f.signal.map(|s| s.metric.to_string()),
        source: f.signal.map(|s| s.source),
        unit: f.signal.map(|s| s.unit),
        bound: f.signal.map(|s| match s.unit {
            lag::LagUnit::Seconds => f64::from(f.bounds.seconds),
            lag::LagUnit::Bytes => f.bounds.bytes as f64,
        }),
    };
    let mut state = GuardrailState {
        verdict: GuardrailVerdict::Hold,
        holds: holds_so_far,
        reason: String::new(),
        next_delay_seconds: HOLD_DELAY_SECONDS,
        readings: Vec::new(),
        signal: Some(signal),
        decided_by: None,
        absent_checks: absent_so_far,
    };
    let mut note = None;
    match (f.phase, f.window) {
        (Phase::Switching | Phase::Switched, _) => {
            state.verdict = GuardrailVerdict::Go;
            state.reason = format!("switchover already {}", f.deployment_status);
            state.decided_by = Some("switchover already started".into());
        }
        (_, Some((text, WindowState::Before { opens_at }))) => {
            state.verdict = GuardrailVerdict::Wait;
            state.next_delay_seconds = (opens_at - f.now).clamp(1, i64::from(u32::MAX)) as u32;
            state.reason = format!(
                "green is prepared; the switchover window `{text}` opens at {}",
                crate::model::time::rfc3339(opens_at)
            );
        }
        (_, Some((text, WindowState::Closed { closed_at }))) => {
            state.verdict = GuardrailVerdict::Skip;
            state.reason = format!(
                "the switchover window `{text}` closed at {} before the switchover could \
                 start: green is left prepared and blue is untouched. Run action `switchover` \
                 in a later window, or `abort` to delete green",
                crate::model::time::rfc3339(closed_at)
            );
            note = Some(state.reason.clone());
        }
        (phase, _) if phase != Phase::Ready => {
            state.holds += 1;
            state.reason = format!(
                "green is no longer ready ({}{})",
                f.deployment_status,
                if f.not_ready.is_empty() {
                    String::new()
                } else {
                    format!("; {}", f.not_ready.join(", "))
                }
            );
        }
        _ if !f.integrations.is_empty() => return Err(zero_etl_refusal(f.db, &f.integrations)),
        _ => {
            state.readings = f.readings.clone();
            match lag::evaluate(f.signal.as_ref(), &f.readings, f.bounds, absent_so_far) {
                LagVerdict::Go { decided_by, reason } => {
                    state.verdict = GuardrailVerdict::Go;
                    state.reason = reason;
                    state.decided_by = Some(decided_by);
                }
                LagVerdict::Hold { reason } => {
                    state.holds += 1;
                    state.reason = reason;
                }
                LagVerdict::Absent { reason } => {
                    state.absent_checks += 1;
                    state.reason = reason;
                }
            }
        }
    }
    if state.verdict == GuardrailVerdict::Hold && state.holds > MAX_HOLDS {
        return Err(WorkerError::GuardrailViolated(format!(
            "not switching over {}: {}, still after {} checks over {} minutes. Green is kept \
             ready and blue is untouched: find the cause (write load, long transactions, \
             replication stopped), then run action `switchover`, or `abort` to delete green",
            f.db,
            state.reason,
            state.holds,
            state.holds * HOLD_DELAY_SECONDS / 60
        )));
    }
    Ok(GuardrailDecision { state, note })
}

#[cfg(test)]
mod tests {
    use super::lag::{signal_for, LagUnit, MAX_ABSENT_CHECKS};
    use super::*;
    use crate::model::engine::Engine;

    fn facts<'a>(
        engine: &Engine,
        phase: Phase,
        readings: Vec<LagReading>,
        previous: Option<&'a GuardrailState>,
    ) -> GuardrailFacts<'a> {
        let (replication, signal) = signal_for(engine, true);
        GuardrailFacts {
            db: "orders",
            phase,
            deployment_status: "AVAILABLE",
            window: None,
            now: 1_000,
            replication,
            signal,
            readings,
            bounds: LagBounds {
                seconds: 5,
                bytes: 1024,
            },
            previous,
            not_ready: Vec::new(),
            integrations: Vec::new(),
        }
    }

    fn lag(value: Option<f64>) -> LagReading {
        LagReading {
            member: "orders-green".into(),
            metric: "ReplicaLag".into(),
            unit: LagUnit::Seconds,
            value,
        }
    }

    #[test]
    fn go_records_the_signal_that_decided() {
        let d = decide(facts(
            &Engine::Mysql,
            Phase::Ready,
            vec![lag(Some(0.0))],
            None,
        ))
        .unwrap();
        assert_eq!(d.state.verdict, GuardrailVerdict::Go);
        assert_eq!(d.state.decided_by.as_deref(), Some("ReplicaLag"));
        let s = d.state.signal.unwrap();
        assert_eq!(
            (s.replication, s.metric.as_deref()),
            (Replication::Binlog, Some("ReplicaLag"))
        );
    }

    #[test]
    fn holds_count_up_and_fail_past_the_bound() {
        let mut previous = None;
        for _ in 0..MAX_HOLDS {
            let d = decide(facts(
                &Engine::Mysql,
                Phase::Ready,
                vec![lag(Some(60.0))],
                previous.as_ref(),
            ))
            .unwrap();
            assert_eq!(d.state.verdict, GuardrailVerdict::Hold);
            previous = Some(d.state);
        }
        let err = decide(facts(
            &Engine::Mysql,
            Phase::Ready,
            vec![lag(Some(60.0))],
            previous.as_ref(),
        ))
        .err()
        .unwrap();
        assert_eq!(err.name(), "GuardrailViolated");
        assert!(err.to_string().contains("Green is kept"), "{err}");
    }

    #[test]
    fn a_datapoint_that_never_comes_never_ends_in_guardrail_violated() {
        let mut previous: Option<GuardrailState> = None;
        for check in 1..=MAX_ABSENT_CHECKS {
            let d = decide(facts(
                &Engine::Mysql,
                Phase::Ready,
                vec![lag(None)],
                previous.as_ref(),
            ))
            .unwrap();
            if check < MAX_ABSENT_CHECKS {
                assert_eq!(d.state.verdict, GuardrailVerdict::Hold, "check {check}");
                assert_eq!(d.state.holds, 0, "absence is not a hold");
            } else {
                assert_eq!(d.state.verdict, GuardrailVerdict::Go);
                assert_eq!(d.state.decided_by.as_deref(), Some(lag::RDS_GUARDRAILS));
            }
            previous = Some(d.state);
        }
    }

    #[test]
    fn the_window_waits_or_skips() {
        let mut f = facts(&Engine::Mysql, Phase::Ready, vec![], None);
        f.window = Some((
            "Sun 03:00-05:00 UTC",
            WindowState::Before { opens_at: 4_600 },
        ));
        let d = decide(f).unwrap();
        assert_eq!(d.state.verdict, GuardrailVerdict::Wait);
        assert_eq!(d.state.next_delay_seconds, 3_600);
        let mut f = facts(&Engine::Mysql, Phase::Ready, vec![], None);
        f.window = Some((
            "Sun 03:00-05:00 UTC",
            WindowState::Closed { closed_at: 900 },
        ));
        let d = decide(f).unwrap();
        assert_eq!(d.state.verdict, GuardrailVerdict::Skip);
        assert!(d.note.unwrap().contains("left prepared"));
    }

    #[test]
    fn green_not_ready_holds() {
        let d = decide(facts(&Engine::Mysql, Phase::Provisioning, vec![], None)).unwrap();
        assert_eq!(
            (d.state.verdict, d.state.holds),
            (GuardrailVerdict::Hold, 1)
        );
    }

    #[test]
    fn a_member_loading_its_data_holds_naming_it() {
        let mut f = facts(&Engine::Mysql, Phase::Provisioning, vec![], None);
        f.not_ready = vec!["orders-green-abc storage-initialization 42%".into()];
        let d = decide(f).unwrap();
        assert_eq!(d.state.verdict, GuardrailVerdict::Hold);
        assert_eq!(
            d.state.reason,
            "green is no longer ready (AVAILABLE; orders-green-abc storage-initialization 42%)"
        );
    }

    #[test]
    fn a_zero_etl_integration_on_blue_or_green_fails_right_away_keeping_green() {
        let mut f = facts(&Engine::Mysql, Phase::Ready, vec![lag(Some(0.0))], None);
        f.integrations = vec![(
            "orders".into(),
            "blue",
            Integration {
                name: "orders-to-redshift".into(),
                target: "arn:aws:redshift:us-east-1:123456789012:namespace:abc".into(),
                status: "active".into(),
            },
        )];
        let err = decide(f).err().unwrap();
        assert_eq!(err.name(), "GuardrailViolated");
        let msg = err.to_string();
        for part in [
            "zero-ETL integration `orders-to-redshift` on blue orders",
            "namespace:abc, active",
            "delete it",
            "run action `switchover`",
            "recreate it with the new production orders",
            "Green is kept ready",
        ] {
            assert!(msg.contains(part), "`{part}` in {msg}");
        }
        // Not while the window keeps the switchover away, nor once it started.
        let mut f = facts(&Engine::Mysql, Phase::Switching, vec![], None);
        f.integrations = vec![("orders".into(), "blue", Integration::default())];
        assert_eq!(decide(f).unwrap().state.verdict, GuardrailVerdict::Go);
    }
}
