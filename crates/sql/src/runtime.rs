//! The Lambda loop of the `sql` worker: the Lambda glue every worker uses
//! (`bluegreen_lambda`: JSON logs naming the step, the execution and the database on every
//! line, the SDK configuration built once per process, stable `errorType` names), with this
//! worker's input (`{"op", "run"}`, whose op is on every line too) and clients (RDS and
//! Secrets Manager; no SNS, no CloudWatch).

use crate::aws::Aws;
use crate::handler::{handle, Deps, Options};
use bluegreen_domain::run::SqlInput;
use bluegreen_lambda::Step;

pub async fn serve() -> Result<(), bluegreen_lambda::Error> {
    crate::tls::install_default_provider();
    let step = Step {
        name: "sql",
        span,
        malformed,
    };
    bluegreen_lambda::serve(
        step,
        |conf| Deps::new(Aws::new(conf.clone()), Options::from_env()),
        handle,
    )
    .await
}

/// The span of one invocation: the step, the op, the execution, the database.
fn span(step: &'static str, input: &SqlInput) -> tracing::Span {
    tracing::info_span!(
        "step",
        step,
        op = input.op.as_str(),
        execution = %input.run.execution.id,
        db = %input.run.db_label()
    )
}

fn malformed(_: &'static str, e: &serde_json::Error) -> String {
    format!(
        "the sql step's input is not {{\"op\": \"precheck\"|\"fingerprint\"|\"watch\"|\"finish\", \
         \"run\": <the run document>}} ({e})"
    )
}
