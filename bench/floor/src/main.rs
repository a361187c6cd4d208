//! The floor of `make bench` (bench/run.py): an empty Lambda function on `lambda_runtime`,
//! built with the workers' profile and the same tokio runtime, answering each event with
//! itself. A worker's cold start ÷ this one's is what the worker adds to the least any Rust
//! function on this runtime pays (process start, the runtime's client, the first `/next`).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
