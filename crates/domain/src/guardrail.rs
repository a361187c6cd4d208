//! Guardrails before switchover: never switch over blind.

use serde::{Deserialize, Serialize};

/// Replica lag as CloudWatch reports it for one green member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagReading {
    pub member: String,
    pub metric: String,
    /// The worst (maximum) datapoint in the lookback window, or `None` without datapoints.
    pub max_seconds: Option<f64>,
}

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

/// Holds at most this many times (each after `HOLD_DELAY_SECONDS`) before failing.
pub const MAX_HOLDS: u32 = 20;
pub const HOLD_DELAY_SECONDS: u32 = 30;

/// Go only when every green member has lag datapoints and all are within the bound.
/// Returns the verdict and a sentence saying why.
pub fn evaluate_lag(readings: &[LagReading], max_lag_seconds: u32) -> (GuardrailVerdict, String) {
    if readings.is_empty() {
        return (
            GuardrailVerdict::Hold,
            "no green members to read replica lag from".into(),
        );
    }
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for r in readings {
        match r.max_seconds {
            None => problems.push(format!("{} has no {} datapoints yet", r.member, r.metric)),
            Some(lag) if lag > max_lag_seconds as f64 => problems.push(format!(
                "{} {} is {lag:.1}s (max {max_lag_seconds}s)",
                r.member, r.metric
            )),
            Some(lag) => seen.push(format!("{} {} {lag:.1}s", r.member, r.metric)),
        }
    }
    if problems.is_empty() {
        (
            GuardrailVerdict::Go,
            format!("replica lag within {max_lag_seconds}s: {}", seen.join(", ")),
        )
    } else {
        (GuardrailVerdict::Hold, problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(lag: Option<f64>) -> LagReading {
        LagReading {
            member: "orders-pg-green-abc".into(),
            metric: "ReplicaLag".into(),
            max_seconds: lag,
        }
    }

    #[test]
    fn lag_within_bound_is_go() {
        assert_eq!(evaluate_lag(&[r(Some(1.0))], 5).0, GuardrailVerdict::Go);
        assert_eq!(evaluate_lag(&[r(Some(5.0))], 5).0, GuardrailVerdict::Go);
    }

    #[test]
    fn lag_over_bound_or_missing_holds() {
        let (v, why) = evaluate_lag(&[r(Some(12.0))], 5);
        assert_eq!(v, GuardrailVerdict::Hold);
        assert!(why.contains("12.0s"), "{why}");
        assert_eq!(evaluate_lag(&[r(None)], 5).0, GuardrailVerdict::Hold);
        assert_eq!(evaluate_lag(&[], 5).0, GuardrailVerdict::Hold);
        assert_eq!(
            evaluate_lag(&[r(Some(0.0)), r(None)], 5).0,
            GuardrailVerdict::Hold
        );
    }
}
