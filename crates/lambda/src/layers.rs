//! What happens around each invocation, as tower layers over the handler, in the order a call
//! goes through them (the way `lambda_runtime::layers` wraps its own):
//!
//! - [`DecodeLayer`]: the payload read into the step's input, with the invocation's facts
//!   ([`Call`]); a payload that is not one is `MalformedRun`; every error leaves as a
//!   [`StepError`] (its `errorType` the stable name).
//! - [`SpanLayer`]: the handler runs in the span that names the step, the execution and the
//!   database (on every log line of the invocation), between `step started` and `step
//!   finished` / `step failed` (with the error's name).

use crate::{Invocation, StepError};
use bluegreen_domain::model::error::WorkerError;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaEvent;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;
use tracing::Instrument;

/// What the glue knows of a step: its name, how an invocation is named in the logs, what to
/// say when its payload is not its input.
pub struct Step<I> {
    /// The step, as the state machine and the logs name it: `precheck`, `sql`, ...
    pub name: &'static str,
    /// The span of one invocation, from its input: its fields (the execution, the database)
    /// are on every log line.
    pub span: fn(&'static str, &I) -> tracing::Span,
    /// The `MalformedRun` message when the payload is not an `I`.
    pub malformed: fn(&'static str, &serde_json::Error) -> String,
}

impl<I> Clone for Step<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I> Copy for Step<I> {}

/// One invocation as the handler takes it.
#[derive(Debug, Clone)]
pub struct Call<I> {
    pub input: I,
    pub inv: Invocation,
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// See the module: reads the payload, turns errors into `StepError`.
pub struct DecodeLayer<I> {
    step: Step<I>,
}

impl<I> DecodeLayer<I> {
    pub fn new(step: Step<I>) -> Self {
        Self { step }
    }
}

impl<S, I> Layer<S> for DecodeLayer<I> {
    type Service = Decode<S, I>;
    fn layer(&self, inner: S) -> Self::Service {
        Decode {
            inner,
            step: self.step,
        }
    }
}

/// The service of [`DecodeLayer`].
pub struct Decode<S, I> {
    inner: S,
    step: Step<I>,
}

impl<S, I, O> Service<LambdaEvent<serde_json::Value>> for Decode<S, I>
where
    S: Service<Call<I>, Response = O, Error = WorkerError>,
    S::Future: 'static,
    I: DeserializeOwned,
    O: 'static,
{
    type Response = O;
    type Error = StepError;
    type Future = LocalBoxFuture<Result<O, StepError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StepError>> {
        self.inner.poll_ready(cx).map_err(StepError)
    }

    fn call(&mut self, event: LambdaEvent<serde_json::Value>) -> Self::Future {
        let inv = Invocation::new(
            event.context.invoked_function_arn.clone(),
            SystemTime::now(),
        );
        match serde_json::from_value::<I>(event.payload) {
            Ok(input) => {
                let answer = self.inner.call(Call { input, inv });
                Box::pin(async move { answer.await.map_err(StepError) })
            }
            Err(e) => {
                let error = WorkerError::MalformedRun((self.step.malformed)(self.step.name, &e));
                Box::pin(std::future::ready(Err(StepError(error))))
            }
        }
    }
}

/// See the module: the invocation's span and its first and last lines.
pub struct SpanLayer<I> {
    step: Step<I>,
}

impl<I> SpanLayer<I> {
    pub fn new(step: Step<I>) -> Self {
        Self { step }
    }
}

impl<S, I> Layer<S> for SpanLayer<I> {
    type Service = Spanned<S, I>;
    fn layer(&self, inner: S) -> Self::Service {
        Spanned {
            inner,
            step: self.step,
        }
    }
}

/// The service of [`SpanLayer`].
pub struct Spanned<S, I> {
    inner: S,
    step: Step<I>,
}

impl<S, I, O> Service<Call<I>> for Spanned<S, I>
where
    S: Service<Call<I>, Response = O, Error = WorkerError>,
    S::Future: 'static,
    O: 'static,
{
    type Response = O;
    type Error = WorkerError;
    type Future = LocalBoxFuture<Result<O, WorkerError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WorkerError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: Call<I>) -> Self::Future {
        let span = (self.step.span)(self.step.name, &call.input);
        let answer = {
            // Entered while the handler's future is made: it is the parent of its spans.
            let _entered = span.enter();
            self.inner.call(call)
        };
        Box::pin(
            async move {
                tracing::info!("step started");
                match answer.await {
                    Ok(out) => {
                        tracing::info!("step finished");
                        Ok(out)
                    }
                    Err(e) => {
                        tracing::warn!(error_type = e.name(), error = %e, "step failed");
                        Err(e)
                    }
                }
            }
            .instrument(span),
        )
    }
}
