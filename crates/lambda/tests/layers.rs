//! The layers around every step's handler: the input decoded (or MalformedRun), the handler
//! given it and the invocation, its error leaving under its stable name.

mod common;

use bluegreen_domain::model::error::WorkerError;
use bluegreen_lambda::layers::{DecodeLayer, SpanLayer};
use bluegreen_lambda::{handler_service, Invocation, StepError};
use common::{event, step, Input};
use lambda_runtime::tower::{Service, ServiceBuilder, ServiceExt};
use lambda_runtime::{Diagnostic, LambdaEvent};

fn service(
    answer: fn(&str) -> Result<String, WorkerError>,
) -> impl Service<LambdaEvent<serde_json::Value>, Response = String, Error = StepError> {
    ServiceBuilder::new()
        .layer(DecodeLayer::new(step()))
        .layer(SpanLayer::new(step()))
        .service(handler_service(
            (),
            move |(), input: Input, inv: Invocation| {
                let out = answer(&input.db).map(|db| format!("{db} in {:?}", inv.region()));
                async move { out }
            },
        ))
}

#[tokio::test]
async fn the_handler_gets_the_input_and_the_invocation() {
    let out = service(|db| Ok(db.to_string()))
        .oneshot(event(serde_json::json!({"db": "orders-pg"})))
        .await
        .unwrap();
    assert_eq!(out, "orders-pg in Some(\"us-east-1\")");
}

#[tokio::test]
async fn a_payload_that_is_not_the_input_is_malformed_run() {
    let e = service(|_| unreachable!("never called"))
        .oneshot(event(serde_json::json!({"nope": 1})))
        .await
        .unwrap_err();
    let d = Diagnostic::from(e);
    assert_eq!(d.error_type, "MalformedRun");
    assert!(
        d.error_message
            .starts_with("the probe step's input is not an Input (missing field `db`"),
        "{}",
        d.error_message
    );
}

#[tokio::test]
async fn the_handlers_error_leaves_with_its_stable_name() {
    let e = service(|_| Err(WorkerError::GuardrailViolated("lag".into())))
        .oneshot(event(serde_json::json!({"db": "orders-pg"})))
        .await
        .unwrap_err();
    let d = Diagnostic::from(e);
    assert_eq!(
        (d.error_type.as_str(), d.error_message.as_str()),
        ("GuardrailViolated", "lag")
    );
}
