//! Thin adapters over the AWS SDK: each call returns domain facts, each SDK error becomes a
//! `WorkerError` with a stable name (or, for a caller that words it for a person, the
//! `AwsError` it was read into: `errors`). No rules live here; they live in `bluegreen-domain`.
//! Every way to AWS goes through here: the workers', the sql worker's and rbg's.
//!
//! `ports` names what the workers ask of AWS; the adapters implement it, and so does the
//! in-memory account of `bluegreen-memory` (the workers' tests only).
//! `config` builds the SDK configuration: the workers' (`load`) and rbg's (`load_operator`).

pub mod autoscaling;
pub mod cloudformation;
pub mod cloudwatch;
pub mod config;
pub mod dms;
pub mod errors;
pub mod kms;
pub mod ports;
pub mod rds;
pub mod secrets;
pub mod sfn;
pub mod sns;

pub use autoscaling::AutoScaling;
pub use aws_config::SdkConfig;
pub use cloudformation::Stacks;
pub use cloudwatch::Metrics;
pub use dms::Dms;
pub use errors::{AwsError, Fault};
pub use kms::Kms;
pub use ports::{
    Aws, AwsRead, Clients, DmsApi, ExecutionsApi, KeysApi, MetricsApi, NotifyApi, PrecheckClients,
    RdsRead, RdsWrite, ScalingApi, WithDms, WithKeys, WithScaling,
};
pub use rds::Rds;
pub use secrets::Secrets;
pub use sfn::Executions;
pub use sns::Notifier;
