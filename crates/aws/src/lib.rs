//! Thin adapters over the AWS SDK: each call returns domain facts, each SDK error becomes a
//! `WorkerError` with a stable name. No rules live here; they live in `bluegreen-domain`.
//!
//! `ports` names what the workers ask of AWS; the adapters implement it. With the `memory`
//! feature (the workers' tests only), `memory` is an in-memory account that implements it too.

pub mod cloudwatch;
pub mod config;
pub mod dms;
pub mod errors;
pub mod kms;
#[cfg(feature = "memory")]
pub mod memory;
pub mod ports;
pub mod rds;
pub mod sfn;
pub mod sns;

pub use cloudwatch::Metrics;
pub use dms::Dms;
pub use kms::Kms;
pub use ports::{
    Aws, Clients, DmsApi, ExecutionsApi, KeysApi, MetricsApi, NotifyApi, PrecheckClients, RdsApi,
    WithDms, WithKeys,
};
pub use rds::Rds;
pub use sfn::Executions;
pub use sns::Notifier;
