//! The Lambda glue every worker binary uses (the per-step workers of `bluegreen-workers` and
//! the `sql` worker of `bluegreen-sql`), once:
//!
//! - `logs`: JSON logs on stdout, the invocation's span (step, execution, database) on every
//!   line;
//! - the SDK configuration, built once per process by [`serve`] and handed to the worker's
//!   `make` to build its clients;
//! - [`StepError`]: the `errorType` Step Functions sees is the error's stable name;
//! - `layers`: what happens around each invocation, as tower layers over the handler (as
//!   `lambda_runtime::layers` does for its own): [`layers::DecodeLayer`] reads the payload
//!   into the step's input and the invocation's facts, [`layers::SpanLayer`] runs the handler
//!   in the span that names it;
//! - [`Invocation`]: the facts of one invocation a handler needs (its function's ARN, now).
//!
//! A crate of its own rather than a module of `bluegreen-aws`: rbg links `bluegreen-aws` and
//! must not link `lambda_runtime` or `tracing-subscriber`, and a Cargo feature would be
//! unified across one `cargo build --bins`.

pub mod error;
pub mod invocation;
pub mod layers;
pub mod logs;

pub use error::StepError;
pub use invocation::{rfc3339, Invocation};
/// What a worker's `main` returns when the runtime stops.
pub use lambda_runtime::Error;
pub use layers::{Call, Step};

use bluegreen_aws::SdkConfig;
use bluegreen_domain::model::error::WorkerError;
use lambda_runtime::tower::ServiceBuilder;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

/// Runs `handler` for every invocation of `step`: logs set up, the SDK configuration loaded
/// once and the worker's dependencies made of it once (`make`), then each invocation decoded
/// and run in its span.
pub async fn serve<D, I, O, F, Fut>(
    step: Step<I>,
    make: impl FnOnce(&SdkConfig) -> D,
    handler: F,
) -> Result<(), Error>
where
    D: Clone + 'static,
    I: DeserializeOwned + 'static,
    O: Serialize + 'static,
    F: Fn(D, I, Invocation) -> Fut + 'static,
    Fut: Future<Output = Result<O, WorkerError>> + 'static,
{
    logs::init();
    let conf = bluegreen_aws::config::load().await;
    let deps = make(&conf);
    let service = ServiceBuilder::new()
        .layer(layers::DecodeLayer::new(step))
        .layer(layers::SpanLayer::new(step))
        .service(handler_service(deps, handler));
    lambda_runtime::run(service).await
}

/// The handler as the innermost service: each call gets its own clone of the dependencies.
pub fn handler_service<D, I, O, F, Fut>(
    deps: D,
    handler: F,
) -> impl lambda_runtime::tower::Service<
    Call<I>,
    Response = O,
    Error = WorkerError,
    Future = std::pin::Pin<Box<Fut>>,
>
where
    D: Clone,
    F: Fn(D, I, Invocation) -> Fut,
    Fut: Future<Output = Result<O, WorkerError>>,
{
    lambda_runtime::tower::service_fn(move |call: Call<I>| {
        // Boxed: one allocation per invocation keeps the future's type shallow (the
        // handlers' nested SDK futures otherwise exceed rustc's layout depth limit).
        Box::pin(handler(deps.clone(), call.input, call.inv))
    })
}
