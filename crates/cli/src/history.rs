//! An execution's history (GetExecutionHistory), reduced to what rbg reads: which state the
//! execution is in, the latest run document, and the approval task's token and answer.

use serde_json::Value;

/// The state that waits for an operator (`statemachine/source.py`).
pub const APPROVAL_STATE: &str = "AwaitApproval";

/// One history event, the fields rbg uses, as the Step Functions adapter reads it.
pub use bluegreen_aws::sfn::HistoryEvent as Event;

/// The state the execution entered last, and when.
pub fn current_state(events: &[Event]) -> Option<(&str, f64)> {
    events
        .iter()
        .rev()
        .find(|e| e.entered())
        .and_then(|e| e.state.as_deref().map(|s| (s, e.timestamp)))
}

/// Whether the execution has entered `state` at some point.
pub fn has_entered(events: &[Event], state: &str) -> bool {
    events
        .iter()
        .any(|e| e.entered() && e.state.as_deref() == Some(state))
}

/// The latest run document in the history: the last state input or output that is a JSON
/// object (events fetched with `includeExecutionData`).
pub fn latest_document(events: &[Event]) -> Option<Value> {
    events
        .iter()
        .rev()
        .filter(|e| e.state.is_some())
        .filter_map(|e| e.data.as_deref())
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(Value::is_object)
}

/// The last state output that carries `key` (the fleet's table, when it ended FleetIncomplete).
pub fn last_output_with(events: &[Event], key: &str) -> Option<Value> {
    events
        .iter()
        .rev()
        .filter(|e| e.kind.ends_with("StateExited"))
        .filter_map(|e| e.data.as_deref())
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v.get(key).is_some())
}

/// Where the approval stands, from the history.
#[derive(Debug, Clone, PartialEq)]
pub enum Approval {
    /// The execution never scheduled an approval task (so far).
    NeverAsked,
    /// Waiting on this token since `since` (epoch seconds); the token is empty when the
    /// history was read without its data.
    Waiting { token: String, since: f64 },
    /// The last approval task is closed: how, and the answer's text.
    Closed { how: Closed, detail: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    Approved,
    Rejected,
    TimedOut,
    /// Failed otherwise, or the state was left (the execution stopped, for instance).
    Ended,
}

/// The token of a `TaskScheduled` event's parameters: `Payload.task_token`.
pub fn token_of(parameters: &str) -> Option<String> {
    let value: Value = serde_json::from_str(parameters).ok()?;
    value
        .pointer("/Payload/task_token")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The approval: the last `TaskScheduled` of `AwaitApproval` (whose parameters carry the
/// token in the Payload), and whether anything closed it since. `events` oldest first.
pub fn approval(events: &[Event]) -> Approval {
    let mut current: Option<&str> = None;
    let mut status = Approval::NeverAsked;
    for e in events {
        if e.entered() {
            current = e.state.as_deref();
        }
        let in_approval = current == Some(APPROVAL_STATE);
        match e.kind.as_str() {
            "TaskScheduled" => {
                let token = e.parameters.as_deref().and_then(token_of);
                let looks_like_approval = e
                    .parameters
                    .as_deref()
                    .and_then(|p| serde_json::from_str::<Value>(p).ok())
                    .and_then(|p| {
                        p.pointer("/Payload/milestone")
                            .and_then(Value::as_str)
                            .map(|m| m == "approval_requested")
                    })
                    .unwrap_or(false);
                // Without the execution data (includeExecutionData false) the parameters, and
                // so the token, are absent: still waiting, on a token read later with the data.
                if in_approval || (current.is_none() && looks_like_approval) {
                    status = Approval::Waiting {
                        token: token.unwrap_or_default(),
                        since: e.timestamp,
                    };
                    current = Some(APPROVAL_STATE);
                }
            }
            "TaskSucceeded" if in_approval => close(&mut status, Closed::Approved, e.data.clone()),
            "TaskFailed" if in_approval => {
                let how = if e.error.as_deref() == Some("Rejected") {
                    Closed::Rejected
                } else {
                    Closed::Ended
                };
                close(&mut status, how, e.cause.clone());
            }
            "TaskTimedOut" if in_approval => close(&mut status, Closed::TimedOut, None),
            kind if kind.ends_with("StateExited") && in_approval => {
                close(&mut status, Closed::Ended, None);
            }
            _ => {}
        }
    }
    status
}

fn close(status: &mut Approval, how: Closed, detail: Option<String>) {
    if let Approval::Waiting { .. } = status {
        *status = Approval::Closed { how, detail };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event from the API's JSON form (the recorded histories below).
    trait FromWire {
        fn from_wire(value: &Value) -> Self;
    }

    impl FromWire for Event {
        /// From the API's JSON form of an event (as GetExecutionHistory returns it on the wire):
        /// whichever `*EventDetails` member it has (the recorded histories of the tests).
        fn from_wire(value: &Value) -> Self {
            let details = value
                .as_object()
                .and_then(|o| {
                    o.iter()
                        .find(|(k, _)| k.ends_with("EventDetails"))
                        .map(|(_, v)| v)
                })
                .cloned()
                .unwrap_or(Value::Null);
            let text = |key: &str| details.get(key).and_then(Value::as_str).map(str::to_string);
            let kind = value
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let is_state = kind.ends_with("StateEntered") || kind.ends_with("StateExited");
            Self {
                id: value.get("id").and_then(Value::as_i64).unwrap_or_default(),
                previous_id: value
                    .get("previousEventId")
                    .and_then(Value::as_i64)
                    .unwrap_or_default(),
                timestamp: value
                    .get("timestamp")
                    .and_then(Value::as_f64)
                    .unwrap_or_default(),
                state: if is_state { text("name") } else { None },
                data: text("input").or_else(|| text("output")),
                parameters: text("parameters"),
                resource: text("resource"),
                error: text("error"),
                cause: text("cause"),
                kind,
            }
        }
    }

    /// A history recorded from the local stack (GetExecutionHistory's JSON, run documents
    /// shortened): an upgrade with require_approval, waiting in AwaitApproval.
    fn recorded() -> Vec<Event> {
        let text = include_str!("../tests/fixtures/approval-history.json");
        let value: Value = serde_json::from_str(text).unwrap();
        value["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(Event::from_wire)
            .collect()
    }

    #[test]
    fn the_token_is_found_in_the_last_task_scheduled_of_await_approval() {
        let events = recorded();
        match approval(&events) {
            Approval::Waiting { token, .. } => {
                assert_eq!(token, "3adeb8a1-7f88-4512-925c-a352fb45c863")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(current_state(&events).map(|s| s.0), Some(APPROVAL_STATE));
    }

    #[test]
    fn an_answer_closes_it() {
        let mut events = recorded();
        let last = events.last().unwrap().id;
        events.push(Event {
            id: last + 1,
            kind: "TaskSucceeded".into(),
            data: Some(r#"{"approved_by":"ana"}"#.into()),
            ..Event::default()
        });
        assert_eq!(
            approval(&events),
            Approval::Closed {
                how: Closed::Approved,
                detail: Some(r#"{"approved_by":"ana"}"#.into())
            }
        );
        let mut rejected = recorded();
        rejected.push(Event {
            kind: "TaskFailed".into(),
            error: Some("Rejected".into()),
            cause: Some("not tonight".into()),
            ..Event::default()
        });
        assert!(matches!(
            approval(&rejected),
            Approval::Closed {
                how: Closed::Rejected,
                ..
            }
        ));
        let mut timed_out = recorded();
        timed_out.push(Event {
            kind: "TaskTimedOut".into(),
            ..Event::default()
        });
        assert!(matches!(
            approval(&timed_out),
            Approval::Closed {
                how: Closed::TimedOut,
                ..
            }
        ));
    }

    #[test]
    fn a_run_without_approval_never_asked() {
        let events: Vec<Event> = recorded()
            .into_iter()
            .take_while(|e| e.state.as_deref() != Some(APPROVAL_STATE))
            .collect();
        assert_eq!(approval(&events), Approval::NeverAsked);
        // Other callback-free tasks never carry a token.
        assert_eq!(token_of(r#"{"milestone":"started","run":{}}"#), None);
    }

    #[test]
    fn a_retried_approval_task_waits_on_its_new_token() {
        let mut events = recorded();
        events.push(Event {
            kind: "TaskFailed".into(),
            error: Some("Lambda.ServiceException".into()),
            ..Event::default()
        });
        events.push(Event {
            kind: "TaskScheduled".into(),
            parameters: Some(
                r#"{"Payload":{"milestone":"approval_requested","task_token":"second"}}"#.into(),
            ),
            ..Event::default()
        });
        assert!(matches!(approval(&events), Approval::Waiting { token, .. } if token == "second"));
    }

    #[test]
    fn a_history_read_without_its_data_still_says_waiting() {
        let events: Vec<Event> = recorded()
            .into_iter()
            .map(|e| Event {
                parameters: None,
                data: None,
                ..e
            })
            .collect();
        assert!(matches!(approval(&events), Approval::Waiting { token, .. } if token.is_empty()));
    }

    #[test]
    fn the_latest_document_is_the_last_state_data() {
        let mut events = recorded();
        let doc = latest_document(&events).unwrap();
        assert!(doc.get("approval").is_some(), "{doc}");
        // It is the last state event's object, not an earlier one: a later state's data wins,
        // data that is not an object (a Wait's number, a Choice's string) and events of no
        // state (the execution's own) are passed over.
        let later = |kind: &str, state: Option<&str>, data: &str| Event {
            kind: kind.into(),
            state: state.map(Into::into),
            data: Some(data.into()),
            ..Event::default()
        };
        events.push(later("TaskStateEntered", Some("Later"), r#"{"marker": 1}"#));
        events.push(later("WaitStateEntered", Some("Pause"), "30"));
        events.push(later("ExecutionSucceeded", None, r#"{"marker": 2}"#));
        assert_eq!(
            latest_document(&events).unwrap(),
            serde_json::json!({"marker": 1})
        );
    }
}
