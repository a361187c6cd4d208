//! The probe step both layer test binaries use: its input, its span, its event.
#![allow(dead_code)] // each test binary uses part of it

use bluegreen_lambda::Step;
use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Input {
    pub db: String,
    #[serde(default)]
    pub execution: String,
}

pub fn step() -> Step<Input> {
    Step {
        name: "probe",
        span: |step, input: &Input| tracing::info_span!("step", step, execution = %input.execution, db = %input.db),
        malformed: |step, e| format!("the {step} step's input is not an Input ({e})"),
    }
}

pub fn event(payload: serde_json::Value) -> LambdaEvent<serde_json::Value> {
    let mut context = LambdaContext::default();
    context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:probe".into();
    LambdaEvent::new(payload, context)
}
