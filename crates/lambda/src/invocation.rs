//! The facts of one invocation a handler needs, passed in so tests control them.

use std::time::SystemTime;

#[derive(Clone, Debug)]
pub struct Invocation {
    /// This function's ARN; it names the account and Region the worker runs in.
    pub function_arn: String,
    pub now: SystemTime,
}

impl Invocation {
    pub fn new(function_arn: impl Into<String>, now: SystemTime) -> Self {
        Self {
            function_arn: function_arn.into(),
            now,
        }
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME` -> ACCOUNT
    pub fn account_id(&self) -> Option<String> {
        self.arn_part(4)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    }

    pub fn region(&self) -> Option<String> {
        self.arn_part(3).filter(|r| !r.is_empty())
    }

    fn arn_part(&self, index: usize) -> Option<String> {
        let parts: Vec<&str> = self.function_arn.split(':').collect();
        (parts.len() >= 7 && parts[0] == "arn").then(|| parts[index].to_string())
    }

    /// RFC 3339, as recorded in the run's timeline.
    pub fn now_rfc3339(&self) -> String {
        rfc3339(self.now)
    }
}

pub fn rfc3339(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn the_function_arn_names_the_account_and_region() {
        let inv = Invocation::new(
            "arn:aws:lambda:eu-west-1:123456789012:function:precheck",
            UNIX_EPOCH + Duration::from_secs(1_795_539_900),
        );
        assert_eq!(inv.account_id().as_deref(), Some("123456789012"));
        assert_eq!(inv.region().as_deref(), Some("eu-west-1"));
        assert_eq!(inv.now_rfc3339(), "2026-11-24T17:05:00Z");
        let local = Invocation::new("test", UNIX_EPOCH);
        assert_eq!((local.account_id(), local.region()), (None, None));
    }
}
