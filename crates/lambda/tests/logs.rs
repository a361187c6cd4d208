//! The log lines of one invocation, in a test binary of its own: tracing caches each
//! callsite's interest process-wide, and a test on another thread that reaches
//! "step started" with no subscriber set can cache it as never wanted (tokio-rs/tracing#2874).

mod common;

use bluegreen_domain::model::error::WorkerError;
use bluegreen_lambda::layers::{DecodeLayer, SpanLayer};
use bluegreen_lambda::{handler_service, logs};
use common::{event, step, Input};
use lambda_runtime::tower::{ServiceBuilder, ServiceExt};

/// The log lines written while `run` runs, each parsed.
#[derive(Clone, Default)]
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn parsed(&self) -> Vec<serde_json::Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn every_line_of_an_invocation_names_the_step_the_execution_and_the_database() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = logs::subscriber(tracing_subscriber::EnvFilter::new("info"), move || {
        writer.clone()
    });
    let _default = tracing::subscriber::set_default(subscriber);
    let mut service = ServiceBuilder::new()
        .layer(DecodeLayer::new(step()))
        .layer(SpanLayer::new(step()))
        .service(handler_service((), |(), input: Input, _inv| async move {
            tracing::info!(inside = true, "the handler's own line");
            if input.db == "broken" {
                Err(WorkerError::Throttled("slow down".into()))
            } else {
                Ok(())
            }
        }));
    for db in ["orders-pg", "broken"] {
        let event = event(serde_json::json!({"db": db, "execution": "arn:x"}));
        let _ = (&mut service).oneshot(event).await;
    }
    let logged = lines.parsed();
    let messages: Vec<&str> = logged
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "step started",
            "the handler's own line",
            "step finished",
            "step started",
            "the handler's own line",
            "step failed"
        ]
    );
    for (line, db) in logged.iter().zip([
        "orders-pg",
        "orders-pg",
        "orders-pg",
        "broken",
        "broken",
        "broken",
    ]) {
        assert_eq!(
            line["span"],
            serde_json::json!({"name": "step", "step": "probe", "execution": "arn:x", "db": db}),
            "{line}"
        );
    }
    assert_eq!(logged[5]["error_type"], "Throttled");
    assert_eq!(logged[5]["level"], "WARN");
}
