//! JSON logs on stdout (CloudWatch Logs), with the invocation span's fields (step, execution,
//! database) on every line. `RUST_LOG` tunes the level; `info` by default, `debug` at most in
//! release builds (trace is compiled out: Cargo.toml).

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    subscriber(filter, std::io::stdout).init();
}

/// The workers' log format, written to `writer`: one JSON object per line, the event's fields
/// flattened, the current span's fields under `span`, no time (CloudWatch adds it), no target.
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .flatten_event(true)
        .finish()
}
