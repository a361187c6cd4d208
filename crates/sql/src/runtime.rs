//! The Lambda loop of the `sql` worker, as every worker's (`bluegreen_workers::runtime`):
//! JSON logs naming the step, the execution and the database on every line, clients built
//! once per process, stable `errorType` names. Its own loop because its input is
//! `{"op", "run"}` and its clients are RDS and Secrets Manager (no SNS, no CloudWatch).

use crate::aws::Aws;
use crate::handler::{handle, Deps, Options};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::run::SqlInput;
use bluegreen_workers::runtime::{init_tracing, Invocation, StepError};
use lambda_runtime::LambdaEvent;
use std::time::SystemTime;
use tracing::Instrument;

pub async fn serve() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    crate::tls::install_default_provider();
    let conf = bluegreen_aws::config::load().await;
    let deps = Deps::new(Aws::new(conf), Options::from_env());
    let deps = &deps;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let inv = Invocation::new(event.context.invoked_function_arn.clone(), SystemTime::now());
            let input: SqlInput = serde_json::from_value(event.payload).map_err(|e| {
                StepError(WorkerError::MalformedRun(format!(
                    "the sql step's input is not {{\"op\": \"precheck\"|\"fingerprint\"|\"watch\"|\"finish\", \
                     \"run\": <the run document>}} ({e})"
                )))
            })?;
            let span = tracing::info_span!(
                "step",
                step = "sql",
                op = input.op.as_str(),
                execution = %input.run.execution.id,
                db = %input.run.db_label()
            );
            async move {
                tracing::info!("step started");
                match Box::pin(handle(deps.clone(), input, inv)).await {
                    Ok(run) => {
                        tracing::info!("step finished");
                        Ok(run)
                    }
                    Err(e) => {
                        tracing::warn!(error_type = e.name(), error = %e, "step failed");
                        Err(StepError(e))
                    }
                }
            }
            .instrument(span)
            .await
        },
    ))
    .await
}
