//! The error a worker returns to Lambda: its `errorType` is the stable domain name, which the
//! state machine's `Retry` and `Catch` match on.

use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::limits::{clip, MAX_ERROR_MESSAGE_CHARS};
use lambda_runtime::Diagnostic;

#[derive(Debug)]
pub struct StepError(pub WorkerError);

impl From<WorkerError> for StepError {
    fn from(e: WorkerError) -> Self {
        Self(e)
    }
}

impl From<StepError> for Diagnostic {
    fn from(e: StepError) -> Self {
        // Step Functions puts the whole error payload in the failure's cause, which may not
        // pass 32,768 characters: the message is bounded well inside it.
        Diagnostic {
            error_type: e.0.name().to_string(),
            error_message: clip(&e.0.to_string(), MAX_ERROR_MESSAGE_CHARS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_type_is_the_stable_name_and_the_message_is_bounded() {
        let d = Diagnostic::from(StepError(WorkerError::Throttled("x".repeat(100_000))));
        assert_eq!(d.error_type, "Throttled");
        assert!(d.error_message.chars().count() <= MAX_ERROR_MESSAGE_CHARS);
        assert!(d.error_message.starts_with("xxx"));
    }
}
